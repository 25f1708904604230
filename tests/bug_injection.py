"""Run a connector as a command with a bug planted in one of its functions.

    with planted(MODULE:ATTR.PATH, CALL_NUMBER): tests.cli_support.run(...)
    python -m tests.bug_injection MODULE:ATTR.PATH CALL_NUMBER CONNECTOR_MODULE ARGS...

The named function raises `RuntimeError("planted bug")` on its CALL_NUMBER-th
call (1-based) and works normally before: how the command reports a defect
of its own (a bug, not a user error) is then seen from outside, exit code,
stderr and all. `planted` puts the function back afterwards (for commands
run in the test's process); `python -m` runs the command as a process.
"""

from __future__ import annotations

import contextlib
import importlib
import runpy
import sys
from collections.abc import Iterator
from typing import Any

#: The text of the planted exception (tests look for it in the output).
PLANTED = "planted bug"


@contextlib.contextmanager
def planted(spec: str, call_number: int) -> Iterator[None]:
    """`plant` for the block; the original function is back afterwards."""
    owner, name, original = _target(spec)
    plant(spec, call_number)
    try:
        yield
    finally:
        setattr(owner, name, original)


def _target(spec: str) -> tuple[Any, str, Any]:
    """The owner of `module:Attr.path`, the attribute's name and its value."""
    module_name, _, path = spec.partition(":")
    owner: Any = importlib.import_module(module_name)
    *parents, name = path.split(".")
    for part in parents:
        owner = getattr(owner, part)
    return owner, name, getattr(owner, name)


def plant(spec: str, call_number: int) -> None:
    """Make `module:Attr.path` raise on its `call_number`-th call."""
    owner, name, original = _target(spec)
    calls = 0

    def planted(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == call_number:
            raise RuntimeError(PLANTED)
        return original(*args, **kwargs)

    setattr(owner, name, planted)


def main() -> None:
    """Plant the bug, then run the connector module as `python -m` would."""
    spec, call_number, connector, *args = sys.argv[1:]
    plant(spec, int(call_number))
    sys.argv = [connector, *args]
    runpy.run_module(connector, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
