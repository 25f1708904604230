"""How a connector run starts and ends, the same for both connectors.

- `inputs.py`: config files, environment variables, state files and the
  settings checks, each problem one line;
- `settings.py`: the settings both connectors declare, and the client built from them;
- `failures.py`: how a failed run is reported (one line, traceback at DEBUG);
- `progress.py`: when a long run logs how far it got.

Signals (`ninox_core/termination.py`) stay beside the layers: every wait
of the transport obeys them. Import the modules themselves: this package
imports nothing.
"""
