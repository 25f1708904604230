"""Run target-ninox in-process or as a command, and build its input and tables."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from singer_sdk.plugin_base import _ConfigInput

from ninox_core.transport.client import NinoxClient
from target_ninox import commit_policy
from target_ninox.rerun_guard import without_marker
from target_ninox.target import TargetNinox
from tests.cli_support import run, run_process
from tests.tap_support import DEMO_TEAM, TEST_KEY

#: The database the target tests write into (created by `make_test_database`).
TEST_DB = "tgt0test0db"

# ------------------------------------------------------------------ input


def schema(
    stream: str, properties: dict[str, Any], key_properties: Sequence[str] = ()
) -> dict[str, Any]:
    """A SCHEMA message."""
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": properties},
        "key_properties": list(key_properties),
    }


def record(stream: str, values: dict[str, Any]) -> dict[str, Any]:
    """A RECORD message."""
    return {"type": "RECORD", "stream": stream, "record": values}


def state(value: Any) -> dict[str, Any]:
    """A STATE message."""
    return {"type": "STATE", "value": value}


def records_with_states(
    stream: str,
    count: int,
    every: int,
    values: Callable[[int], dict[str, Any]],
    key: str = "n",
) -> list[dict[str, Any]]:
    """RECORDs 1..`count` of `values(n)`, a STATE `{key: n}` after every `every`-th."""
    messages: list[dict[str, Any]] = []
    for n in range(1, count + 1):
        messages.append(record(stream, values(n)))
        if n % every == 0:
            messages.append(state({key: n}))
    return messages


def singer_text(messages: Iterable[dict[str, Any] | str]) -> str:
    """JSON lines; a str is taken as a raw line (for bad input)."""
    return "".join((m if isinstance(m, str) else json.dumps(m)) + "\n" for m in messages)


#: Named Singer input files, one message per line (see its README.md).
SINGER_FILES = Path(__file__).parent / "resources" / "singer"


def singer_file(name: str) -> Path:
    """The path of `tests/resources/singer/<name>.singer`."""
    path = SINGER_FILES / f"{name}.singer"
    if not path.is_file():
        raise FileNotFoundError(f"no Singer input file {path}")
    return path


def singer_lines(name: str) -> list[str]:
    """The lines of a named Singer input file, blank ones kept (raw lines for `run_target`)."""
    # Split on "\n" only: str.splitlines would also split on form feeds and the like.
    return singer_file(name).read_text(encoding="utf-8").removesuffix("\n").split("\n")


STRING = {"type": ["string", "null"]}
NUMBER = {"type": ["number", "null"]}
INTEGER = {"type": ["integer", "null"]}
BOOLEAN = {"type": ["boolean", "null"]}
DATE = {"type": ["string", "null"], "format": "date"}
DATETIME = {"type": ["string", "null"], "format": "date-time"}
STRINGS = {"type": ["array", "null"], "items": {"type": "string"}}


# -------------------------------------------------------------------- runs


@dataclass
class TargetRun:
    """What one run of the target did."""

    exit_code: int
    stdout: str
    stderr: str = ""
    #: For in-process runs: the POST count at the moment each STATE was written.
    raw_posts_at_state: list[int] = field(default_factory=list)

    @property
    def raw_states(self) -> list[dict[str, Any]]:
        """The STATE values the target emitted, in order, rerun markers included."""
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    @property
    def states(self) -> list[dict[str, Any]]:
        """The STATE values as the input had them (no rerun markers).

        A clean run emits its last STATE once more with its final marker;
        that repeat is left out here.
        """
        raw = self.raw_states
        return [without_marker(raw[i]) for i in self._kept]

    @property
    def posts_at_state(self) -> list[int]:
        """The POST count when each of `states` was written."""
        return [self.raw_posts_at_state[i] for i in self._kept]

    @property
    def _kept(self) -> list[int]:
        return kept_states(self.raw_states)

    @property
    def error_lines(self) -> list[str]:
        """Lines of stderr logged at ERROR (subprocess runs)."""
        return [line for line in self.stderr.splitlines() if "ERROR" in line]


def kept_states(raw: Sequence[dict[str, Any]]) -> list[int]:
    """Which emitted STATEs differ from the one before once markers are out.

    A clean run emits its last STATE once more with a final rerun marker
    (target_ninox/rerun_guard.py); that repeat is left out, and so is the
    start STATE (`START_STATE`).
    """
    kept: list[int] = []
    for i, value in enumerate(raw):
        if without_marker(value) == START_STATE:
            continue
        if not kept or without_marker(value) != without_marker(raw[kept[-1]]):
            kept.append(i)
    return kept


#: The STATE a run emits before its first unkeyed create when none came
#: out yet (nothing covered; target_ninox/commit_policy.py `emit_start`);
#: `TargetRun.states` leaves it out.
START_STATE: dict[str, Any] = {"bookmarks": {}}


def target_config(emulator: Any, **overrides: Any) -> dict[str, Any]:
    """A config writing into the test database of `emulator`."""
    config: dict[str, Any] = {
        "api_key": TEST_KEY,
        "base_url": emulator.base_url,
        "team_id": DEMO_TEAM,
        "database_id": TEST_DB,
        "max_retries": 2,
    }
    config.update(overrides)
    return config


def run_target(
    config: dict[str, Any],
    messages: Iterable[dict[str, Any] | str],
    emulator: Any = None,
    *,
    feed: Callable[[list[str]], Iterable[str]] | None = None,
) -> TargetRun:
    """Run the target in-process the way its command does (exit code included).

    `feed(lines)` gives the input lines one at a time as the target reads
    them (to act between two lines); by default they come from a file.
    """
    posts: list[int] = []
    original = commit_policy.write_state_line

    def spy(value: dict) -> None:
        if emulator is not None:
            posts.append(count(emulator, method="POST"))
        original(value)

    out = io.StringIO()
    code = 0
    text = singer_text(messages)
    commit_policy.write_state_line = spy
    backoff = NinoxClient.backoff_base
    NinoxClient.backoff_base = 0.01  # keep retries fast in tests
    try:
        with contextlib.redirect_stdout(out):
            TargetNinox.invoke(
                config=_ConfigInput(config=dict(config)),
                file_input=io.StringIO(text)
                if feed is None
                else feed(text.splitlines(keepends=True)),
            )
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        commit_policy.write_state_line = original
        NinoxClient.backoff_base = backoff
    return TargetRun(code, out.getvalue(), raw_posts_at_state=posts)


def run_target_cli(
    config: dict[str, Any],
    messages: Iterable[dict[str, Any] | str],
    tmp_path: Path,
    *,
    log_level: str = "INFO",
    process: bool = False,
) -> TargetRun:
    """Run `target-ninox --config FILE` with `messages` on stdin: its exit code and output.

    In this process (`tests.cli_support.run`) unless `process`.
    """
    config_path = tmp_path / "target-config.json"
    config_path.write_text(json.dumps(config))
    done = (run_process if process else run)(
        "target",
        "--config",
        str(config_path),
        input=singer_text(messages),
        env={"TARGET_NINOX_LOGLEVEL": log_level},
        timeout=60,
    )
    return TargetRun(done.returncode, done.stdout, done.stderr)


# ------------------------------------------------------------------ tables


def api(emulator: Any) -> NinoxClient:
    """A client of the emulator (close it, or use it in a `with`)."""
    return NinoxClient(TEST_KEY, emulator.base_url, max_retries=0)


def rows(emulator: Any, table_id: str, database_id: str = TEST_DB) -> dict[int, dict[str, Any]]:
    """Every record of a table: id → fields (by name)."""
    with api(emulator) as client:
        return {
            int(r["id"]): dict(r.get("fields") or {})
            for page in client.iter_record_pages(DEMO_TEAM, database_id, table_id)
            for r in page
        }


def count(emulator: Any, **filters: Any) -> int:
    """`emulator.request_count(**filters)`.

    The emulator logs a request before it sends the answer, so once a run
    has its answers every request it made is counted: no waiting needed.
    """
    return int(emulator.request_count(**filters))


def posts(emulator: Any) -> int:
    """POST requests the emulator answered so far."""
    return count(emulator, method="POST")


def quiet_sdk_logs() -> None:
    """Keep the SDK's per-record DEBUG chatter out of captured logs."""
    logging.getLogger("singer_sdk.metrics").setLevel(logging.WARNING)


