"""The transport: the one place the connectors talk HTTP (docs/design.md, "Layers").

- `client.py`: `NinoxClient`, the shared transport (one request at a time,
  retries, checked answers, one-line errors); the classic API's typed calls
  are mixed in from `ninox_core/classic/calls.py`;
- `session.py`: the `requests` session;
- `deadline.py`: the whole-answer deadline;
- `redaction.py`: the API key masked in messages and logs;
- `answers.py`: what every answer check shares (`Unchecked`, `describe`);
- `files.py`: attachment bytes streamed down and up.

Import the modules themselves: this package imports nothing.
"""
