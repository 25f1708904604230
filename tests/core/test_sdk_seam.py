"""The SDK seam: every private singer_sdk name the connectors rely on still exists.

The connectors keep every override of, or reliance on, a private singer_sdk
name in one module each (`tap_ninox/_sdk_compat.py`,
`target_ninox/_sdk_compat.py`). These tests fail with a message naming the
name, the installed SDK version and the module to update when an SDK upgrade
removes or reshapes one of them, and when a private SDK name shows up
outside those modules.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
import tokenize
from importlib.metadata import version
from pathlib import Path
from types import ModuleType

import pytest
from singer_sdk import Sink, Stream, Tap, Target
from singer_sdk.sinks import BatchSink

import tap_ninox._sdk_compat as tap_compat
import target_ninox._sdk_compat as target_compat
from ninox_core.cli.inputs import ConfigInput

ROOT = Path(__file__).resolve().parents[2]
SDK_VERSION = version("singer-sdk")
SEAMS: dict[str, ModuleType] = {"tap-ninox": tap_compat, "target-ninox": target_compat}
SEAM_FILES = {"tap_ninox/_sdk_compat.py", "target_ninox/_sdk_compat.py"}


def _where(module: ModuleType) -> str:
    return str(Path(module.__file__ or "").resolve().relative_to(ROOT))


def _broken(connector: str, module: ModuleType, what: str) -> str:
    return (
        f"singer-sdk {SDK_VERSION} no longer has {what}; {connector}'s SDK seam needs "
        f"updating: see {_where(module)}"
    )


def _params(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)  # type: ignore[arg-type]


def _sdk_owner(cls: type, name: str) -> type | None:
    """The first singer_sdk class in `cls`'s MRO (after ours) that defines `name`."""
    for base in cls.__mro__[1:]:
        if base.__module__.startswith("singer_sdk") and name in vars(base):
            return base
    return None


def _private_overrides() -> list[tuple[str, ModuleType, type, str]]:
    """(connector, seam module, compat class, name) of every private name a seam class defines."""
    found = []
    for connector, module in SEAMS.items():
        for cls in vars(module).values():
            if not (inspect.isclass(cls) and cls.__module__ == module.__name__):
                continue
            for name in vars(cls):
                if name.startswith("_") and not name.startswith("__"):
                    found.append((connector, module, cls, name))
    return found


OVERRIDES = _private_overrides()


def test_the_seams_override_the_private_names_relied_on() -> None:
    """The generic check below sees the overrides named in the seam modules."""
    names = {name for _, _, _, name in OVERRIDES}
    assert {
        "_generate_record_messages",
        "_increment_stream_state",
        "_handle_termination",
        "_assert_sink_exists",
        "_validate_and_parse",
        "_MAX_RECORD_AGE_IN_MINUTES",
    } <= names


@pytest.mark.parametrize(
    ("connector", "module", "cls", "name"),
    OVERRIDES,
    ids=[f"{cls.__name__}.{name}" for _, _, cls, name in OVERRIDES],
)
def test_each_private_override_still_matches_the_sdk(
    connector: str, module: ModuleType, cls: type, name: str
) -> None:
    """A private name a seam class overrides still exists in the SDK, same parameters."""
    ours = vars(cls)[name]
    owner = _sdk_owner(cls, name)
    shown = f"{cls.__mro__[1].__name__}.{name}"
    if callable(ours):
        shown += "(" + ", ".join(_params(ours)[1:]) + ")"
    assert owner is not None, _broken(connector, module, shown)
    theirs = vars(owner)[name]
    if callable(ours):
        assert callable(theirs), _broken(connector, module, shown)
        assert _params(ours) == _params(theirs), _broken(connector, module, shown)
    else:
        assert type(theirs) is type(ours), _broken(connector, module, shown)


