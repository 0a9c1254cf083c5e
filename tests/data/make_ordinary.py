"""Writes tests/data/ordinary/*.eml: a deterministic corpus of ordinary (non-oops) mail the guard must never hold.

Run `python tests/data/make_ordinary.py` from anywhere; the output is byte-for-byte the same on every run
(fixed seed, fixed MIME boundaries, no clock), so the generated files are committed next to this script.
"""
from __future__ import annotations

import base64
import quopri
import random
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.header import Header
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Callable

OUT_DIR = Path(__file__).resolve().parent / "ordinary"
SEED = 20251122


@dataclass(frozen=True)
class Person:
    """Someone who sends or receives corpus mail."""

    name: str
    addr: str

    @property
    def first(self) -> str:
        return self.name.split()[0]


# Roster names of config/teams/platform.toml on purpose: names in ordinary mail must never lead to a hold.
DANA = Person("Dana Whitfield", "dana@platform.example.com")
MARCUS = Person("Marcus Ortega", "marcus@platform.example.com")
PLATFORM = [
    DANA,
    MARCUS,
    Person("Priya Raman", "priya@platform.example.com"),
    Person("Jonas Becker", "jonas.becker@platform.example.com"),
    Person("Aiko Tanaka", "aiko@platform.example.com"),
    Person("Sam Okafor", "sam.okafor@platform.example.com"),
]
COLLEAGUES = [
    Person("Lena Fischer", "lena.fischer@example.com"),
    Person("Tomás Rivera", "tomas@example.com"),
    Person("Greta Lindqvist", "greta@finance.example.com"),
    Person("Ravi Menon", "ravi.menon@example.com"),
    Person("Noor Haddad", "noor@people.example.com"),
    Person("Colm Brennan", "colm@example.com"),
    Person("Ines Duarte", "ines.duarte@example.com"),
    Person("Yusuf Demir", "yusuf@sales.example.com"),
    Person("Hannah Kowalski", "hannah.k@example.com"),
    Person("Olu Adeyemi", "olu@example.com"),
]
CUSTOMERS = [
    Person("Martin Gallagher", "martin.gallagher@brightlane.co.uk"),
    Person("Sofia Marchetti", "sofia@marchetti-design.it"),
    Person("Ahmed Karimi", "a.karimi@northwind-freight.com"),
    Person("Claire Dubois", "claire.dubois@atelier-dubois.fr"),
    Person("Kenji Watanabe", "kenji@watanabe-shoten.jp"),
    Person("Beatriz Lopes", "beatriz@lopes-arquitetura.com.br"),
    Person("Peter Novak", "peter.novak@tatra-tools.cz"),
    Person("Emily Carter", "emily.carter@gmail.example.net"),
]
EVERYONE = PLATFORM + COLLEAGUES
ALL_STAFF = Person("All Staff", "all-staff@example.com")
ENG_ALL = Person("Engineering", "eng-all@example.com")
SUPPORT = Person("Support Team", "support@example.com")
BILLING = Person("Billing", "billing@example.com")
OPS_BOT = Person("ops-bot", "ops-bot@example.com")

