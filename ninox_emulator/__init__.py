"""ninox-emulator: a local Ninox-compatible API server for tests, benchmarks and demos.

It implements docs/api.md strictly (over real HTTP), with
fault injection, a concurrency limit, a request log and request hooks. The
connectors never import it, and it shares no value-conversion code with them,
so one conversion bug cannot hide on both sides.

    from ninox_emulator import NinoxEmulator
    with NinoxEmulator(api_key="k", demo=True, port=0).start() as emu:
        print(emu.base_url)

`NinoxEmulator(api="public", ...)` (or `PublicEmulator`) serves the Ninox 4
Public API instead (`ninox_emulator/public/`).
"""

from ninox_emulator.demo import build_demo
from ninox_emulator.emulator import NinoxEmulator
from ninox_emulator.faults import Fault, Faults, LoggedRequest
from ninox_emulator.model import ApiError
from ninox_emulator.public import PublicEmulator
from ninox_emulator.store import Store
from ninox_emulator.variants import VARIANTS, Variants

__all__ = [
    "VARIANTS",
    "ApiError",
    "Fault",
    "Faults",
    "LoggedRequest",
    "NinoxEmulator",
    "PublicEmulator",
    "Store",
    "Variants",
    "build_demo",
]
