"""Keyed loads under random lost answers, 5xx and dropped connections.

Whatever fails and whenever, a keyed table ends with exactly one record per
key, holding the last value sent for it, and an unkeyed one with every record
sent, once. A few seeds run by default;
`--run-slow` sweeps many.
"""

from __future__ import annotations

import random

import pytest

from tests.target_support import (
    PEOPLE,
    PEOPLE_PROPS,
    make_database,
    record,
    rows,
    run_target,
    schema,
    target_config,
)

PEOPLE_SCHEMA = schema("people", PEOPLE_PROPS)
FAULTS = ("lost_response", "status", "drop")


def check_seed(emulator, seed: int, runs: int, *, keyed: bool = True) -> None:
    rng = random.Random(seed)
    make_database(emulator)
    config = target_config(
        emulator,
        upsert_keys={"people": ["Email"]} if keyed else {},
        batch_size_rows=rng.choice([3, 7, 10]),
        max_retries=8,
    )
    expected: dict[str, str] = {}
    for run in range(runs):
        messages = [PEOPLE_SCHEMA]
        for n in range(rng.randint(5, 30)):
            # Keyed: 40 keys, updated again and again; unkeyed: every record its own.
            email = f"p{rng.randrange(40)}@example.com" if keyed else f"r{run}-{n}@example.com"
            name = f"n{rng.randrange(10**6)}"
            messages.append(record("people", {"Email": email, "Name": name}))
            expected[email] = name
        for _ in range(rng.randint(0, 4)):
            kind = rng.choice(FAULTS)
            options = {"status": rng.choice([500, 502, 503])} if kind == "status" else {}
            emulator.faults.add(
                kind=kind, times=1, method="POST", after=rng.randint(0, 3), **options
            )
        assert run_target(config, messages).exit_code == 0, f"seed {seed}"
        emulator.faults.clear()
    got = [(r["Email"], r.get("Name")) for r in rows(emulator, PEOPLE).values()]
    assert sorted(got) == sorted(expected.items()), f"seed {seed}"


@pytest.mark.parametrize("keyed", [True, False])
@pytest.mark.parametrize("seed", range(3))
def test_load_survives_random_faults(emulator, seed, keyed):
    check_seed(emulator, seed, runs=3, keyed=keyed)


@pytest.mark.slow
def test_load_survives_random_faults_sweep(emulator):
    for seed in range(3, 80):
        for keyed in (True, False):
            emulator.reset(demo=True)
            check_seed(emulator, seed, runs=4, keyed=keyed)
