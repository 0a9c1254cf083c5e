"""Cross-checks between the configuration and the registered rules (unknown rule ids in team files)."""
from __future__ import annotations

from checks.registry import Registry, default_registry
from proxy.config import TEAMS_DIR, Config


def unknown_rule_problems(config: Config, registry: Registry | None = None) -> list[str]:
    """`file: rules.<id>: reason` for every [rules.<id>] table that names no registered rule."""
    known = registry if registry is not None else default_registry()
    problems = []
    for team in config.teams.values():
        for rule_id in team.rules:
            if rule_id not in known:
                problems.append(
                    f"{config.directory / TEAMS_DIR / (team.name + '.toml')}: rules.{rule_id}: "
                    f"unknown rule id (known: {', '.join(known.ids)})"
                )
    return problems
