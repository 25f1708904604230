"""ninox-emulator: a local Ninox-compatible API server for tests, benchmarks and demos.

It implements ../shared/ninox-api/CONTRACT.md strictly, with fault injection
and a request log. The connectors never import it, and it shares no
value-conversion code with them.
"""

from ninox_emulator.faults import Fault, LoggedRequest
from ninox_emulator.server import NinoxEmulator
from ninox_emulator.store import Store

__all__ = ["Fault", "LoggedRequest", "NinoxEmulator", "Store"]
