"""The servers a live check runs against: the emulator, strict and per variant, and a real one."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import pytest


def server_params(probed: Sequence[str], live_vars: Sequence[str], what: str) -> list[Any]:
    """`emulator`, `emulator+<variant>` per probed variant, and `live`.

    `live` is skipped, naming the variables to set, until `live_vars` are set.
    """
    params = [pytest.param("emulator", id="emulator")]
    params += [pytest.param(f"emulator+{v}", id=f"emulator+{v}") for v in probed]
    missing = [name for name in live_vars if not os.environ.get(name)]
    params.append(
        pytest.param(
            "live",
            id="live",
            marks=pytest.mark.skipif(bool(missing), reason=f"{what}: set {', '.join(missing)}"),
        )
    )
    return params