@pytest.mark.parametrize(
    ("connector", "cls", "name", "params"),
    [
        # CompatStream.write_state_now
        ("tap-ninox", Stream, "_write_state_message", ["self"]),
    ],
)
def test_private_methods_called_still_exist(
    connector: str, cls: type, name: str, params: list[str]
) -> None:
    """Private SDK methods the seams call (not override) keep their parameters."""
    module = SEAMS[connector]
    what = f"{cls.__name__}.{name}({', '.join(params[1:])})"
    method = getattr(cls, name, None)
    assert callable(method), _broken(connector, module, what)
    assert _params(method) == params, _broken(connector, module, what)


@pytest.mark.parametrize(
    ("connector", "cls", "attribute"),
    [
        # CompatStream._generate_record_messages: the ACTIVATE_VERSION version.
        ("tap-ninox", Stream, "_stream_version"),
        # CompatTap.__init__: the writer every STATE goes through.
        ("tap-ninox", Tap, "_state_writer"),
    ],
)
def test_private_attributes_read_are_still_set(connector: str, cls: type, attribute: str) -> None:
    """Private instance attributes the connectors read are still set by the SDK's constructor."""
    source = inspect.getsource(cls.__init__)  # type: ignore[misc]
    assert f"self.{attribute}" in source, _broken(
        connector, SEAMS[connector], f"{cls.__name__}().{attribute}"
    )


def test_the_sdk_still_installs_handle_termination_as_the_signal_handler() -> None:
    """Both seams' `_handle_termination` only matter if the SDK installs it for SIGTERM/SIGINT."""
    from singer_sdk.plugin_base import PluginBase

    source = inspect.getsource(PluginBase)
    assert "signal.signal(signal.SIGTERM, self._handle_termination)" in source, _broken(
        "tap-ninox", tap_compat, "PluginBase._handle_termination as the SIGTERM handler"
    )


def test_every_state_of_the_sdk_still_goes_through_the_tap_state_writer() -> None:
    """`BudgetedStateWriter` decides when a STATE is written only if the SDK asks it."""
    from singer_sdk.helpers._state import StateWriter

    assert "state_writer.write_state(" in inspect.getsource(Stream._write_state_message), _broken(
        "tap-ninox", tap_compat, "Stream._write_state_message via the tap's state writer"
    )
    assert "_state_writer.write_state(" in inspect.getsource(Tap.sync_all), _broken(
        "tap-ninox", tap_compat, "Tap.sync_all writing through _state_writer"
    )
    assert _params(StateWriter.write_state) == ["self", "state"], _broken(
        "tap-ninox", tap_compat, "StateWriter.write_state(state)"
    )


def test_progress_markers_still_become_the_bookmark() -> None:
    """`CompatStream.set_final_bookmark` writes the SDK's progress-marker layout."""
    from singer_sdk.helpers import _state

    state = {"progress_markers": {"replication_key": "_sequence", "replication_key_value": 42}}
    _state.finalize_state_progress_markers(state)
    assert state.get("replication_key") == "_sequence", _broken(
        "tap-ninox", tap_compat, "progress_markers promoted to the bookmark"
    )
    assert state.get("replication_key_value") == 42, _broken(
        "tap-ninox", tap_compat, "progress_markers promoted to the bookmark"
    )


def test_config_input_still_has_the_fields_of_the_sdks() -> None:
    """`cb_config` returns our ConfigInput where the SDK expects its private `_ConfigInput`."""
    from singer_sdk.plugin_base import _ConfigInput

    theirs = {f.name for f in dataclasses.fields(_ConfigInput)}
    ours = {f.name for f in dataclasses.fields(ConfigInput)}
    assert theirs <= ours, _broken(
        "tap-ninox", tap_compat, f"_ConfigInput with only the fields {sorted(ours)}"
    )
    assert _params(Tap.cb_config) == _params(tap_compat.CompatTap.cb_config)


def test_private_sdk_imports_of_the_seams_still_resolve() -> None:
    """Every `from singer_sdk... import _name` in a seam module still imports."""
    pattern = re.compile(r"^from (singer_sdk[\w.]*) import (.+)$", re.MULTILINE)
    for connector, module in SEAMS.items():
        source = Path(module.__file__ or "").read_text(encoding="utf-8")
        for path, names in pattern.findall(source):
            for name in re.findall(r"\b(_\w+)\b", names.split(" as ")[0]):
                assert hasattr(importlib.import_module(path), name), _broken(
                    connector, module, f"{path}.{name}"
                )


