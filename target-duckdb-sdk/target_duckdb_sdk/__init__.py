"""target-duckdb-sdk: a Singer target that lands every record in a DuckDB file.

Built on the Meltano Singer SDK's SQL target classes. Why it exists, and why
not PyPI's ``target-duckdb``: see ``README.md`` beside this package.
"""
