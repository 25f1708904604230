"""The API key never reaches any output, whatever the log format or level.

Both connectors run as commands against the emulator (in-process, and as
real processes at DEBUG for a key ending in a newline), with the SDK's
structured (JSON) log formatter switched on (`SINGER_SDK_LOG_CONFIG`), at
INFO and DEBUG: that formatter writes exception messages and their causes
from the exception objects themselves, not from the formatted traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli_support import Run, run, run_process
from tests.local_server import free_port
from tests.tap_support import CRM_DB, DEMO_TEAM, TEST_KEY, tap_config
from tests.target_support import (
    PEOPLE,
    PEOPLE_PROPS,
    make_database,
    record,
    rows,
    schema,
    singer_text,
    state,
    target_config,
)

SECRET = "sk-Secret-Key-8c1f9e2a"

STRUCTURED_LOGS = """\
version: 1
disable_existing_loggers: false
formatters:
  structured:
    (): singer_sdk.logging.StructuredFormatter
handlers:
  console:
    class: logging.StreamHandler
    formatter: structured
    stream: ext://sys.stderr
root:
  level: {level}
  handlers: [console]
"""


def run_cli(
    which: str,
    config: dict[str, Any],
    tmp_path: Path,
    level: str,
    stdin: str = "",
    *,
    process: bool = False,
) -> Run:
    """Run a connector with structured logs at `level`; its whole output.

    In this process unless `process`: each in-process run starts with no
    secret known to the redaction, as a new process would.
    """
    config_path = tmp_path / f"{which}-config.json"
    config_path.write_text(json.dumps(config))
    log_config = tmp_path / "logging.yaml"
    log_config.write_text(STRUCTURED_LOGS.format(level=level))
    env = {"SINGER_SDK_LOG_CONFIG": str(log_config), f"{which.upper()}_NINOX_LOGLEVEL": level}
    runner = run_process if process else run
    return runner(which, "--config", str(config_path), env=env, input=stdin, timeout=60)


def target_input() -> str:
    return singer_text(
        [
            schema("people", PEOPLE_PROPS),
            record("people", {"Name": "Ada", "Email": "ada@x"}),
            state({"s": 1}),
        ]
    )


def error_lines(stderr: str) -> list[dict[str, Any]]:
    """The structured ERROR records of a run."""
    out = []
    for line in stderr.splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("level") == "error":
                out.append(entry)
    return out


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_a_key_ending_in_a_newline_is_used_without_it_and_never_printed_by_the_tap(
    emulator, tmp_path, level
):
    emulator.set_api_key(SECRET)
    config = tap_config(emulator, api_key=SECRET + "\n", tables=["Company"])
    done = run_cli("tap", config, tmp_path, level, process=level == "DEBUG")
    assert done.returncode == 0, done.stderr[-3000:]
    assert '"type":"RECORD"' in done.stdout.replace(" ", "")
    assert SECRET not in done.stdout + done.stderr


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_a_key_ending_in_a_newline_is_used_without_it_and_never_printed_by_the_target(
    emulator, tmp_path, level
):
    make_database(emulator)
    emulator.set_api_key(SECRET)
    config = target_config(emulator, api_key=f"  {SECRET}\r\n")
    done = run_cli("target", config, tmp_path, level, target_input(), process=level == "DEBUG")
    assert done.returncode == 0, done.stderr[-3000:]
    emulator.set_api_key(TEST_KEY)
    assert [r["Name"] for r in rows(emulator, PEOPLE).values()] == ["Ada"]
    assert SECRET not in done.stdout + done.stderr


def test_a_key_of_only_spaces_fails_with_one_line(emulator, tmp_path):
    done = run_cli("tap", tap_config(emulator, api_key=" \n "), tmp_path, "INFO")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    (error,) = error_lines(done.stderr)
    assert "api_key" in error["message"] and "empty" in error["message"]


@pytest.mark.parametrize("which", ["tap", "target"])
@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_a_key_in_base_url_is_never_printed_with_the_server_down(tmp_path, which, level):
    base_url = f"http://127.0.0.1:{free_port()}/v1?token={SECRET}"
    config: dict[str, Any] = {
        "api_key": "another-key-4242",
        "base_url": base_url,
        "team_id": DEMO_TEAM,
        "max_retries": 0,
    }
    config.update({"database_ids": [CRM_DB]} if which == "tap" else {"database_id": "db"})
    done = run_cli(which, config, tmp_path, level, target_input() if which == "target" else "")
    assert done.returncode == 1, done.stderr[-3000:]
    assert error_lines(done.stderr), done.stderr[-3000:]
    output = done.stdout + done.stderr
    assert SECRET not in output
    assert "another-key-4242" not in output


@pytest.mark.parametrize("which", ["tap", "target"])
def test_credentials_in_base_url_are_refused_before_any_request(emulator, tmp_path, which):
    netloc = emulator.base_url.split("://", 1)[1]
    base_url = f"http://ninox:{SECRET}@{netloc}"
    config = (
        tap_config(emulator, base_url=base_url)
        if which == "tap"
        else target_config(emulator, base_url=base_url)
    )
    emulator.clear_log()
    done = run_cli(which, config, tmp_path, "DEBUG", target_input() if which == "target" else "")
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    (error,) = error_lines(done.stderr)
    assert "base_url" in error["message"]
    assert "remove" in error["message"]
    assert "***@" in error["message"]
    assert SECRET not in done.stdout + done.stderr
    assert emulator.requests == []


def test_the_structured_formatter_prints_no_secret_from_extra_fields_or_exceptions():
    import io
    import logging

    from singer_sdk.logging import StructuredFormatter

    from ninox_core.transport.redaction import add_secret, install

    add_secret(SECRET)
    install()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(StructuredFormatter())
    logger = logging.getLogger("tests.secrets.structured")
    logger.addHandler(handler)
    try:
        logger.warning("extra", extra={"sent_headers": f"Authorization: Bearer {SECRET}"})
        try:
            try:
                raise KeyError(SECRET)
            except KeyError as inner:
                raise RuntimeError(f"wrapped {SECRET!r}") from inner
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    entries = [json.loads(line) for line in output.splitlines()]
    assert SECRET not in output
    assert entries[1]["exception"]["type"] == "RuntimeError"
    assert entries[1]["exception"]["cause"]["type"] == "KeyError"
    assert "***" in entries[1]["exception"]["message"]
