"""How the connectors' commands start: their imports without the garbage collector.

A command's start-up is mostly imports (singer-sdk and what it imports,
about 0.4 s of CPU on a quiet machine; docs/design.md "At realistic
latency"). Nearly every object they create lives until the process ends,
so the collector's passes during the imports (one full pass over every
object, a dozen younger ones) find next to nothing, and each full pass
later in the run walks all of them again. So the imports run with the
collector off, and what they created is then frozen (`gc.freeze`): later
passes skip it. The collector is on for the run itself, as always.
"""

from __future__ import annotations

import gc
import importlib


def run_command(module: str, plugin: str) -> None:
    """Import `plugin` (a singer-sdk Tap or Target class) from `module`; run its command line."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        command = getattr(importlib.import_module(module), plugin).cli
    finally:
        if enabled:
            gc.enable()
    gc.freeze()
    command()
