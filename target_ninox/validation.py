"""Record validation against the stream's SCHEMA, fast enough to not matter.

jsonschema's validator costs most of a target's CPU (docs/sdk-notes.md). Singer
schemas are nearly always plain `type`/`properties`/`items` trees, so they are
compiled once into type checks (`type(v) in {str, NoneType}`) that accept a
record that is certainly valid. Only when that check fails — or when the
schema uses a keyword the compiler does not know — does jsonschema itself run,
both to decide and to word the error. The compiled check is conservative: it
never accepts what jsonschema would refuse, so the outcome is jsonschema's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import jsonschema
from singer_sdk.typing import DEFAULT_JSONSCHEMA_VALIDATOR

Check = Callable[[Any], bool]

_NONE = type(None)
_TYPES: dict[str, tuple[type, ...]] = {
    "null": (_NONE,),
    "string": (str,),
    "boolean": (bool,),
    # jsonschema also takes 1.0 as an integer; the fast check leaves such
    # cases to jsonschema rather than guess.
    "integer": (int,),
    # The msgspec reader decodes JSON fractions as Decimal.
    "number": (int, float, Decimal),
    "object": (dict,),
    "array": (list,),
}
# Keywords that never change whether a value is valid (formats are not
# checked, as in the SDK's default validator).
_ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "default",
        "examples",
        "format",
        "$comment",
        "$schema",
        "readOnly",
        "writeOnly",
        "deprecated",
        "inclusion",
        "selected",
        "selected-by-default",
        "contentMediaType",
        "contentEncoding",
    }
)
_SUPPORTED = _ANNOTATIONS | {
    "type",
    "properties",
    "items",
    "required",
    "additionalProperties",
    "anyOf",
}


class _Unsupported(Exception):
    """The schema uses a keyword the compiler leaves to jsonschema."""


def _compile(node: Any) -> Check:
    if node is True or node == {}:
        return lambda _v: True
    if not isinstance(node, Mapping) or not set(node) <= _SUPPORTED:
        raise _Unsupported
    checks: list[Check] = []
    if "type" in node:
        names = node["type"] if isinstance(node["type"], list) else [node["type"]]
        if not all(isinstance(n, str) and n in _TYPES for n in names):
            raise _Unsupported
        allowed = frozenset(t for n in names for t in _TYPES[n])
        checks.append(lambda v: type(v) in allowed)
    if "anyOf" in node:
        options = [_compile(option) for option in node["anyOf"]]
        checks.append(lambda v: any(option(v) for option in options))
    object_check = _compile_object(node)
    if object_check is not None:
        checks.append(lambda v: not isinstance(v, dict) or object_check(v))
    if "items" in node:
        item = _compile(node["items"])
        checks.append(lambda v: not isinstance(v, list) or all(item(i) for i in v))
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        # A record's schema: its type, then its properties (once per record).
        first, second = checks
        return lambda v: first(v) and second(v)
    return lambda v: all(check(v) for check in checks)


def _compile_object(node: Mapping[str, Any]) -> Check | None:
    """Checks of `properties`, `required`, `additionalProperties`, or None."""
    if not {"properties", "required", "additionalProperties"} & set(node):
        return None
    # Scalar properties get a bare type set (the common, cheapest case);
    # the others a compiled check.
    scalar: dict[str, frozenset[type]] = {}
    nested: dict[str, Check] = {}
    for name, sub in (node.get("properties") or {}).items():
        if (
            isinstance(sub, Mapping)
            and set(sub) <= _ANNOTATIONS | {"type"}
            and "type" in sub
            and all(
                isinstance(n, str) and n in _TYPES and n not in ("object", "array")
                for n in (sub["type"] if isinstance(sub["type"], list) else [sub["type"]])
            )
        ):
            names = sub["type"] if isinstance(sub["type"], list) else [sub["type"]]
            scalar[name] = frozenset(t for n in names for t in _TYPES[n])
        else:
            nested[name] = _compile(sub)
    required = tuple(node.get("required") or ())
    extra = node.get("additionalProperties", True)
    extra_check: Check | None = None
    if extra is False:
        extra_check = lambda _v: False  # noqa: E731
    elif extra is not True:
        extra_check = _compile(extra)

    def check(record: dict[str, Any]) -> bool:
        for key in required:
            if key not in record:
                return False
        for key, value in record.items():
            types = scalar.get(key)
            if types is not None:
                if type(value) not in types:
                    return False
                continue
            sub = nested.get(key)
            if sub is not None:
                if not sub(value):
                    return False
            elif extra_check is not None and not extra_check(value):
                return False
        return True

    return check


class RecordValidator:
    """Validates records of one stream; `errors()` words what is wrong."""

    def __init__(self, schema: dict[str, Any]) -> None:
        """Compile the schema; check it is a valid JSON schema at all."""
        DEFAULT_JSONSCHEMA_VALIDATOR.check_schema(schema)
        self._full = DEFAULT_JSONSCHEMA_VALIDATOR(
            schema, format_checker=jsonschema.FormatChecker(formats=())
        )
        try:
            self._fast: Check | None = _compile(schema)
        except _Unsupported:
            self._fast = None

    def first_error(self, record: dict[str, Any]) -> jsonschema.ValidationError | None:
        """None for a valid record, else the most relevant validation error."""
        if self._fast is not None and self._fast(record):
            return None
        best: jsonschema.ValidationError | None = jsonschema.exceptions.best_match(
            self._full.iter_errors(record)
        )
        return best
