"""The live check of Ninox 4's Public API: what the second backend assumes of it.

Run against your own workspace before trusting the connectors with it
(README, "Ninox 4 (the Public API)"); the probes are the safe ones of
docs/api.md "The Public API (Ninox 4)" (reads; writes only into the scratch
table, deleted again):

    NINOX_LIVE_WORKSPACE_ID=... NINOX_LIVE_PUBLIC_API_KEY=... \\
    NINOX_LIVE_PUBLIC_MODULE=... NINOX_LIVE_PUBLIC_TABLE=scratch \\
    uv run pytest tests/live/test_live_public.py -k live -s

(`NINOX_LIVE_PUBLIC_BASE_URL` if not https://go.ninox.com/api/v1.) They
always run against the Public API emulator too, as it answers by default
and with each variant the probe recognises, so they are never dead code.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from ninox_core.cli.settings import PUBLIC_BASE_URL
from ninox_core.transport.client import NinoxClient
from ninox_emulator.public import PublicEmulator
from ninox_emulator.public.model import Field, Table
from tests.live.public_probe import CHECKS, PublicScratch, run_check
from tests.live.servers import server_params

LIVE_VARS = (
    "NINOX_LIVE_WORKSPACE_ID",
    "NINOX_LIVE_PUBLIC_API_KEY",
    "NINOX_LIVE_PUBLIC_MODULE",
    "NINOX_LIVE_PUBLIC_TABLE",
)
#: How the emulator answers by default: the gateway's way (V1, V2).
DEFAULT_MET = frozenset({"orchestrator_401", "html_shell"})
#: Emulator variants the probe must recognise (one server per variant).
PROBED_VARIANTS = (
    "nest_errors",
    "limit_clamped",
    "has_more_on_full_page",
    "numeric_ids",
    "omit_empty",
    "loose_change_feed",
    "silent_retention",
    "short_updated_ids",
    "lenient_delete",
    "no_upsert",
    "metadata_ids",
    "root_without_fields",
)
EMU_KEY = "live-check-public-key"


def _servers() -> list[Any]:
    return server_params(PROBED_VARIANTS, LIVE_VARS, "live Ninox 4 check")


@pytest.fixture(scope="module", params=_servers())
def scratch(request: pytest.FixtureRequest) -> Iterator[PublicScratch]:
    """A scratch table on the server of this parameter; what the probe wrote is deleted after."""
    if request.param == "live":
        yield from _live()
        return
    variants = request.param.split("+")[1:]
    with PublicEmulator(api_key=EMU_KEY, demo=True, port=0) as emu:
        emu.store.add_table(
            "crm",
            Table(
                "scratch",
                "Scratch",
                [
                    Field("note", "string", variant="text"),
                    Field("key", "string", variant="text", unique=True),
                    Field("count", "number"),
                ],
            ),
        )
        emu.variants.enable(*variants)
        with NinoxClient(EMU_KEY, emu.base_url, max_retries=0) as client:
            probe = PublicScratch(
                client,
                EMU_KEY,
                emu.workspace_id,
                "crm",
                "scratch",
                request.param,
                DEFAULT_MET | frozenset(variants),
            )
            yield probe
            probe.delete(set(probe.created))


def _live() -> Iterator[PublicScratch]:
    env = os.environ
    key = env["NINOX_LIVE_PUBLIC_API_KEY"]
    base_url = env.get("NINOX_LIVE_PUBLIC_BASE_URL") or PUBLIC_BASE_URL
    with NinoxClient(key, base_url, max_retries=3) as client:
        probe = PublicScratch(
            client,
            key,
            env["NINOX_LIVE_WORKSPACE_ID"],
            env["NINOX_LIVE_PUBLIC_MODULE"],
            env["NINOX_LIVE_PUBLIC_TABLE"],
            "live",
            None,
        )
        yield probe
        probe.delete(set(probe.created))
        assert not probe.created


@pytest.mark.parametrize("name", list(CHECKS))
def test_public_api_assumption(scratch: PublicScratch, name: str) -> None:
    run_check(scratch, name)


def test_public_report_names_the_variants_met(
    scratch: PublicScratch, capsys: pytest.CaptureFixture
) -> None:
    for name in CHECKS:  # whatever was deselected runs here
        run_check(scratch, name)
    if scratch.expected is None:
        with capsys.disabled():
            print("\n" + scratch.summary())
        return
    print(scratch.summary())
    assert scratch.met == set(scratch.expected), scratch.summary()
