"""The run context the sinks are handed instead of the Target (decision 0028)."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from target_ninox.context import Settings, context_of
from target_ninox.target import TargetNinox

PACKAGE = Path(__file__).resolve().parents[2] / "target_ninox"

CONFIG = {
    "api_key": "k" * 32,
    # Nothing listens here: a request would fail the test.
    "base_url": "http://127.0.0.1:9",
    "team_id": "team",
    "database_id": "db",
}


def reaches_back(source: str) -> list[str]:
    """The uses of the Target in `source`: `target.x`, `self._target`, an import of it."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            value = node.value
            if isinstance(value, ast.Name) and value.id == "target":
                found.append(f"target.{node.attr}")
            if node.attr == "_target":
                found.append("._target")
        if isinstance(node, ast.ImportFrom) and node.module == "target_ninox.target":
            found.append("import target_ninox.target")
    return found


def test_no_part_reaches_back_into_the_target():
    found = {
        path.name: uses
        for path in sorted(PACKAGE.glob("*.py"))
        if path.name != "target.py" and (uses := reaches_back(path.read_text(encoding="utf-8")))
    }
    assert found == {}


def test_the_check_sees_a_part_that_does():
    source = "def f(target):\n    return target.commit_policy, self._target\n"
    assert reaches_back(source) == ["target.commit_policy", "._target"]


def test_a_target_builds_its_context_without_a_request():
    target = TargetNinox(config={**CONFIG, "dry_run": True, "batch_size_rows": 7})
    context = context_of(target)
    assert context.settings == Settings(dry_run=True, batch_size=7)
    assert context.writers.guard is None  # a dry run emits no STATE, so no rerun marker
    assert "client" not in vars(context.destination)
    assert context.input_line() == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        context.settings = Settings()  # type: ignore[misc]


def test_settings_are_read_once_with_the_documented_defaults():
    assert Settings.from_config(CONFIG) == Settings(
        dry_run=False,
        hard_delete=False,
        load_method="upsert",
        batch_size=100,
        table_mapping={},
        upsert_keys={},
        unknown_fields="error",
        module=None,
    )
    given = Settings.from_config(
        {**CONFIG, "load_method": "overwrite", "upsert_keys": {"s": ["Email"]}, "module": "m"}
    )
    assert (given.load_method, given.upsert_keys, given.module) == (
        "overwrite",
        {"s": ["Email"]},
        "m",
    )


def test_context_of_refuses_what_is_not_a_target_ninox():
    with pytest.raises(TypeError, match="object has no target-ninox RunContext"):
        context_of(object())
