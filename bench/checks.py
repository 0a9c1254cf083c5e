"""Check-path throughput on one core: ordinary ham and generated apology mail through proxy.pipeline.evaluate.

Usage: `python bench/checks.py [--seconds 2] [--profile ordinary|apology]`. Prints a table; never asserts.
"""
from __future__ import annotations

import argparse
from collections import Counter
import cProfile
import os
import pstats
import random
import sys
import time
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.utils import format_datetime, getaddresses
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
# Run as a script, Python puts bench/ first on sys.path, where this file would shadow the `checks` package.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO))

from checks.classify import classify, funnel  # noqa: E402
from checks.engine import run_checks  # noqa: E402
from checks.message import parse_message, quick_body  # noqa: E402
from checks.model import Check, CheckMessage  # noqa: E402
from checks.scan import prepare  # noqa: E402
from checks.registry import default_registry  # noqa: E402
from proxy.config import Config, TeamFile, load_config  # noqa: E402
from proxy.pipeline import Action, evaluate  # noqa: E402

SHARED_CORPORA = REPO.parent / "shared" / "corpora"
HAM_FOLDERS = ("spamassassin-ham", "usrp-users-list")
TARGETS = {"ordinary": 20_000.0, "apology": 2_000.0}
APOLOGY_COUNT = 60
SEED = 4471


@dataclass(frozen=True)
class Sample:
    """One message ready for the check path: bytes plus the team the proxy would have picked already."""

    raw: bytes
    team: TeamFile


@dataclass(frozen=True)
class Result:
    category: str
    messages: int
    seconds: float
    distinct: int
    oops: int
    held: int
    cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0

    @property
    def cpu_rate(self) -> float:
        return self.messages / self.cpu_seconds if self.cpu_seconds else 0.0


def strip_mbox_line(raw: bytes) -> bytes:
    if raw.startswith(b"From "):
        newline = raw.find(b"\n")
        return raw[newline + 1:] if newline != -1 else b""
    return raw


def team_for(raw: bytes, config: Config) -> TeamFile:
    headers = BytesHeaderParser().parsebytes(raw)
    addresses = getaddresses([str(value) for value in headers.get_all("From", [])])
    return config.team_for(addresses[0][1] if addresses else None)


def load_ham(config: Config) -> list[Sample]:
    """The shared ham corpora, read fully into memory so disk speed is not measured."""
    samples = []
    for folder in HAM_FOLDERS:
        root = SHARED_CORPORA / folder
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.name not in ("MANIFEST.tsv", "SOURCE.txt"):
                raw = strip_mbox_line(path.read_bytes())
                samples.append(Sample(raw, team_for(raw, config)))
    return samples


