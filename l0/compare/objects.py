"""Deep differences between two nested values, each reported with a path like `a.b[2].c`.

Both sides are walked together. Pydantic models (anything with `model_dump`) and dataclass
instances are compared as the dicts of their fields; lists and tuples are arrays; other
values are leaves. Paths join mapping keys with dots (keys that are not identifiers are
written `["some key"]`) and array indexes with brackets; the root's path is `""`.

Severities: a type mismatch or a removed value is an ERROR (the structure disagrees); an
added value or a changed value is a WARNING; a changed string that is the same once case and
whitespace are ignored is only INFO. Two numbers (int or float, never bool) are equal when
they differ by at most `numeric_tolerance`; NaN equals NaN.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from l0.compare.strings import normalize, similarity
from l0.compare.types import (
    Difference,
    DifferenceSeverity,
    DifferenceType,
    ObjectComparisonOptions,
    StringComparisonOptions,
)

_DEFAULT = ObjectComparisonOptions()
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_LOOSE = StringComparisonOptions(case_sensitive=False, normalize_whitespace=True)


def plain(value: Any) -> Any:
    """A Pydantic model or dataclass instance as a dict of its fields; anything else as is."""
    if hasattr(value, "model_dump") and hasattr(type(value), "model_fields"):
        return value.model_dump()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    return value


def kind(value: Any) -> str:
    """The JSON-like kind of a (plain) value; two values of different kinds never match."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return type(value).__name__


def key_path(parent: str, key: object) -> str:
    """The path of `key` inside the mapping at `parent`."""
    if isinstance(key, str) and _IDENTIFIER.match(key):
        return f"{parent}.{key}" if parent else key
    rendered = json.dumps(key) if isinstance(key, str) else repr(key)
    return f"{parent}[{rendered}]"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Differ:
    def __init__(self, options: ObjectComparisonOptions) -> None:
        self.options = options
        self.found: list[Difference] = []

    def add(self, path: str, type_: DifferenceType, expected: Any, actual: Any) -> None:
        where = path or "(root)"
        if type_ is DifferenceType.ADDED:
            severity, message = DifferenceSeverity.WARNING, f"{where}: added {_short(actual)}"
        elif type_ is DifferenceType.REMOVED:
            severity, message = DifferenceSeverity.ERROR, f"{where}: removed {_short(expected)}"
        elif type_ is DifferenceType.TYPE_MISMATCH:
            severity = DifferenceSeverity.ERROR
            message = f"{where}: {kind(expected)} {_short(expected)} became " + (
                f"{kind(actual)} {_short(actual)}"
            )
        else:
            loose = (
                isinstance(expected, str)
                and isinstance(actual, str)
                and normalize(expected, _LOOSE) == normalize(actual, _LOOSE)
            )
            severity = DifferenceSeverity.INFO if loose else DifferenceSeverity.WARNING
            message = f"{where}: changed from {_short(expected)} to {_short(actual)}"
        self.found.append(Difference(path, type_, severity, expected, actual, message))

    def walk(self, expected: Any, actual: Any, path: str) -> None:
        expected, actual = plain(expected), plain(actual)
        left, right = kind(expected), kind(actual)
        if left != right:
            self.add(path, DifferenceType.TYPE_MISMATCH, expected, actual)
        elif left == "object":
            self.walk_mapping(expected, actual, path)
        elif left == "array":
            if self.options.ignore_order:
                self.walk_unordered(expected, actual, path)
            else:
                self.walk_ordered(expected, actual, path)
        elif not self.leaves_equal(expected, actual):
            self.add(path, DifferenceType.CHANGED, expected, actual)

    def walk_mapping(
        self, expected: Mapping[Any, Any], actual: Mapping[Any, Any], path: str
    ) -> None:
        ignored = self.options.ignore_keys
        for key, value in expected.items():
            if key in ignored:
                continue
            if key in actual:
                self.walk(value, actual[key], key_path(path, key))
            else:
                self.add(key_path(path, key), DifferenceType.REMOVED, value, None)
        for key, value in actual.items():
            if key not in expected and key not in ignored:
                self.add(key_path(path, key), DifferenceType.ADDED, None, value)

    def walk_ordered(self, expected: Any, actual: Any, path: str) -> None:
        for index in range(max(len(expected), len(actual))):
            where = f"{path}[{index}]"
            if index >= len(actual):
                self.add(where, DifferenceType.REMOVED, expected[index], None)
            elif index >= len(expected):
                self.add(where, DifferenceType.ADDED, None, actual[index])
            else:
                self.walk(expected[index], actual[index], where)

    def walk_unordered(self, expected: Any, actual: Any, path: str) -> None:
        unmatched = list(range(len(actual)))
        for index, value in enumerate(expected):
            match = next((j for j in unmatched if self.equal(value, actual[j])), None)
            if match is None:
                self.add(f"{path}[{index}]", DifferenceType.REMOVED, value, None)
            else:
                unmatched.remove(match)
        for j in unmatched:
            self.add(f"{path}[{j}]", DifferenceType.ADDED, None, actual[j])

    def equal(self, expected: Any, actual: Any) -> bool:
        probe = _Differ(self.options)
        probe.walk(expected, actual, "")
        return not probe.found

    def leaves_equal(self, expected: Any, actual: Any) -> bool:
        if isinstance(expected, str):
            options = self.options.string_options
            if options is None:
                return bool(expected == actual)
            return similarity(expected, actual, options) >= self.options.string_threshold
        if kind(expected) == "number":
            if math.isnan(expected) or math.isnan(actual):
                return math.isnan(expected) and math.isnan(actual)
            return bool(abs(expected - actual) <= self.options.numeric_tolerance)
        return bool(expected == actual)


def differences(
    expected: Any, actual: Any, options: ObjectComparisonOptions | None = None
) -> list[Difference]:
    """Every difference from `expected` to `actual`, in the order of `expected`'s keys."""
    differ = _Differ(options or _DEFAULT)
    differ.walk(expected, actual, "")
    return differ.found


def deep_equal(expected: Any, actual: Any, options: ObjectComparisonOptions | None = None) -> bool:
    """True when `differences(expected, actual, options)` finds nothing."""
    return _Differ(options or _DEFAULT).equal(expected, actual)


__all__ = ["deep_equal", "differences", "key_path", "kind", "plain"]
