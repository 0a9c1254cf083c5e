"""`oopsguard check` end to end: the real console entry point in a subprocess, on .eml fixtures and configs."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
CONFIG = REPO / "config"
BLAME = DATA / "check-broadcast-blame.eml"
CLEAN = DATA / "check-clean-status.eml"
SORRY_IF = DATA / "check-individual-sorry-if.eml"


def run_check(*args: str | Path, stdin: bytes | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """Run `oopsguard check ARGS` as a user would, without an inherited $OOPSGUARD_CONFIG."""
    env = {key: value for key, value in os.environ.items() if key != "OOPSGUARD_CONFIG"}
    env["PYTHONPATH"] = str(REPO)  # so the module is importable even when cwd is elsewhere
    completed = subprocess.run(
        [sys.executable, "-m", "proxy.cli", "check", *map(str, args)],
        cwd=cwd,
        env=env,
        input=stdin if stdin is not None else b"",
        capture_output=True,
        timeout=60,
    )
    return subprocess.CompletedProcess(
        completed.args, completed.returncode, completed.stdout.decode("utf-8"), completed.stderr.decode("utf-8")
    )


def json_lines(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def text_at(text: str, line: int, column: int) -> str:
    """The checked text from a 1-based line/column to its end, whitespace collapsed as excerpts are."""
    lines = text.split("\n")
    offset = sum(len(item) + 1 for item in lines[: line - 1]) + column - 1
    return " ".join(text[offset:].split())


def assert_points_at_excerpt(report: dict[str, object]) -> None:
    text = report["text"]
    assert isinstance(text, str)
    for finding in report["findings"]:
        assert isinstance(finding, dict)
        excerpt = str(finding["excerpt"]).removesuffix("\u2026")
        assert excerpt, finding
        assert text_at(text, int(finding["line"]), int(finding["column"])).startswith(excerpt), finding


def assert_one_line_reason(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.strip(), "a usage error needs a reason"
    assert all(line.startswith("oopsguard: ") for line in result.stderr.strip().splitlines()), result.stderr


def test_broadcast_blame_is_held_with_position_of_the_name() -> None:
    result = run_check("--config", CONFIG, "--format", "json", BLAME)
    assert result.returncode == 1, result.stderr
    [report] = json_lines(result.stdout)
    assert report["file"] == str(BLAME)
    assert report["team"] == "platform"
    assert report["oops"] is True
    assert report["audience"] == "broadcast"
    assert report["verdict"] == "hold"
    findings = report["findings"]
    assert isinstance(findings, list)
    blame = [f for f in findings if f["rule"] == "blame-names"]
    assert blame, findings
    assert blame[0]["severity"] == "block"
    assert "Marcus" in blame[0]["excerpt"]
    assert set(blame[0]) == {"rule", "severity", "line", "column", "excerpt", "message", "suggestion"}
    assert blame[0]["message"] and blame[0]["suggestion"] and blame[0]["message"] != blame[0]["suggestion"]
    # The position is in the checked text: the name's line, not the greeting or the signature.
    text = str(report["text"])
    assert "Marcus" in text.split("\n")[int(blame[0]["line"]) - 1]
    assert_points_at_excerpt(report)


def test_clean_status_update_passes_with_exit_0() -> None:
    result = run_check("--config", CONFIG, "--format", "json", CLEAN)
    assert result.returncode == 0, result.stderr
    [report] = json_lines(result.stdout)
    assert report["verdict"] == "deliver"
    assert report["oops"] is False
    assert report["findings"] == []
    assert report["team"] == "platform"
    assert report["audience"] == "individual"
    assert "billing export" in str(report["text"])


def test_individual_sorry_if_is_held_by_non_apology() -> None:
    result = run_check("--config", CONFIG, "--format", "json", SORRY_IF)
    assert result.returncode == 1, result.stderr
    [report] = json_lines(result.stdout)
    assert report["team"] == "default"
    assert report["audience"] == "individual"
    assert report["verdict"] == "hold"
    rules = [f["rule"] for f in report["findings"]]
    assert "non-apology" in rules
    # Broadcast-only rules never run on a one-to-one mail.
    assert "blame-names" not in rules and "public-self-blame" not in rules
    assert_points_at_excerpt(report)


def test_text_format_puts_the_caret_under_the_excerpt() -> None:
    result = run_check("--config", CONFIG, BLAME)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{BLAME}: hold \u2014 ")
    assert "team platform, broadcast" in lines[0]
    header = next(i for i, line in enumerate(lines) if line.strip().endswith("] blame-names"))
    assert lines[header].startswith("  line ") and "[block]" in lines[header]
    line_number = int(lines[header].split()[1].rstrip(","))
    column = int(lines[header].split()[3])
    shown, carets = lines[header + 1], lines[header + 2]
    assert shown.startswith("    ") and carets.startswith("    ")
    shown, carets = shown[4:], carets[4:]
    assert carets.strip() and set(carets.strip()) == {"^"}
    assert carets.index("^") == column - 1
    marked = shown[carets.index("^"): len(carets)]
    assert "Marcus" in marked or marked in "Marcus Ortega", (shown, carets)
    assert lines[header + 3].startswith("  why: ") and lines[header + 4].startswith("  fix: ")
    # The same numbers as the JSON report, which carries the text to check them against.
    [report] = json_lines(run_check("--config", CONFIG, "--format", "json", BLAME).stdout)
    blame = next(f for f in report["findings"] if f["rule"] == "blame-names")
    assert (blame["line"], blame["column"]) == (line_number, column)
    assert str(report["text"]).split("\n")[line_number - 1] == shown


def test_text_format_for_a_clean_message() -> None:
    result = run_check("--config", CONFIG, CLEAN)
    assert result.returncode == 0
    assert result.stdout.splitlines() == [f"{CLEAN}: deliver \u2014 not an oops, not checked (team platform, individual)"]


def test_stdin_dash_is_read_as_one_message() -> None:
    result = run_check("--config", CONFIG, "--format", "json", "-", stdin=SORRY_IF.read_bytes())
    assert result.returncode == 1, result.stderr
    [report] = json_lines(result.stdout)
    assert report["file"] == "-"
    assert report["verdict"] == "hold"
    clean = run_check("--config", CONFIG, "--format", "json", "-", stdin=CLEAN.read_bytes())
    assert clean.returncode == 0
    assert json_lines(clean.stdout)[0]["verdict"] == "deliver"


def test_several_files_one_line_each_and_exit_1_if_any_is_held() -> None:
    result = run_check("--config", CONFIG, "--format", "json", CLEAN, BLAME, SORRY_IF)
    assert result.returncode == 1
    reports = json_lines(result.stdout)
    assert [r["file"] for r in reports] == [str(CLEAN), str(BLAME), str(SORRY_IF)]
    assert [r["verdict"] for r in reports] == ["deliver", "hold", "hold"]
    text = run_check("--config", CONFIG, CLEAN, BLAME)
    assert text.stdout.splitlines()[-1] == "2 messages checked, 1 would be held"


def test_default_config_is_dot_config_in_the_working_directory() -> None:
    result = run_check("--format", "json", CLEAN)
    assert result.returncode == 0, result.stderr
    assert json_lines(result.stdout)[0]["team"] == "platform"


def test_team_option_overrides_the_sender() -> None:
    result = run_check("--config", CONFIG, "--team", "platform", "--format", "json", SORRY_IF)
    assert json_lines(result.stdout)[0]["team"] == "platform"
    result = run_check("--config", CONFIG, "--team", "default", "--format", "json", CLEAN)
    assert json_lines(result.stdout)[0]["team"] == "default"


def test_unknown_team_exits_2_with_a_reason() -> None:
    result = run_check("--config", CONFIG, "--team", "no-such-team", BLAME)
    assert_one_line_reason(result)
    assert "no-such-team" in result.stderr and "platform" in result.stderr
    assert result.stdout == ""


def test_missing_file_exits_2_before_any_verdict() -> None:
    result = run_check("--config", CONFIG, CLEAN, DATA / "does-not-exist.eml")
    assert_one_line_reason(result)
    assert "does-not-exist.eml" in result.stderr
    assert result.stdout == ""


def test_unreadable_input_exits_2(tmp_path: Path) -> None:
    result = run_check("--config", CONFIG, tmp_path)  # a directory is not a readable message
    assert_one_line_reason(result)
    assert str(tmp_path) in result.stderr


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('[broadcast]\nmin_recipients = "lots"\n', "broadcast.min_recipients"),
        ("[detect]\nauto_magic = true\n", "detect.auto_magic"),
        ("[proxy\nlisten = 1\n", "(syntax)"),
    ],
)
def test_broken_config_exits_2_naming_file_and_key(tmp_path: Path, toml: str, key: str) -> None:
    (tmp_path / "oopsguard.toml").write_text(toml)
    result = run_check("--config", tmp_path, CLEAN)
    assert_one_line_reason(result)
    assert "oopsguard.toml" in result.stderr and key in result.stderr
    assert result.stdout == ""


def test_unknown_rule_id_in_a_team_file_exits_2(tmp_path: Path) -> None:
    (tmp_path / "teams").mkdir()
    (tmp_path / "teams" / "web.toml").write_text('senders = ["*@web.example.com"]\n[rules.no-such-rule]\nseverity = "off"\n')
    result = run_check("--config", tmp_path, CLEAN)
    assert_one_line_reason(result)
    assert "web.toml" in result.stderr and "rules.no-such-rule" in result.stderr


def test_audit_team_delivers_and_says_what_it_would_have_done(tmp_path: Path) -> None:
    (tmp_path / "oopsguard.toml").write_text((CONFIG / "oopsguard.toml").read_text())
    (tmp_path / "teams").mkdir()
    (tmp_path / "teams" / "platform.toml").write_text(
        (CONFIG / "teams" / "platform.toml").read_text().replace('mode = "enforce"', 'mode = "audit"')
    )
    result = run_check("--config", tmp_path, "--format", "json", BLAME)
    assert result.returncode == 0, result.stderr
    [report] = json_lines(result.stdout)
    assert report["verdict"] == "deliver"
    assert report["would_have"] == "hold"
    assert any(f["rule"] == "blame-names" for f in report["findings"])


def test_team_severity_off_turns_a_rule_off(tmp_path: Path) -> None:
    (tmp_path / "teams").mkdir()
    (tmp_path / "teams" / "support.toml").write_text(
        'senders = ["support@example.com"]\n[rules.non-apology]\nseverity = "off"\n'
    )
    result = run_check("--config", tmp_path, "--format", "json", SORRY_IF)
    [report] = json_lines(result.stdout)
    assert report["team"] == "support"
    assert "non-apology" not in [f["rule"] for f in report["findings"]]
