"""Configuration loading: defaults, the shipped config, and `file: key: reason` errors from `config check` and `serve`."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from proxy.config import DEFAULT_TEAM, ConfigError, load_config

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "proxy.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60)


def test_shipped_config_loads_with_its_example_team() -> None:
    config = load_config(REPO / "config")
    assert config.proxy.listen == "127.0.0.1:10025"
    assert config.proxy.upstream == "maildir:var/outbox"
    assert set(config.teams) == {"platform", DEFAULT_TEAM}
    platform = config.teams["platform"]
    assert platform.roster == ("Dana Whitfield", "Marcus Ortega")
    assert config.team_for("someone@platform.example.com").name == "platform"
    assert config.team_for("someone@elsewhere.example.org").name == DEFAULT_TEAM
    assert platform.context().rule("deflection").extra_phrases == ("per company guidelines",)


def test_an_empty_directory_is_a_complete_configuration(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config.proxy.max_recipients == 100
    assert config.main.store.hold_days == 14
    assert list(config.teams) == [DEFAULT_TEAM]
    assert config.team(DEFAULT_TEAM).mode == "enforce"


BAD_FILES = [
    ("oopsguard.toml", "[proxy]\nlisten = 'nowhere'\n", "proxy.listen"),
    ("oopsguard.toml", "[proxy]\nupstream = 'ftp://example.com'\n", "proxy.upstream"),
    ("oopsguard.toml", "[proxy]\nallowed_clients = ['10.0.0.0/33']\n", "proxy.allowed_clients"),
    ("oopsguard.toml", "[proxy]\nmax_message_size = -1\n", "proxy.max_message_size"),
    ("oopsguard.toml", "[proxy]\nlisten_on = '127.0.0.1:25'\n", "proxy.listen_on"),
    ("oopsguard.toml", "[proxy\nlisten = 1\n", "(syntax)"),
    ("teams/ops.toml", "timezone = 'Mars/Olympus'\n", "timezone"),
    ("teams/ops.toml", "mode = 'strict'\n", "mode"),
    ("teams/ops.toml", "[rules.excuse]\nseverity = 'loud'\n", "rules.excuse.severity"),
    ("teams/ops.toml", "same_day = 'later'\n", "same_day"),
]


@pytest.mark.parametrize(("name", "content", "key"), BAD_FILES)
def test_bad_values_name_file_and_key(tmp_path: Path, name: str, content: str, key: str) -> None:
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert any(problem.startswith(f"{tmp_path / name}: {key}:") for problem in caught.value.problems), caught.value.problems


def test_two_files_defining_one_team_are_refused(tmp_path: Path) -> None:
    (tmp_path / "teams").mkdir()
    (tmp_path / "teams" / "a.toml").write_text("name = 'ops'\n")
    (tmp_path / "teams" / "b.toml").write_text("name = 'ops'\n")
    with pytest.raises(ConfigError, match="already defined"):
        load_config(tmp_path)


def test_config_check_accepts_the_shipped_config() -> None:
    result = run_cli("config", "check", "config")
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout


def test_config_check_reports_unknown_rule_ids_and_bad_values_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "teams").mkdir()
    (tmp_path / "teams" / "ops.toml").write_text("[rules.no-such-rule]\nseverity = 'warn'\n")
    result = run_cli("config", "check", str(tmp_path))
    assert result.returncode == 2
    assert f"{tmp_path / 'teams' / 'ops.toml'}: rules.no-such-rule: unknown rule id" in result.stderr
    assert "Traceback" not in result.stderr

    (tmp_path / "teams" / "ops.toml").write_text("mode = 'loud'\n")
    result = run_cli("config", "check", str(tmp_path))
    assert result.returncode == 2
    assert f"{tmp_path / 'teams' / 'ops.toml'}: mode:" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_a_bad_configuration_with_file_key_reason(tmp_path: Path) -> None:
    (tmp_path / "oopsguard.toml").write_text("[store]\nhold_days = 0\n")
    result = run_cli("serve", "--config", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2
    assert f"{tmp_path / 'oopsguard.toml'}: store.hold_days:" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    result = run_cli("config", "check", str(tmp_path / "absent"))
    assert result.returncode == 2
    assert "not a configuration directory" in result.stderr
