"""What the connectors read from the command line: config, env vars, state.

The SDK reads these with tracebacks for a missing or broken file, refuses
numbers given as environment variables and runs a full sync on a state file
of the wrong shape. Here every such problem is a `CliInputError` whose
message is the one line the user sees: which file or variable, what is wrong
with it and what is expected (docs/design.md, "Errors and logs").
"""

from __future__ import annotations

import copy
import json
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import validators

from ninox_core.cli.settings import api_problem
from ninox_core.errors import NinoxError
from ninox_core.transport.redaction import add_secret, install, protect_url

logger = logging.getLogger("ninox_core.cli.inputs")

_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off", "")


class CliInputError(NinoxError):
    """A config file, state file, env var or setting the run cannot use."""


@dataclass
class ConfigInput:
    """The merged config of every `--config` source, in the SDK's shape.

    `parse_env` stays False: the environment has already been parsed (by
    `env_config`, per the settings schema) into `config`.
    """

    config: dict[str, Any] = field(default_factory=dict)
    parse_env: bool = False
    #: Where each setting came from: a file path or an env var name.
    sources: dict[str, str] = field(default_factory=dict)


def read_json_file(path: str, what: str, expected: str) -> Any:
    """The JSON in `path`; a missing, unreadable or non-JSON file is one clear error."""
    file = Path(path)
    if not file.is_file():
        raise CliInputError(f"{what} file {path!r} does not exist; expected {expected}")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliInputError(f"{what} file {path!r} cannot be read: {exc}") from exc
    if not text.strip():
        raise CliInputError(f"{what} file {path!r} is empty; expected {expected}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliInputError(
            f"{what} file {path!r} is not JSON ({exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}); expected {expected}"
        ) from exc


def config_input(paths: Iterable[str], schema: Mapping[str, Any], env_prefix: str) -> ConfigInput:
    """Merge the `--config` sources in order: files, and `ENV` for the environment.

    As in the SDK, values from the environment override those of files.
    The API key (and credentials in `base_url`) are registered for masking
    before anything can log them.
    """
    result = ConfigInput()
    use_env = False
    for path in paths:
        if path == "ENV":
            use_env = True
            continue
        data = read_json_file(path, "config", "a JSON object of settings")
        if not isinstance(data, dict):
            raise CliInputError(
                f"config file {path!r} holds JSON {type(data).__name__}, not an object "
                'of settings; expected {"api_key": "...", "team_id": "...", ...}'
            )
        result.config.update(data)
        result.sources.update(dict.fromkeys(data, f"config file {path!r}"))
    if use_env:
        values, sources = env_config(schema, env_prefix, os.environ)
        result.config.update(values)
        result.sources.update(sources)
        _warn_unknown_env(schema, env_prefix, os.environ)
        if sources:
            # The SDK then says "Skipping parse of env var settings": they
            # were parsed here, per the settings schema.
            names = sorted(source.rsplit(" ", 1)[-1] for source in sources.values())
            logger.info("Settings read from environment variables: %s", ", ".join(names))
    add_secret(result.config.get("api_key"))
    protect_url(result.config.get("base_url"))
    install()
    return result


