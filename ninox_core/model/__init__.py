"""The table and value model both connectors share (docs/design.md, "Layers").

- `schema.py`: tables, fields and choices as the metadata endpoints describe them;
- `fieldtypes.py`: per Ninox field type, its Singer JSON schema and its
  converters, which live by job in `read_values.py` (Ninox → Singer) and
  `write_values.py` (Singer → Ninox), with `datetimes.py`,
  `value_forms.py` (numbers, JSON, choices) and `period_forms.py`
  (appointments and time intervals of both API generations) shared by them;
- `naming.py`: the stream-name rule the tap uses forwards and the target backwards.

No HTTP here. Import the modules themselves: this package imports nothing.
"""
