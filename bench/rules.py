"""Rule-only cost: microseconds per message for each built-in rule on the generated apology mail of bench/checks.py.

Usage: `python bench/rules.py [--rounds 20] [--ham]`. Parsing and classification happen once, outside the timing;
per-message caches (the prepared text and the matches remembered on it) are cleared before every measurement.
`--ham` also times the rules on the shared ham corpora forced to be oops mail (a worst case for precision work).
Prints a table; never asserts.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO))

from checks.classify import classify  # noqa: E402
from checks.engine import applies, run_checks  # noqa: E402
from checks.message import parse_message  # noqa: E402
from checks.model import CheckMessage  # noqa: E402
from checks.registry import default_registry  # noqa: E402
from checks.scan import prepare  # noqa: E402
from proxy.config import load_config  # noqa: E402


def _bench_checks_module():  # type: ignore[no-untyped-def]
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_checks", REPO / "bench" / "checks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def clear_caches() -> None:
    """Forget per-message caches so each run pays what a fresh message would."""
    prepare.cache_clear()


def build(raws: list[bytes], config, force_oops: bool = False) -> list[CheckMessage]:  # type: ignore[no-untyped-def]
    bench = _bench_checks_module()
    messages = []
    settings = config.classifier_settings()
    for raw in raws:
        team = bench.team_for(raw, config)
        parsed = parse_message(raw)
        classification = classify(parsed, settings, team.name, None)
        if force_oops:
            classification = dataclasses.replace(classification, is_oops=True, real_apology=True)
        messages.append(CheckMessage(parsed, classification, team.context(), None))
    return messages


def time_rules(messages: list[CheckMessage], rounds: int) -> dict[str, float]:
    """Mean µs per message of each message's fastest run (the least disturbed by other load on the machine): the
    shared preparation, each rule on a freshly prepared text, and everything through run_checks, cold."""
    checks = list(default_registry())
    names = ["(prepare)", *(check.id for check in checks), "(all, run_checks)"]
    best = [dict.fromkeys(names, float("inf")) for _ in messages]
    for _ in range(rounds):
        for fastest, message in zip(best, messages):
            clear_caches()
            started = time.perf_counter()
            run_checks(message, checks)
            fastest["(all, run_checks)"] = min(fastest["(all, run_checks)"], time.perf_counter() - started)
            clear_caches()
            started = time.perf_counter()
            prepare(message.text)
            fastest["(prepare)"] = min(fastest["(prepare)"], time.perf_counter() - started)
            for check in checks:
                if not applies(check, message.classification):
                    fastest[check.id] = 0.0
                    continue
                clear_caches()
                prepare(message.text)  # the shared part is timed on its own above
                started = time.perf_counter()
                list(check.run(message))
                fastest[check.id] = min(fastest[check.id], time.perf_counter() - started)
    return {name: sum(fastest[name] for fastest in best) / len(messages) * 1e6 for name in names}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--ham", action="store_true")
    args = parser.parse_args(argv)
    config = load_config(REPO / "config")
    bench = _bench_checks_module()
    messages = build(bench.make_apologies(), config)
    oops = sum(m.classification.is_oops for m in messages)
    print(f"{len(messages)} apology messages ({oops} oops), {args.rounds} rounds; µs per message, each message's "
          "fastest run (rule rows start from a freshly prepared text; the run_checks row is everything, cold, as "
          "the proxy runs it)")
    for rule, micros in time_rules(messages, args.rounds).items():
        print(f"  {rule:<22} {micros:8.1f}")
    if args.ham:
        ham = build([s.raw for s in bench.load_ham(config)], config, force_oops=True)
        print(f"{len(ham)} ham messages forced to oops, 1 round")
        for rule, micros in time_rules(ham, 1).items():
            print(f"  {rule:<22} {micros:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