# ------------------------------------------------------- test database

CHOICES_KIND = [{"id": "1", "caption": "Person"}, {"id": "2", "caption": "Company"}]
CHOICES_TAGS = [
    {"id": "1", "caption": "red"},
    {"id": "2", "caption": "green"},
    {"id": "3", "caption": "blue"},
]

#: The tables of `TEST_DB`, in the API's shape (docs/api.md §2).
TEST_TABLES: list[dict[str, Any]] = [
    {
        "id": "A",
        "name": "People",
        "fields": [
            {"id": "A", "name": "Email", "type": "email"},
            {"id": "B", "name": "Name", "type": "string"},
            {"id": "C", "name": "Age", "type": "number"},
            {"id": "D", "name": "Active", "type": "boolean"},
            {"id": "E", "name": "Born", "type": "date"},
            {"id": "F", "name": "Seen", "type": "datetime"},
            {"id": "G", "name": "Wake", "type": "time"},
            {"id": "H", "name": "Kind", "type": "choice", "choices": CHOICES_KIND},
            {"id": "I", "name": "Tags", "type": "multi", "choices": CHOICES_TAGS},
            {"id": "J", "name": "Company", "type": "ref", "refTypeId": "B"},
            {"id": "K", "name": "Notes", "type": "text"},
            {"id": "L", "name": "Label", "type": "formula", "fn": "'Wake'"},
            # A type Ninox has but nobody models: written as it comes.
            {"id": "M", "name": "Gadget", "type": "gizmo"},
        ],
    },
    {
        "id": "B",
        "name": "Companies",
        "fields": [
            {"id": "A", "name": "Name", "type": "string"},
            {"id": "B", "name": "Staff", "type": "rev", "refTypeId": "A", "refFieldId": "J"},
        ],
    },
    {
        "id": "C",
        "name": "Contact Email",
        "fields": [
            {"id": "A", "name": "Address", "type": "email"},
            {"id": "B", "name": "Note", "type": "string"},
        ],
    },
]
PEOPLE, COMPANIES, CONTACT_EMAIL = "A", "B", "C"

PEOPLE_PROPS: dict[str, Any] = {
    "Email": STRING,
    "Name": STRING,
    "Age": NUMBER,
    "Active": BOOLEAN,
    "Born": DATE,
    "Seen": DATETIME,
    "Wake": {"type": ["string", "null"], "format": "time"},
    "Kind": STRING,
    "Tags": STRINGS,
    "Company": INTEGER,
    "Notes": STRING,
}


def make_database(
    emulator: Any,
    database_id: str = TEST_DB,
    name: str = "Target tests",
    tables: Sequence[dict[str, Any]] = TEST_TABLES,
) -> None:
    """Create an empty database with `tables` in the demo team of `emulator`."""
    emulator.store.create_database(DEMO_TEAM, database_id, name, [dict(t) for t in tables])


def one(stream: str, properties: dict[str, Any], values: dict[str, Any]) -> list[dict[str, Any]]:
    """A SCHEMA and one RECORD of a stream."""
    return [schema(stream, properties), record(stream, values)]


def tap_messages(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Every message tap-ninox writes for `config` (in-process)."""
    from tests.tap_support import run_tap

    return run_tap(config).messages
