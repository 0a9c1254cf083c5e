"""How well the checks generalise: rule and classifier probe sets through the `oopsguard check` path, scores printed.

Usage: `python bench/probes.py [-v] [FILE.jsonl ...]` (default: every set in bench/probes/). Prints, per rule and
expectation, how many probes came out as expected; `-v` lists the misses. Never asserts: the sets measure, the
tests in tests/ guard.

The sets were written by helpers who read only SPEC.md and the two seed articles, never the checks' code or
tests, each in its own wording (bench/probes/README.md says which were used to tune the checks and which were
measured held out first). A line is one message: {"id", "rule" (a rule id or "classify"), "expect" ("flag" or
"pass"), "subject", optional "from", "to", "cc", "date", "headers", and "body"}. "flag" means the rule reports at
least one finding (for "classify": the mail is recognised as an oops); "pass" means it reports none.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from email.message import EmailMessage
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from checks.registry import default_registry  # noqa: E402
from proxy.cmd_check import CheckedMessage, check_one  # noqa: E402
from proxy.config import load_config  # noqa: E402

PROBES = REPO / "bench" / "probes"
DEFAULT_FROM = "Sam Keller <sam.keller@platform.example.com>"
DEFAULT_TO = ["all-staff@example.com"]
DEFAULT_DATE = "Mon, 16 Nov 2026 10:00:00 +0100"


def build(probe: dict[str, object]) -> bytes:
    """The probe as the raw message a mail client would hand to the proxy."""
    message = EmailMessage()
    message["From"] = str(probe.get("from") or DEFAULT_FROM)
    message["To"] = ", ".join(probe.get("to") or DEFAULT_TO)  # type: ignore[arg-type]
    if probe.get("cc"):
        message["Cc"] = ", ".join(probe["cc"])  # type: ignore[arg-type]
    message["Subject"] = str(probe.get("subject", ""))
    message["Date"] = str(probe.get("date") or DEFAULT_DATE)
    message["Message-ID"] = f"<{probe['id']}@probe.example.com>"
    for name, value in dict(probe.get("headers") or {}).items():  # type: ignore[call-overload]
        message[name] = value
    message.set_content(str(probe.get("body", "")))
    return bytes(message)


def flagged(probe: dict[str, object], result: CheckedMessage) -> bool:
    if probe["rule"] == "classify":
        return result.oops
    return any(finding.rule == probe["rule"] for finding in result.decision.findings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="probe sets (default: bench/probes/*.jsonl)")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every probe that did not come out as expected")
    args = parser.parse_args(argv)
    config = load_config(REPO / "config")
    checks = list(default_registry())
    files = args.files or sorted(PROBES.glob("*.jsonl"))
    grand_good = grand_total = 0
    for path in files:
        tally: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        misses: list[tuple[dict[str, object], CheckedMessage]] = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            probe = json.loads(line)
            result = check_one(str(probe["id"]), build(probe), config, checks, None)
            good = flagged(probe, result) == (probe["expect"] == "flag")
            counts = tally[(str(probe["rule"]), str(probe["expect"]))]
            counts[0] += good
            counts[1] += 1
            if not good:
                misses.append((probe, result))
        good_here = sum(good for good, _ in tally.values())
        total_here = sum(total for _, total in tally.values())
        grand_good += good_here
        grand_total += total_here
        print(f"{path.name}: {good_here}/{total_here}")
        for (rule, expect), (good, total) in sorted(tally.items()):
            print(f"  {rule:20} {expect:5} {good:3}/{total:3}")
        if args.verbose:
            for probe, result in misses:
                found = ", ".join(finding.rule for finding in result.decision.findings) or "nothing"
                print(f"  MISS {probe['id']} ({probe['rule']} {probe['expect']}; oops={result.oops}, found {found}): "
                      f"{probe.get('why', '')}")
    print(f"all sets: {grand_good}/{grand_total}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