# Apology and oops mail in several shapes: some follow the rules, most break one or two, as real drafts do.
BROADCAST_OOPS = [
    ("[oops] Duplicate payslip notices",
     "Yesterday at 16:00 the payroll system sent every employee two copies of the March payslip notice.\n"
     "The amounts in both copies are identical and correct; only the notice was sent twice, and no payment\n"
     "was affected.\n\nWe are reviewing the job schedule and will share a recommended fix by Thursday 14:00."),
    ("Oops: wrong link in the benefits mail",
     "The link in this morning's benefits mail pointed to last year's enrolment form. Forms submitted\n"
     "through it are not lost: they are being copied to this year's records.\n\nThe mistake happened "
     "because {name} pasted the old link. It was probably a copy-paste thing, what a disaster!!!\n\n"
     "I have already fixed the template and the link now works."),
    ("Correction: release date for the reporting module",
     "The date in Monday's announcement was wrong. The reporting module ships on 14 April, not 4 April.\n"
     "Nothing else in the announcement changes. Next update on Friday at 10:00 with the rollout plan."),
    ("[oops] Staging data in the customer dashboard",
     "For about 40 minutes this morning the customer dashboard showed staging data to 12 internal users.\n"
     "This was my fault, I messed up the environment variable during the deploy. I take full responsibility.\n"
     "To stop this from happening again we need two more engineers on the platform team; please approve "
     "the hiring request by Friday."),
    ("Oops: cancelled meeting invites",
     "An automation cleaned up the shared calendar last night and cancelled 31 recurring meetings.\n"
     "I guess the filter must have matched too broadly. We restored them all this morning, and I'm sorry\n"
     "if anyone missed a meeting because of it, however the restore is complete now."),
    ("[oops] Incorrect totals in the Q1 sales report",
     "The Q1 sales report sent on Tuesday counted returns as sales in the EMEA region, so the EMEA total\n"
     "is 6% too high. Other regions are correct. We will send the corrected report and an explanation of\n"
     "the cause on Thursday; please do not forward the current version."),
]
INDIVIDUAL_APOLOGY = [
    ("Your order 5521",
     "I'm sorry if the delay caused any inconvenience this may have caused. Unfortunately that is our\n"
     "policy for orders placed during a sale, and there is nothing we can do to speed it up."),
    ("Re: double charge",
     "I'm sorry we charged your card twice for order 5521. That was our error, and I understand it left you\n"
     "short over the weekend. We refunded the second charge today, and we added a check that blocks a second\n"
     "charge for the same order, so this will not happen again."),
    ("Re: missing parts",
     "Thank you for your patience while we looked into the missing parts. The other agent should not have\n"
     "told you they were in stock. I understand how frustrating this must be."),
    ("Re: our meeting",
     "So sorry about missing our meeting yesterday. It has been a crazy week with the move and I'm completely\n"
     "swamped, my calendar app also crashed, so it wasn't really something I could have avoided."),
    ("Re: invoice INV-2207",
     "Mistakes were made in the invoice we sent you. Sorry but the finance system generated it that way.\n"
     "We apologize if this caused confusion."),
    ("Sorry about the report",
     "I'm sorry I sent you the draft report instead of the final one. That cost you time preparing for the\n"
     "board. The final version is attached, and from now on I will send reports from the shared folder only."),
]
FILLER_BROADCAST = [
    "For reference, the affected accounts are listed in the attached sheet together with the time each one\n"
    "received the message and the version of the template that was used.",
    "Timeline (all times CET): 15:58 job started; 16:00 first notices sent; 16:20 first reply from a reader;\n"
    "16:31 job stopped; 17:05 scope confirmed.",
    "If you have questions about your own records, the people team is available on the usual channel and\n"
    "by phone between 9:00 and 17:00.",
    "We checked the other systems that use the same template and found no other messages with this problem.",
    "Scope: 1,204 recipients in 9 offices; 3 shared mailboxes; no external addresses were on the list.",
    "The status page has the same information and will be kept current until this is closed.",
    "What is not affected: payments, the HR portal, and mail sent before Monday.",
    "Affected reports: weekly revenue, regional pipeline, partner commissions (EMEA tab only).",
]
FILLER_INDIVIDUAL = [
    "Order details: 1 x desk lamp (black), 2 x replacement bulbs, delivery to the address on file, standard\n"
    "shipping, paid by card ending 4410.",
    "The support ticket for this is 88231; you can reply to this mail and it will be added to the ticket.",
    "Your account number is 55-10293 and the order was placed on 12 March at 19:44.",
    "Tracking for the replacement: parcel 00340434161234567890, expected on Thursday.",
]
QUOTED_COMPLAINT = (
    "On Sun, 16 Mar 2025 at 21:02, Emily Carter <emily.carter@mail.example.net> wrote:\n"
    "> Hello, I was charged twice for my order and nobody has answered my last two mails.\n"
    "> I need this sorted out before the weekend. Sorry to be blunt, but this is the third time.\n"
    ">\n> Emily\n"
)
OFFICES = ["Berlin", "Lisbon", "Dublin", "Warsaw", "Austin", "Osaka", "Nairobi", "Toronto", "Madrid"]
ITEMS = ["desk lamp (black)", "replacement bulb", "monitor arm", "USB-C dock", "cable tray", "footrest",
         "keyboard (DE layout)", "laptop stand"]
NAMES = ["Jonas", "Priya", "Marcus Ortega", "Aiko", "Sam"]


