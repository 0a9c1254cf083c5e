"""The registry: every built-in rule has table examples, ids are unique, plugins load through the entry point."""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Iterator

import pytest

import test_rules_apology as apology_tables
import test_rules_broadcast as broadcast_tables
from checks.engine import run_checks
from checks.model import (
    AppliesTo,
    Audience,
    CheckMessage,
    Classification,
    Finding,
    ParsedMessage,
    RuleSettings,
    Severity,
    TeamContext,
)
from checks.registry import DuplicateCheckError, Registry, default_registry
from checks.text import TextIndex, make_finding

MINIMUM_EXAMPLES = 8

# The broadcast tables are named per rule; a row's first element is its text (a string or a tuple starting with it).
BROADCAST_TABLES = {
    "blame-names": ("BLAME_FLAGGED", "BLAME_PASSES"),
    "public-self-blame": ("SELF_BLAME_FLAGGED", "SELF_BLAME_PASSES"),
    "same-day-solution": ("SAME_DAY_FLAGGED", "SAME_DAY_PASSES"),
    "no-update-time": ("NO_UPDATE_FLAGGED", "NO_UPDATE_PASSES"),
    "late-update": ("LATE_FLAGGED", "LATE_PASSES"),
    "speculation": ("SPECULATION_FLAGGED", "SPECULATION_PASSES"),
    "single-option": ("SINGLE_OPTION_FLAGGED", "SINGLE_OPTION_PASSES"),
}


def example_counts() -> dict[str, tuple[int, int]]:
    """(should-flag, should-pass) example counts per rule id, from the table-driven rule tests."""
    counts = {rule_id: (len(cases["flag"]), len(cases["pass"])) for rule_id, cases in apology_tables.CASES.items()}
    for rule_id, (flagged, passes) in BROADCAST_TABLES.items():
        counts[rule_id] = (len(getattr(broadcast_tables, flagged)), len(getattr(broadcast_tables, passes)))
    return counts


@pytest.mark.parametrize("rule_id", default_registry(load_plugins=False).ids)
def test_every_registered_rule_has_table_examples(rule_id: str) -> None:
    flagged, passes = example_counts().get(rule_id, (0, 0))
    assert flagged >= MINIMUM_EXAMPLES and passes >= MINIMUM_EXAMPLES, (
        f"{rule_id}: {flagged} should-flag and {passes} should-pass examples; at least {MINIMUM_EXAMPLES} of each"
    )


def test_builtin_registry_has_the_thirteen_spec_rules_in_order() -> None:
    assert default_registry(load_plugins=False).ids == (
        "blame-names", "public-self-blame", "same-day-solution", "no-update-time", "late-update", "speculation",
        "single-option", "non-apology", "excuse", "self-focus", "deflection", "gratitude-swap", "incomplete-apology",
    )


@dataclasses.dataclass(frozen=True)
class WordCheck:
    """A minimal third-party style check: flags one word."""

    id: str = "word"
    severity: Severity = Severity.WARN
    applies_to: AppliesTo = AppliesTo.ALL
    word: str = "frobnicate"

    def run(self, message: CheckMessage) -> Iterator[Finding]:
        start = message.text.find(self.word)
        if start != -1:
            yield make_finding(TextIndex(message.text), self.id, self.severity, start, start + len(self.word),
                               "A word the plugin dislikes.", "Use another word.")


def test_duplicate_ids_are_refused() -> None:
    registry = Registry([WordCheck()])
    with pytest.raises(DuplicateCheckError):
        registry.register(WordCheck(word="other"))
    with pytest.raises(DuplicateCheckError):
        Registry([*default_registry(load_plugins=False), dataclasses.replace(WordCheck(), id="excuse")])


def test_objects_that_are_not_checks_are_refused() -> None:
    with pytest.raises(TypeError):
        Registry([object()])  # type: ignore[list-item]


def _message(text: str, team: TeamContext, oops: bool = True) -> CheckMessage:
    parsed = ParsedMessage(subject="s", sender=None, to=(), cc=(), bcc=(), message_id="", in_reply_to="",
                           references=(), date=None, headers={}, text=text)
    classification = Classification(team=team.name, is_oops=oops, oops_reason="header" if oops else "",
                                    audience=Audience.INDIVIDUAL, internal=True, follow_up=False, real_apology=True)
    return CheckMessage(parsed, classification, team)


def test_engine_applies_team_severity_and_off() -> None:
    check = WordCheck()
    text = "please frobnicate the widget"
    assert [f.severity for f in run_checks(_message(text, TeamContext()), [check])] == [Severity.WARN]
    raised = TeamContext(rules={"word": RuleSettings(severity=Severity.BLOCK)})
    assert [f.severity for f in run_checks(_message(text, raised), [check])] == [Severity.BLOCK]
    silenced = TeamContext(rules={"word": RuleSettings(severity=Severity.OFF)})
    assert run_checks(_message(text, silenced), [check]) == []
    # Ordinary (not oops) mail is never checked at all.
    assert run_checks(_message(text, TeamContext(), oops=False), [check]) == []


def test_plugins_load_through_the_entry_point_group(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A distribution on sys.path that declares an `oopsguard.checks` entry point is picked up by default_registry."""
    (tmp_path / "oopsguard_word_plugin.py").write_text(
        "import dataclasses\n"
        "from test_registry import WordCheck\n"
        "CHECK = dataclasses.replace(WordCheck(), id='plugin-word')\n"
    )
    dist = tmp_path / "oopsguard_word_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: oopsguard-word-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[oopsguard.checks]\nword = oopsguard_word_plugin:CHECK\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = default_registry()
    assert "plugin-word" in registry
    assert registry.ids[-1] == "plugin-word"
    sys.modules.pop("oopsguard_word_plugin", None)