def env_config(
    schema: Mapping[str, Any], prefix: str, environ: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Settings from `<PREFIX><SETTING>` env vars, each parsed per its schema type."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key, prop in (schema.get("properties") or {}).items():
        name = prefix + key.upper().replace("-", "_")
        if name in environ:
            values[key] = _parse_env_value(name, environ[name], prop)
            sources[key] = f"environment variable {name}"
    return values, sources


def _warn_unknown_env(schema: Mapping[str, Any], prefix: str, environ: Mapping[str, str]) -> None:
    """One warning per `<PREFIX>NAME` variable that names no setting.

    Only warned, never fatal: the environment is shared with other programs.
    `<PREFIX>_NAME` (Meltano's plugin extras) and `<PREFIX>LOGLEVEL` (the
    SDK's log level) are not settings and are left alone.
    """
    known = {prefix + key.upper().replace("-", "_"): key for key in schema.get("properties") or {}}
    others = (prefix + "_", prefix + "LOGLEVEL")
    for name in sorted(environ):
        if not name.startswith(prefix) or name in known or name.startswith(others):
            continue
        near = closest_setting(name[len(prefix) :], list(known.values()))
        hint = f"; did you mean {prefix}{near.upper()}?" if near else ""
        logger.warning("environment variable %s names no setting and is ignored%s", name, hint)


def _types(prop: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    for option in [prop, *(prop.get("anyOf") or ()), *(prop.get("oneOf") or ())]:
        kind = option.get("type") if isinstance(option, Mapping) else None
        found.extend([kind] if isinstance(kind, str) else list(kind or ()))
    return found


def _parse_env_value(name: str, raw: str, prop: Mapping[str, Any]) -> Any:
    types = _types(prop)
    text = raw.strip()
    shown = "(hidden)" if prop.get("secret") else repr(raw)
    if "boolean" in types:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise CliInputError(f"environment variable {name}={shown} is not true or false")
    if "integer" in types:
        try:
            return int(text)
        except ValueError:
            pass
        if "number" not in types:
            raise CliInputError(f"environment variable {name}={shown} is not a whole number")
    if "number" in types:
        try:
            number = float(text)
        except ValueError:
            raise CliInputError(f"environment variable {name}={shown} is not a number") from None
        return int(number) if number.is_integer() and "." not in text else number
    if "array" in types or "object" in types:
        if text[:1] in "[{":
            try:
                return json.loads(text)
            except json.JSONDecodeError as exc:
                raise CliInputError(
                    f"environment variable {name}={shown} is not valid JSON ({exc.msg})"
                ) from None
        if "array" in types:
            # The SDK's older form: comma-separated values.
            return [part.strip() for part in text.split(",") if part.strip()]
        raise CliInputError(f"environment variable {name}={shown} is not a JSON object")
    return raw


def check_settings(
    schema: Mapping[str, Any],
    config: ConfigInput | Any,
    name: str = "this connector",
    log: logging.Logger | None = None,
) -> None:
    """Validate the merged settings; every problem is named in one line.

    A key that is not a setting is a problem when it is within two edits of
    one (`databse_ids`: a typo that would otherwise read every database);
    any other unknown key is one warning (docs/design.md, "Errors and logs").
    """
    settings = getattr(config, "config", None) or {}
    sources: dict[str, str] = getattr(config, "sources", {})
    known = list(schema.get("properties") or {})
    problems = []
    for key in settings:
        if key in known:
            continue
        where = sources.get(key, "the settings")
        near = closest_setting(key, known)
        if near is not None:
            problems.append(f"{key} in {where} is not a setting of {name}; did you mean `{near}`?")
        else:
            (log or logger).warning(
                "%s in %s is not a setting of %s and is ignored (see --about for every setting)",
                key,
                where,
                name,
            )
    checker = validators.validator_for(schema)(copy.deepcopy(dict(schema)))
    for error in sorted(checker.iter_errors(settings), key=lambda e: [str(p) for p in e.path]):
        key = str(error.path[0]) if error.path else None
        if key is None:
            missing = error.message.split("'")[1] if "required" in error.message else ""
            problems.append(
                f"setting {missing} is required" if missing else f"settings: {error.message}"
            )
            continue
        prop = (schema.get("properties") or {}).get(key) or {}
        value = "(hidden)" if prop.get("secret") else repr(error.instance)[:80]
        where = sources.get(key, "the settings")
        problems.append(f"setting {key} in {where}: {value} {_what_is_wrong(error)}")
    if "workspace_id" in known and not any(p.startswith("setting team_id") for p in problems):
        selection = api_problem(settings)
        if selection:
            problems.append(selection)
    if problems:
        raise CliInputError(
            "invalid settings: " + "; ".join(problems) + " (see --about for every setting)"
        )


def check_plugin_settings(plugin: Any, config: ConfigInput | Any) -> None:
    """`check_settings` against a connector class's full settings (SDK ones included)."""
    check_settings(settings_schema(plugin), config, plugin.name, plugin.logger)


#: A key this close to a setting (in edits) is taken for a typo of it.
TYPO_EDITS = 2


def closest_setting(key: str, known: Iterable[str]) -> str | None:
    """The setting `key` is a typo of (at most `TYPO_EDITS` edits away), if any.

    Case and `-` for `_` are ignored; a swap of two neighbouring letters is
    one edit.
    """
    folded = key.lower().replace("-", "_")
    best: tuple[int, str] | None = None
    for name in known:
        distance = edit_distance(folded, name.lower())
        if distance <= TYPO_EDITS and (best is None or distance < best[0]):
            best = (distance, name)
    return best[1] if best else None


def edit_distance(a: str, b: str) -> int:
    """Insertions, deletions, substitutions and neighbour swaps from `a` to `b`."""
    if abs(len(a) - len(b)) > TYPO_EDITS:
        return TYPO_EDITS + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, 1):
            current[j] = min(
                previous[j] + 1,
                current[j - 1] + 1,
                previous[j - 1] + (char_a != char_b),
            )
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def _what_is_wrong(error: Any) -> str:
    if error.validator == "type":
        expected = error.validator_value
        kinds = " or ".join(expected) if isinstance(expected, list) else str(expected)
        return f"is not of type {kinds}"
    if error.validator == "enum":
        return "is not one of " + ", ".join(map(repr, error.validator_value))
    if error.validator == "minimum":
        return f"is less than {error.validator_value}"
    message = str(error.message)
    return message.split(" ", 1)[1] if message.startswith(repr(error.instance)) else message


STATE_SHAPE = '{"bookmarks": {"<stream>": {"replication_key_value": ...}}}'


def read_state_file(path: str) -> dict[str, Any]:
    """A Singer state from `path`; anything else fails naming the file.

    A state of the wrong shape must not pass as "no state": that would
    silently read everything again (or, to a target, mean nothing).
    """
    data = read_json_file(path, "state", f"a Singer state {STATE_SHAPE}")
    hint = ""
    if isinstance(data, dict) and data.get("type") == "STATE" and "value" in data:
        hint = '; this is a STATE message: save its "value" instead'
    if not isinstance(data, dict):
        raise CliInputError(
            f"state file {path!r} holds JSON {type(data).__name__}, not a Singer state; "
            f"expected {STATE_SHAPE}"
        )
    if data == {}:
        return data
    if isinstance(data.get("singer_state"), dict) and "bookmarks" not in data:
        # Meltano's state backend stores a state as {"singer_state": {...}}.
        logger.info('state file %r is a Meltano state: its "singer_state" is used', path)
        data = dict(data["singer_state"])
    bookmarks = data.get("bookmarks")
    if not isinstance(bookmarks, dict):
        raise CliInputError(
            f'state file {path!r} is not a Singer state (no "bookmarks" object of '
            f"streams); expected {STATE_SHAPE}{hint}"
        )
    wrong = [name for name, value in bookmarks.items() if not isinstance(value, dict)]
    if wrong:
        raise CliInputError(
            f"state file {path!r} is not a Singer state (bookmarks of {', '.join(wrong)} "
            f"are not objects); expected {STATE_SHAPE}"
        )
    return data


def config_or_exit(plugin: Any, paths: Iterable[str]) -> ConfigInput:
    """`config_input` for a connector class's `cb_config`: a problem ends the run.

    It logs one ERROR line and exits 1 (the CLI has nothing to clean up yet).
    """
    prefix = plugin.name.upper().replace("-", "_") + "_"
    # The SDK's "Skipping parse of env var settings..." on every run reads as
    # if the environment were ignored: it is parsed here instead.
    plugin.logger.addFilter(_drop_sdk_env_line)
    try:
        return config_input(paths, settings_schema(plugin), prefix)
    except CliInputError as exc:
        plugin.logger.error("%s failed: %s", plugin.name, exc)
        raise SystemExit(1) from None


def _drop_sdk_env_line(record: logging.LogRecord) -> bool:
    return record.msg != "Skipping parse of env var settings..."


def settings_schema(plugin: Any) -> dict[str, Any]:
    """The plugin's settings schema with the SDK's built-in settings added."""
    schema = copy.deepcopy(plugin.config_jsonschema)
    plugin.append_builtin_config(schema)
    return dict(schema)
