"""Relay throughput: smtp-source -> (oopsguard | thinnest aiosmtpd relay) -> smtp-sink, in messages per second.

Usage: .venv/bin/python bench/relay.py [--messages 3000] [--sessions 20] [--size 4000] [--runs 3]
Needs Postfix's smtp-source and smtp-sink (apt-get install postfix). Loopback only.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Sequence

PROJECT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.5


def find_tool(name: str) -> str:
    path = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
    if path is None:
        sys.exit(f"bench: {name} not found (apt-get install postfix)")
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on port {port}")


def drain(stream: IO[bytes], lines: list[str]) -> None:
    """Keep reading a child's stderr (the proxy logs a line per message) so it never blocks on a full pipe."""
    for raw in stream:
        if len(lines) < 50:
            lines.append(raw.decode("utf-8", "replace"))


class Relay:
    """A relay under test running as a child process; learns its port from its "listening on" line."""

    def __init__(self, name: str, command: Sequence[str], env: dict[str, str] | None = None) -> None:
        self.name = name
        self.process = subprocess.Popen(list(command), cwd=PROJECT, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        assert self.process.stderr is not None
        self.log: list[str] = []
        self.port = 0
        for raw in self.process.stderr:
            line = raw.decode("utf-8", "replace")
            self.log.append(line)
            if "listening on" in line:
                self.port = int(line.split("listening on ", 1)[1].split()[0].rsplit(":", 1)[1])
                break
        if not self.port:
            raise RuntimeError(f"{name} did not start:\n{''.join(self.log)}")
        self._drainer = threading.Thread(target=drain, args=(self.process.stderr, self.log), daemon=True)
        self._drainer.start()

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self._drainer.join(timeout=5)
        return code


def source(smtp_source: str, port: int, messages: int, sessions: int, size: int) -> float:
    """Send with smtp-source; returns messages per second (smtp-source stops at the first refusal)."""
    command = [smtp_source, "-s", str(sessions), "-m", str(messages), "-l", str(size),
               "-f", "bench@example.com", "-t", "sink@example.com", f"127.0.0.1:{port}"]
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, timeout=600)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"smtp-source failed ({completed.returncode}): {completed.stderr.decode()[-500:]}")
    return messages / elapsed


def measure(relay: Relay, smtp_source: str, options: argparse.Namespace) -> list[float]:
    source(smtp_source, relay.port, min(200, options.messages), options.sessions, options.size)  # warm-up
    return [source(smtp_source, relay.port, options.messages, options.sessions, options.size)
            for _ in range(options.runs)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--size", type=int, default=4000)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    smtp_source, smtp_sink = find_tool("smtp-source"), find_tool("smtp-sink")

    sink_port = free_port()
    sink_command = [smtp_sink, "-c", f"127.0.0.1:{sink_port}", "1000"]
    if os.geteuid() == 0:
        sink_command[1:1] = ["-u", "nobody"]  # smtp-sink refuses to run as root
    sink = subprocess.Popen(sink_command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    results: dict[str, list[float]] = {}
    try:
        wait_for_port(sink_port)
        results["smtp-sink direct"] = [source(smtp_source, sink_port, options.messages, options.sessions,
                                              options.size)]
        with tempfile.TemporaryDirectory(prefix="oopsguard-bench-") as tmp:
            config = Path(tmp)
            (config / "teams").mkdir()
            (config / "oopsguard.toml").write_text(
                "[proxy]\n"
                'listen = "127.0.0.1:0"\n'
                f'upstream = "smtp://127.0.0.1:{sink_port}"\n'
                'allowed_clients = ["127.0.0.0/8"]\n'
                "[store]\n"
                # Inside the temporary directory: the default (var/oopsguard.db, relative to the working
                # directory) would leave a store behind in the project.
                f'path = "{config / "var" / "oopsguard.db"}"\n', encoding="utf-8")
            env = {**os.environ,
                   "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT), os.environ.get("PYTHONPATH")]))}
            for name, command in (
                    ("oopsguard", [sys.executable, "-m", "proxy.cli", "serve", "--config", str(config)]),
                    ("baseline (aiosmtpd + aiosmtplib per message)",
                     [sys.executable, str(PROJECT / "bench" / "baseline_relay.py"),
                      "--upstream", f"127.0.0.1:{sink_port}"])):
                relay = Relay(name, command, env)
                try:
                    results[name] = measure(relay, smtp_source, options)
                finally:
                    code = relay.stop()
                    if code != 0:
                        print(f"bench: {name} exited {code}:\n{''.join(relay.log[-20:])}", file=sys.stderr)
    finally:
        sink.terminate()
        sink.wait(timeout=10)

    print(f"{options.messages} messages x {options.size} bytes, {options.sessions} parallel sessions, "
          f"{options.runs} runs (median)")
    for name, rates in results.items():
        print(f"  {name:48s} {statistics.median(rates):8.0f} msgs/s   runs: "
              + ", ".join(f"{rate:.0f}" for rate in rates))
    proxy = statistics.median(results["oopsguard"])
    baseline = statistics.median(results["baseline (aiosmtpd + aiosmtplib per message)"])
    ratio = proxy / baseline
    print(f"  ratio oopsguard / baseline: {ratio:.2f}x (target >= {TARGET_RATIO}x)")
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
