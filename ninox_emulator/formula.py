r"""The emulator's tiny formula language (a field of type `formula`/`fn`).

A formula field carries its expression in the schema as `"fn"`, e.g.
`"'First name' + \" \" + 'Last name'"`. The emulator understands only terms
joined by `+`:

- `'Field name'` (single quotes, Ninox style) or a bare field id (`E`);
- `"text"` (a string literal) or a number.

When every term is a number the result is their sum, otherwise the text
concatenation of the terms (an empty field counts as `""`, a list as its
items joined by `", "`). An empty result leaves the field out of `fields`,
like any empty field. Anything the emulator cannot parse evaluates to the
expression text itself, so a schema with a real Ninox formula still loads.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_TOKEN = re.compile(r"""\s*(?:'([^']*)'|"([^"]*)"|(-?\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*))\s*""")

#: Resolves a field name or id to a callable giving that field's text value.
Resolver = Callable[[str], Callable[[Any], Any] | None]


class Formula:
    """A parsed formula: `evaluate(record)` gives its value."""

    def __init__(self, expression: str, resolve: Resolver) -> None:
        """Parse `expression`; `resolve` maps a field name/id to a value getter."""
        self.expression = expression
        self._terms: list[tuple[bool, Any]] | None = []  # (is_field, getter or literal)
        for part in expression.split("+") if expression.strip() else []:
            match = _TOKEN.fullmatch(part)
            getter = None
            if match and (match.group(1) is not None or match.group(4)):
                getter = resolve(match.group(1) if match.group(1) is not None else match.group(4))
                if getter is None:
                    self._terms = None
                    break
                self._terms.append((True, getter))
            elif match and match.group(2) is not None:
                self._terms.append((False, match.group(2)))
            elif match and match.group(3):
                number = float(match.group(3))
                self._terms.append((False, int(number) if number.is_integer() else number))
            else:
                self._terms = None
                break

    def evaluate(self, record: Any) -> Any:
        """The formula's value for `record` (None when empty)."""
        if self._terms is None:
            return self.expression
        values = [getter(record) if is_field else getter for is_field, getter in self._terms]
        if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            return sum(values)
        text = "".join(_as_text(v) for v in values)
        return text or None


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(_as_text(v) for v in value)
    return str(value)
