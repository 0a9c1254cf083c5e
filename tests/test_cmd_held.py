"""`oopsguard held list | show | release | drop`, run as a real subprocess against a seeded store."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from proxy.events import VERDICT_OVERRIDDEN
from proxy.store import SqliteStore

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime.now(timezone.utc)
RAW = (b"From: Dana <dana@platform.example.com>\r\nTo: platform-all@example.com\r\n"
       b"Subject: [oops] Deploy failed\r\n\r\nThe deploy failed because Priya forgot.\r\nSECRET-BODY-LINE\r\n")
FINDINGS = [{"rule": "blame-names", "severity": "block", "line": 1, "column": 27, "excerpt": "Priya forgot",
             "message": "Naming a colleague makes them the story.", "suggestion": "the step was missed"}]


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    db_path = tmp_path / "state" / "oopsguard.db"
    (config_dir / "oopsguard.toml").write_text(f'[store]\npath = "{db_path}"\n')
    with SqliteStore(db_path) as store:
        store.hold("H1", "platform", "dana@platform.example.com", ["platform-all@example.com"], ["SMTPUTF8"],
                   "[oops] Deploy failed \x1b[31mred", "<root@x>", "<h1@x>", FINDINGS, "broadcast", RAW,
                   now=NOW - timedelta(hours=3))
        store.hold("D1", "sales", "sam@sales.example.com", ["a@x", "b@x"], [], "Update", "", "", FINDINGS,
                   "broadcast", RAW, kind="defer", due=NOW + timedelta(hours=12), now=NOW - timedelta(days=2))
    return config_dir, db_path


def run(config_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("OOPSGUARD_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "proxy.cli", "held", *args, "--config", str(config_dir)],
                          capture_output=True, text=True, env=env, cwd=config_dir.parent, timeout=60)


def test_list_shows_a_table_without_bodies(setup: tuple[Path, Path]) -> None:
    config_dir, _ = setup
    result = run(config_dir, "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "STATUS", "TEAM", "AGE", "RULES"]
    # Oldest first: the deferred message has waited two days, the held one three hours.
    assert lines[1].split() == ["D1", "deferred", "sales", "2d", "blame-names"]
    assert lines[2].split() == ["H1", "held", "platform", "3h", "blame-names"]
    assert "SECRET-BODY-LINE" not in result.stdout and "Priya" not in result.stdout


def test_show_prints_envelope_and_findings(setup: tuple[Path, Path]) -> None:
    config_dir, _ = setup
    result = run(config_dir, "show", "H1")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "mail from:  dana@platform.example.com" in out
    assert "rcpt to:    platform-all@example.com" in out
    assert "options:    SMTPUTF8" in out
    assert "line 1, col 27  [block] blame-names" in out
    assert '"Priya forgot"' in out and "why: Naming a colleague" in out and "fix: the step was missed" in out
    assert "\x1b" not in out  # the escape sequence in the subject never reaches the terminal
    assert "SECRET-BODY-LINE" not in out


def test_release_queues_the_original_and_records_the_override(setup: tuple[Path, Path]) -> None:
    config_dir, db_path = setup
    result = run(config_dir, "release", "H1", "--reason", "  Customer-facing   wording approved by legal ")
    assert result.returncode == 0, result.stderr
    assert "released H1" in result.stdout and "outbox" in result.stdout
    with SqliteStore(db_path) as store:
        held = store.get_held("H1")
        assert held is not None and held.status == "released"
        [item] = store.due_outbox(datetime.now(timezone.utc) + timedelta(seconds=1))
        assert (item.kind, item.mail_from, item.rcpt_tos, item.raw, item.mail_options) == (
            "release", "dana@platform.example.com", ("platform-all@example.com",), RAW, ("SMTPUTF8",))
        [event] = store.events("platform", NOW - timedelta(days=1), NOW + timedelta(days=1))
        assert event.verdict == VERDICT_OVERRIDDEN and event.rules == ("blame-names",)
        assert event.override_reason == "Customer-facing wording approved by legal"
    again = run(config_dir, "release", "H1", "--reason", "twice")
    assert again.returncode == 1 and "no longer waiting" in again.stderr and again.stderr.count("\n") == 1


@pytest.mark.parametrize("reason", ["", "   ", "\t"])
def test_release_without_a_reason_is_refused(setup: tuple[Path, Path], reason: str) -> None:
    config_dir, db_path = setup
    result = run(config_dir, "release", "H1", "--reason", reason)
    assert result.returncode == 2 and "reason" in result.stderr
    with SqliteStore(db_path) as store:
        assert store.get_held("H1").status == "held"  # type: ignore[union-attr]
        assert store.due_outbox(datetime.now(timezone.utc) + timedelta(seconds=1)) == []


def test_drop_closes_the_message(setup: tuple[Path, Path]) -> None:
    config_dir, db_path = setup
    result = run(config_dir, "drop", "D1")
    assert result.returncode == 0, result.stderr
    with SqliteStore(db_path) as store:
        assert store.get_held("D1").status == "dropped"  # type: ignore[union-attr]
        assert store.due_outbox(datetime.now(timezone.utc) + timedelta(days=1)) == []
    listed = run(config_dir, "list")
    assert "D1" not in listed.stdout
    assert "D1" in run(config_dir, "list", "--all").stdout
    assert run(config_dir, "release", "D1", "--reason", "too late").returncode == 1


@pytest.mark.parametrize("action", [["show", "NOPE"], ["release", "NOPE", "--reason", "x"], ["drop", "NOPE"]])
def test_unknown_id_exits_1_with_one_line(setup: tuple[Path, Path], action: list[str]) -> None:
    config_dir, _ = setup
    result = run(config_dir, *action)
    assert result.returncode == 1
    assert result.stderr == "oopsguard: no held message with id NOPE\n"


def test_bad_configuration_exits_2(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "oopsguard.toml").write_text("[store]\nhold_days = -1\n")
    result = run(config_dir, "list")
    assert result.returncode == 2 and "hold_days" in result.stderr and "Traceback" not in result.stderr