PROJECTS = ["ledger service", "search indexer", "mobile checkout", "billing export", "edge cache", "status page",
            "onboarding flow", "metrics pipeline", "config loader", "mail relay", "audit log", "data warehouse sync"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
TIMES = ["9:30", "10:00", "11:15", "13:00", "14:30", "15:00", "16:45"]
ROOMS = ["Harbour room", "the big meeting room", "room 4.12", "the Lisbon room", "the kitchen table area", "Zoom"]
VERSIONS = ["2.4.0", "2.4.1", "3.0.0-rc1", "1.18.3", "5.2.0", "0.9.7", "4.1.2", "2.0.0"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October"]


@dataclass
class Mail:
    """One corpus message before encoding: people, subject, body and how to wrap it."""

    category: str
    sender: Person
    to: list[Person]
    subject: str
    body: str
    cc: list[Person] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    html: str | None = None          # an HTML version written by hand (otherwise derived from the text)
    style: str = ""                  # "", "html-only", "alternative"; "" lets the assembler choose
    encoding: str = ""               # "", "7bit", "8bit", "quoted-printable", "base64"
    charset: str = "utf-8"
    attachment: tuple[str, str, bytes] | None = None  # filename, content type, bytes


class Fill:
    """Random slot values for a template, drawn from one seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def values(self, **extra: str) -> dict[str, str]:
        rng = self.rng
        a, b, c = rng.sample(EVERYONE, 3)
        return {
            "a": a.first, "a_full": a.name, "b": b.first, "b_full": b.name, "c": c.first,
            "project": rng.choice(PROJECTS), "project2": rng.choice(PROJECTS),
            "day": rng.choice(DAYS), "day2": rng.choice(DAYS), "time": rng.choice(TIMES),
            "room": rng.choice(ROOMS), "version": rng.choice(VERSIONS), "month": rng.choice(MONTHS),
            "n": str(rng.randint(2, 19)), "pct": f"{rng.randint(90, 99)}.{rng.randint(1, 99):02d}",
            "amount": f"{rng.randint(120, 9800):,}.{rng.randint(0, 99):02d}", "ticket": f"PLAT-{rng.randint(100, 4999)}",
            "pr": str(rng.randint(120, 2400)), "week": str(rng.randint(2, 50)),
            **extra,
        }


def fmt(template: str, values: dict[str, str]) -> str:
    return template.strip("\n").format(**values)


GREETINGS_TEAM = ["Hi all,", "Hello everyone,", "Hi team,", "Morning all,", "Hey folks,", "Hi everyone,", ""]
CLOSINGS = ["Thanks,", "Best,", "Cheers,", "Regards,", "Best regards,", "Thanks!", "Many thanks,", "See you then,"]


def greeting_for(rng: random.Random, people: list[Person]) -> str:
    if len(people) == 1 and people[0].name and rng.random() < 0.85:
        return rng.choice(["Hi {},", "Hello {},", "Dear {},", "Hey {},", "{},", "Hi {} -"]).format(people[0].first)
    return rng.choice(GREETINGS_TEAM)


def signature_for(rng: random.Random, sender: Person) -> str:
    style = rng.randrange(5)
    if style == 0:
        return f"{rng.choice(CLOSINGS)}\n{sender.first}"
    if style == 1:
        return f"{rng.choice(CLOSINGS)}\n{sender.name}"
    if style == 2:
        team = "Platform Engineering" if sender.addr.endswith("platform.example.com") else "Example Corp"
        return f"{rng.choice(CLOSINGS)}\n{sender.first}\n\n-- \n{sender.name} | {team}\n{sender.addr}"
    if style == 3:
        return f"-- \n{sender.name}"
    return f"{rng.choice(CLOSINGS)}\n{sender.first}\n\nSent from my phone"


def letter(rng: random.Random, sender: Person, to: list[Person], core: str, sign: bool = True) -> str:
    """Greeting, the message core and a closing/signature, the way people actually write."""
    parts = []
    greeting = greeting_for(rng, to)
    if greeting:
        parts.append(greeting)
    parts.append(core)
    if sign:
        parts.append(signature_for(rng, sender))
    return "\n\n".join(parts) + "\n"


# ---------------------------------------------------------------------------------------------------------
# Category builders: each returns one Mail. The templates are the corpus's variety; fills add more.
# ---------------------------------------------------------------------------------------------------------

STATUS = [
    """
Quick status for the {project} this week:

- Migration to the new schema is done in staging; production is planned for {day}.
- {a} fixed the bug in the parser that dropped trailing fields, with a regression test.
- The nightly build failed twice on Tuesday because the runner ran out of disk; it has been green since.
- Next: load test at {time} on {day2}, {b} is driving.

No blockers right now.
""",
    """
Status update, week {week}:

Done: the {project} now exports to the warehouse every hour instead of nightly.
In progress: dashboards for the {project2}. {a} has the first draft, reviews welcome.
Risks: none new. Error budget for the month is at {pct}% remaining.
""",
    """
Here is where we are on the {project}:

1. API freeze is on track for {day}.
2. Docs: {b_full} rewrote the getting-started page, it reads much better now.
3. Open question for the group: do we keep the v1 endpoints for one more quarter? I lean yes.

Shout if anything here surprises you.
""",
    """
Short one this week. Everything on the {project} is moving as planned: {n} tickets closed, three in review.
{a} and {b} paired on the retry logic and it's merged. The flaky integration test is now quarantined
while {c} rewrites it.
""",
    """
Weekly platform notes:

* Kubernetes upgrade finished on all clusters, no surprises.
* Cost report: storage went down {n}% after the log retention change.
* {a_full} is on holiday from {day} to the end of next week; {b} covers the on-call rotation.
* The build failed on main yesterday afternoon after a dependency bump; pinned and green again.
""",
    """
Progress on {ticket}: the {project} now handles empty payloads. I added tests for the edge cases
{a} listed in the ticket. Remaining work is the metrics, which I expect to finish by {day}.
""",
    """
Sprint {week} summary

Shipped:
  - bulk import for the {project}
  - dark mode on the admin pages
Carried over:
  - pagination fix (waiting on design)
Demo is on {day} at {time} in {room}. {a} will show the import flow.
""",
    """
FYI, the {project} dashboard moved to the new Grafana folder. Old links redirect for a month.
Dana presented the roadmap at the all-hands, slides are in the shared drive under Planning/{month}.
""",
]


def status(rng: random.Random, fill: Fill) -> Mail:
    sender = rng.choice(PLATFORM)
    broadcast = rng.random() < 0.5
    if broadcast:
        to = [rng.choice([ALL_STAFF, ENG_ALL])]
        cc: list[Person] = []
    else:
        to = rng.sample([p for p in EVERYONE if p != sender], rng.randint(1, 3))
        cc = rng.sample(COLLEAGUES, rng.randint(0, 2))
    core = fmt(rng.choice(STATUS), fill.values())
    subject = rng.choice(["Status update: {project}", "Weekly status", "{project} - where we are",
                          "Week {week} update", "Platform weekly", "Re: status?"]).format(**fill.values())
    return Mail("status", sender, to, subject, letter(rng, sender, to, core), cc=cc)


SCHEDULING = [
    """
Can we move our 1:1 from {day} to {day2}? Same time, {time}, works for me if it works for you.
""",
    """
Sorry, can't make it Thursday - I'm at the dentist. Could we do Friday morning instead?
""",
    """
I've booked {room} for {day} at {time} for the {project} planning session. Agenda to follow.
If you can't come, please send {a} your top three priorities beforehand.
""",
    """
Proposed times for the quarterly review:
  - {day} {time}
  - {day2} 15:00
Reply with the ones that work and I'll send the invite tonight.
""",
    """
Sorry for the short notice, but the design review is moving to {time} today because the projector in {room}
is being replaced this morning.
""",
    """
Reminder: retro tomorrow at {time}. Bring one thing that went well and one thing to try next sprint.
""",
    """
My apologies, I won't be able to attend on {day}; I'm travelling to the Porto office. {a} will take notes for me.
""",
    """
Would you have 20 minutes this week to talk through the {project} estimates? Any slot after {time} is fine.
""",
    """
The offsite is confirmed for {month} 14-15. Travel requests go through the usual form; hotel is booked for everyone.
""",
    """
Sorry, I double-booked myself for {day} at {time}. Can we push our chat by an hour?
""",
]


def scheduling(rng: random.Random, fill: Fill) -> Mail:
    sender = rng.choice(EVERYONE)
    to = rng.sample([p for p in EVERYONE if p != sender], rng.randint(1, 4))
    core = fmt(rng.choice(SCHEDULING), fill.values())
    subject = rng.choice(["Moving our 1:1", "Thursday", "Planning session", "Quarterly review times", "Re: design review",
                          "Retro tomorrow", "Offsite dates", "Quick chat this week?", "Re: {day} meeting"]).format(
        **fill.values())
    return Mail("scheduling", sender, to, subject, letter(rng, sender, to, core))


REVIEW = [
    """
Left a few comments on PR #{pr}. Mostly nits:

- `parse_header` could return early when the buffer is empty.
- The error message on line 88 should include the file name.
- Nice catch on the off-by-one in the window calculation.

Approving once the tests pass.
""",
    """
LGTM. The refactor makes the retry path much easier to follow. One question: do we still need the
fallback to the old endpoint, or can that go in the next release?
""",
    """
I pushed a fixup for the review comments on #{pr}. I fixed the bug in the parser where a quoted comma split
the field, and added the test case {a} suggested.
""",
    """
Review done. The build failed on the lint step (unused import in tests/test_export.py), otherwise
this looks good to me. Happy to merge after that.
""",
    """
Small thing in the README example: the flag is `--dry-run`, not `--dryrun`. Everything else reads well.
""",
    """
Thanks for splitting this into smaller commits, it made the review quick. Two suggestions inline,
neither blocking. {b} might want to look at the migration before we merge.
""",
    """
Can someone with access to the {project} take a look at #{pr}? It's a one-line change to the timeout, but
I'd like a second pair of eyes because it touches the payment path.
""",
    """
Re-reviewed after your changes. The exception handling is cleaner now and the error codes match the API docs.
Merged.
""",
]


def review(rng: random.Random, fill: Fill) -> Mail:
    sender = rng.choice(PLATFORM)
    to = rng.sample([p for p in PLATFORM if p != sender], rng.randint(1, 2))
    core = fmt(rng.choice(REVIEW), fill.values())
    subject = rng.choice(["Re: [platform/{project}] PR #{pr}", "Review: #{pr}", "Re: refactor retry path",
                          "PR #{pr} comments", "Re: README example"]).format(**fill.values())
    headers = [("X-GitHub-Reason", "review_requested")] if rng.random() < 0.3 else []
    return Mail("review", sender, to, subject, letter(rng, sender, to, core), headers=headers)


NEWSLETTER = [
    """
THE PLATFORM POST - {month} edition

In this issue:
  1. Meet the new SRE hires
  2. How the search team cut query latency in half
  3. Lunch & learn: property-based testing

MEET THE NEW FOLKS
This month we welcome {a_full} and {b_full} to the platform group. Say hi in #platform-social.

LATENCY WIN
After {n} weeks of profiling, the search team replaced the ranking cache and p99 dropped from 480 ms to 210 ms.

LUNCH & LEARN
{day} at 12:30 in {room}. Pizza provided.

You are receiving this because you are subscribed to platform-news.
Unsubscribe: https://lists.example.com/unsubscribe/platform-news
""",
    """
Engineering digest - week {week}

Top reads from the team this week:
- "Error budgets without the spreadsheets" by {a}
- A field guide to our deploy pipeline
- Notes from the mistake-proofing workshop (poka-yoke for config files)

Events: the architecture guild meets on {day} at {time}.

-- 
To stop getting this digest, reply with "unsubscribe".
""",
    """
Hello subscribers,

The community meetup is back! Join us on {month} 21 at the Harbour office for talks on observability and
a panel on running on-call rotations that people don't hate.

Sorry for the cross-post if you're on several of our lists.

Register at https://events.example.com/meetup
""",
    """
Product newsletter - {month}

New: saved searches, CSV export for reports, and a faster login page.
Coming soon: team workspaces.
Thanks for your patience while we rolled out the new editor gradually over the last month; it is now on for
everyone.

Questions? Just reply to this mail.
""",
    """
Wellbeing bulletin

This month's theme is sleep. There is a short talk on {day} and the meditation room on the 3rd floor
is open again. Reminder that the employee assistance line is free and confidential.
""",
]


def newsletter(rng: random.Random, fill: Fill) -> Mail:
    lists = [("platform-news", "platform-news.lists.example.com"), ("eng-digest", "eng-digest.lists.example.com"),
             ("community", "community.example.com"), ("product-updates", "updates.example.com"),
             ("wellbeing", "wellbeing.lists.example.com")]
    index = rng.randrange(len(NEWSLETTER))
    name, list_id = lists[index]
    sender = Person(name.replace("-", " ").title(), f"{name}@lists.example.com")
    to = [Person("", f"{name}@lists.example.com")]
    headers = [("List-Id", f"{name.replace('-', ' ').title()} <{list_id}>"),
               ("List-Unsubscribe", f"<mailto:{name}-unsubscribe@lists.example.com>"),
               ("Precedence", rng.choice(["list", "bulk"]))]
    core = fmt(NEWSLETTER[index], fill.values())
    subject = rng.choice(["{month} newsletter", "Engineering digest #{week}", "Community meetup is back",
                          "What's new in {month}", "Wellbeing bulletin"]).format(**fill.values())
    return Mail("newsletter", sender, to, subject, core + "\n", headers=headers)


RELEASE = [
    """
{project} {version} is out.

Features
  - configurable retry budget per endpoint
  - new /healthz detail view
Fixes
  - fixed a bug where the parser dropped the last line of a file without a trailing newline
  - the exporter no longer times out on empty tables
Upgrade notes
  - the `legacy_mode` flag is removed; it has been a no-op since 2.1

Full changelog: https://git.example.com/platform/{project}/releases/tag/v{version}
""",
    """
Release {version} of the internal CLI is available. Highlights:

* `plat deploy --plan` shows what will change before anything is applied
* shell completion for zsh and fish
* bug fixes for Windows paths

Install with `pipx upgrade plat`. Thanks to {a} and {b} for the contributions.
""",
    """
Changelog for {version}:

- Fix: crash when the config file contained a BOM
- Fix: wrong exit code when a check was skipped
- Change: default timeout raised from 10 s to 30 s
- Docs: new troubleshooting page

This is a patch release, no action needed.
""",
    """
We're rolling out {project} {version} to production on {day} between {time} and 17:00. No downtime is
expected. Rollback plan and the runbook are linked in {ticket}.
""",
]


def release(rng: random.Random, fill: Fill) -> Mail:
    sender = rng.choice(PLATFORM + [OPS_BOT])
    to = [rng.choice([ENG_ALL, ALL_STAFF])] if rng.random() < 0.7 else rng.sample(EVERYONE, 6)
    core = fmt(rng.choice(RELEASE), fill.values())
    subject = rng.choice(["[release] {project} {version}", "{version} released", "Release notes {version}",
                          "Rollout of {project} {version}"]).format(**fill.values())
    body = core + "\n" if sender is OPS_BOT else letter(rng, sender, to, core)
    return Mail("release", sender, to, subject, body)


OPS = [
    """
Ops report for week {week}

Availability: {pct}% (target 99.9%)
Incidents: none
Error budget remaining: 71%
Deploys: {n} to production, all clean
Pages: 2 (both disk-space warnings, auto-resolved)

Capacity: the ledger database will need a bigger volume in about six weeks; {ticket} tracks it.
""",
    """
Nightly maintenance summary

- Backups: all {n} databases backed up and verified by restore test
- Certificates: none expiring in the next 30 days
- Patch level: kernel updates applied to the batch nodes
- Failed login attempts on the VPN: within normal range

Nothing needs attention.
""",
    """
Incident-free month! For {month}:

  uptime ........ {pct}%
  p95 latency ... 182 ms
  error rate .... 0.03%

The error budget policy did not trigger once. Thanks to everyone who kept the on-call handovers tidy.
""",
    """
On-call handover:

No open incidents. Two tickets for the next shift: {ticket} (noisy alert on the cache hit ratio, tune the
threshold) and a certificate renewal on the staging load balancer due {day}.
""",
    """
Capacity planning note: traffic on the {project} grew {n}% month over month. We have headroom until
roughly {month}. No changes needed this quarter.
""",
]


def ops(rng: random.Random, fill: Fill) -> Mail:
    sender = rng.choice([OPS_BOT, DANA, MARCUS, PLATFORM[3]])
    to = [rng.choice([ENG_ALL, ALL_STAFF])] if rng.random() < 0.6 else rng.sample(PLATFORM, 3)
    core = fmt(rng.choice(OPS), fill.values())
    subject = rng.choice(["Ops report week {week}", "Nightly maintenance summary", "{month} reliability numbers",
                          "On-call handover", "Capacity note: {project}"]).format(**fill.values())
    body = core + "\n" if sender is OPS_BOT else letter(rng, sender, to, core)
    headers = [("Auto-Submitted", "auto-generated")] if sender is OPS_BOT else []
    return Mail("ops", sender, to, subject, body, headers=headers)


MEETING = [
    """
Notes from today's planning meeting

Attendees: Dana, Marcus, {a}, {b}

- Dana presented the roadmap for the next two quarters. Main themes: reliability, self-service onboarding.
- Marcus Ortega walked through the hiring plan; two backend roles open in {month}.
- {a} raised the question of on-call compensation; HR will join next week.

Action items
  Marcus: share the hiring rubric by {day}
  {b}: draft the onboarding RFC
""",
    """
Minutes - architecture guild, {day}

1. Event bus proposal: agreed to prototype with the {project} first.
2. {a_full} summarised the storage benchmarks: no clear winner, more data needed.
3. Next meeting: {day2} at {time}, {room}.
""",
    """
Summary of the customer advisory call:

- They like the new reporting, want scheduled exports.
- Question about data residency in the EU; {a} will send the documentation.
- They asked for a named contact; Dana Whitfield will be that contact from next month.
""",
    """
Retro notes (sprint {week})

Went well: pairing on the migration, faster code reviews.
To improve: fewer meetings on {day}s, clearer ticket descriptions.
Experiment: no-meeting afternoons for two sprints. {b} will check in on how it goes.
""",
    """
Notes from the 1:1 with {a} - shared with their permission:
- Wants to grow towards tech lead; will lead the {project} design review.
- Training budget request approved.
- Next check-in in four weeks.
""",
]


def meeting(rng: random.Random, fill: Fill) -> Mail:
    sender = rng.choice(PLATFORM)
    if rng.random() < 0.5:
        to = [rng.choice([ALL_STAFF, ENG_ALL])]
    else:
        to = rng.sample([p for p in EVERYONE if p != sender], rng.randint(5, 8))
    core = fmt(rng.choice(MEETING), fill.values())
    subject = rng.choice(["Planning meeting notes", "Minutes: architecture guild", "Customer advisory call summary",
                          "Retro notes", "Notes from today"])
    return Mail("meeting", sender, to, subject, letter(rng, sender, to, core))


ADMIN = [
    """
Benefits enrolment for next year opens on {month} 1 and closes on {month} 30. Changes you make take effect
in January. The HR portal has a comparison of the plans; questions go to the people team.
""",
    """
The office will be closed on {day} for the public holiday. The support rota is unchanged; see the wiki for
who is on duty.
""",
    """
We are running a mistake-proofing workshop on {day} at {time} in {room}. It covers checklists, guard rails
in tooling and how to design forms that are hard to fill in wrongly. Sign up on the learning portal, 15 seats.
""",
    """
Fire drill on {day} at 10:30. When the alarm sounds, leave by the nearest stairs and meet at the car park.
Floor wardens: {a} (2nd floor), {b} (3rd floor).
""",
    """
Thank you for your patience during the office move. The new badges are ready for pick-up at reception from
{day}; the old ones stop working at the end of the month.
""",
    """
Reminder: expense reports for {month} are due by the 5th. Please attach receipts as PDF, not photos of
photos. {a} in finance is happy to help with the new tool.
""",
    """
Parking: the garage will be resurfaced next week, so spaces on level -2 are unavailable from {day}.
Bike storage is not affected.
""",
    """
The annual security awareness training is now available. It takes about 25 minutes and must be completed by
the end of {month}. Your completion is recorded automatically.
""",
]


def admin(rng: random.Random, fill: Fill) -> Mail:
    sender = rng.choice([COLLEAGUES[4], COLLEAGUES[2], Person("Facilities", "facilities@example.com"),
                         Person("People Team", "people@example.com")])
    to = [ALL_STAFF] if rng.random() < 0.7 else rng.sample(EVERYONE, rng.randint(6, 9))
    core = fmt(rng.choice(ADMIN), fill.values())
    subject = rng.choice(["Benefits enrolment", "Office closed on {day}", "Workshop: mistake-proofing",
                          "Fire drill {day}", "New badges", "Expense reports due", "Parking next week",
                          "Security training"]).format(**fill.values())
    return Mail("admin", sender, to, subject, letter(rng, sender, to, core))


CUSTOMER_REPLY = [
    """
Thanks for reaching out. Your order {ticket} shipped this morning; the tracking link is in the confirmation
mail. Delivery usually takes two to three working days.
""",
    """
Good question. You can export the report as CSV from the Reports page (the download icon top right).
If you need it scheduled, that's on our roadmap for {month}.
""",
    """
No worries at all, happy to help. I've added two more seats to your workspace; they are available right away.
""",
    """
Thank you for the kind words about the new editor, I've passed them on to the team.
""",
    """
Sorry to hear about your cat - I hope she's feeling better soon. Regarding your question: yes, the annual plan
can be paused for up to two months; just let me know the dates.
""",
    """
Attached is the quote for the {n} additional licences you asked about. It's valid for 30 days.
""",
    """
Thanks for the call today. As discussed, I'll send the onboarding checklist on {day}, and {a} from our
solutions team will join the kickoff.
""",
    """
Your support request {ticket} has been received. A member of the team will reply within one business day.
""",
    """
Great to hear the import worked. For the remaining files you can use the same template; the column order
does not matter.
""",
]


def customer_reply(rng: random.Random, fill: Fill) -> Mail:
    sender = rng.choice([SUPPORT, COLLEAGUES[7], COLLEAGUES[1], MARCUS])
    to = [rng.choice(CUSTOMERS)]
    core = fmt(rng.choice(CUSTOMER_REPLY), fill.values())
    subject = rng.choice(["Re: order {ticket}", "Re: exporting reports", "Re: extra seats", "Re: feedback",
                          "Re: pausing our plan", "Your quote", "Following up on our call",
                          "[{ticket}] We received your request", "Re: import"]).format(**fill.values())
    return Mail("customer", sender, to, subject, letter(rng, sender, to, core))


INVOICE = [
    """
Please find attached invoice INV-{week}{n} for {month}, amount EUR {amount}, due in 30 days.
Bank details are on the invoice. Let us know if the PO number needs to be added.
""",
    """
This is a friendly reminder that invoice INV-{week}{n} (EUR {amount}) is due on {day}. If you have already
paid, please ignore this message.
""",
    """
Payment received for invoice INV-{week}{n}. Thank you! A receipt is attached for your records.
""",
    """
Your monthly statement is ready. Balance: EUR {amount}. You can download it from the billing portal.
""",
]


def invoice(rng: random.Random, fill: Fill) -> Mail:
    sender = BILLING
    to = [rng.choice(CUSTOMERS)]
    values = fill.values()
    core = fmt(rng.choice(INVOICE), values)
    subject = rng.choice(["Invoice INV-{week}{n}", "Payment reminder: INV-{week}{n}", "Receipt for INV-{week}{n}",
                          "Your monthly statement"]).format(**values)
    pdf = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
           + f"% invoice INV-{values['week']}{values['n']} EUR {values['amount']}\n".encode()
           + bytes(range(256)) + b"\n%%EOF\n")
    attachment = (f"INV-{values['week']}{values['n']}.pdf", "application/pdf", pdf) if rng.random() < 0.7 else None
    return Mail("invoice", sender, to, subject, letter(rng, sender, to, core), attachment=attachment)


QUOTED_APOLOGY = [
    "I'm sorry I messed up the totals in yesterday's sheet. The Q3 column was counted twice.\n"
    "Corrected version attached, and I added a check so it can't happen again.",
    "Sorry, my mistake - I sent the draft instead of the final deck. The right one is attached.",
    "Apologies, I got the room wrong in the invite. It's {room}, not the Lisbon room.",
    "I'm so sorry, I forgot to add you to the invite. Fixed now!",
    "My fault, I merged the branch before the review was done. I've reverted it and reopened the PR.",
    "We apologize for the outage on {day}. It was caused by an expired certificate; we have added monitoring.",
]
REPLY_NEW = [
    "No worries, thanks for catching it so quickly. The corrected numbers look right to me.",
    "No problem at all. Got the right version now, thanks.",
    "Thanks for the update, see you in {room}.",
    "All good, I'm in the invite now. See you {day}.",
    "Thanks. I've re-reviewed the PR and left two small comments.",
    "Thanks for letting us know and for the quick follow-up. Everything works on our side again.",
]


def quoted_reply(rng: random.Random, fill: Fill) -> Mail:
    values = fill.values()
    index = rng.randrange(len(QUOTED_APOLOGY))
    original_sender = rng.choice(EVERYONE)
    sender = rng.choice([p for p in EVERYONE if p != original_sender])
    quoted = fmt(QUOTED_APOLOGY[index], values)
    new = fmt(REPLY_NEW[index], values)
    when = rng.choice(["Mon, 3 Mar 2025 at 16:12", "Tue, Apr 8, 2025 at 9:41 AM", "14.05.2025 11:03",
                       "Thursday, June 12, 2025 2:15 PM"])
    style = rng.randrange(4)
    to = [original_sender] + rng.sample(EVERYONE, rng.randint(0, 2))
    to = list(dict.fromkeys(p for p in to if p != sender))
    quote_lines = "\n".join("> " + line if line else ">" for line in quoted.split("\n"))
    if style == 0:
        body = letter(rng, sender, [original_sender], new) + f"\nOn {when}, {original_sender.name} <{original_sender.addr}> wrote:\n{quote_lines}\n"
    elif style == 1:
        # Top-posted reply with the attribution on two lines, as some clients wrap it.
        body = (f"{new}\n\n{sender.first}\n\nOn {when}, {original_sender.name}\n<{original_sender.addr}> wrote:\n\n"
                f"{quote_lines}\n> \n> {original_sender.first}\n")
    elif style == 2:
        # Interleaved (bottom-posted) reply: quote first, answer below.
        body = (f"{original_sender.first} wrote:\n{quote_lines}\n\n{new}\n\n{sender.first}\n")
    else:
        body = (f"{new}\n\n{sender.first}\n\n> {original_sender.name} wrote on {when}:\n{quote_lines}\n")
    subject = "Re: " + ["numbers for the board pack", "deck for {day}", "room for {day}", "invite",
                        "the release branch", "service status"][index].format(**values)
    return Mail("quoted-reply", sender, to, subject, body,
                headers=[("In-Reply-To", f"<orig-{rng.randint(1000, 9999)}@example.com>")])


def quoted_reply_html(rng: random.Random, fill: Fill) -> Mail:
    """Gmail/Outlook-style HTML replies: the apology sits in a blockquote or below an Outlook header block."""
    values = fill.values()
    index = rng.randrange(len(QUOTED_APOLOGY))
    original_sender = rng.choice(EVERYONE)
    sender = rng.choice([p for p in EVERYONE if p != original_sender])
    quoted = fmt(QUOTED_APOLOGY[index], values).replace("\n", "<br>\n")
    new = fmt(REPLY_NEW[index], values)
    if rng.random() < 0.5:
        html = (f"<div dir=\"ltr\">{new}<div><br></div><div>{sender.first}</div></div><br>"
                f"<div class=\"gmail_quote\"><div dir=\"ltr\" class=\"gmail_attr\">On Tue, Apr 8, 2025 at 9:41 AM "
                f"{original_sender.name} &lt;<a href=\"mailto:{original_sender.addr}\">{original_sender.addr}</a>&gt; "
                f"wrote:<br></div><blockquote class=\"gmail_quote\" style=\"margin:0px 0px 0px 0.8ex;"
                f"border-left:1px solid rgb(204,204,204);padding-left:1ex\">{quoted}</blockquote></div>\n")
    else:
        html = (f"<html><body><p>{new}</p><p>{sender.first}</p>"
                f"<div id=\"divRplyFwdMsg\"><hr><b>From:</b> {original_sender.name} &lt;{original_sender.addr}&gt;<br>"
                f"<b>Sent:</b> Monday, March 3, 2025 4:12 PM<br><b>To:</b> {sender.name}<br>"
                f"<b>Subject:</b> numbers</div><blockquote>{quoted}</blockquote></body></html>\n")
    text = (f"{new}\n\n{sender.first}\n\nOn Tue, Apr 8, 2025 at 9:41 AM {original_sender.name} "
            f"<{original_sender.addr}> wrote:\n" + "\n".join("> " + line for line in fmt(QUOTED_APOLOGY[index], values).split("\n")) + "\n")
    return Mail("quoted-reply-html", sender, [original_sender], "Re: numbers", text, html=html,
                style=rng.choice(["html-only", "alternative"]))


def outlook_reply(rng: random.Random, fill: Fill) -> Mail:
    """Outlook's plain-text reply: new text on top, then an -----Original Message----- block."""
    values = fill.values()
    index = rng.randrange(len(QUOTED_APOLOGY))
    original_sender = rng.choice(EVERYONE)
    sender = rng.choice([p for p in EVERYONE if p != original_sender])
    new = fmt(REPLY_NEW[index], values)
    original = fmt(QUOTED_APOLOGY[index], values)
    if rng.random() < 0.5:
        block = (f"-----Original Message-----\nFrom: {original_sender.name} <{original_sender.addr}>\n"
                 f"Sent: Monday, March 3, 2025 4:12 PM\nTo: {sender.name} <{sender.addr}>\nSubject: numbers\n\n"
                 f"Hi {sender.first},\n\n{original}\n\n{original_sender.first}\n")
    else:
        block = (f"________________________________\nFrom: {original_sender.name} <{original_sender.addr}>\n"
                 f"Sent: Monday, March 3, 2025 16:12\nTo: {sender.name} <{sender.addr}>\nSubject: numbers\n\n"
                 f"{original}\n")
    body = f"{new}\n\n{sender.first}\n\n{block}"
    return Mail("outlook-reply", sender, [original_sender], "RE: numbers", body)


FORWARD_NOTES = [
    "FYI - see below. Nothing for us to do, the vendor already sorted it out.",
    "Forwarding for your records.",
    "Passing this along since you asked about the {project} last week.",
    "See the note from the venue below; the dinner is still on.",
    "For the vendor review on {day}.",
]


def forward(rng: random.Random, fill: Fill) -> Mail:
    values = fill.values()
    sender = rng.choice(PLATFORM)
    to = rng.sample([p for p in EVERYONE if p != sender], rng.randint(1, 3))
    vendor = rng.choice(CUSTOMERS)
    original = fmt(rng.choice(QUOTED_APOLOGY), values)
    note = fmt(rng.choice(FORWARD_NOTES), values)
    if rng.random() < 0.5:
        block = (f"---------- Forwarded message ---------\nFrom: {vendor.name} <{vendor.addr}>\n"
                 f"Date: Wed, 5 Mar 2025 at 10:02\nSubject: Service notice\nTo: <{sender.addr}>\n\n"
                 f"Dear customer,\n\n{original}\n\nKind regards,\n{vendor.name}\n")
    else:
        block = (f"Begin forwarded message:\n\n> From: {vendor.name} <{vendor.addr}>\n> Subject: Service notice\n"
                 f"> Date: 5 March 2025 at 10:02:11 CET\n> To: {sender.name} <{sender.addr}>\n> \n"
                 + "\n".join("> " + line for line in original.split("\n")) + f"\n> \n> {vendor.first}\n")
    body = f"{greeting_for(rng, to)}\n\n{note}\n\n{sender.first}\n\n{block}".lstrip()
    return Mail("forward", sender, to, "Fwd: Service notice", body)


def forward_attached(rng: random.Random, fill: Fill) -> Mail:
    """A forward as an attached message/rfc822: the apology lives only in the attached original."""
    values = fill.values()
    sender = rng.choice(PLATFORM)
    to = rng.sample([p for p in EVERYONE if p != sender], rng.randint(1, 2))
    vendor = rng.choice(CUSTOMERS)
    original = fmt(rng.choice(QUOTED_APOLOGY), values)
    inner = (f"From: {vendor.name} <{vendor.addr}>\nTo: {sender.addr}\nSubject: Service notice\n"
             f"Date: Wed, 05 Mar 2025 10:02:11 +0100\nMessage-ID: <vendor-{rng.randint(100, 999)}@example.net>\n"
             f"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n{original}\n")
    note = fmt(rng.choice(FORWARD_NOTES), values)
    mail = Mail("forward-attached", sender, to, "Fwd: Service notice", letter(rng, sender, to, note))
    mail.attachment = ("service-notice.eml", "message/rfc822", inner.encode())
    return mail


SOCIAL = [
    "Sorry to bother you, but could you approve PR #{pr} when you get a minute? It's blocking the release.",
    "Sorry for the late reply - I was offline at the conference. Yes, {day} works for the demo.",
    "Sorry for the delay in getting back to you. The numbers you asked for are in the sheet, tab 'Q{n}'.",
    "Sorry to hear about your cat. Take whatever time you need, {a} can cover the review.",
    "Sorry, can't make it Thursday. Could you send me the slides afterwards?",
    "Apologies for the cross-post. We're looking for volunteers to run the booth at the career fair on {day}.",
    "Sorry if this was covered already - where do I find the VPN configuration for the new laptops?",
    "Sorry to be a pain, but is there any chance we could get the test environment for another week?",
    "I apologize for the long email; there's a lot to cover before the vendor decision.\n\n"
    "1. Pricing: both quotes are within budget.\n2. Support: vendor A offers 24/7, vendor B business hours.\n"
    "3. Migration: vendor B has a tool for our data format.\n\nMy recommendation is vendor B.",
    "So sorry I missed your call! Free after {time} if you want to try again.",
    "Sorry for the noise, please ignore the test message that just went to the list.",
    "Sorry to interrupt your holiday with this, but the contract needs a signature by {day}. It can wait till "
    "you're back if that's easier.",
    "I'm sorry for your loss. Please don't worry about work this week; we've got things covered.",
    "Sorry, quick question: is the {project} demo recorded?",
    "Pardon the interruption - the coffee machine on floor 3 is fixed.",
    "Sorry for the double mail, the first one went out without the agenda. Agenda below:\n\n"
    "- intro (5 min)\n- {project} roadmap (20 min)\n- questions",
]


def social(rng: random.Random, fill: Fill) -> Mail:
    sender = rng.choice(EVERYONE)
    values = fill.values()
    template = rng.choice(SOCIAL)
    broadcast = "cross-post" in template or "list" in template or "volunteers" in template or rng.random() < 0.25
    if broadcast:
        to = [ALL_STAFF] if rng.random() < 0.5 else rng.sample([p for p in EVERYONE if p != sender], 7)
    else:
        to = rng.sample([p for p in EVERYONE if p != sender], rng.randint(1, 2))
    core = fmt(template, values)
    subject = rng.choice(["Quick favour", "Re: demo", "Re: numbers", "Thursday", "Career fair volunteers",
                          "VPN config?", "Test environment", "Vendor decision", "Missed call", "Coffee",
                          "Re: agenda", "Contract signature", "Re: {project}"]).format(**values)
    return Mail("social", sender, to, subject, letter(rng, sender, to, core))


OOPS_ATTACH = [
    "Oops, forgot the attachment - here it is.",
    "And now with the actual file attached.",
]


def forgot_attachment(rng: random.Random, fill: Fill) -> Mail:
    """The everyday one-to-one 'forgot the attachment' follow-up: a tiny oops, nothing to hold."""
    sender = rng.choice(EVERYONE)
    to = [rng.choice([p for p in EVERYONE if p != sender])]
    core = rng.choice(OOPS_ATTACH)
    mail = Mail("attachment-followup", sender, to, "Re: slides", letter(rng, sender, to, core))
    mail.attachment = ("slides.pdf", "application/pdf", b"%PDF-1.4\n% slides\n%%EOF\n")
    return mail


TECH_WORDS = [
    """
The error budget for the checkout API is at 64% with two weeks left in the window, so we can go ahead with
the {day} release as planned.
""",
    """
I fixed the bug in the parser that was choking on tabs; the fix is in {version}. The build failed once on
the ARM runner but that was a network blip, the rerun passed.
""",
    """
For the mistake-proofing workshop, could everyone bring one example of a config change that was easy to get
wrong? We'll redesign two of them live.
""",
    """
The postmortem template now has a section for contributing factors and one for follow-up owners. Feedback
welcome before we adopt it on {day}.
""",
    """
Heads-up: the error rate alert on the {project} fires at 2% now instead of 1%, agreed in the reliability
review. Runbook updated.
""",
    """
Test report: {n} failures out of 1,204 in the nightly run, all in the known-flaky browser suite. Unit and
integration suites passed.
""",
    """
Does anyone know why `make lint` fails with "error: unrecognized arguments" on a fresh checkout? I think my
virtualenv is out of date but wanted to check before I rebuild it.
""",
    """
The chaos day is scheduled for {day}: we will deliberately fail one availability zone in staging and watch
how the {project} recovers. No production impact.
""",
]


def tech_words(rng: random.Random, fill: Fill) -> Mail:
    sender = rng.choice(PLATFORM)
    broadcast = rng.random() < 0.5
    to = [ENG_ALL] if broadcast else rng.sample([p for p in PLATFORM if p != sender], rng.randint(1, 3))
    core = fmt(rng.choice(TECH_WORDS), fill.values())
    subject = rng.choice(["Error budget check", "Parser fix", "Workshop prep", "Postmortem template",
                          "Alert threshold change", "Nightly test report", "make lint failing?", "Chaos day"])
    return Mail("tech", sender, to, subject, letter(rng, sender, to, core))


BROADCAST_NAMES = [
    """
A warm welcome to {a_full}, who joins the data team today, and congratulations to Marcus Ortega on ten years
with the company! Cake in the kitchen at 15:00.
""",
    """
Thank you, Dana, for organising the hackathon - {n} teams, some great demos and a very happy jury.
The winning project (offline mode for the field app) gets a slot on the roadmap.
""",
    """
Dana Whitfield and Marcus Ortega will host the next town hall on {day}. Send your questions in advance using
the form; anonymous questions are welcome.
""",
    """
The platform team (Dana, Marcus, {a}, {b}) moves to the 4th floor next week. Desks are labelled; the plants
are coming too.
""",
    """
Kudos to Marcus for the new onboarding guide, which cut setup time for new engineers from two days to half
a day. Give it a read even if you've been here for years.
""",
]


def broadcast_names(rng: random.Random, fill: Fill) -> Mail:
    sender = rng.choice([DANA, MARCUS, COLLEAGUES[4], PLATFORM[2]])
    if rng.random() < 0.5:
        to = [ALL_STAFF]
        cc: list[Person] = []
    else:
        to = rng.sample([p for p in EVERYONE if p != sender], 6)
        cc = rng.sample(COLLEAGUES, 2)
    core = fmt(rng.choice(BROADCAST_NAMES), fill.values())
    greeting = rng.choice(["Hi all,", "Hi Dana, hi Marcus, hi everyone,", "Hello everyone,", "Team,"])
    body = f"{greeting}\n\n{core}\n\n{signature_for(rng, sender)}\n"
    subject = rng.choice(["Welcome and congratulations", "Hackathon thank-you", "Town hall", "Floor move",
                          "New onboarding guide"])
    return Mail("broadcast-names", sender, to, subject, body, cc=cc)


FOREIGN = [
    ("de", "iso-8859-1", "Besprechung am Donnerstag",
     "Hallo {a},\n\nkönnen wir die Besprechung auf Donnerstag um {time} Uhr verschieben? Entschuldigung für die "
     "späte Antwort, ich war die ganze Woche unterwegs.\n\nViele Grüße\n{s}\n"),
    ("de", "utf-8", "Quartalszahlen",
     "Hallo zusammen,\n\nanbei die Quartalszahlen. Der Umsatz liegt {n} % über dem Vorjahr. Fragen gerne an "
     "mich oder an Dana.\n\nBeste Grüße\n{s}\n"),
    ("fr", "iso-8859-1", "Réunion de lancement",
     "Bonjour à tous,\n\nla réunion de lancement du projet aura lieu mardi à {time} dans la salle du 3e étage. "
     "Désolé pour le délai de réponse, la semaine a été chargée.\n\nCordialement,\n{s}\n"),
    ("fr", "utf-8", "Facture de mars",
     "Madame, Monsieur,\n\nveuillez trouver ci-joint la facture du mois de mars, d'un montant de {amount} EUR, "
     "payable sous 30 jours.\n\nBien à vous,\n{s}\n"),
    ("es", "utf-8", "Resumen semanal",
     "Hola equipo,\n\nesta semana terminamos la migración del servicio de pagos. Perdón por el correo tan largo "
     "la semana pasada; esta vez es corto. El próximo paso es la revisión con {a} el {day}.\n\nSaludos,\n{s}\n"),
    ("pt", "utf-8", "Agenda da semana",
     "Olá {a},\n\nsegue a agenda da semana. Desculpe incomodar, mas você poderia confirmar a reunião de quinta?\n\n"
     "Abraços,\n{s}\n"),
    ("nl", "utf-8", "Vergadering verplaatst",
     "Hoi allemaal,\n\nde vergadering van donderdag is verplaatst naar vrijdag {time}. Sorry voor de late "
     "melding.\n\nGroeten,\n{s}\n"),
    ("it", "iso-8859-1", "Verbale della riunione",
     "Ciao a tutti,\n\nin allegato il verbale della riunione di ieri. Dana ha presentato la roadmap, Marcus ha "
     "parlato delle assunzioni. Prossimo incontro giovedì.\n\nSaluti,\n{s}\n"),
    ("pl", "iso-8859-2", "Spotkanie zespołu",
     "Cześć,\n\nprzypominam o spotkaniu zespołu w środę o {time}. Przepraszam za późną odpowiedź na poprzednią "
     "wiadomość.\n\nPozdrawiam,\n{s}\n"),
    ("ru", "koi8-r", "Отчёт за неделю",
     "Коллеги, добрый день!\n\nВ приложении отчёт за неделю. Сборка прошла успешно, ошибок в тестах нет. "
     "Извините за поздний ответ.\n\nС уважением,\n{s}\n"),
    ("ja", "iso-2022-jp", "会議の件",
     "{a}さん\n\nお疲れ様です。木曜日の会議は{time}からに変更になりました。返信が遅くなってすみません。\n\n"
     "よろしくお願いします。\n{s}\n"),
    ("ja", "shift_jis", "週報",
     "各位\n\n今週の進捗を共有します。パーサーのバグを修正しました。ビルドは正常です。\n\n以上です。\n{s}\n"),
    ("zh", "gb2312", "会议通知",
     "大家好，\n\n周四下午{time}在三楼会议室开项目会议，请准时参加。抱歉打扰大家。\n\n谢谢，\n{s}\n"),
    ("zh", "utf-8", "发布说明",
     "各位同事：\n\n版本 {version} 已发布，修复了解析器中的一个问题，并改进了导出性能。\n\n{s}\n"),
    ("ko", "euc-kr", "회의 일정",
     "안녕하세요,\n\n목요일 회의는 {time}에 시작합니다. 늦은 답장 죄송합니다.\n\n감사합니다.\n{s}\n"),
    ("sv", "utf-8", "Fika på fredag",
     "Hej allihop!\n\nPå fredag bjuder vi på fika klockan 15 för att fira releasen. Förlåt för det korta "
     "varselet.\n\nHälsningar,\n{s}\n"),
    ("tr", "utf-8", "Haftalık durum",
     "Merhaba,\n\nbu hafta ödeme servisinin taşınması tamamlandı. Geç cevap için kusura bakmayın.\n\n"
     "İyi çalışmalar,\n{s}\n"),
    ("el", "iso-8859-7", "Συνάντηση",
     "Γεια σας,\n\nη συνάντηση μεταφέρεται για την Πέμπτη στις {time}. Συγγνώμη για την καθυστέρηση.\n\n{s}\n"),
]


def foreign(rng: random.Random, fill: Fill, index: int) -> Mail:
    language, charset, subject, template = FOREIGN[index % len(FOREIGN)]
    # Legacy charsets cannot carry every name (no "á" in ISO-2022-JP), so these mails use ASCII-named people.
    plain_named = [p for p in EVERYONE if p.name.isascii()]
    sender = rng.choice(plain_named)
    to = rng.sample([p for p in plain_named if p != sender], rng.randint(1, 6))
    values = fill.values(s=sender.first)
    values["a"] = rng.choice(plain_named).first
    body = template.format(**values)
    encoding = rng.choice(["8bit", "quoted-printable", "base64"])
    if charset in ("iso-2022-jp",):
        encoding = "7bit"  # ISO-2022-JP is a 7-bit encoding and is normally sent as such
    return Mail(f"foreign-{language}", sender, to, subject, body, charset=charset, encoding=encoding,
                headers=[("Content-Language", language)])


def html_only(rng: random.Random, fill: Fill) -> Mail:
    """A hand-written HTML-only mail (marketing-ish tables, styles), no text/plain part at all."""
    values = fill.values()
    sender = rng.choice([Person("Example Events", "events@example.com"), COLLEAGUES[4], DANA])
    to = [ALL_STAFF] if rng.random() < 0.6 else rng.sample(EVERYONE, 3)
    index = rng.randrange(5)
    html = ([
        "<!DOCTYPE html><html><head><style>td{{font-family:Arial}} .x{{color:#333}}</style></head><body>"
        "<table width=\"600\"><tr><td><h1>Summer party</h1><p>Join us on {day} from 17:00 on the roof terrace."
        "</p><p>Sorry, no plus-ones this year because of space.</p><p><a href=\"https://events.example.com/rsvp\">"
        "RSVP here</a></p></td></tr></table></body></html>",
        "<html><body><p>Hi all,</p><p>The <b>{project}</b> dashboard has a new home: "
        "<a href=\"https://grafana.example.com/d/abc\">grafana.example.com/d/abc</a>.</p>"
        "<ul><li>old links redirect</li><li>alerts unchanged</li></ul><p>Dana</p></body></html>",
        "<html><body><div style=\"font-family:Calibri\"><p>Dear colleagues,</p><p>Our error budget review is on "
        "{day} at {time}. Please bring your service&#39;s numbers.</p><p>Kind regards,<br>Noor</p></div>"
        "<!-- sorry if this renders oddly in Outlook --></body></html>",
        "<html><body><p>Thanks for your patience while we finished the new intranet. It&rsquo;s live now:"
        "</p><p><img src=\"https://intranet.example.com/logo.png\" alt=\"logo\"></p><p>Highlights: search that "
        "works, a people directory, and the canteen menu.</p></body></html>",
        "<html><head><title>Newsletter</title></head><body><h2>Platform news</h2><p>Marcus Ortega presented the "
        "new deploy pipeline; recordings are on the wiki.</p><table><tr><th>Metric</th><th>Value</th></tr>"
        "<tr><td>deploys</td><td>{n}</td></tr><tr><td>build failed</td><td>1</td></tr></table></body></html>",
    ][index]).format(**values)
    subject = ["Summer party", "Dashboard moved", "Error budget review", "New intranet", "Platform news"][index]
    return Mail("html-only", sender, to, subject, "", html=html, style="html-only",
                encoding=rng.choice(["quoted-printable", "base64", "8bit"]))


LIST_DISCUSSION = [
    """
Sorry, but I couldn't resist passing this along: someone rebuilt the {project} on a Raspberry Pi cluster and
wrote it all up at https://blog.example.org/pi-cluster. Thanks to {a} for spotting it.
""",
    """
Trying to summarise the thread so far - my apologies if I've misrepresented anyone's position.

- {a} prefers keeping the config in TOML because the team already knows it.
- {b_full} argued for YAML, mainly for the anchors.
- {c} pointed out that neither choice blocks the migration.

If I got something wrong, reply and I'll correct the summary on the wiki.
""",
    """
Apologies if this is off-topic for the list, but has anyone run the {project} on ARM? {a} mentioned it
builds fine, but I see odd timing results and wonder whether it's my setup.
""",
    """
Sorry if I sound like an advert, but the new profiler is excellent. {a} showed me the flame graph view
yesterday and I found the slow path in the {project} in ten minutes.
""",
    """
Small correction to my post from this morning: the flag is --force, not -f. Thanks to {a} for pointing it out.
""",
    """
We're taking the newsletter on a summer break and will be back in September - our apologies for any
inconvenience this may cause. However, the archive stays online and the forum is open as usual.
""",
    """
Sorry for the long quote, but this part of the article is worth reading:

  "The rail project stalled because the ministry didn't fund the second phase, and the contractor
  walked away after Hartmann refused to renegotiate."

Interesting parallel to how our own platform budgets get decided, I think.
""",
    """
Sorry if my earlier mails were unclear - English is not my first language. What I meant is that the driver
works with the 2.4 release, but not with 2.5; {a} has the same board and sees the same thing.
""",
    """
Sorry for being dense, but why does the patch from {a} change the default buffer size? I couldn't find the
reasoning in the PR description.
""",
    """
Sorry, I can't reproduce it here - as far as I can tell you're the only one on the list who got the message
twice. Could you send me the full headers off-list so I can check the relay logs?
""",
    """
My bad, that reply was meant for {a} directly, not the whole list. Please ignore it.
""",
    """
I made a mistake in the example I posted yesterday: the timeout is in milliseconds, not seconds. The rest of the
snippet is fine. {a} and {b} - thanks for catching that.
""",
    """
Regret to say I'll miss the meetup this time; {a} will present our demo instead. Slides will be on the wiki.
""",
    """
Has anyone seen "error: device not found" after upgrading the driver? {a} suggested reinstalling the udev rules,
which didn't help. Sorry to bring up an old topic, the archive threads all end without an answer.
""",
]


def list_discussion(rng: random.Random, fill: Fill) -> Mail:
    """Mailing-list and group posts: social apologies, corrections of one's own post, names in discussion."""
    values = fill.values()
    index = rng.randrange(len(LIST_DISCUSSION))
    lists = [("devtalk", "Developer talk <devtalk.lists.example.com>"),
             ("sdr-users", "SDR users <sdr-users.lists.example.org>"),
             ("platform-news", "Platform News <platform-news.lists.example.com>")]
    if index == 5 or rng.random() < 0.6:
        name, list_id = lists[2] if index == 5 else rng.choice(lists[:2])
        to = [Person("", f"{name}@lists.example.com")]
        headers = [("List-Id", list_id), ("List-Post", f"<mailto:{name}@lists.example.com>"),
                   ("Precedence", "list")]
    else:
        to = [rng.choice([ALL_STAFF, ENG_ALL])]
        headers = []
    sender = rng.choice(EVERYONE + CUSTOMERS[:3])
    # A post names other people, not its own sender ("that reply was meant for Olu" from Olu himself reads as
    # the sender naming himself in the thread); the third drawn name stands in, so no extra draw shifts the corpus.
    for slot in ("a", "b"):
        if values[slot] == sender.first:
            values = {**values, slot: values["c"]}
    core = fmt(LIST_DISCUSSION[index], values)
    body = letter(rng, sender, to, core)
    if rng.random() < 0.35:
        previous = rng.choice(EVERYONE)
        body += (f"\nOn Wed, 5 Mar 2025 at 18:20, {previous.name} <{previous.addr}> wrote:\n"
                 f"> Does anyone have numbers for this? I'd rather not guess.\n>\n> {previous.first}\n")
    subject = ["Cool write-up", "Summary: config format thread", "ARM builds?", "New profiler", "Re: CLI flags",
               "Summer break", "Interesting read", "Re: driver on 2.5", "Re: buffer size change",
               "Re: duplicate messages", "Re: Re: timing question", "Re: timeout example", "Meetup",
               "device not found after upgrade"][index]
    return Mail("list-discussion", sender, to, subject, body, headers=headers)


BUILDERS: list[tuple[Callable[[random.Random, Fill], Mail], int]] = [
    (status, 30), (scheduling, 28), (review, 22), (newsletter, 20), (release, 20), (ops, 20), (meeting, 20),
    (admin, 24), (customer_reply, 24), (invoice, 14), (quoted_reply, 26), (quoted_reply_html, 10),
    (outlook_reply, 8), (forward, 16), (forward_attached, 6), (social, 40), (forgot_attachment, 4),
    (tech_words, 18), (broadcast_names, 14), (html_only, 12), (list_discussion, 30),
]


# ---------------------------------------------------------------------------------------------------------
# MIME assembly: deterministic boundaries, every transfer encoding, several charsets.
# ---------------------------------------------------------------------------------------------------------

def address_header(people: list[Person]) -> str:
    return ", ".join(formataddr((p.name, p.addr)) if p.name else p.addr for p in people)


def encoded_header(value: str) -> str:
    return value if value.isascii() else Header(value, "utf-8").encode()


def to_html(text: str) -> str:
    import html as html_module

    paragraphs = [html_module.escape(block).replace("\n", "<br>\n") for block in text.strip().split("\n\n")]
    return "<html><body>\n" + "\n".join(f"<p>{p}</p>" for p in paragraphs) + "\n</body></html>\n"


def encode_body(text: str, charset: str, encoding: str) -> tuple[str, str]:
    """(Content-Transfer-Encoding, encoded body) for a text part."""
    data = text.encode(charset)
    if encoding == "base64":
        return "base64", base64.encodebytes(data).decode("ascii")
    if encoding == "quoted-printable":
        return "quoted-printable", quopri.encodestring(data).decode("ascii")
    if data.isascii():
        return "7bit", data.decode("ascii")
    return "8bit", data.decode("latin-1")  # raw bytes carried through latin-1 and written back as bytes


def text_part(subtype: str, text: str, charset: str, encoding: str) -> str:
    cte, body = encode_body(text, charset, encoding)
    if not body.endswith("\n"):
        body += "\n"
    return f"Content-Type: text/{subtype}; charset=\"{charset}\"\nContent-Transfer-Encoding: {cte}\n\n{body}"


def assemble(mail: Mail, index: int, rng: random.Random) -> bytes:
    start = datetime(2025, 3, 3, 8, 0, tzinfo=timezone(timedelta(hours=1)))
    date = start + timedelta(minutes=index * 437 + rng.randint(0, 300))
    headers = [
        ("From", address_header([mail.sender])),
        ("To", address_header(mail.to)),
    ]
    if mail.cc:
        headers.append(("Cc", address_header(mail.cc)))
    headers += [
        ("Subject", encoded_header(mail.subject)),
        ("Date", format_datetime(date)),
        ("Message-ID", f"<ordinary-{index:03d}.{mail.category}@{mail.sender.addr.rpartition('@')[2]}>"),
        ("MIME-Version", "1.0"),
    ]
    headers += mail.headers
    if rng.random() < 0.3:
        headers.append(("User-Agent", rng.choice(["Mozilla Thunderbird 128.3", "Microsoft Outlook 16.0",
                                                  "Apple Mail (2.3774)", "mutt/2.2.12"])))
    encoding = mail.encoding or rng.choice(["7bit", "7bit", "quoted-printable", "base64", "8bit"])
    style = mail.style or ("alternative" if rng.random() < 0.2 else "plain")
    html = mail.html if mail.html is not None else to_html(mail.body)
    if style == "html-only":
        content = text_part("html", html, mail.charset, encoding)
    elif style == "alternative":
        boundary = f"=_alt_{index:03d}_oopsguard_corpus"
        content = (f"Content-Type: multipart/alternative; boundary=\"{boundary}\"\n\n"
                   f"--{boundary}\n{text_part('plain', mail.body, mail.charset, encoding)}\n"
                   f"--{boundary}\n{text_part('html', html, mail.charset, encoding)}\n--{boundary}--\n")
    else:
        content = text_part("plain", mail.body, mail.charset, encoding)
    if mail.attachment is not None:
        filename, content_type, data = mail.attachment
        boundary = f"=_mixed_{index:03d}_oopsguard_corpus"
        if content_type == "message/rfc822":
            attached = (f"Content-Type: message/rfc822\nContent-Disposition: attachment; filename=\"{filename}\"\n\n"
                        + data.decode())
        else:
            attached = (f"Content-Type: {content_type}; name=\"{filename}\"\nContent-Transfer-Encoding: base64\n"
                        f"Content-Disposition: attachment; filename=\"{filename}\"\n\n"
                        + base64.encodebytes(data).decode("ascii"))
        content = (f"Content-Type: multipart/mixed; boundary=\"{boundary}\"\n\n"
                   "This is a multi-part message in MIME format.\n\n"
                   f"--{boundary}\n{content}\n--{boundary}\n{attached}\n--{boundary}--\n")
    head = "".join(f"{name}: {value}\n" for name, value in headers)
    message = (head + content).encode("latin-1") if not (head + content).isascii() else (head + content).encode()
    if index % 9 == 4:  # some messages as they arrive over SMTP, with CRLF line ends
        message = message.replace(b"\n", b"\r\n")
    return message


def generate() -> list[tuple[str, bytes]]:
    """Every corpus file as (name, bytes), in a fixed order."""
    rng = random.Random(SEED)
    fill = Fill(rng)
    mails: list[Mail] = []
    for builder, count in BUILDERS:
        mails.extend(builder(rng, fill) for _ in range(count))
    mails.extend(foreign(rng, fill, i) for i in range(2 * len(FOREIGN)))
    files = []
    for index, mail in enumerate(mails, start=1):
        files.append((f"{index:03d}-{mail.category}.eml", assemble(mail, index, rng)))
    return files


def main() -> int:
    files = generate()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for stale in OUT_DIR.glob("*.eml"):
        stale.unlink()
    for name, data in files:
        (OUT_DIR / name).write_bytes(data)
    print(f"wrote {len(files)} messages to {OUT_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
