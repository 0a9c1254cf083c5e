"""The explicit registry of checks: built-in rules plus third-party ones from the `oopsguard.checks` entry point."""
from __future__ import annotations

from importlib.metadata import entry_points
from typing import Iterable, Iterator

from checks.model import Check

ENTRY_POINT_GROUP = "oopsguard.checks"


class DuplicateCheckError(ValueError):
    """Two checks claim the same rule id."""


class Registry:
    """An ordered set of checks keyed by rule id; registering an id twice is an error."""

    def __init__(self, checks: Iterable[Check] = ()) -> None:
        self._checks: dict[str, Check] = {}
        for check in checks:
            self.register(check)

    def register(self, check: Check) -> Check:
        if not isinstance(check, Check):
            raise TypeError(f"{check!r} is not a check (needs id, severity, applies_to and run)")
        if check.id in self._checks:
            raise DuplicateCheckError(f"duplicate check id {check.id!r}")
        self._checks[check.id] = check
        return check

    def __iter__(self) -> Iterator[Check]:
        return iter(self._checks.values())

    def __len__(self) -> int:
        return len(self._checks)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._checks

    def get(self, rule_id: str) -> Check:
        return self._checks[rule_id]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._checks)


def builtin_checks() -> list[Check]:
    """The thirteen rules of SPEC section 4, in the order the spec lists them."""
    from checks.rules import ALL_RULES

    return list(ALL_RULES)


def default_registry(load_plugins: bool = True) -> Registry:
    """Built-in checks, then every check or list of checks published under the entry-point group."""
    registry = Registry(builtin_checks())
    if load_plugins:
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            loaded = entry.load()
            for check in loaded if isinstance(loaded, (list, tuple)) else [loaded]:
                registry.register(check)
    return registry