#: A private SDK name in source: a private SDK module or name imported, a
#: private method reached through `super()`, or one of the private SDK names
#: the seams hold used elsewhere.
_PRIVATE_USE = re.compile(
    r"singer_sdk[.\w]*\._\w+"
    r"|from singer_sdk[.\w]* import [^\n]*\b_\w+"
    r"|super\(\)\._[a-z]\w*"
    r"|\._(?:generate_record_messages|increment_stream_state|write_state_message"
    r"|handle_termination|validate_and_parse|remove_sdc\w*|assert_sink_exists|sinks_active"
    r"|MAX_RECORD_AGE\w*|stream_version|initialized_at|singer_validate_message"
    r"|process_record_message|get_context)\b"
)


def test_private_sdk_names_appear_only_in_the_seam_modules() -> None:
    """`grep` finds private singer_sdk names only in the seam modules."""
    stray = []
    for package in ("tap_ninox", "target_ninox", "ninox_core"):
        for path in sorted((ROOT / package).rglob("*.py")):
            where = str(path.relative_to(ROOT))
            if where in SEAM_FILES:
                continue
            for number, line in enumerate(_code_only(path), 1):
                for match in _PRIVATE_USE.finditer(line):
                    if not _ours(match.group(0), where):
                        stray.append(f"{where}:{number}: {match.group(0)}")
    assert not stray, (
        "private singer_sdk names outside the SDK seam modules (move them into "
        "tap_ninox/_sdk_compat.py or target_ninox/_sdk_compat.py, with why):\n" + "\n".join(stray)
    )


def _code_only(path: Path) -> list[str]:
    """The file's lines with comments and strings (docstrings) blanked out."""
    lines = [list(line) for line in path.read_text(encoding="utf-8").splitlines()]
    with path.open("rb") as file:
        for token in tokenize.tokenize(file.readline):
            if token.type not in (tokenize.COMMENT, tokenize.STRING):
                continue
            (row, col), (end_row, end_col) = token.start, token.end
            for number in range(row, end_row + 1):
                line = lines[number - 1]
                first = col if number == row else 0
                last = end_col if number == end_row else len(line)
                line[first:last] = " " * (last - first)
    return ["".join(line) for line in lines]


def _ours(text: str, where: str) -> bool:
    """`super()._x` is fine when `_x` is a method of our own base class."""
    if not text.startswith("super()."):
        return False
    name = text.removeprefix("super().")
    return not any(hasattr(cls, name) for cls in (Stream, Tap, Target, Sink, BatchSink))


def _sdk_overrides() -> list[tuple[str, object]]:
    """Every method, property or classmethod of ours that overrides one of singer_sdk."""
    import importlib
    import inspect
    import pkgutil

    found: list[tuple[str, object]] = []
    for package in ("tap_ninox", "target_ninox", "ninox_core"):
        for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
            module = importlib.import_module(f"{package}.{info.name}")
            for cls in vars(module).values():
                if not inspect.isclass(cls) or cls.__module__ != module.__name__:
                    continue
                for attr, value in vars(cls).items():
                    if attr.startswith("__") or (
                        not isinstance(value, (classmethod, staticmethod, property))
                        and not inspect.isfunction(value)
                    ):
                        continue
                    if any(
                        attr in vars(base) and base.__module__.startswith("singer_sdk")
                        for base in cls.__mro__[1:]
                    ):
                        found.append((f"{module.__name__}.{cls.__name__}.{attr}", value))
    return found


def test_every_override_of_an_sdk_method_says_so() -> None:
    """`@override` marks each override, so a renamed SDK method fails type checks."""
    overrides = _sdk_overrides()
    assert len(overrides) > 30  # the scan finds the connectors' overrides
    unmarked = []
    for name, value in overrides:
        function = value.fget if isinstance(value, property) else value
        function = getattr(function, "__func__", function)
        if not getattr(function, "__override__", False):
            unmarked.append(name)
    assert not unmarked, f"add @override (typing_extensions) to: {', '.join(unmarked)}"
