"""Timing rules for internal notices: no solution on day one, always say when the next update comes, and keep it close."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable, Iterator

import regex

from checks.dates import (
    STARTING_WORDS,
    TimeExpression,
    add_working_days,
    find_time_expressions,
    format_day,
    local_date,
    working_days_between,
)
from checks.model import AppliesTo, CheckMessage, Finding, Severity
from checks.scan import (
    AnchoredSet,
    ScanText,
    anchored,
    first_sentence,
    keyword_anchored,
    phrase_matches,
    prepare,
    sentence_around,
)
from checks.text import make_finding, span_timeout

# The longest gap, in working days, between a notice and the update it promises.
UPDATE_WITHIN_WORKING_DAYS = 2
# Update wordings examined per message: enough for any real notice, bounded for hostile text.
MAX_UPDATE_WORDS = 40
MAX_FINDINGS = 10
# How far apart an update wording and its time may be and still be read as one promise.
MAX_PROMISE_GAP = 90

# What a promised time is attached to: an update, a recommendation, more information, next steps.
_UPDATE_WORDS = regex.compile(
    r"(?<!\w)(?:updates?|update[ds]|recommend\w*|fix(?:es)?|solutions?|propos(?:al|als|e|ed)|information|info|"
    r"details?|next\s+steps?|reports?|analysis|review|findings|root[\s-]+cause|post-?\s?mortem|retrospective|"
    r"news|hear\s+(?:from|back)|get\s+back|back\s+to\s+you|let\s+you\s+know|know\s+more|in\s+touch|"
    r"keep\s+you\s+(?:posted|informed|updated)|follow(?:[\s-]?up|s)|write\s+(?:to\s+you\s+)?again|status|summary|"
    r"plan|circle\s+back|check\s+in|report\s+back|touch\s+base|(?:share|tell\s+you|say|send|have)\s+more|"
    r"more\s+to\s+follow|(?:will|shall)\s+follow|come\s+back|write[\s-]?ups?|options|"
    r"recommendation|assessment|investigation|outcome|results?|"
    r"(?:full|complete|detailed|clear)\s+(?:account|picture|overview|breakdown|timeline))(?!\w)",
    regex.IGNORECASE,
)
# Promises with no time in them.
_VAGUE = regex.compile(
    r"(?<!\w)(?:soon|shortly|asap|as\s+soon\s+as\s+(?:possible|we\s+(?:can|know\s+more|have\s+more))|in\s+due\s+course|"
    r"when\s+we\s+(?:know|have)\s+more|keep\s+you\s+(?:posted|updated|informed)|at\s+some\s+point|later)(?!\w)",
    regex.IGNORECASE,
)
_VAGUE_KEYWORDS = ("soon", "shortly", "asap", "course", "more", "keep", "point", "later")

# A promise looks forward; "the investigation started at 09:00" does not, even though it names a time.
_FUTURE_CUE = regex.compile(
    r"(?:['’]ll|(?<!\w)(?:will|shall|going\s+to|expect\w*|plan\w*|aim\w*|intend\w*|promise\w*|next|by|within|until|"
    r"before|no\s+later\s+than|follow\w*|to\s+come|coming|upcoming|scheduled|due|latest|tomorrow|later|expected|"
    r"should\s+(?:have|be)|hope\s+to|"
    r"(?:update|recommendation|fix|news)\s*:|\bin\s+(?:about\s+|around\s+)?(?:an?|\d+|one|two|three|four|five|six|half\s+an)\s+"
    r"(?:hours?|minutes?|mins?|days?)\b|"
    # the present for the future, as many write it: "I send you an update on 17.11."
    r"(?:I|we)\s+(?:send|inform|update|write\s+to|report\s+to|come\s+back\s+to|contact)\s+you))(?!\w)",
    regex.IGNORECASE,
)

# Clause breaks that separate a time from an update wording: "began at 09:10, and we will update you".
_FORWARD_BREAK = regex.compile(r";|,\s*(?:and|but)\b|\bbut\b|\band\s+(?:we|i|they|it|the|this|our|you|he|she|that)\b", regex.IGNORECASE)
_BACKWARD_BREAK = regex.compile(r";|\b(?:and|but)\b", regex.IGNORECASE)

# A notice that already presents the remedy rather than saying when it will come.
def _solution(source: str) -> regex.Pattern[str]:
    return regex.compile(r"(?<!\w)(?:" + source + r")", regex.IGNORECASE)


# "Add", "set up" and the like announce a remedy only with a safeguard as their object ("add a confirmation
# prompt"); "we'll add you to the list" or "we'll set up a call" are ordinary arrangements.
_SAFEGUARD = (
    r"(?:a|an|another|extra|more|new|automated|automatic|additional|two|a\s+second|second|mandatory|proper)\s+"
    r"(?:[\w-]+\s+){0,2}?(?:checks?|steps?|reviews?|tests?|prompts?|confirmations?|guard(?:rail)?s?|validations?|"
    r"alerts?|locks?|approvals?|safeguards?|warnings?|limits?|monitoring|monitors?|reviewers?|gates?|stages?|"
    r"canary|rules?|sign-?offs?|backups?|alarms?|checklists?|policy|process|procedure)(?!\w)"
)
_REMEDY_VERBS = (
    r"restored|rolled\s+back|reverted|recovered|re-?sent|re-?issued|re-?ran|re-?run|put\s+in\s+place|introduced|"
    r"implemented|tightened|locked\s+down|automated|"
    r"restore|roll\s+back|revert|recover|re-?send|re-?issue|introduce|implement|tighten|lock\s+down|automate|"
    r"require|enforce|change\s+(?:how|the\s+way|our\s+(?:process|procedure|policy|rules?))|"
    rf"(?:add(?:ed)?|set\s+up|built|build|created?|deployed|deploy|put\s+in)\s+{_SAFEGUARD}"
)
_REMEDY_GERUNDS = (
    r"restoring|rolling\s+back|reverting|recovering|re-?sending|re-?issuing|re-?running|putting\s+in\s+place|"
    r"introducing|implementing|tightening|locking\s+down|automating|requiring|enforcing|"
    r"changing\s+(?:how|the\s+way|our\s+(?:process|procedure|policy|rules?))|"
    rf"(?:adding|setting\s+up|building|creating|deploying|putting\s+in)\s+{_SAFEGUARD}"
)
_REMEDY_GATE = (
    "restored|rolled|reverted|recovered|resent|re|reissued|reran|rerun|put|introduced|implemented|added|deployed|"
    "tightened|locked|automated|switched|migrated|replaced|restore|roll|revert|recover|resend|reissue|introduce|"
    "implement|add|deploy|tighten|lock|automate|switch|migrate|replace|require|enforce|set|change|make|build|create|"
    "write|restoring|rolling|reverting|recovering|resending|reissuing|rerunning|putting|introducing|implementing|"
    "adding|deploying|tightening|locking|automating|switching|migrating|replacing|requiring|enforcing|setting|"
    "changing|building|creating|writing"
)


# A notice that already presents the remedy rather than saying when it will come: each wording is tried only
# where its first word occurs and a word it needs follows.
_SOLUTIONS = AnchoredSet((
    anchored(_solution(
        r"(?:the|our|my|a)\s+(?:recommended\s+|proposed\s+|permanent\s+|long[\s-]term\s+|real\s+|actual\s+|final\s+)?"
        r"(?:(?:fix|solution|remedy|workaround)\s+(?:is|was|will\s+be|would\s+be)|plan\s+(?:is|will\s+be)\s+to)(?!\w)"
    ), "the|our|my|a & fix|solution|remedy|workaround|plan", before=30, after=70, start=True),
    anchored(_solution(
        r"(?:fix|solution|workaround|remedy|recommendation|proposal|proposed\s+fix|recommended\s+fix|resolution|"
        r"suggested\s+fix)(?:\s+for\s+[^:\n.\d]{1,60})?\s*:(?!\d)"
    ), "fix|solution|workaround|remedy|recommendation|proposal|proposed|recommended|resolution|suggested", after=90,
        start=True),
    anchored(_solution(
        r"(?:we|i)(?:['’]ve|\s+have)?\s+(?:already\s+|now\s+|just\s+)?(?:fixed|patched|solved|corrected)(?!\w)"
        r"|(?:we|i)(?:['’]ll|\s+will|\s+are\s+going\s+to|\s+plan\s+to|\s+intend\s+to|\s+want\s+to)\s+"
        r"(?:fix|solve|address|prevent|avoid)\s+(?:this|it|that|the\s+[\w-]+(?:\s+[\w-]+)?)\s+(?:by|with)\s+[a-z]+ing(?!\w)"
        r"|(?<!\b(?:how|what|which|whether|when)\s)(?:we|i)\s+(?:strongly\s+|would\s+|therefore\s+)?(?:recommend|suggest|propose)(?!\w)"
    ), "we|i & fixed|patched|solved|corrected|fix|solve|address|prevent|avoid|recommend|suggest|propose",
    before=30, after=110,
        start=True),
    anchored(_solution(r"(?:has|have)\s+(?:already\s+|now\s+)?been\s+(?:fixed|patched|solved|corrected)(?!\w)"),
             "has|have & fixed|patched|solved|corrected", before=20, after=45, start=True),
    anchored(_solution(r"(?:our|my)\s+(?:recommendation|proposal|suggestion|plan)\s+(?:is|would\s+be)(?!\w)"
                       r"(?!\s+(?:expected|due|coming|scheduled|planned|on\s+its\s+way|still))"),
             "our|my & recommendation|proposal|suggestion|plan", before=8, after=45, start=True),
    anchored(_solution(r"here\s+is\s+(?:our|the|my)\s+(?:recommendation|proposal|plan|fix|solution)"),
             "here & recommendation|proposal|plan|fix|solution", before=20, after=45, start=True),
    anchored(_solution(
        r"(?:going\s+forward|from\s+now\s+on|in\s+(?:the\s+)?future|moving\s+forward)\s*,?\s+"
        r"(?:we|i|all|every|each|the|our|any|no)(?!\w)"
    ), "going|from|in|moving & forward|now|future", before=12, after=45, start=True),
    anchored(_solution(
        r"to\s+(?:prevent|avoid|stop)\s+(?:this|that|it|a\s+repeat|(?:a\s+)?recurrence|similar)[^.;!?\n]{0,50}?,?\s+"
        r"(?:we|i)(?:['’]ll|\s+will|\s+are\s+going\s+to|\s+plan\s+to|\s+have|\s+are)(?!\w)"
    ), "to & prevent|avoid|stop", before=4, after=140, start=True),
    anchored(_solution(r"as\s+a\s+workaround"), "as & workaround", before=8, after=25, start=True),
    # Remedies and changes the notice already announces, done or coming: "we have restored the backup", "we will
    # add a confirmation prompt", "we're adding a check". Simple past ("we changed the config") stays out: that is
    # usually what went wrong. So does containment ("we have stopped the job"): stopping the damage is a fact of the
    # incident, not the recommended fix.
    anchored(_solution(
        r"(?:we|i)(?:['’]ve|\s+have|['’]ll|\s+will|\s+are\s+going\s+to|['’]re\s+going\s+to|\s+plan\s+to|"
        r"\s+intend\s+to)(?:\s+(?:already|now|also|just|then|immediately|quickly|additionally))?\s+"
        rf"(?:{_REMEDY_VERBS})(?!\w)"
        r"|(?:we|i)(?:['’]re|\s+are|['’]m|\s+am)(?:\s+(?:already|now|also|currently))?\s+"
        rf"(?:{_REMEDY_GERUNDS})(?!\w)"
    ), f"we|i & {_REMEDY_GATE}", before=45, after=90, start=True),
    anchored(_solution(
        r"(?:will|is\s+going\s+to|are\s+going\s+to)\s+(?:now\s+|also\s+|soon\s+)?be\s+"
        r"(?:added|introduced|implemented|put\s+in\s+place|enforced|restored|reverted|rolled\s+back|automated)(?!\w)"
        r"|(?:has|have)\s+(?:already\s+|now\s+)?been\s+(?:restored|rolled\s+back|reverted|recovered|re-?sent|"
        r"re-?issued|re-?run|put\s+in\s+place)(?!\w)"
    ), "will|is|are|has|have & added|introduced|implemented|put|enforced|rolled|restored|reverted|automated|"
       "recovered|resent|re|reissued|rerun", before=30, after=60, start=True),
    # A fix already shipped: "we've put a fix in place", "we have already deployed a hotfix".
    anchored(_solution(
        r"(?:(?:we|i)(?:['’]ve|\s+have)?|have|has)\s+(?:already\s+|now\s+|just\s+|since\s+)?(?:deployed|shipped|"
        r"released|rolled\s+out|applied|pushed|put|merged|installed|made|found)\s+(?:a|the|an|our)\s+(?:[\w-]+\s+)?"
        r"(?:fix|hotfix|patch|workaround|solution|correction|remedy)(?!\w)"
    ), "we|i|have|has & deployed|shipped|released|rolled|applied|pushed|put|merged|installed|made|found", before=30,
        after=80, start=True),
    # The fix or the corrected thing is live: "the fix for the skipped backups is in", "the corrected price list
    # is already live".
    anchored(_solution(
        r"(?:the|a|our)\s+(?:[\w-]+\s+)?(?:fix|hotfix|patch|correction|corrected\s+[\w-]+(?:\s+[\w-]+){0,2})"
        r"(?:\s*\([^()\n]{0,80}(?:\n[^()\n]{0,80})?\))?"
        r"(?:\s+(?:for|to)\s+(?:the\s+)?[\w-]+(?:\s+[\w-]+){0,2})?\s+(?:is|are|has\s+been|have\s+been|was|went)\s+"
        r"(?:now\s+|already\s+|also\s+)?(?:in|live|out|deployed|in\s+place|applied|released|rolled\s+out|merged|"
        r"available|done|on\s+the\s+(?:shared\s+)?(?:drive|wiki|intranet|server|portal)|up|uploaded|attached)(?!\w)"
    ), "the|a|our & fix|hotfix|patch|correction|corrected", before=30, after=90, start=True),
    # Done, said plainly: "already fixed", "it is now resolved", "solved." opening a casual note.
    anchored(_solution(
        r"(?:already|now)\s+(?:been\s+)?(?:fixed|resolved|solved|patched|corrected)(?!\w)"
        r"|(?:is|are|was|were)\s+(?:already\s+|now\s+)?(?:fixed|resolved|solved|patched)(?!\w)"
    ), "already|now|is|are|was|were & fixed|resolved|solved|patched|corrected", before=25, after=40, start=True),
    anchored(_solution(r"solved\s*[.!]"), "solved", after=12, start=True),
    # The remedy presented: "the remedy we propose is", "here's what we're going to do about it".
    anchored(_solution(
        r"(?:remedy|solution|fix)\s+(?:that\s+)?(?:we|i)\s+(?:propose|recommend|suggest|chose|picked|found|came\s+up\s+with|"
        r"settled\s+on|agreed(?:\s+on)?)(?!\w)"
        r"|(?<!\b(?:once|when|until|till|if|after|before|soon\s+as)\s)(?:we|i)\s+(?:have|['’]ve)\s+(?:already\s+|now\s+)?"
        r"(?:the|a)\s+(?:fix|solution|remedy)(?!\w)"
        r"|(?:remedy|solution|fix)\s+(?:that\s+)?(?:we|i)(?:['’]ll|\s+will)\s+(?:put\s+in\s+place|implement|introduce|adopt|"
        r"roll\s+out|apply)(?!\w)"
        r"|(?:we|i)(?:['’]ve|\s+have)?\s+(?:now\s+|already\s+)?(?:worked\s+out|figured\s+out|found|identified|agreed\s+on|"
        r"settled\s+on)\s+(?:the|a|our)\s+(?:fix|solution|remedy)(?!\w)"
        r"|here(?:['’]s|\s+is)\s+what\s+(?:we|i)(?:['’]re|\s+are|['’]ll|\s+will|['’]m|\s+am)?\s+(?:going\s+to\s+)?"
        r"(?:do|doing|change|changing|recommend|propose|suggest)(?!\w)"
        # a remedy presented under a heading: "Proposed solution, so you have it early: ...", "Corrective actions:"
        r"|(?:proposed|recommended|suggested)\s+(?:solution|fix|remedy|change|plan)(?=\s*[,:(\u2014\u2013-])"
        r"|(?:corrective|preventive|preventative|remedial)\s+(?:actions?|measures?|steps?)"
    ), "remedy|solution|fix|here|we|i|proposed|recommended|suggested|corrective|preventive|preventative|remedial & "
       "propose|recommend|suggest|chose|picked|what|found|came|settled|agreed|have|ve|solution|fix|remedy|change|plan|"
       "action|actions|measure|measures|step|steps",
        before=20, after=60, start=True),
))
_UPDATE_NOUNS = (
    "update|updates|updated|recommend|recommends|recommended|recommending|recommendation|recommendations|fix|fixes|"
    "solution|solutions|proposal|proposals|propose|proposed|information|info|detail|details|report|reports|"
    "analysis|review|findings|postmortem|retrospective|news|status|summary|plan|assessment|investigation|"
    "outcome|result|results|follows|followup|options|writeup|writeups"
)
# Every update wording starts with one of the first group's words and has a word of the second within its first
# 16 characters ("let you know", "in touch"), so it is only tried where such a pair occurs.
_UPDATE_WORDINGS = anchored(
    _UPDATE_WORDS,
    f"{_UPDATE_NOUNS}|full|complete|detailed|clear|next|root|post|hear|get|back|let|know|in|keep|follow|write|circle|"
    "check|touch|share|tell|say|"
    f"send|have|more|will|shall|come & {_UPDATE_NOUNS}|steps|step|cause|mortem|from|back|you|know|more|touch|base|"
    "posted|informed|updated|up|ups|again|in|follow|account|picture|overview|breakdown|timeline",
    before=16,
    after=50,
    start=True,
)
# A promise made with a verb instead of an update noun: "we'll have a full picture by Wednesday", "I will confirm
# on Thursday". The subject and a forward-looking modal keep ordinary verbs ("we have three hosts") out.
_PROMISE_VERB_WORDS = (
    "have|know|share|send|confirm|report|come|understand|publish|circulate|tell|answer|update|present|provide"
)
_PROMISE_VERBS = anchored(
    regex.compile(
        r"(?<!\w)(?:we|i)(?:['’]ll|\s+will|\s+shall|\s+should|\s+expect\s+to|\s+aim\s+to|\s+hope\s+to|\s+plan\s+to|"
        r"\s+intend\s+to|\s+are\s+going\s+to|['’]re\s+going\s+to|\s+am\s+going\s+to|['’]m\s+going\s+to)"
        r"(?:\s+(?:then|also|hopefully|only|definitely))?(?:\s+be\s+able\s+to)?\s+"
        r"(?:" + _PROMISE_VERB_WORDS.replace("come", r"come\s+back") + r")(?!\w)",
        regex.IGNORECASE,
    ),
    f"we|i & {_PROMISE_VERB_WORDS}",
    before=45,
    after=80,
    start=True,
)
_VAGUE_WORDINGS = keyword_anchored(_VAGUE, _VAGUE_KEYWORDS, 30, 60)
# Words a time expression can start with, as the prepared text's word set holds them, and a word that starts with a
# digit (the atom look-behind, "(?<![\w:.])", is checked when an atom is tried).
_STARTING_WORDS = frozenset(word.encode() for word in STARTING_WORDS)
_DIGIT_START = regex.compile(r"(?<![\w:.])\d")
# A clause that hands over the remedy later ("will be ready by Thursday", "we will share it on Wednesday").
_DELIVERY = regex.compile(
    r"(?<!\w)(?:shar\w*|send\w*|sent|present\w*|propos\w*|circulat\w*|follow\w*|come|coming|ready|available|"
    r"publish\w*|announc\w*|bring|provide\w*|deliver\w*|outline\w*|walk\s+you|get\s+back|report\s+back|finali[sz]\w*)(?!\w)",
    regex.IGNORECASE,
)


@dataclass(frozen=True)
class Promise:
    """An update wording and the time attached to it."""

    word_start: int
    word_end: int
    time: TimeExpression


def _zone_name(message: CheckMessage) -> str:
    return message.team.timezone or "UTC"


def _tied(text: str, word_start: int, word_end: int, expression: TimeExpression) -> bool:
    """Whether a time belongs to an update wording in the same clause ("an update by Thursday noon")."""
    if expression.start < word_end and word_start < expression.end:
        return True
    if word_end <= expression.start:
        gap = text[word_end : expression.start]
        return len(gap) <= MAX_PROMISE_GAP and _FORWARD_BREAK.search(gap) is None  # short: no timer needed
    gap = text[expression.end : word_start]
    return len(gap) <= MAX_PROMISE_GAP and _BACKWARD_BREAK.search(gap) is None


def promised_times(
    message: CheckMessage, rule_id: str, reference: datetime, only: regex.Pattern[str] | None = None
) -> Iterator[Promise]:
    """The times the text attaches to an update, recommendation or "more information", in text order.

    `only` restricts the update wordings to those it fully matches. A generator, so a rule that only
    needs the first suitable promise stops there. What each wording promises is worked out once per
    message and shared by the three timing rules.
    """
    scan = prepare(message.text)
    tz = _zone_name(message)
    seen: set[tuple[int, int]] = set()
    for word in _promise_words(scan, message, rule_id, only):
        for promise in _word_promises(scan, word, reference, tz):
            key = (promise.time.start, promise.time.end)
            if key not in seen:
                seen.add(key)
                yield promise


def _promise_words(
    scan: ScanText, message: CheckMessage, rule_id: str, only: regex.Pattern[str] | None
) -> list[regex.Match[str]]:
    """The update wordings a rule reads promises from, in text order, at most MAX_UPDATE_WORDS (remembered on the
    prepared text: the three timing rules ask for the same list; only their team phrases and `only` differ)."""
    extra = message.team.rule(rule_id).extra_phrases
    key = ("timing", "words", extra, only)
    words = scan.memo.get(key)
    if words is None:
        found = list(_update_words(scan)) + phrase_matches(scan, extra)
        if only is not None:
            found = [w for w in found if only.fullmatch(w.group(), timeout=span_timeout(w.start(), w.end()))]
        found.sort(key=lambda m: m.start())
        words = scan.memo[key] = found[:MAX_UPDATE_WORDS]
    return words  # type: ignore[return-value]


def _update_words(scan: ScanText) -> list[regex.Match[str]]:
    """The built-in update wordings of a text (remembered on the prepared text)."""
    key = ("timing", "update-words")
    words = scan.memo.get(key)
    if words is None:
        words = scan.memo[key] = list(scan.matches(_UPDATE_WORDINGS)) + list(scan.matches(_PROMISE_VERBS))
    return words  # type: ignore[return-value]


def _word_promises(scan: ScanText, word: regex.Match[str], reference: datetime, tz: str) -> tuple[Promise, ...]:
    """The times tied to one update wording, in the order found (remembered on the prepared text)."""
    key = ("timing", "promises", word.start(), word.end(), reference, tz)
    promises = scan.memo.get(key)
    if promises is None:
        promises = scan.memo[key] = tuple(_find_word_promises(scan, word, reference, tz))
    return promises  # type: ignore[return-value]


def _find_word_promises(scan: ScanText, word: regex.Match[str], reference: datetime, tz: str) -> Iterator[Promise]:
    text = scan.text
    sentence_start, sentence_end = sentence_around(text, word.start(), word.end())
    timeout = span_timeout(sentence_start, sentence_end)
    if _FUTURE_CUE.search(text, sentence_start, sentence_end, timeout=timeout) is None:
        return
    # Only the stretch a promise can span around the wording is read for times.
    start = max(sentence_start, word.start() - MAX_PROMISE_GAP - 40)
    end = min(sentence_end, word.end() + MAX_PROMISE_GAP + 40)
    for expression in _sentence_times(scan, sentence_start, sentence_end, reference, tz):
        if start <= expression.start and expression.end <= end and _tied(text, word.start(), word.end(), expression):
            yield Promise(word.start(), word.end(), expression)


def _sentence_times(
    scan: ScanText, start: int, end: int, reference: datetime, tz: str
) -> tuple[TimeExpression, ...]:
    """The time expressions of text[start:end] (a sentence), in text offsets; worked out once per sentence, and
    tried only where a word that can start one occurs (found from the prepared text, not by reading it again)."""
    key = ("timing", "times", start, end, reference, tz)
    times = scan.memo.get(key)
    if times is None:
        text = scan.text
        starts = [
            (offset - start, name)
            for name in (word.decode() for word in _STARTING_WORDS & scan.vocabulary)
            for offset in scan.word_hits_between(name, start, end)
        ]
        timeout = span_timeout(start, end)
        starts += [(digit.start() - start, "0") for digit in _DIGIT_START.finditer(text, start, end, timeout=timeout)]
        starts.sort()
        found = find_time_expressions(text[start:end], reference, tz, starts)
        times = scan.memo[key] = tuple(TimeExpression(start + e.start, start + e.end, e.when) for e in found)
    return times  # type: ignore[return-value]


def _future(promises: Iterable[Promise], today: date, tz: str) -> Iterator[Promise]:
    """Promises that point at today or later; "the report from 12 November" is history, not a promise."""
    return (p for p in promises if local_date(p.time.when, tz) >= today)


def _suggested_update_day(message: CheckMessage) -> date | None:
    if message.parsed.date is None:
        return None
    return add_working_days(local_date(message.parsed.date, _zone_name(message)), UPDATE_WITHIN_WORKING_DAYS)


_NO_UPDATE_MESSAGE = (
    "This first notice never says when people will hear more. Without a time for the next update or for the "
    "recommended fix, readers fill the gap with guesses and follow-up questions; a concrete time shows the "
    "problem is being handled."
)
_VAGUE_NOTE = " Words like \"{word}\" do not tell anyone when to expect it."


@dataclass(frozen=True)
class NoUpdateTime:
    """A first notice that gives no time for the next update or the recommended fix."""

    id: str = "no-update-time"
    severity: Severity = Severity.WARN
    applies_to: AppliesTo = AppliesTo.INTERNAL_BROADCAST_FIRST_NOTICE

    def run(self, message: CheckMessage) -> Iterator[Finding]:
        text = message.text
        if not text.strip() or message.classification.follow_up:
            return
        tz = _zone_name(message)
        reference = message.parsed.date or datetime(2000, 1, 3, 9, 0)  # any Monday: only presence matters then
        promises: Iterable[Promise] = promised_times(message, self.id, reference)
        if message.parsed.date is not None:
            promises = _future(promises, local_date(reference, tz), tz)
        if next(iter(promises), None) is not None:
            return
        scan = prepare(text)
        anchor = first_sentence(text, message.parsed.greeting_lines) or (0, min(len(text), 120))
        vague = next(iter(scan.matches(_VAGUE_WORDINGS)), None)
        why = _NO_UPDATE_MESSAGE + (_VAGUE_NOTE.format(word=" ".join(vague.group().split())) if vague else "")
        update_day = _suggested_update_day(message)
        when = f"{format_day(update_day)}, 12:00" if update_day else "<a day within two working days>, 12:00"
        suggestion = f"Add when the next update will come, e.g. \"We will send an update by {when}.\""
        yield make_finding(scan.index, self.id, self.severity, anchor[0], anchor[1], why, suggestion)


_LATE_MESSAGE = (
    "The next update promised here is {days} working days away ({day}). The days right after a mistake are when "
    "people pay attention and expect movement; a longer silence reads as the problem being parked."
)


@dataclass(frozen=True)
class LateUpdate:
    """The promised update or recommendation is more than two working days after the message (team timezone)."""

    id: str = "late-update"
    severity: Severity = Severity.WARN
    applies_to: AppliesTo = AppliesTo.INTERNAL_BROADCAST

    def run(self, message: CheckMessage) -> Iterator[Finding]:
        text = message.text
        reference = message.parsed.date
        if not text.strip() or reference is None:
            return
        tz = _zone_name(message)
        today = local_date(reference, tz)
        late: list[tuple[Promise, int, bool]] = []  # promise, working days away, is it the remedy
        prompt_update = prompt_remedy = False
        for promise in _future(promised_times(message, self.id, reference), today, tz):
            days = working_days_between(today, local_date(promise.time.when, tz))
            remedy = (_REMEDY_WORDS.fullmatch(text[promise.word_start:promise.word_end]) is not None
                      and _our_promise(text, promise.word_start, promise.word_end))
            if days <= UPDATE_WITHIN_WORKING_DAYS:
                prompt_update = True
                prompt_remedy = prompt_remedy or remedy
            else:
                late.append((promise, days, remedy))
        # One prompt update is enough for a final report that takes weeks; the recommended fix itself is owed within
        # two days ("a status update tomorrow, the recommendation next week" is still late).
        due = [(promise, days) for promise, days, remedy in late if not prompt_update or (remedy and not prompt_remedy)]
        scan = prepare(text)
        index = scan.index
        deadline = add_working_days(today, UPDATE_WITHIN_WORKING_DAYS)
        due = [(promise, days) for promise, days in due if not scan.in_footer(promise.time.start)]
        for promise, days in due[:MAX_FINDINGS]:
            due_day = local_date(promise.time.when, tz)
            why = _LATE_MESSAGE.format(days=days, day=format_day(due_day))
            suggestion = (
                f"Promise an update within two working days, e.g. \"We will send an update by {format_day(deadline)}\", "
                f"and keep {format_day(due_day)} for the complete result if it really needs that long."
            )
            yield make_finding(index, self.id, self.severity, promise.time.start, promise.time.end, why, suggestion)


_FIRST_NOTICE_SOLUTION_MESSAGE = (
    "This first notice already presents the fix. People take a proposed remedy better once they have had a little "
    "time to absorb that something went wrong, so today's message should cover what happened and when the "
    "recommendation will come."
)
_SAME_DAY_MESSAGE = (
    "This follow-up presents a solution on {day}, the same day as the first notice. Give people until the next "
    "day to take in the problem before asking them to weigh a remedy."
)


def _delivered_later(text: str, match: regex.Match[str], message: CheckMessage) -> bool:
    """The clause says when the remedy will be handed over, on a later day ("will be ready by Thursday")."""
    sentence_start, sentence_end = sentence_around(text, match.start(), match.end())
    clause = text[match.start() : sentence_end]
    # "The remedy we propose is to reissue the permits; we will send them on Monday": the hand-over of the
    # remedy's result in a clause of its own does not make the proposal itself a later one.
    clause = clause.split(";", 1)[0]
    if _DELIVERY.search(clause, timeout=span_timeout(0, len(clause))) is None:
        return False
    tz = _zone_name(message)
    reference = message.parsed.date
    if reference is None:
        return bool(find_time_expressions(clause, datetime(2000, 1, 3, 9, 0), tz))
    today = local_date(reference, tz)
    return any(local_date(e.when, tz) > today for e in find_time_expressions(clause, reference, tz))


_REMEDY_WORDS = regex.compile(r"(?i)recommend\w*|fix(?:es)?|solutions?|propos\w*|plan")
_OURS = regex.compile(r"(?i)\b(?:we|I|our|us)\b|['’]ll\b")
_THEIRS = regex.compile(r"(?i)\b(?:vendor|supplier|provider|manufacturer|partner|third[- ]party|they|their)(?:['’]s)?\b")


def _our_promise(text: str, start: int, end: int) -> bool:
    """A remedy we promise ("we'll share our recommendation next week"), not a date someone else set ("the vendor's
    fix is scheduled for 3 December")."""
    sentence_start, sentence_end = sentence_around(text, start, end)
    before = text[sentence_start:start]
    return _THEIRS.search(before) is None and _OURS.search(text, sentence_start, sentence_end) is not None


def _remedy_promised_today(message: CheckMessage, sent: datetime) -> list[tuple[int, int]]:
    """Spans of promises to deliver the remedy later the same day ("the recommended fix at 16:00 today")."""
    tz = _zone_name(message)
    today = local_date(sent, tz)
    return [
        (min(p.word_start, p.time.start), max(p.word_end, p.time.end))
        for p in promised_times(message, "same-day-solution", sent, only=_REMEDY_WORDS)
        if local_date(p.time.when, tz) == today
    ]


@dataclass(frozen=True)
class SameDaySolution:
    """A first notice that already announces the fix, or a solution follow-up on the first notice's calendar day."""

    id: str = "same-day-solution"
    severity: Severity = Severity.BLOCK
    applies_to: AppliesTo = AppliesTo.INTERNAL_BROADCAST

    def run(self, message: CheckMessage) -> Iterator[Finding]:
        text = message.text
        if not text.strip():
            return
        tz = _zone_name(message)
        sent = message.parsed.date
        if message.classification.follow_up:
            first = message.thread_first_notice
            if first is None or sent is None or local_date(first, tz) != local_date(sent, tz):
                return
            why = _SAME_DAY_MESSAGE.format(day=format_day(local_date(sent, tz)))
        else:
            why = _FIRST_NOTICE_SOLUTION_MESSAGE
        scan = prepare(text)
        hits = list(scan.merged_matches(_SOLUTIONS))
        hits += phrase_matches(scan, message.team.rule(self.id).extra_phrases)
        index = scan.index
        next_day = add_working_days(local_date(sent, tz), 1) if sent is not None else None
        when = format_day(next_day) if next_day else "<the next working day>"
        if message.classification.follow_up:
            suggestion = (
                f"Send the solution on {when} instead; today, only say when it will come, e.g. "
                f"\"We will share our recommended fix on {when}.\""
            )
        else:
            suggestion = f"Replace the solution with when it will come, e.g. \"We will share a recommended fix by {when}.\""
        # Solution wording is checked for a later hand-over only when it comes up, so hostile text full of
        # "fix" costs at most MAX_FINDINGS such checks beyond the scan.
        candidates: list[tuple[int, int, regex.Match[str] | None]] = [(m.start(), m.end(), m) for m in hits]
        if not message.classification.follow_up and sent is not None:
            candidates += [(start, end, None) for start, end in _remedy_promised_today(message, sent)]
        reported, last_end = 0, -1
        for start, end, match in sorted(candidates, key=lambda c: (c[0], c[1])):
            if start < last_end or scan.in_footer(start):
                continue
            if match is not None and _delivered_later(text, match, message):
                continue
            last_end = end
            yield make_finding(index, self.id, self.severity, start, end, why, suggestion)
            reported += 1
            if reported >= MAX_FINDINGS:
                return


RULES = (SameDaySolution(), NoUpdateTime(), LateUpdate())