def make_apologies(count: int = APOLOGY_COUNT) -> list[bytes]:
    """Broadcast and individual apology/oops mails of 1-4 KB, deterministic."""
    rng = random.Random(SEED)
    start = datetime(2025, 3, 17, 9, 0, tzinfo=timezone(timedelta(hours=1)))
    messages = []
    for index in range(count):
        broadcast = index % 2 == 0
        subject, core = rng.choice(BROADCAST_OOPS if broadcast else INDIVIDUAL_APOLOGY)
        core = core.format(name=rng.choice(NAMES))
        target = rng.randint(800, 3300)  # body size; the headers add about 300-400 bytes
        headers = [f"Date: {format_datetime(start + timedelta(minutes=37 * index))}",
                   f"Message-ID: <bench-apology-{index}@platform.example.com>", "MIME-Version: 1.0",
                   'Content-Type: text/plain; charset="utf-8"', "Content-Transfer-Encoding: 8bit"]
        if broadcast:
            sender = "Dana Whitfield <dana@platform.example.com>" if index % 4 == 0 else "Platform <ops-bot@example.com>"
            headers = [f"From: {sender}", "To: All Staff <all-staff@example.com>",
                       "Cc: Marcus Ortega <marcus@platform.example.com>", f"Subject: {subject}"] + headers
            greeting, closing, filler, quoted = "Hi all,", "Platform team", FILLER_BROADCAST, ""
        else:
            headers = ["From: Support Team <support@example.com>", "To: Emily Carter <emily.carter@mail.example.net>",
                       f"Subject: {subject}"] + headers
            if index % 3 == 0:
                headers.append("X-Oops: yes")
            greeting, closing, filler = "Dear Emily,", "Best regards,\nSupport Team", FILLER_INDIVIDUAL
            quoted = "\n" + QUOTED_COMPLAINT if subject.startswith("Re:") else ""
        extra = rng.sample(filler, len(filler))
        paragraphs = [core]
        rows: list[str] = []

        def render() -> str:
            details = ["Details:\n" + "\n".join(rows)] if rows else []
            return f"{greeting}\n\n" + "\n\n".join(paragraphs + details) + f"\n\n{closing}\n{quoted}"

        body = render()
        while len(body.encode()) < target:
            # Longer notices carry more facts, then a list of what exactly was affected.
            if extra:
                paragraphs.append(extra.pop())
            elif broadcast:
                rows.append(f"  - {rng.choice(OFFICES)} office: {rng.randint(3, 240)} recipients, first copy "
                            f"16:0{rng.randint(0, 9)}, second copy 16:{rng.randint(10, 30)}")
            else:
                rows.append(f"  - item {rng.randint(10000, 99999)}: {rng.choice(ITEMS)}, qty {rng.randint(1, 4)}, "
                            f"EUR {rng.randint(5, 180)}.{rng.randint(0, 99):02d}")
            body = render()
        messages.append(("\n".join(headers) + "\n\n" + body).encode())
    return messages


def tally(samples: list[Sample], config: Config, checks: list[Check]) -> tuple[int, int]:
    """(classified as oops, would not be delivered) for one pass: the benchmark must be checking something."""
    oops = held = 0
    for sample in samples:
        decision = evaluate(sample.raw, config, checks, sample.team)
        oops += decision.report is not None and decision.report.classification.is_oops
        held += decision.action is not Action.DELIVER
    return oops, held


def measure(category: str, samples: list[Sample], config: Config, checks: list[Check], seconds: float) -> Result:
    oops, held = tally(samples, config, checks)  # also the warm-up: compiled patterns, imports, caches
    done = 0
    started = time.perf_counter()
    cpu_started = time.process_time()
    elapsed = 0.0
    while elapsed < seconds:
        for sample in samples:
            evaluate(sample.raw, config, checks, sample.team)
        done += len(samples)
        elapsed = time.perf_counter() - started
    # CPU seconds of this process: on a shared machine wall time also counts time spent waiting for the core.
    return Result(category, done, elapsed, len(samples), oops, held, time.process_time() - cpu_started)


