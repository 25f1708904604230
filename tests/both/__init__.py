"""One behavioural suite run against both backends (classic API, Ninox 4 Public API)."""
