"""Code shared by tap-ninox and target-ninox, by layer (docs/design.md, "Layers").

- `backend.py`: the seam: the `Backend` protocol and its domain types
  (`TableAddress`, `Record`, `Cursor`, `WriteOp`, `Capabilities`);
- `classic/`: the classic API behind it (`ClassicBackend`, its calls,
  answer checks and record forms);
- `transport/`: the one place that talks HTTP (`NinoxClient`, the transport,
  deadline, key redaction, answer checking, attachment transfers);
- `model/`: tables and fields, the field-type model and the value
  conversions, the stream-name rule;
- `cli/`: how a run starts and ends (config, env vars, state files, shared
  settings, failure lines, progress lines);
- `errors.py` (the exceptions every layer raises) and `termination.py`
  (signals, interruptible waits), which every layer uses.

This package imports neither connector.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tap-ninox")  # one distribution installs both connectors
except PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0.0.0"
