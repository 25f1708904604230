"""The Ninox 4 Public API flavour of the emulator.

What it plays: ninox_emulator/README.md, "Public API (Ninox 4)".

    from ninox_emulator.public import PublicEmulator
    with PublicEmulator(api_key="k", demo=True, port=0) as emu:
        emu.base_url       # http://127.0.0.1:PORT/api/v1
        emu.workspace_id   # 5rdco4s18swu

`NinoxEmulator(api="public", ...)` builds the same object.
"""

from ninox_emulator.public.clock import Clock
from ninox_emulator.public.demo import DEMO_WORKSPACE_ID, build_public_demo
from ninox_emulator.public.emulator import PublicEmulator
from ninox_emulator.public.store import PublicStore
from ninox_emulator.public.variants import PUBLIC_VARIANTS, PublicVariants

__all__ = [
    "DEMO_WORKSPACE_ID",
    "PUBLIC_VARIANTS",
    "Clock",
    "PublicEmulator",
    "PublicStore",
    "PublicVariants",
    "build_public_demo",
]
