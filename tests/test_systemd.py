"""The shipped systemd units pass `systemd-analyze verify` with no warnings, and carry the settings the service relies on."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

UNITS_DIR = Path(__file__).resolve().parent.parent / "systemd"
UNITS = ("oopsguard.service", "oopsguard-digest.service", "oopsguard-digest.timer")
SHIPPED_BINARY = "/usr/local/bin/oopsguard"
ANALYZE = shutil.which("systemd-analyze")

needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")


def unit_settings(name: str) -> dict[str, list[str]]:
    """Key -> values of a unit file (keys may repeat, e.g. SystemCallFilter)."""
    settings: dict[str, list[str]] = {}
    for line in (UNITS_DIR / name).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def verify_copies(tmp_path: Path, extra_line: str = "") -> tuple[int, list[str]]:
    """Verify copies whose ExecStart points at a stand-in executable (verify insists the binary exists).

    Returns the exit code and the output lines that concern our units (systemd also reports on system units
    it loads as dependencies, which is not ours to judge).
    """
    assert ANALYZE is not None
    stand_in = tmp_path / "oopsguard"
    stand_in.write_text("#!/bin/sh\nexit 0\n")
    stand_in.chmod(0o755)
    for name in UNITS:
        text = (UNITS_DIR / name).read_text().replace(SHIPPED_BINARY, str(stand_in))
        if extra_line and name == "oopsguard.service":
            text = text.replace("[Service]\n", f"[Service]\n{extra_line}\n")
        (tmp_path / name).write_text(text)
    env = {**os.environ, "SYSTEMD_LOG_LEVEL": "notice", "SYSTEMD_LOG_COLOR": "0", "SYSTEMD_PAGER": ""}
    result = subprocess.run([ANALYZE, "verify", *(f"./{name}" for name in UNITS)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    lines = (result.stdout + result.stderr).splitlines()
    ours = [line for line in lines if str(tmp_path) in line or any(name in line for name in UNITS)
            or "unknown" in line.lower()]
    return result.returncode, ours


@needs_analyze
def test_units_verify_cleanly(tmp_path: Path) -> None:
    code, complaints = verify_copies(tmp_path)
    assert code == 0, complaints
    assert complaints == []


@needs_analyze
def test_verify_reports_an_unknown_key(tmp_path: Path) -> None:
    """Control: the check above would notice a misspelt key (systemd only warns and still exits 0)."""
    _, complaints = verify_copies(tmp_path, extra_line="WatchdogSecs=30")
    assert any("Unknown key" in line and "WatchdogSecs" in line for line in complaints)


def test_service_settings() -> None:
    service = unit_settings("oopsguard.service")
    assert service["Type"] == ["notify"] and service["NotifyAccess"] == ["main"]
    assert service["ExecStart"] == [f"{SHIPPED_BINARY} serve --config /etc/oopsguard"]
    assert service["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert service["WatchdogSec"] == ["30"] and service["Restart"] == ["on-failure"]
    assert service["StateDirectory"] == ["oopsguard"] and service["WorkingDirectory"] == ["/var/lib/oopsguard"]
    assert service["AmbientCapabilities"] == ["CAP_NET_BIND_SERVICE"]
    for hardening in ("ProtectSystem", "ProtectHome", "PrivateTmp", "NoNewPrivileges", "PrivateDevices",
                      "MemoryDenyWriteExecute", "RestrictNamespaces", "LockPersonality", "UMask"):
        assert hardening in service, hardening


def test_digest_units() -> None:
    digest = unit_settings("oopsguard-digest.service")
    service = unit_settings("oopsguard.service")
    assert digest["Type"] == ["oneshot"]
    assert digest["ExecStart"] == [f"{SHIPPED_BINARY} digest --config /etc/oopsguard"]
    # Same user name and state directory as the proxy: both open the same store.
    for key in ("User", "DynamicUser", "StateDirectory", "WorkingDirectory", "ProtectSystem", "SystemCallFilter"):
        assert digest[key] == service[key], key
    timer = unit_settings("oopsguard-digest.timer")
    assert timer["OnCalendar"] == ["Mon *-*-* 08:00:00"]
    assert timer["Persistent"] == ["true"] and timer["Unit"] == ["oopsguard-digest.service"]
