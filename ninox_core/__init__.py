"""Code shared by tap-ninox and target-ninox.

- `client`: the Ninox HTTP API client (auth, retries, one request at a time).
- `errors`: the exceptions the client and the conversions raise; `show_value`.
- `schema`: tables, fields and choices as the metadata endpoints describe them.
- `fieldtypes`: per Ninox field type, its Singer JSON schema and its converters;
  the converters live by job in `read_values` (records → Singer), `feed_values`
  (change feed → Singer), `write_values` (Singer → Ninox), with `datetimes`
  and `value_forms` (numbers, JSON, choices) shared by them.
- `naming`: the stream-name rule both connectors use to pair streams and tables.
- `settings`: the settings both connectors declare.

This package imports neither connector.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tap-ninox")  # one distribution installs both connectors
except PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0.0.0"