def breakdown(samples: list[Sample], config: Config, checks: list[Check], rounds: int = 9) -> None:
    """CPU microseconds per message for each step of the check path, best of `rounds` (prints; never asserts)."""
    settings = config.classifier_settings()
    funnelled = [funnel(sample.raw, settings) for sample in samples]
    parsed = [parse_message(sample.raw, result.body or quick_body(sample.raw))
              for sample, result in zip(samples, funnelled)]
    classified = [classify(message, settings, sample.team.name, None, result.language)
                  for sample, message, result in zip(samples, parsed, funnelled)]

    def best(step: Callable[[int], object]) -> float:
        fastest = float("inf")
        for _ in range(rounds):
            started = time.process_time()
            for index in range(len(samples)):
                step(index)
            fastest = min(fastest, time.process_time() - started)
        return 1e6 * fastest / len(samples)

    def rules(index: int) -> object:
        prepare.cache_clear()  # the prepared text is per message in the proxy; do not let a repeat reuse it
        message = CheckMessage(parsed[index], classified[index], samples[index].team.context(), None)
        return list(run_checks(message, checks))

    steps = {
        "funnel (stages 1-2)": lambda index: funnel(samples[index].raw, settings),
        # As check_message does: stage 2's part when the funnel went that far, else a quick split of its own.
        "parse": lambda index: parse_message(samples[index].raw, funnelled[index].body or quick_body(samples[index].raw)),
        "classify (detector run)": lambda index: classify(parsed[index], settings, samples[index].team.name),
        "rules": rules,
        "evaluate (everything)": lambda index: evaluate(samples[index].raw, config, checks, samples[index].team),
    }
    for name, step in steps.items():
        print(f"  {name:<26} {best(step):>8.0f} µs")
    print("  Each step runs over every message of the category (in evaluate only stage-3 messages are parsed,\n"
          "  classified and checked), one step at a time: its patterns stay in the CPU caches, so the steps add up\n"
          "  to less than evaluate, where every message runs them all in turn.")


def pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to CPU {core}"
    return "not pinned (no sched_setaffinity)"


def print_table(results: list[Result]) -> None:
    print(f"{'category':<10} {'messages':>9} {'seconds':>8} {'msgs/s':>9} {'msgs/cpu-s':>11} {'target':>8}  result   "
          "(distinct, oops, held)")
    for result in results:
        target = TARGETS[result.category]
        mark = "pass" if result.rate >= target else "MISS"
        print(f"{result.category:<10} {result.messages:>9} {result.seconds:>8.2f} {result.rate:>9,.0f} "
              f"{result.cpu_rate:>11,.0f} {target:>8,.0f}  {mark:<7}  ({result.distinct}, {result.oops}, {result.held})")
    print("msgs/s is wall time on one pinned core; msgs/cpu-s counts only the CPU time this process got "
          "(the steadier figure when other work shares the machine). The result column judges msgs/s.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="minimum measuring time per category")
    parser.add_argument("--profile", choices=("ordinary", "apology"), help="profile one category with cProfile")
    parser.add_argument("--breakdown", choices=("ordinary", "apology"),
                        help="CPU µs per message for each step of the check path, for one category")
    parser.add_argument("--config", default=str(REPO / "config"))
    args = parser.parse_args(argv)

    config = load_config(args.config)
    checks = list(default_registry())
    print(f"check path benchmark: {len(checks)} checks, {pin_to_one_core()}, >= {args.seconds:g} s per category")
    corpora = {"ordinary": load_ham(config),
               "apology": [Sample(raw, team_for(raw, config)) for raw in make_apologies()]}
    if not corpora["ordinary"]:
        print(f"ordinary: skipped, no ham corpus under {SHARED_CORPORA}")
        del corpora["ordinary"]
    if args.breakdown:
        print(f"{args.breakdown}: CPU µs per message, best of 9 passes")
        breakdown(corpora[args.breakdown], config, checks)
        return 0
    if args.profile:
        samples = corpora[args.profile]
        profiler = cProfile.Profile()
        profiler.enable()
        measure(args.profile, samples, config, checks, args.seconds)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
        return 0
    results = [measure(category, samples, config, checks, args.seconds) for category, samples in corpora.items()]
    print_table(results)
    settings = config.classifier_settings()
    for category, samples in corpora.items():
        stages = Counter(funnel(sample.raw, settings).stage for sample in samples)
        print(f"funnel ({category}): {stages[1]} settled at stage 1 (text part scan), {stages[2]} at stage 2 "
              f"(new text + detector), {stages[3]} went to the full check")
    return 0


if __name__ == "__main__":
    sys.exit(main())
