"""Apology-language rules: non-apologies, excuses, self-focus, thanks in place of an apology, incomplete apologies."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import regex

from checks.model import AppliesTo, CheckMessage, Finding, Severity
from checks.scan import Anchored, AnchoredSet, ScanText, anchored, phrase_matches, prepare
from checks.text import MATCH_TIMEOUT, make_finding, span_timeout

# --------------------------------------------------------------------------------------------
# Cost limits, and how a rule ends its scan early (by design, never by crashing):
#  * Rules read at most the first MAX_SCAN_CHARS characters of the checked text (cut at a word
#    break). The checked text is already only the sender's new words (quotes, forwards and the
#    signature are removed), and no one writes an apology longer than this; what lies beyond is
#    pasted material. This keeps every rule's cost bounded and deterministic on a 1 MB message.
#  * Each wording family ("branch") names the words any of its matches contains (its anchors) and
#    other words the text must hold for it to match (see checks.scan.Anchored). A branch whose
#    words are absent is never run; one that can match runs only in short windows around its
#    anchors. The text's word set and the matches are computed once per message and shared by
#    every rule, so ordinary wording costs a few set operations per branch.
#  * Every regex call over a long stretch gets a timeout (MATCH_TIMEOUT; short stretches need
#    none, see checks.text.span_timeout), and a rule checks its own budget (RULE_BUDGET) before
#    each wording family. A TimeoutError (a pattern timing out, or the budget running out) ends
#    that rule's scan for this message: the findings already collected are still reported,
#    nothing more is looked at. A timeout means the text is pathological, so trying the rule's
#    other patterns would only spend more time on it.
#  * A rule reports at most MAX_FINDINGS findings per message (beyond that the report is
#    unreadable and the verdict is already decided), and each branch yields at most
#    MAX_CANDIDATES matches, so dense adversarial text ("sorry sorry sorry ...") costs a bounded
#    amount of Python work.
#  * Context look-ups (the sentence or clause around a match) look at most SENTENCE_REACH /
#    CLAUSE_REACH characters either side, so each costs O(reach), never O(len(text)).
# --------------------------------------------------------------------------------------------
MAX_SCAN_CHARS = 64 * 1024
MAX_FINDINGS = 20
MAX_CANDIDATES = 100
RULE_BUDGET = 2 * MATCH_TIMEOUT
SENTENCE_REACH = 300
CLAUSE_REACH = 100


def rule_pattern(source: str) -> regex.Pattern[str]:
    """Compile a rule pattern written for readability.

    A literal space stands for any run of whitespace (line breaks included, so a phrase
    wrapped across lines still matches), " ?" for optional whitespace, and an apostrophe
    matches both ' and ’ (mail clients often send the curly one). Case-insensitive.
    """
    expanded = source.replace(" ?", r"\s*").replace(" ", r"\s+")
    return regex.compile(_either_apostrophe(expanded), regex.IGNORECASE)


def _either_apostrophe(source: str) -> str:
    """Let every ' in a pattern match ’ too: "['’]" outside character classes, both characters inside one
    (a bracket written inside a class would end it early and change what the pattern means)."""
    out: list[str] = []
    in_class = escaped = False
    for char in source:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            out.append(char)
            escaped = True
        elif char == "'":
            out.append("'’" if in_class else "['’]")
        else:
            if char == "[" and not in_class:
                in_class = True
            elif char == "]" and in_class:
                in_class = False
            out.append(char)
    return "".join(out)


@dataclass(frozen=True)
class Branch:
    """One family of wording: the kind of finding it makes and its anchored pattern."""

    kind: str
    anchored: Anchored

    @property
    def pattern(self) -> regex.Pattern[str]:
        return self.anchored.pattern


def branch(
    kind: str, gate: str, source: str, before: int = 0, after: int = 120, start: bool = False
) -> Branch:
    """A branch from a gate "anchor|words & other|words" and a `rule_pattern` source.

    Gate words are whole lower-case words as the text's word set holds them (split at punctuation, so
    "didn't" is "didn"), or prefixes written "word*". Every match contains a word of the first group that
    starts at most `before` characters after the match start and `after` characters before its end
    (lookarounds included), or, with `start`, every match begins with a word of the first group; the text
    must also contain a word of each later group.
    """
    return Branch(kind, anchored(rule_pattern(source), gate, before, after, start))


class Branches:
    """A rule's wording families, consulted together: the text's word set picks the ones that can match."""

    def __init__(self, *items: Branch) -> None:
        self.items = items
        self._anchored = AnchoredSet(item.anchored for item in items)
        self._branch_of = {id(item.anchored): item for item in items}

    def __iter__(self) -> Iterator[Branch]:
        return iter(self.items)

    def candidates(self, view: ScanText) -> list[Branch]:
        """The branches whose words all occur in the text, in order."""
        return [self._branch_of[id(item)] for item in self._anchored.candidates(view)]


def scan_limit(text: str) -> int:
    """How much of `text` rules read: all of it, or MAX_SCAN_CHARS cut back to the last word break."""
    if len(text) <= MAX_SCAN_CHARS:
        return len(text)
    window = (MAX_SCAN_CHARS - 200, MAX_SCAN_CHARS)
    cut = max(text.rfind(" ", *window), text.rfind("\n", *window))
    return cut if cut > 0 else MAX_SCAN_CHARS


def guarded(findings: Iterable[Finding]) -> Iterator[Finding]:
    """At most MAX_FINDINGS findings; a regex timeout ends the rule's scan quietly (see the cost limits above)."""
    produced = 0
    try:
        for finding in findings:
            yield finding
            produced += 1
            if produced >= MAX_FINDINGS:
                return
    except TimeoutError:
        return


def collect(*producers: Callable[[], Iterable[Finding]]) -> list[Finding]:
    """Run a rule's passes in order and select its findings; a timeout ends the scan but keeps what was found."""
    found: list[Finding] = []
    try:
        for produce in producers:
            found.extend(produce())
    except TimeoutError:
        pass  # see the cost limits above: the rest of this rule's scan is skipped for this message
    return select(found)


def select(findings: Iterable[Finding]) -> list[Finding]:
    """Findings in text order without overlaps (the earliest, then longest, wins), at most MAX_FINDINGS."""
    chosen: list[Finding] = []
    last_end = -1
    for finding in sorted(findings, key=lambda f: (f.span.start, -f.span.end)):
        if finding.span.start >= last_end:
            chosen.append(finding)
            last_end = finding.span.end
            if len(chosen) >= MAX_FINDINGS:
                break
    return chosen


# A sentence ends at . ! ? followed by whitespace, or at a blank line.
_SENTENCE_BREAK = regex.compile(r"[.!?…](?=\s)|\n[ \t]*\r?\n")
# A clause ends at punctuation, a dash between spaces or a blank line.
_CLAUSE_BREAK = regex.compile(r"[.,;:!?…)]|\s[—–-]\s|\n[ \t]*\r?\n")
_LAST_SPACE = regex.compile(r"\s\S*$")


class RuleScan:
    """Per-message working state for one rule: the shared prepared text, greeting lines and the time budget."""

    def __init__(self, message: CheckMessage, rule_id: str, severity: Severity) -> None:
        full = message.text
        # Matches start before `limit`; context look-ups may read a little past it (up to len(self.text)).
        self.limit = scan_limit(full)
        self.text = full if len(full) <= self.limit + 2 * SENTENCE_REACH else full[: self.limit + 2 * SENTENCE_REACH]
        self.whole = len(self.text) == len(full)
        # The same prepared text (word set, remembered matches) serves every rule of this message.
        self.view: ScanText = prepare(self.text)
        # A list or newsletter footer is boilerplate, not the sender's words: nothing in it is looked at.
        self.limit = min(self.limit, self.view.footer_start)
        self.index = self.view.index
        self.greeting_lines = message.parsed.greeting_lines
        self.rule_id = rule_id
        self.severity = severity
        self.extra: tuple[str, ...] = tuple(p for p in message.team.rule(rule_id).extra_phrases if p.strip())
        self._deadline = time.monotonic() + RULE_BUDGET

    def timeout(self, start: int = 0, end: int | None = None) -> float | None:
        """The timeout for a regex call over text[start:end]: none for a short stretch (see checks.text.span_timeout;
        the timer costs more than the match), else what is left of the rule's budget, at most MATCH_TIMEOUT.
        Raises TimeoutError once the budget is spent."""
        if span_timeout(start, len(self.text) if end is None else end) is None:
            return None  # short: no timer, and the budget is checked per wording family (check_budget)
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("rule budget spent")
        return min(MATCH_TIMEOUT, left)

    def check_budget(self) -> None:
        """Raises TimeoutError once the rule's budget is spent."""
        if time.monotonic() >= self._deadline:
            raise TimeoutError("rule budget spent")

    def found(self, item: Anchored, pos: int = 0, endpos: int | None = None) -> Iterator[regex.Match[str]]:
        """Matches of an anchored pattern outside greeting lines that start in text[pos:endpos] and in the
        scanned part, at most MAX_CANDIDATES of them."""
        self.check_budget()  # a spent budget ends the scan before any more matching
        end = self.limit if endpos is None else min(endpos, self.limit)
        seen = 0
        for match in self.view.matches(item):
            if match.start() < pos:
                continue
            if match.start() >= end:
                return
            if (endpos is not None and match.end() > endpos) or self.on_greeting(match.start()):
                continue
            yield match
            seen += 1
            if seen >= MAX_CANDIDATES:
                return

    def branch_matches(self, branches: Branches) -> Iterator[tuple[Branch, regex.Match[str]]]:
        """Matches of every branch whose words occur in the text."""
        view = self.view
        for item in branches.candidates(view):
            if view.matches(item.anchored):  # most branches have none: skip the generator
                for match in self.found(item.anchored):
                    yield item, match

    def any_branch(self, branches: Branches) -> bool:
        """Whether any branch matches anywhere (outside greeting lines)."""
        view = self.view
        return any(
            view.matches(item.anchored) and next(self.found(item.anchored), None) is not None
            for item in branches.candidates(view)
        )

    def extra_matches(self) -> list[regex.Match[str]]:
        """Matches of the team's extra phrases for this rule, outside greeting lines and in the scanned part."""
        if not self.extra:
            return []
        self.check_budget()
        return [
            match
            for match in phrase_matches(self.view, self.extra)
            if match.start() < self.limit and not self.on_greeting(match.start())
        ][:MAX_CANDIDATES]

    def search(self, pattern: regex.Pattern[str], pos: int = 0, endpos: int | None = None) -> regex.Match[str] | None:
        end = self.limit if endpos is None else min(endpos, len(self.text))
        return pattern.search(self.text, pos, end, timeout=self.timeout(pos, end))

    def match_at(self, pattern: regex.Pattern[str], pos: int, reach: int = 80) -> regex.Match[str] | None:
        """An anchored match at `pos` that looks at most `reach` characters ahead."""
        end = min(len(self.text), pos + reach)
        return pattern.match(self.text, pos, end, timeout=self.timeout(pos, end))

    def ends_before(self, pattern: regex.Pattern[str], pos: int, reach: int = 60) -> regex.Match[str] | None:
        """A match of `pattern` (which ends in `$`) that ends exactly at `pos`."""
        start = max(0, pos - reach)
        return pattern.search(self.text, start, pos, timeout=self.timeout(start, pos))

    def on_greeting(self, offset: int) -> bool:
        return bool(self.greeting_lines) and self.index.line_of(offset) in self.greeting_lines

    def sentence_bounds(self, start: int, end: int) -> tuple[int, int]:
        """The sentence around text[start:end], looking at most SENTENCE_REACH characters either side."""
        low = max(0, start - SENTENCE_REACH)
        sentence_start = low
        for brk in _SENTENCE_BREAK.finditer(self.text, low, start, timeout=self.timeout(low, start)):
            sentence_start = brk.end()
        high = min(len(self.text), end + SENTENCE_REACH)
        following = _SENTENCE_BREAK.search(self.text, end, high, timeout=self.timeout(end, high))
        sentence_end = following.end() if following else high
        while sentence_start < start and self.text[sentence_start].isspace():
            sentence_start += 1
        return sentence_start, sentence_end

    def clause_end(self, pos: int, reach: int = CLAUSE_REACH) -> int:
        """Where the clause continuing at `pos` ends: punctuation, a dash, or a word break within `reach`."""
        high = min(len(self.text), pos + reach)
        brk = _CLAUSE_BREAK.search(self.text, pos, high, timeout=self.timeout(pos, high))
        if brk:
            end = brk.start()
        elif high == len(self.text) and self.whole:
            end = high
        else:
            # Cut at the last word break so the excerpt never ends mid-word.
            space = _LAST_SPACE.search(self.text, pos, high, timeout=self.timeout(pos, high))
            end = space.start() if space else high
        while end > pos and self.text[end - 1].isspace():
            end -= 1
        return end

    def finding(self, start: int, end: int, message: str, suggestion: str) -> Finding:
        return make_finding(self.index, self.rule_id, self.severity, start, end, message, suggestion)

    def words(self, start: int, end: int) -> str:
        """text[start:end] with whitespace collapsed, as it would read on one line."""
        return " ".join(self.text[start:end].split())

    def extra_findings(self, message: str, suggestion: Callable[[str], str]) -> Iterator[Finding]:
        """Findings for the team's extra phrases, which are unconditional triggers."""
        for match in self.extra_matches():
            yield self.finding(match.start(), match.end(), message, suggestion(self.words(match.start(), match.end())))


def phrase_findings(
    scan: RuleScan, branches: Branches, message: str, suggestion: Callable[[str], str], extend: bool = True
) -> Iterator[Finding]:
    """One finding per branch match (extended to the end of its clause when `extend`), same message for all."""
    for _, match in scan.branch_matches(branches):
        start = match.start()
        end = scan.clause_end(match.end()) if extend else match.end()
        yield scan.finding(start, end, message, suggestion(scan.words(start, end)))


def _alternatives(words: str) -> str:
    """"a|b|c" -> "(?:a|b|c)" for building patterns."""
    return f"(?:{words})"


def _joined(alternatives: str) -> str:
    """Verb alternatives that follow "I"/"we" directly: "was|'ve been" -> "(?: was|'ve been)".

    Contractions attach to the pronoun without a space ("I've"), full words need one ("I was").
    """
    parts = [alt if alt.startswith("'") else " " + alt for alt in alternatives.split("|")]
    return "(?:" + "|".join(parts) + ")"


# Verb groups after "I" used by the excuse and self-focus patterns.
_I_WAS_OR_AM_NOT = _joined(
    "was|wasn't|was not|'ve been|have been|had been|'m|am|'m not|am not|haven't been|have not been"
)
_I_BECAME = _joined("was|'ve been|have been|had been|'m|am|got|felt|fell|'d been")
_I_WAS_NOT = _joined("wasn't|was not|haven't been|have not been|'m not|am not")
_I_HAD = _joined("had|have|'ve had|'ve got|got|woke up with|was fighting|'ve been fighting")
_I_HAD_BEEN = _joined("was|'ve been|have been|had been|got|'d been")
_I_WAS_OR_AM = _joined("was|'m|am")
_I_COULD = _joined("could|might|may|will|'ll|would")


# --------------------------------------------------------------------------------------------
# Apology words, shared by several rules.
# --------------------------------------------------------------------------------------------
_APOLOGISE_WORDS = (
    "apologise|apologize|apologised|apologized|apologises|apologizes|apologising|apologizing|apology|apologies"
)
_REGRET_WORDS = "regret|regrets|regretted|regretting"
APOLOGY_WORD = anchored(
    rule_pattern(
        r"\b(?:sorry|apologi[sz](?:e[sd]?|ing)|apolog(?:y|ies)|regret(?:s|ted|ting)?|my bad|forgive me|mea culpa)\b"
    ),
    f"sorry|{_APOLOGISE_WORDS}|{_REGRET_WORDS}|bad|forgive|culpa",
    before=5,
    after=20,
)
# The three apology stems: the words that spell each one out, and its pattern, for branches that start with it.
_APOLOGY_STEMS = (
    ("sorry", r"sorry"),
    (_APOLOGISE_WORDS, r"apolog(?:i[sz]e[sd]?|i[sz]ing|y|ies)"),
    (_REGRET_WORDS, r"regret(?:s|ted|ting)?"),
)
# A "sorry" that is manners or sympathy rather than an apology for something the sender did.
_SOCIAL_AFTER = rule_pattern(
    r"\s*,?\s*(?:to (?:bother|trouble|disturb|interrupt|hear|say|ask|chase|nag|pester|be a pain|jump in|butt in|"
    r"add to|keep)|for (?:bothering|interrupting|troubling|disturbing|the (?:late|slow|delayed|long|brief) "
    r"(?:reply|response|answer|email|message|note))|\?)"
)
# An apology about the message itself or the writer's manner in a discussion, not about a mistake that hurt
# anyone: "sorry for the long quote", "apologies for being dense", "sorry if this is a silly question", "my
# apologies if I've misrepresented anyone's position". Manners, like "sorry to bother you".
_MESSAGE_NOUNS = (
    r"(?:mail|e-?mail|message|post|posting|note|reply|response|answer|notice|question|questions|query|explanation|"
    r"write-?up|summary|thread)"
)
_META_AFTER = rule_pattern(
    r"\s*,?\s*(?:"
    # for the message: its length, timing or topic
    r"for (?:the|this|my|such an?|an?|all the|these|those) (?:(?:very|rather|really|overly|somewhat|bit of an?|"
    r"slightly|extremely|super|rather) )?(?:long|lengthy|longish|overlong|late|belated|short|brief|quick|"
    r"last-minute|off-?topic|basic|silly|stupid|dumb|naive|newbie|noob|obvious|simple|beginner's|beginner|novice|"
    rf"elementary|rambling|cryptic|terse|garbled|long-winded) (?:{_MESSAGE_NOUNS}|quote|notice)\b|"
    r"for (?:the|this|my|all the|such an?|an?) (?:long |lengthy |shameless |blatant )?(?:quote|quoting|rant|essay|"
    r"length|noise|spam|cross-?post(?:ing)?|repost|interruption|intrusion|typos?|formatting|tangent|digression|"
    r"ramble|rambling|novel|wall of text|plug|self-promotion|off-?topic (?:post|mail|message|question))\b|"
    # for the writer's manner
    r"for being (?:(?:so|a bit|a little|rather|very) )?(?:dense|thick|slow|pedantic|picky|nitpicky|blunt|a pain|"
    r"a bore|a nag|annoying|persistent|pushy|repetitive|off-?topic|late to (?:the|this) (?:party|thread|discussion)|"
    r"so late|long-winded|verbose|(?:a )?(?:pedant|nitpicker|killjoy))\b|"
    r"for (?:asking|bothering|interrupting|jumping in|butting in|chiming in|pestering|nagging|chasing|"
    r"repeating myself|rambling|ranting|harping on|going on|belabou?ring|nitpicking|cross-?posting|hijacking|"
    r"plugging|quoting|the shameless plug)\b|"
    # if the message is off, or the writer is
    r"(?:if|in case) (?:this|it|that|my (?:question|post|mail|e-?mail|message|note)) (?:is|was|'s|sounds|seems|"
    r"has been) (?:(?:a bit|a little|too|very|rather|completely|totally|slightly|somewhat|already|been|an?|the|"
    r"on the) ){0,3}(?:silly|dumb|stupid|basic|naive|obvious|daft|off-?topic|faq|duplicate|repeat|repost|"
    r"double|cross-?post|newbie|wrong list|covered|answered|asked|discussed|long|rambling|unclear|confusing|wrong|"
    r"misleading|incorrect|inaccurate|irrelevant|not relevant|known|documented|common knowledge)\b|"
    r"(?:if|in case) I(?:'m|'ve| am| have|'d| had)? (?:missing|missed|misunderstood|misunderstanding|misread|"
    r"misreading|overlooked|repeating|repeated|asking|asked|being (?:dense|slow|thick|pedantic|picky|unclear)|"
    r"sound(?:ed)? like|seem(?:ed)? like|am being|'m being)\b|"
    r"(?:if|in case) I(?:'ve| have)? (?:misrepresented|paraphrased|misquoted|mischaracteri[sz]ed|oversimplified|"
    r"garbled|mangled|got (?:the|your|his|her|their|anyone's|anybody's) (?:name|position|point|argument|view) "
    r"wrong)\b|"
    r"(?:if|in case) (?:my|these|the|those) (?:earlier |previous |last |first |original )?(?:mails?|e-?mails?|"
    r"messages?|posts?|notes?|explanations?|questions?|wording|description|comments?|replies) (?:was|were|is|are|"
    r"sounded|seemed) (?:(?:a bit|a little|too|very|rather|somewhat) )?(?:unclear|confusing|vague|ambiguous|long|"
    r"rambling|cryptic|terse|brief|garbled|incomplete)\b|"
    r"(?:if|in case) (?:I|this|you) (?:get|got|receive|received|see|saw) (?:this|it) (?:twice|more than once|again)"
    r")"
)
# A "sorry" that declines an invitation or says the writer is away: "Sorry, can't make it Thursday".
_DECLINE_AFTER = rule_pattern(
    # (present or future only: "sorry I couldn't make it to your talk" apologises for something that happened)
    r"\s*[,—–-]?\s*(?:but )?(?:(?:I|we)(?:'m| am|'re| are)? )?(?:afraid )?(?:(?:I|we) )?(?:can't|cannot|can not|won't|"
    r"will not|am unable to|'m unable to|won't be able to|will not be able to|'m not able to|"
    r"am not able to|have to|'ll have to|will have to|need to|must) (?:make it(?! (?:right|up|work|better|happen|"
    r"easier|clear|worse)\b)|make (?:the|that|this|tomorrow|today|lunch|dinner|drinks|coffee)\b|attend|join|come|"
    r"be there|skip|miss (?:the|this|that|tomorrow|today|lunch|dinner|drinks|coffee|it)|pass on|decline|"
    r"sit (?:this|that) one out|do (?:lunch|dinner|drinks|coffee|tomorrow|today)\b)|"
    r"\s*[,—–-]?\s*(?:I|we)(?:'m| am|'re| are|'ll be| will be) (?:busy|away|out|off|travell?ing|booked|unavailable|"
    r"tied up|not around|not in|on leave|on holiday|on vacation) (?:on|that|this|next|then|all|until|tomorrow|today|"
    r"from|for|the rest|at that)\b"
)
# After "sorry, but": asking a question or disagreeing in a discussion, not explaining a mistake away.
_COURTESY_AFTER_BUT = rule_pattern(
    r"\s+(?:I (?:couldn't|could not|can't|cannot) (?:resist|help (?:it|myself))|I (?:have|need|want|had) to "
    r"(?:ask|say|disagree|point out|push back|object|chime in)|I (?:must|do) (?:disagree|object)|I (?:disagree|"
    r"beg to differ|don't follow|do not follow|don't understand|do not understand|'m confused|am confused|'m lost|"
    r"am lost))\b"
)
_NEGATED_BEFORE = rule_pattern(
    r"(?:\bnot|\bno need to|\bdon't|\bdo not|\bnever|\bnothing to|\bwon't|\bno)(?: (?:be|feel|have to|need to))? $"
)
# An apology that is hedged or aimed at the reader's reaction does not count as a real one.
_HEDGED_AFTER = rule_pattern(
    r"\s*,?\s*(?:if\b|in case\b|(?:that |for how |about how )?(?:you|anyone|anybody|some of you|people) "
    r"(?:may |might )?(?:feel|felt|think|thought|took|saw|see|find|found|were upset|are upset|were offended)\b|"
    r"(?:for|about|over) (?:any|whatever)\b)"
)
_CONDITIONAL_SLIP = rule_pattern(
    r" if (?:my|our|the|this|that) (?:[\w-]+ ){0,3}?(?:was|were|is|has been) (?:\w+ )?(?:confusing|unclear|misleading|wrong|"
    r"incorrect|inaccurate)\b"
)
_HEAD_BEFORE = rule_pattern(
    r"(?:\b(?:I|we)(?:'m|'re| am| are| do| really| truly| sincerely| deeply| humbly)?|\b(?:my|our)"
    r"(?: (?:sincere|sincerest|deepest|heartfelt|humble|honest))?) (?:(?:so|very|really|truly|deeply|sincerely|"
    r"terribly|genuinely|awfully|most|extremely|incredibly|profoundly|just) ){0,2}$"
)


def is_social(scan: RuleScan, match: regex.Match[str]) -> bool:
    """True for a "sorry" that apologises for no mistake: manners or sympathy ("sorry to bother you"), the message
    itself or the writer's manner ("sorry for the long quote", "apologies if I misrepresented anyone"), a declined
    invitation ("sorry, can't make it") or a negated one ("no need to apologise")."""
    key = ("apology", "social", match.start(), match.end())
    known = scan.view.memo.get(key)
    if known is None:
        end = match.end()
        known = scan.view.memo[key] = bool(
            scan.match_at(_SOCIAL_AFTER, end)
            or scan.match_at(_META_AFTER, end, reach=160)
            or scan.match_at(_DECLINE_AFTER, end, reach=100)
            or scan.ends_before(_NEGATED_BEFORE, match.start())
        )
    return known  # type: ignore[return-value]


def is_real_apology(scan: RuleScan, match: regex.Match[str]) -> bool:
    """An apology word that is neither social, negated, nor hedged ("sorry if", "apologies for any")."""
    return not is_social(scan, match) and not scan.match_at(_HEDGED_AFTER, match.end())


def apology_words(scan: RuleScan, pos: int = 0, endpos: int | None = None) -> Iterator[regex.Match[str]]:
    """Apology words in text[pos:endpos], skipping the whole scan when the text has none."""
    return scan.found(APOLOGY_WORD, pos, endpos)


def first_real_apology(scan: RuleScan, pos: int = 0, endpos: int | None = None) -> regex.Match[str] | None:
    return next((m for m in apology_words(scan, pos, endpos) if is_real_apology(scan, m)), None)


def first_apology(scan: RuleScan, pos: int = 0, endpos: int | None = None) -> regex.Match[str] | None:
    """The first apology word that is not merely social (hedged ones count)."""
    return next((m for m in apology_words(scan, pos, endpos) if not is_social(scan, m)), None)


def apology_head_start(scan: RuleScan, match: regex.Match[str]) -> int:
    """Extend an apology word back over its subject: "sorry" -> "I'm so sorry", "apologies" -> "My apologies"."""
    head = scan.ends_before(_HEAD_BEFORE, match.start())
    return head.start() if head else match.start()


def apology_rewrite(scan: RuleScan, head_start: int, match: regex.Match[str]) -> str:
    """The bare apology as a full sentence ("I'm sorry.", "We apologise."), built from what the sender wrote."""
    word = match.group(0).lower()
    head = scan.words(head_start, match.end())
    plural = head.lower().startswith(("we ", "we'", "we’", "our "))
    if word.startswith("regret") or word in {"my bad", "forgive me", "mea culpa"}:
        # "Regret" describes a feeling about events; the rewrite says sorry outright.
        return "We're sorry." if plural else "I'm sorry."
    if head_start == match.start():
        if word.startswith("apologi") and not word.startswith("apologies"):
            return "We apologise." if plural else "I apologise."
        if word.startswith("apolog"):
            return "My apologies."
        return "I'm sorry."
    return head[0].upper() + head[1:] + "."


_WE_WORDS = rule_pattern(r"\b(?:we|we're|we've|we'll|our|us)\b")
_I_WORDS = rule_pattern(r"\b(?:I|I'm|I've|I'll|I'd|my|me)\b")


def uses_we(scan: RuleScan, start: int, end: int) -> bool:
    """Whether the sender speaks as "we" rather than "I" around text[start:end]."""
    low, high = max(0, start - SENTENCE_REACH), min(len(scan.text), end + SENTENCE_REACH)
    we = len(_WE_WORDS.findall(scan.text, low, high, timeout=scan.timeout(low, high)))
    i = len(_I_WORDS.findall(scan.text, low, high, timeout=scan.timeout(low, high)))
    return we > i


# --------------------------------------------------------------------------------------------
# non-apology
# --------------------------------------------------------------------------------------------
_PEOPLE = (
    r"(?:anyone|anybody|someone|somebody|any of you|some of you|those of you|some people|people|"
    r"some (?:customers|colleagues|folks|readers))"
)
_PEOPLE_GATE = "anyone|anybody|someone|somebody|any|some|those|people"
_HURT_WORDS = (
    "upset|offended|hurt|disappointed|annoyed|bothered|frustrated|unhappy|angry|mad|confused|uncomfortable|"
    "put out|insulted|slighted|let down|affected|impacted|inconvenienced|troubled|misled|left out|excluded|ignored|"
    "overlooked"
)
_HURT = _alternatives(_HURT_WORDS)
_HURT_GATE = (
    "upset|offended|hurt|disappointed|annoyed|bothered|frustrated|unhappy|angry|mad|confused|uncomfortable|put|"
    "insulted|slighted|let|affected|impacted|inconvenienced|troubled|misled|left|excluded|ignored|overlooked"
)
_HARM_NOUN_WORDS = (
    "inconvenience|confusion|trouble|disruption|frustration|hassle|distress|upset|offen[cs]e|harm|misunderstanding|"
    "disappointment|issues?|problems?|difficult(?:y|ies)|stress|annoyance|concern|delay|discomfort"
)
_HARM_NOUN = _alternatives(_HARM_NOUN_WORDS)
_HARM_GATE = (
    "inconvenience|confusion|trouble|disruption|frustration|hassle|distress|upset|offence|offense|harm|"
    "misunderstanding|disappointment|issue|issues|problem|problems|difficulty|difficulties|stress|annoyance|concern|"
    "delay|discomfort"
)
_MAY_HAVE = (
    r"(?:may|might|could) (?:have )?(?:caused|created|resulted in|led to|brought|meant)(?: you| anyone| some of you)?"
)
_REACTION_VERBS = (
    r"(?:feel|felt|feeling|feels|think|thought|see|saw|took|take|taken|find|found|perceived?|interpreted|reacted|"
    r"viewed?)"
)
_STATE_VERBS = r"(?:were|are|'re|was|got|have been|'ve been|became|ended up|feel|felt)"


def _apology_branches(kind: str, gate: str, template: str, after: int) -> list[Branch]:
    """One branch per apology stem, anchored on the apology word the pattern starts with."""
    return [
        branch(kind, stem + (" & " + gate if gate else ""), template.replace("{APOL}", spelled), after=after, start=True)
        for stem, spelled in _APOLOGY_STEMS
    ]


_NON_APOLOGY = Branches(
    # sorry if / apologies in case -- but not the hedges about the message itself ("sorry if this is a silly
    # question", "apologies if I missed something", "sorry if you get this twice"), which apologise for nothing
    # and are set aside as social (see is_social)
    *_apology_branches(
        "conditional",
        "if|case",
        r"\b{APOL} (?:if|in case)\b", after=20,
    ),
    # sorry you feel / that you felt / for how you feel / that you were upset
    *_apology_branches(
        "reaction",
        "you|" + _PEOPLE_GATE,
        rf"\b{{APOL}} (?:that |for how |about how |for the way |about the way )?(?:you|{_PEOPLE}) "
        rf"(?:(?:may|might|must) (?:have )?)?(?:{_REACTION_VERBS}|{_STATE_VERBS} (?:(?:so|that|a bit|a little|quite|"
        r"very|"
        rf"really|at all) )?{_HURT})\b", after=140,
    ),
    # sorry it came across as / that my email was taken
    *_apology_branches(
        "reaction",
        "came|sounded|taken|perceived|received|landed|seemed|felt|read",
        r"\b{APOL} (?:that )?(?:it|this|that|my (?:email|message|note|comment|reply|tone|words?|remark|joke|post)) "
        r"(?:came across|came off|sounded|was taken|was perceived|was received|landed|seemed|felt|read)\b", after=100,
    ),
    # we regret that you were ...
    branch(
        "reaction",
        f"{_REGRET_WORDS} & you|customers|{_PEOPLE_GATE}",
        rf"\bregret(?:s|ted)? (?:that |if )?(?:you|{_PEOPLE}|customers) (?:were|was|are|feel|felt|have been|'ve been|"
        r"got|may|might|found|took|saw|experienced)\b", before=5, after=80,
    ),
    # any inconvenience this may have caused
    branch(
        "harm",
        f"caused|created|resulted|led|brought|meant & may|might|could & {_HARM_GATE}",
        rf"\b(?:any|whatever|the) (?:possible |potential )?{_HARM_NOUN} (?:(?:this|that|it|which|we|I|this \w+|"
        rf"the \w+|my \w+|our \w+) )?{_MAY_HAVE}\b", before=100, after=40,
    ),
    # (for / regret) any inconvenience
    branch(
        "harm",
        f"any|whatever & {_HARM_GATE} & for|about|over|regret|regrets",
        rf"(?<=\b(?:for|about|over|regret|regrets) )(?:any|whatever) (?:possible |potential )?{_HARM_NOUN}\b",
        before=15, after=60,
    ),
    # if this caused you any trouble
    branch(
        "harm",
        f"caused|created & if & any & {_HARM_GATE}",
        rf"\bif (?:this|that|it|we|I|our \w+|my \w+) (?:has |may have |might have )?(?:caused|created) "
        rf"(?:you |anyone )?any {_HARM_NOUN}\b", before=60, after=40,
    ),
    # mistakes were made (not "... by me", "... on my part")
    branch(
        "passive",
        "made|committed & mistake|mistakes|error|errors|oversight|oversights|misjudgment|misjudgments|misjudgement|"
        "misjudgements|misstep|missteps|calls|decisions|choices",
        r"\b(?:(?:a|an|some|certain|several|a few|the|few) )?(?:mistakes?|errors?|oversights?|misjudge?ments?|"
        r"missteps?|bad (?:calls|decisions|choices)) (?:were|was|have been|has been|had been|got|may have been|"
        r"might have been) (?:made|committed)\b(?! (?:by (?:me|us|myself|I)|on (?:my|our) (?:part|side|end))\b)",
        before=70, after=50,
    ),
    branch("passive", "dropped & ball", r"\bthe ball (?:was|got|has been) dropped\b(?! by (?:me|us)\b)",
    before=30, after=30),
    # if anyone was offended (only with an apology in the same sentence; checked in the rule)
    branch(
        "vague",
        f"if & {_HURT_GATE} & {_PEOPLE_GATE}",
        rf"\bif {_PEOPLE} (?:(?:was|were|is|are|felt|feels|got|has been|have been|may have been|might have been|"
        rf"became|ended up) )?(?:(?:at all|in any way|remotely) )?{_HURT}\b", before=70, after=110, start=True,
    ),
    branch(
        "vague",
        "if & offended|upset|hurt|bothered|annoyed|inconvenienced|confused|affected|disappointed",
        rf"\bif (?:I|we|this|that|it|my \w+|our \w+) (?:have |has |may have |might have )?(?:offended|upset|hurt|"
        rf"bothered|annoyed|inconvenienced|confused|affected|disappointed) (?:you|{_PEOPLE})\b", after=90, start=True,
    ),
    # to everyone who may have been affected
    branch(
        "vague",
        f"{_HURT_GATE} & may|might & who|that",
        rf"\b(?:to|towards?) (?:everyone|everybody|all of you|all those|those|any customers|customers|people) "
        rf"(?:who|that) (?:may|might) (?:have )?(?:been |felt |feel )?{_HURT}\b", before=100, after=20,
    ),
    # to whoever was affected / to anyone I upset
    branch(
        "vague",
        f"whoever|whomever|anyone|anybody|any|those & {_HURT_GATE}",
        r"\b(?:to|towards?) (?:whoever|whomever|anyone|anybody|any of you|those of you) (?:(?:who|that|I|we|this|"
        r"it) )?"
        rf"(?:(?:was|were|is|are|felt|feels|got|has been|have been|may have been|might have been|may have|might have|"
        rf"may|might|may feel|might feel|may have felt|might have felt) )?(?:(?:at all|in any way) )?{_HURT}\b",
        before=15, after=110,
    ),
)
_CONTRAST = rule_pattern(
    r"\b(?:but|however|though|although|nevertheless|nonetheless|that said|having said that|that being said|even so|"
    r"all the same|to be fair|in fairness|in my defen[cs]e)\b|\bstill(?=,)"
)
# The sentence right after the apology opening with a contrast takes it back just the same.
_OPENING_CONTRAST = rule_pattern(
    r"\s{0,20}(?P<word>but|however|that said|having said that|that being said|then again|still|nevertheless|"
    r"nonetheless|to be fair|in fairness|in my defen[cs]e|even so)\b"
)
# "but" that is not a contrast: "all but", "nothing but", "not only ... but", "as though".
_FALSE_CONTRAST_BEFORE = rule_pattern(r"\b(?:all|anything|nothing|everything|help|last|as|not only|not just)\s*$")
_FALSE_CONTRAST_AFTER = rule_pattern(r"\s+(?:also|not least|for you)\b")
# Between the apology and the contrast, a promise ("and I'll ...", "; we will ...") means the "but" qualifies the
# promise, not the apology; "not only ... but" is no contrast at all.
_CONTRAST_UNRELATED = rule_pattern(
    r"(?:\band|;|—|–) (?:I|we)(?:'ll| will| am going to|'m going to| are going to|'re going to| can| have|'ve)\b|"
    r"\bnot (?:only|just)\b"
)
_HARM_NOUN_RE = rule_pattern(_HARM_NOUN)
_EMOTIONAL_HURT = rule_pattern(
    r"\b(?:upset|offended|hurt|insulted|slighted|bothered|annoyed|uncomfortable|disappointed|let down|put out)\b"
)
_ASKING_BEFORE = rule_pattern(
    r"\b(?:let (?:me|us) know|tell (?:me|us)|check|ask(?:ing)?|see|find out|wonder(?:ing)?|not sure|unsure|"
    r"wondered|confirm|whether)\s*$"
)

# Why each kind of non-apology fails the reader (the finding's message).
NON_APOLOGY_WHY: dict[str, str] = {
    "conditional": (
        "Putting a condition on the apology (\"if\") casts doubt on whether anything went wrong, "
        "so the reader hears a denial rather than an apology."
    ),
    "reaction": (
        "This apologises for how the reader reacted instead of for what you did, which quietly "
        "hands the problem back to them."
    ),
    "harm": (
        "Calling the damage \"any inconvenience\" that \"may\" have happened treats it as hypothetical; "
        "the reader knows exactly what it cost them."
    ),
    "passive": "The passive voice leaves out who made the mistake, and an apology without an owner does not land.",
    "vague": (
        "Aiming the apology at \"whoever\" or \"anyone\" who was affected implies nobody really was; "
        "the people you let down want to be addressed directly."
    ),
    "contrast": (
        "Whatever comes after \"but\" or \"however\" cancels the apology in front of it: the reader "
        "remembers the justification, not the apology."
    ),
    "extra": "Your team lists this wording as one that turns an apology into a non-apology.",
}



class ScannedRule:
    """The one `run` of the rules built on RuleScan: a subclass supplies `id`, `severity` and `_scan`."""

    id: str
    severity: Severity

    def run(self, message: CheckMessage) -> Iterator[Finding]:
        return guarded(self._scan(RuleScan(message, self.id, self.severity)))

    def _scan(self, scan: "RuleScan") -> Iterator[Finding]:
        raise NotImplementedError

@dataclass(frozen=True)
class NonApologyCheck(ScannedRule):
    """Conditional, reaction-focused, hypothetical or passive apologies, and apologies taken back with "but"."""

    id: str = "non-apology"
    severity: Severity = Severity.BLOCK
    applies_to: AppliesTo = AppliesTo.ALL

    def _scan(self, scan: RuleScan) -> Iterator[Finding]:
        yield from collect(
            lambda: self._phrase_findings(scan),
            lambda: self._contrast_findings(scan),
            lambda: scan.extra_findings(
                NON_APOLOGY_WHY["extra"],
                lambda words: f'Replace "{words}" with a plain apology for your part: "I\'m sorry I <what you did>."',
            ),
        )

    def _phrase_findings(self, scan: RuleScan) -> Iterator[Finding]:
        for item, match in scan.branch_matches(_NON_APOLOGY):
            phrase = self._phrase_finding(scan, match, item.kind)
            if phrase is not None:
                yield phrase

    def _phrase_finding(self, scan: RuleScan, match: regex.Match[str], kind: str) -> Finding | None:
        start, end = match.start(), match.end()
        if kind == "vague":
            # A question ("let me know if anyone was affected") hedges nothing.
            if scan.ends_before(_ASKING_BEFORE, start, reach=40):
                return None
            # "if anyone was offended" hedges on its own; "if anyone was affected" / "to whoever was affected"
            # can also announce an action, so those need an apology in the same sentence to count.
            if scan.search(_EMOTIONAL_HURT, start, end) is None:
                sentence_start, sentence_end = scan.sentence_bounds(start, end)
                if first_apology(scan, sentence_start, sentence_end) is None:
                    return None
            if scan.text[start:end].lower().startswith("if"):
                end = max(end, scan.clause_end(end, reach=40))
            suggestion = (
                'Speak to the people it hit and say what you did: "I\'m sorry I <what you did>." '
                'or "to everyone whose <order/report/meeting> was affected".'
            )
        elif kind in {"conditional", "reaction"}:
            apology = APOLOGY_WORD.pattern.search(scan.text, start, end, timeout=scan.timeout(start, end))
            # "Apologies if my earlier email was confusing" in an oops notice makes the sender's own slip a maybe;
            # "sorry if this is a silly question" stays manners.
            if apology is None or (is_social(scan, apology) and not scan.match_at(_CONDITIONAL_SLIP, apology.end())):
                return None
            start = apology_head_start(scan, apology)
            end = max(end, scan.clause_end(end))
            head = apology_rewrite(scan, start, apology)
            if kind == "conditional":
                suggestion = f'Rewrite as: "{head}" Stop there, or name your own part: "{head[:-1]} I <what you did>."'
            else:
                suggestion = (
                    f'Rewrite as: "{head[:-1]} I <what you did>." Apologise for your action, not for their reaction.'
                )
        elif kind == "harm":
            noun = _HARM_NOUN_RE.search(scan.text, start, end, timeout=scan.timeout(start, end))
            noun_word = noun.group(0).lower() if noun else "trouble"
            if noun_word in {"inconvenience", "issue", "issues", "problem", "problems", "hassle", "concern"}:
                noun_word = "trouble"  # the euphemism becomes a plain word, and the reader's loss gets named
            suggestion = (
                f'Rewrite as: "the {noun_word} this caused you" and name it, '
                'e.g. "the afternoon you lost re-entering the orders".'
            )
        else:  # passive
            subject = "we" if uses_we(scan, start, end) else "I"
            lowered = scan.words(start, end).lower()
            if "ball" in lowered:
                rewrite = f"{subject} dropped the ball"
            elif "error" in lowered:
                rewrite = f"{subject} made an error"
            elif "oversight" in lowered:
                rewrite = f"{subject} overlooked <what was missed>"
            else:
                rewrite = f"{subject} made a mistake"
            suggestion = f'Rewrite as: "{rewrite[0].upper() + rewrite[1:]}" and say what it was.'
        return scan.finding(start, end, NON_APOLOGY_WHY[kind], suggestion)

    @staticmethod
    def _contrast_findings(scan: RuleScan) -> Iterator[Finding]:
        """"Sorry ..., but / however / though", or an apology followed by "However, ...": the apology is taken back."""
        for apology in apology_words(scan):
            if is_social(scan, apology):
                continue
            _, sentence_end = scan.sentence_bounds(apology.start(), apology.end())
            contrast = NonApologyCheck._contrast_in_sentence(scan, apology, sentence_end)
            if contrast is not None:
                c_start, c_end, word = contrast
                in_sentence = True
                if NonApologyCheck._discussion_courtesy(scan, word, c_end, sentence_end):
                    continue
            else:
                opening = scan.match_at(_OPENING_CONTRAST, sentence_end, reach=40)
                if opening is None or scan.text[apology.end() : sentence_end].strip() in {"", ".", "!"}:
                    # A bare "Sorry." followed by "But ..." usually starts a new topic; leave it.
                    continue
                c_start, c_end, word = opening.start("word"), opening.end("word"), opening.group("word")
                in_sentence = False
            start = apology_head_start(scan, apology)
            before = scan.text[start:c_start].rstrip(" \t\r\n,;:—–-.!")
            # A bare "Sorry, but" or a hedged "Sorry if ..., but" both become the plain apology.
            if before == scan.text[start : apology.end()].rstrip() or scan.match_at(_HEDGED_AFTER, apology.end()):
                rewrite = apology_rewrite(scan, start, apology)  # bare "Sorry, but ..." -> "I'm sorry."
            else:
                prefix = " ".join(before.split())
                rewrite = prefix[0].upper() + prefix[1:] + "."
            word = " ".join(word.split())
            if in_sentence:
                suggestion = f'Rewrite as: "{rewrite}" and delete the reason after "{word}".'
            else:
                suggestion = f'Keep "{rewrite}" and delete the sentence that starts with "{word}".'
            yield scan.finding(start, scan.clause_end(c_end), NON_APOLOGY_WHY["contrast"], suggestion)

    @staticmethod
    def _discussion_courtesy(scan: RuleScan, word: str, after: int, sentence_end: int) -> bool:
        """ "Sorry, but I couldn't resist" or "sorry, but why does ...?": what follows "but" is the writer asking or
        disagreeing, not a reason for a mistake."""
        if word.lower() != "but":
            return False
        return bool(scan.match_at(_COURTESY_AFTER_BUT, after, reach=60)) or "?" in scan.text[after:sentence_end]

    @staticmethod
    def _contrast_in_sentence(
        scan: RuleScan, apology: regex.Match[str], sentence_end: int
    ) -> tuple[int, int, str] | None:
        """The first real contrast word after the apology in its sentence, unless it qualifies a promise instead."""
        timeout = scan.timeout(apology.end(), sentence_end)
        for contrast in _CONTRAST.finditer(scan.text, apology.end(), sentence_end, timeout=timeout):
            c_start, c_end = contrast.start(), contrast.end()
            if scan.ends_before(_FALSE_CONTRAST_BEFORE, c_start, reach=15) or scan.match_at(
                _FALSE_CONTRAST_AFTER, c_end, 20
            ):
                continue
            if scan.search(_CONTRAST_UNRELATED, apology.end(), c_start):
                return None
            return c_start, c_end, contrast.group(0)
        return None


# --------------------------------------------------------------------------------------------
# excuse
# --------------------------------------------------------------------------------------------
_INTENSIFIER = (
    r"(?:(?:so|really|very|quite|pretty|super|a bit|a little|completely|totally|just|absolutely|incredibly|extremely|"
    r"honestly|truly|genuinely|literally|frankly|utterly|seriously) )"
)
_NOT_OWNERSHIP_AFTER_BUT = r"(?! (?:I )?(?:forgot|didn't|did not|failed|messed|dropped|missed|never|should)\b)"

_EXCUSE = Branches(
    # health
    branch(
        "health",
        "i & feeling",
        rf"\bI{_I_WAS_OR_AM_NOT} "
        rf"{_INTENSIFIER}?feeling {_INTENSIFIER}?(?:great|good|well|sick|ill|unwell|myself|100 ?%|rough|poorly|off|"
        r"under the weather|my best)\b", after=100, start=True),
    branch(
        "health",
        "i & sick|ill|unwell|poorly|weather|jet|lagged|jetlagged|run|colour|color",
        rf"\bI{_I_BECAME} {_INTENSIFIER}{{0,2}}(?:sick|ill|unwell|"
        r"poorly|under the weather|jet-?lagged|run down|off colou?r)\b(?! of\b| and tired\b)", after=100, start=True),
    branch(
        "health",
        "i & well",
        rf"\bI{_I_WAS_NOT} well\b(?![- ](?:prepared|organi[sz]ed|"
        r"informed|equipped|aware|versed|thought|planned|enough|placed)\b)", after=60, start=True),
    branch("health", "down & came|come|coming", r"\b(?:came|come|coming) down with\b", before=15, after=20),
    branch(
        "health",
        "i & cold|flu|migraine|headache|fever|bug|virus|covid|poisoning|toothache|ache|throat",
        rf"\bI{_I_HAD} (?:a |the |an )?"
        r"(?:(?:bad|terrible|awful|nasty|splitting|pounding|stomach|horrible|killer) )?(?:cold|flu|migraine|headache|"
        r"fever|bug|stomach bug|virus|covid|food poisoning|toothache|stomach ache|sore throat)\b",
        after=90, start=True),
    # transport
    branch(
        "transport",
        "train|bus|subway|tube|metro|flight|plane|tram|ferry|taxi|uber|cab|ride|connection|commute & "
        "late|delayed|cancelled|canceled|stuck|held|diverted|slow|overbooked|behind",
        r"\b(?:the|my|our|a) (?:train|bus|subway|tube|metro|flight|plane|tram|ferry|taxi|uber|cab|ride|connection|"
        r"commute) (?:was|were|got|had been|has been|ran|came|is) (?:\w+ ){0,3}?(?:late|delayed|cancell?ed|stuck|"
        r"held up|diverted|slow|overbooked|behind schedule)\b", before=10, after=90,
    ),
    branch(
        "transport",
        "traffic",
        r"\b(?:(?:stuck|caught|held up|sat|sitting|trapped) in|because of|due to|thanks to) (?:(?:the|heavy|bad|awful|"
        r"terrible|horrible|rush[- ]hour|morning|evening|insane|crazy) ){0,2}traffic\b|"
        r"\btraffic (?:was|is|has been|were) (?:\w+ ){0,2}?(?:terrible|awful|bad|horrible|insane|crazy|a nightmare|"
        r"backed up|jammed|gridlocked|heavy|brutal|murder|hell|worse|slow|at a standstill)\b|"
        r"\btraffic jams?\b|\b(?:heavy|bad|awful|terrible|horrible|rush[- ]hour) traffic\b|"
        r"(?<=[-—–:;,] ?)traffic(?=[.!…]|\s*$)", before=70, after=70,
    ),
    branch("transport", "missed & train|bus|flight|connection|ride|ferry|tram",
           r"\bmissed (?:my|the) (?:train|bus|flight|connection|ride|ferry|tram)\b",
    before=5, after=40),
    branch(
        "transport",
        "car",
        r"\b(?:my|the|our) car (?:broke down|wouldn't start|would not start|died|had a flat|got a flat)\b",
        before=10, after=40,
    ),
    branch("transport", "flat|road|roadworks", r"\b(?:a |my )?flat (?:tire|tyre)\b|\broad ?works\b",
    before=10, after=30),
    # technology
    branch(
        "technology",
        "my|the & computer|laptop|pc|mac|machine|phone|internet|wi|wifi|connection|vpn|email|mail|inbox|printer|alarm|"
        "calendar|headset|mic|microphone|camera|battery|charger|power|drive|file|files|broadband|router|photocopier|"
        "copier|scanner",
        r"\b(?:my (?:computer|laptop|pc|mac|machine|phone|internet|wi-?fi|connection|vpn|e-?mail|inbox|printer|alarm|"
        r"calendar|headset|mic|microphone|camera|battery|charger|power|hard drive|files?|broadband|router)|"
        r"the (?:printer|photocopier|copier|scanner|alarm)) (?:(?:had|has|just|suddenly|kept|then|also) )?"
        r"(?:crash\w*|died|dying|"
        r"broke|broken|froze|frozen|fail\w*|went (?:down|off|offline|dead|flat)|was (?:down|dead|broken|flat|offline)|"
        r"stopped \w+|(?:didn't|did not|wouldn't|would not|won't|couldn't|could not|refused to|wasn't|was not) \w+|"
        r"cut out|dropped|glitch\w*|ran out|(?:got )?corrupt\w*|acted up|was acting up|decided to|restart\w*|"
        r"reboot\w*|updat\w*|jammed|wiped|disconnected|overheat\w*|gave up)\b", before=16, after=100, start=True,
    ),
    branch(
        "technology",
        "internet|wi|wifi|power|electricity|network|vpn|broadband & was|went|had|cut|kept",
        r"\b(?:the|our) (?:internet|wi-?fi|power|electricity|network|vpn|broadband) (?:was|went|had gone|cut|kept) "
        r"(?:down|out|off|dropping|cutting out)\b", before=10, after=70,
    ),
    branch(
        "technology",
        "signal|reception|wi|wifi|internet|connection|coverage|service & no",
        # "no connection with the company" is no connection at all
        r"\b(?:had|have|got|with) no (?:phone |mobile |cell )?(?:signal|reception|wi-?fi|internet|connection|coverage|"
        r"service)\b(?! (?:with|to|between)\b)", before=40, after=30,
    ),
    branch(
        "technology",
        "signal|connection|wifi|wi|internet|reception|network|line & kept|keeps|dropping|dropped|cutting|failing",
        r"\b(?:the|my|our) (?:phone |mobile )?(?:signal|connection|wi-?fi|internet|reception|network|line) "
        r"(?:kept|keeps|was|were) (?:dropping|cutting out|failing|going down|dropping out|breaking up)\b",
        before=15, after=60,
    ),
    branch(
        "technology",
        "power|technical",
        r"\b(?:a |the )?power (?:cut|outage|failure)\b|\btechnical (?:issues|difficulties|problems|glitch(?:es)?)\b",
        before=10, after=40,
    ),
    # workload
    branch(
        "workload",
        "i & swamped|slammed|buried|snowed|overloaded|stretched|busy|flat|run|drowning|tied|caught|held|"
        "sidetracked|distracted|pulled|stuck|back|double|office|holiday|vacation|leave|away|travelling|traveling|road|"
        "transit|sick",
        rf"\bI{_I_HAD_BEEN} {_INTENSIFIER}{{0,2}}(?:swamped|slammed|buried|"
        r"snowed under|overloaded|stretched(?: too)? thin|busy|flat out|run off my feet|drowning|tied up|caught up|"
        r"held up|sidetracked|distracted|pulled (?:in|into|away)|stuck in|in back-to-back|double-booked|double booked|"
        r"out of (?:the )?office|on (?:holiday|vacation|leave)|away|travell?ing|on the road|in transit|off sick|"
        r"out sick)\b", after=100, start=True),
    branch(
        "workload",
        "i & swamped|slammed|buried|snowed|overloaded|drowning|flat",
        rf"\bI(?:'m| am) {_INTENSIFIER}{{0,2}}(?:swamped|slammed|buried|snowed under|overloaded|drowning|flat out)\b",
        after=70, start=True),
    branch(
        "workload",
        "crazy|hectic|busy|mad|insane|chaotic|manic|rough|long|nightmare|brutal & week|day|month|morning|days|"
        "weeks|quarter|time|stretch",
        r"\b(?:it's|it has|it had|it was|this|the|last|it's been|this has|this has been|this was) (?:been )?"
        r"(?:(?:a|an|such a|such an|one) )?(?:crazy|hectic|busy|mad|insane|chaotic|manic|rough|long|nightmare|brutal) "
        r"(?:week|day|month|morning|few days|few weeks|quarter|time|stretch)\b"
        r"(?! (?:for|on) (?:you|your|them|him|her|everyone|all of you))", before=60, after=40,
    ),
    branch(
        "workload",
        "going & everything|all & on",
        r"\b(?:with|because of|due to) (?:everything|all) (?:else )?(?:that(?:'s| was| is) )?going on\b",
        before=50, after=20,
    ),
    branch("workload", "back|came", r"\bback-to-back (?:meetings|calls)\b|\bsomething came up\b", before=20, after=30),
    branch(
        "personal",
        "emergency|matter|situation|crisis & family|personal|medical|childcare|last|unexpected",
        r"\b(?:a |an )?(?:family|personal|medical|childcare|last-minute|unexpected) (?:emergency|matter|situation|"
        r"crisis)\b", before=40, after=20,
    ),
    branch(
        "personal",
        "sick|ill|unwell & kid|son|daughter|child|dog|cat|partner|wife|husband",
        r"\bmy (?:kid|son|daughter|child|dog|cat|partner|wife|husband) (?:was|got|had been|fell) (?:sick|ill|unwell)\b",
        before=40, after=15,
    ),
    # "because of X I couldn't" / "I couldn't ... because"
    branch(
        "cause",
        "because & of",
        r"\bbecause of [^.!?\n]{1,60}? (?:I|we) (?:couldn't|could not|wasn't able|was not able|was unable|"
        r"weren't able|were unable|didn't have (?:the )?time|did not have (?:the )?time|had no (?:choice|time)|"
        r"ran out of time|didn't get (?:a |the )?chance|never got (?:a |the )?chance|had to)\b", before=5, after=150,
    ),
    branch(
        "cause",
        "couldn|could|able|unable|chance|time & because|since|as|due|owing|thanks",
        r"\b(?:I|we) (?:couldn't|could not|wasn't able to|was not able to|was unable to|weren't able to|"
        r"were unable to|didn't get (?:a |the )?chance to|never got (?:a |the )?chance to|had no time to|"
        r"didn't have time to|did not have time to|ran out of time to)\b[^.!?\n]{0,60}? (?:because|since|as|"
        r"due to|owing to|thanks to)\b", before=40, after=130,
    ),
    # circumstances
    branch(
        "circumstances",
        "due & circumstances|reasons|issues|matters|factors|events|commitments",
        r"\bdue to (?:(?:unforeseen|unexpected|unavoidable|personal|extenuating|some|certain|a few|a number of|"
        r"various|several|other) )?(?:circumstances|reasons|issues|matters|factors|events|commitments)\b",
        before=5, after=90,
    ),
    branch(
        "circumstances",
        "unforeseen|unexpected|unavoidable|extenuating & circumstances|events|issues",
        r"\b(?:unforeseen|unexpected|unavoidable|extenuating) (?:circumstances|events|issues)\b", before=5, after=40,
    ),
    branch("circumstances", "control", r"\b(?:circumstances )?(?:beyond|outside|out of) (?:my|our) control\b",
    before=50, after=10),
    # "it's not like I ..."
    branch(
        "not-like",
        "like|if|though & not|isn|wasn|ain",
        r"\bit(?:'s| is| was)(?: just)? not (?:like|as if|as though) (?:I|we)\b|\bit(?: isn't| wasn't| ain't| is not|"
        r" was not) (?:like|as if|as though) (?:I|we)\b|\bnot like I (?:meant|wanted|planned|intended|did it)\b",
        before=35, after=25,
    ),
    # "I would have ... but", "I was going to ... but", "I tried to ... but"
    branch(
        "would-have",
        "but & have & would|d",
        rf"\b(?:I|we)(?: would|'d) have\b[^.!?\n]{{0,80}}? but\b{_NOT_OWNERSHIP_AFTER_BUT}", before=120, after=70,
    ),
    branch(
        "would-have",
        "but & going|planning|about & was|were",
        rf"\b(?:I|we) (?:was|were) (?:going|planning|about) to\b[^.!?\n]{{0,80}}? but\b{_NOT_OWNERSHIP_AFTER_BUT}",
        before=120, after=70,
    ),
    branch(
        "would-have",
        "but & tried|meant|wanted|intended|planned",
        rf"\b(?:I|we) (?:tried|meant|wanted|intended|planned) to\b[^.!?\n]{{0,80}}? but\b{_NOT_OWNERSHIP_AFTER_BUT}",
        before=120, after=70,
    ),
    # nobody told me / the instructions were unclear
    branch(
        "not-told",
        "told|informed|warned|reminded|asked|aware|copied|cc|ccd",
        r"\b(?:nobody|no one|no-one) (?:told|informed|warned|reminded|asked) (?:me|us)\b|"
        r"\bI (?:wasn't|was not|was never|had not been|hadn't been|never got) (?:told|informed|warned|reminded|"
        r"made aware|copied|cc'?d)\b", before=40, after=15,
    ),
    branch(
        "not-told",
        "unclear|confusing|ambiguous|vague|misleading|clear",
        r"\b(?:the|your) (?:instructions|brief|email|request|spec|specification|requirements|ticket|message|deadline|"
        r"directions) (?:was|were) (?:(?:a bit|a little|quite|very|really|pretty|so|kind of|somewhat) ){0,2}"
        r"(?:unclear|confusing|ambiguous|vague|misleading|not clear)\b", before=90, after=15,
    ),
)
# Explanations that only count once the message apologises somewhere: on their own they can be plain reporting,
# next to an apology they argue the mistake away (staffing, workload, other people's systems, "what happened was").
_TROUBLE_SUBJECT = (
    r"(?:the|our|my|their|a|an) (?:[\w-]+ ){0,2}?(?:courier|couriers|carrier|supplier|suppliers|vendor|vendors|"
    r"warehouse|system|systems|server|servers|software|tool|tools|template|cms|website|site|portal|app|platform|"
    r"bank|post office|postal service|post|delivery company|driver|partner|contractor|contractors|printer|factory|"
    r"manufacturer|provider|network|database|it department|it team|payment processor|machine|equipment|"
    r"integration|api|team|office|department|store|shop|helpdesk|help desk|call centre|call center|colleague|"
    r"colleagues|manager|client|customer|boss)"
)
_TROUBLE_STATE = (
    r"(?:lagging|slow|down|late|delayed|broken|overloaded|overwhelmed|swamped|backed up|backlogged|behind|offline|"
    r"unavailable|buggy|glitchy|misbehaving|playing up|acting up|not working|failing|crashing|crashed|went down|"
    r"ran late|short-staffed|understaffed|short staffed|short-handed|short handed|"
    r"(?:a |an |some |several |a few |technical |major |big )?(?:problems?|issues?|outage|glitch|glitches|fault|"
    r"backlog|bug|bugs|hiccups?|meltdown|difficulties|trouble)|"
    r"sent (?:me|us) (?:the|it|them)|gave (?:me|us) the wrong|forgot|mixed up|lost)"
)
_TROUBLE_WORDS = (
    "lagging|slow|down|late|delayed|broken|overloaded|overwhelmed|swamped|backed|backlogged|behind|offline|unavailable|"
    "buggy|glitchy|misbehaving|playing|acting|working|failing|crashing|crashed|went|ran|staffed|understaffed|handed|"
    "problem|problems|issue|issues|outage|glitch|glitches|fault|backlog|bug|bugs|hiccup|hiccups|meltdown|"
    "difficulties|trouble|sent|gave|forgot|mixed|lost"
)
_EXPLANATION = Branches(
    # "it happened because", "the reason was", "what happened was", "the problem was that"
    branch(
        "explainer",
        "because|reason|cause|happened|problem|issue|trouble|thing",
        r"\b(?:it|this|that|all this|all of this)(?: only| all)? (?:happened|occurred|was|came about) "
        r"(?:(?:simply|just|mainly|partly|mostly|purely) )?because\b|"
        r"\bthe (?:main |only |simple |real )?(?:reason|cause)(?: for (?:this|that|it|the [\w-]+(?: [\w-]+)?))? "
        r"(?:was|is|being)\b(?! (?:my|our|a mistake|an error|an oversight) )"
        # "The cause was a bug in our import job": a cause we own is the explanation the reader is owed.
        r"(?!(?: [\w-]+){0,6} (?:in|on|of|by|from) (?:my|our|me|us)\b)|"
        r"\bwhat (?:happened|went wrong) (?:was|is)\b|"
        r"\bthe (?:problem|issue|trouble|thing) (?:was|is) that (?:the|our|their|they|we|there)\b",
        before=60, after=40,
    ),
    # "it wasn't our fault", "it was out of our hands"
    branch(
        "not-our-fault",
        "fault|hands",
        r"\b(?:it|this|that)(?:'s not| is not| isn't| was not| wasn't) (?:really |entirely |strictly |actually |"
        r"all |just )?(?:my|our|(?:the )?[\w-]+['’]s) fault\b|"
        r"\b(?:not|no) (?:really |entirely |strictly |actually |all )?(?:my|our) fault\b|"
        r"\b(?:out of|beyond|outside) (?:my|our) hands\b",
        before=50, after=10,
    ),
    # staffing and workload: "short-staffed", "covering two shifts", "I had a lot on", "we were dealing with"
    branch(
        "staffing",
        "staffed|understaffed|short|shortage|shortages|covering|handed",
        r"\b(?:short[- ]?staffed|under-?staffed|short[- ]handed|short of (?:staff|people|hands)|"
        r"(?:a |the )?staff(?:ing)? shortages?|(?:two|three|several|a few|some) (?:people|staff|colleagues) short|"
        r"covering (?:for )?(?:two|three|several|multiple|extra|double|a double|back-to-back) (?:shifts|roles|jobs|"
        r"desks|teams)|covering for (?:a |an |my |our |two |three |several |a few |some )?(?:sick |absent )?(?:colleagues?|"
        r"coworkers?|co-workers?|someone|somebody|manager|boss|team ?mates?|people))\b",
        before=60, after=70,
    ),
    branch(
        "workload",
        "i|we & had|dealing|struggling|coping|juggling|contending|handling|battling",
        r"\b(?:I|we)(?:'ve| have|'d| had)? (?:had|been having) (?:(?:such|so|quite) )?(?:a lot|so much|loads|tons|"
        r"a ton|plenty|a great deal|a mountain|a pile) (?:on|going on|to do|to deal with|on (?:my|our) plates?)\b|"
        r"\b(?:I|we)(?: was| were|'ve been| have been|'d been| had been) (?:\w+ )?(?:dealing|struggling|coping|juggling|"
        r"contending|battling) with\b",
        after=80, start=True,
    ),
    # other people's and machines' troubles: "the courier had problems", "the system was lagging"
    branch(
        "circumstances",
        "courier|couriers|carrier|supplier|suppliers|vendor|vendors|warehouse|system|systems|server|servers|software|"
        "tool|tools|template|cms|website|site|portal|app|platform|bank|post|office|driver|partner|contractor|"
        "contractors|printer|factory|manufacturer|provider|network|database|processor|machine|equipment|integration|"
        "api|team|department|store|shop|helpdesk|desk|centre|center|colleague|colleagues|manager|client|customer|boss|"
        f"service & {_TROUBLE_WORDS}",
        rf"\b{_TROUBLE_SUBJECT} (?:(?:was|were|had been|has been|have been|kept|had|has|is|are|got|went|ran) )?"
        r"(?:(?:being|been|really|very|so|quite|completely|totally|all|just|also|then|badly|seriously|having|"
        r"constantly|still|massively|running) ){0,2}"
        rf"{_TROUBLE_STATE}\b",
        before=50, after=110,
    ),
    # Rationalising: "in my defence", "to be fair", "these things happen", "a lot of employers got caught out".
    branch(
        "rationalising",
        "defence|defense|fair|fairness|happen|happens|perfect|temperamental|flaky|caught|same|bound|easy|anyone|anybody|"
        "understand",
        r"\bin (?:my|our) defen[cs]e\b|\bto be fair\b(?! to (?!me\b|us\b|myself\b|our\b|my\b))|\bin (?:all )?fairness\b|"
        r"\b(?:these|such|those) things (?:(?:do|can|will) )?happen\b|\b(?:was|were|is) bound to happen\b|\b(?:mistakes|errors|accidents) (?:(?:do|can|will) )?happen\b|"
        r"\b(?:it|this) (?:happens|can happen) (?:to (?:everyone|anyone|the best)|from time to time|now and (?:then|again)|"
        r"sometimes|occasionally)\b|\b(?:nobody|no one|no-one)(?:'s| is) perfect\b|"
        r"\bknown (?:to be|for being) (?:\w+ )?(?:temperamental|flaky|unreliable|buggy|fragile)\b|"
        r"\b(?:an? )?easy (?:mistake|mix-?up|error|slip) to make\b|\b(?:anyone|anybody) (?:could|would) have (?:made|done)\b|"
        r"\bplease understand(?: that)?\b|"
        r"\b(?:a lot of|lots of|many|most|plenty of|other|several) (?:other )?(?:people|employers|companies|firms|customers|"
        r"teams|shops|businesses|organi[sz]ations|colleagues|others) (?:\w+ )?(?:got caught|were caught|made the same|"
        r"had the same|fell into the same|did the same)\b",
        before=70, after=60,
    ),
    # A change of systems or structure carrying the blame: "since we migrated to the new system", "teething problems".
    branch(
        "new-system",
        "migrated|moved|switched|changed|upgraded|transitioned|teething|growing|middle|getting|learning|settling|bedding",
        r"\b(?:since|after|when|because|as) (?:we|they|the team|our team|the company|it|everyone) (?:\w+ )?(?:migrated|moved|"
        r"switched|changed|upgraded|transitioned) (?:over )?to (?:a|the|our|their) (?:\w+ )?new\b|"
        r"\b(?:teething|growing) (?:problems|issues|pains|troubles)\b|"
        r"\bin the middle of (?:a|an|the|our) (?:\w+ )?(?:reorg|reorgani[sz]ation|move|migration|transition|"
        r"restructur\w+|changeover)\b|"
        r"\bstill (?:getting used to|learning|settling into|bedding in) (?:the|our|a|this) new\b",
        before=70, after=50,
    ),
    # The day or the workload carrying the blame: "I'd had a very long day", "I didn't get a chance to check".
    branch(
        "workload",
        "day|week|shift|night|best|chance|trying|sick|ill|chaotic|hectic|crazy|mad|busy|mental|manic",
        r"\b(?:I'd|I had|we'd|we had|I've had|we've had) (?:had )?(?:a |such a )?(?:very |really |extremely |incredibly )?"
        r"(?:long|hard|difficult|rough|busy|hectic|crazy|stressful) (?:day|week|shift|night|morning)\b|"
        r"\b(?:wasn't|was not|weren't|were not) at (?:my|our) best\b|"
        r"\b(?:didn't|did not|never|couldn't|could not) (?:get|have|find) (?:a|the|any) (?:chance|moment|minute) to\b|"
        r"\btrying to get (?:everything|it all|things|it|them|this) (?:out|done|finished|sent) before\b|"
        r"\b(?:two|three|several|a few|half the team|half of the team|some|most) (?:people|colleagues|of us|staff|"
        r"members of (?:staff|the team)|team ?mates) (?:\w+ )?(?:were |are |being )?(?:out|off|home) (?:sick|ill)\b|"
        r"\bthings (?:were|have been|had been|got) (?:a bit |a little |very |quite |pretty |really |so )?"
        r"(?:chaotic|hectic|crazy|mad|busy|manic)\b|"
        r"\b(?:it's|it has|it had|it was|it) been (?:a |an )?(?:mental|manic|insane|mad|crazy|hectic|nuts)\b",
        before=80, after=60,
    ),
    # Someone or something else holding it up: "the approval got stuck in someone's inbox while they were away".
    branch(
        "someone-else",
        "stuck|while|provider|partner|vendor|supplier|docs|documentation|instructions|guidance|manual|wiki|requirements|spec",
        r"\bgot stuck in (?:someone's|somebody's|a colleague's|his|her|their|the|an?) (?:\w+ )?(?:inbox|queue|approval)\b|"
        r"\bwhile (?:they|he|she|(?:my|our|the) (?:colleague|manager|boss|approver)) (?:was|were) (?:away|off|out|on leave|"
        r"on holiday|on vacation)\b|"
        r"\b(?:the|our|my) (?:e-?mail|mail|payment|hosting|cloud|courier|delivery|shipping|phone|internet|it) "
        r"(?:provider|partner|company|vendor|supplier|service) (?:had|has|was|were|sent|lost|changed)\b|"
        r"\bthe (?:docs|documentation|instructions|guidance|manual|wiki|requirements|spec)(?: [\w-]+){0,5}? "
        r"(?:said|says|was|were|changed|kept changing)\b",
        before=80, after=60,
    ),
    # "unfortunately our warehouse ...", "unfortunately, there was ..." (not "unfortunately I ...", which owns it)
    branch(
        "unfortunately",
        "unfortunately|sadly|regrettably",
        r"\b(?:unfortunately|sadly|regrettably),? (?:the|our|their|there|they|a|an|some|several|one of)\b"
        r"(?! (?:\w+ )?(?:means?|meant)\b)",
        after=40, start=True,
    ),
    # "due to the snow", "because of a system upgrade" in any sentence once there is an apology
    branch(
        "cause",
        "due|owing|because|result|account & weather|snow|storm|storms|strike|strikes|holiday|holidays|illness|"
        "sickness|shortage|shortages|volume|volumes|demand|backlog|outage|outages|upgrade|maintenance|migration|bug|"
        "glitch|problem|problems|issue|issues|difficulties|traffic|workload|circumstances|staff|staffing|courier|"
        "supplier|vendor|system|systems|server|software|network|flu|covid|absence|absences|sick|leave|holiday|"
        "christmas|rush|peak",
        r"\b(?:due to|owing to|because of|as a result of|on account of) "
        r"(?!(?:my|our|this|that|the|an?) (?:own )?(?:mistake|error|oversight|mix-?up|fault|carelessness)\b)"
        r"(?:[\w’-]+(?:'\w+)? ){0,3}?(?:weather|snow|storms?|strikes?|holidays?|illness|sickness|shortages?|volumes?|demand|"
        r"backlog|outages?|upgrade|maintenance|migration|bugs?|glitch(?:es)?|problems?|issues?|difficulties|traffic|"
        r"workload|circumstances|staff|staffing|courier|supplier|vendor|systems?|server|software|network|flu|covid|"
        r"absences?|sick leave|christmas rush|peak)\b",
        before=5, after=110,
    ),
)

# Circumstances told as the story of the mistake: causes, pressures and conditions outside the sender
# ("because of the strike", "only 40 minutes between", "two colleagues were off sick", "the signal kept dropping").
# Two of them in a sentence after the apology make it an excuse when the message owns nothing (see
# ExcuseCheck._circumstance_findings); one alone is often just what happened.
_CIRCUMSTANCE = rule_pattern(
    r"\b(?:because(?: of)?|due to|owing to|as a result|which meant|meaning that|had to|on top of (?:that|this|everything)|"
    r"nobody could have|no one could have|(?:off|out) sick|was written by|written by an|external (?:contractor|agency|"
    r"vendor|supplier|company)|the same time|at short notice|record (?:number|volume|demand|numbers)|"
    r"only (?:\d+|a few|one|two|three|half)|too (?:busy|many|much|few|little|late|short|hot|cold)|"
    r"(?:was|were|is|are) (?:designed|made|built|written|set up|created|supplied|provided|maintained|handled|owned|"
    r"controlled|managed|run) by|(?:[\w-]+-hour|long|double|night|late) shift|rushed|"
    r"(?:had been|was|were|kept) (?:jamming|crashing|failing|playing up|acting up|breaking down|going down)|"
    r"(?:so|and so|which is why|that's why|that is why) (?:the|I|we|it|they|he|she|there|our|my|half|nobody|no one|"
    r"everything|everyone)|there (?:was|were|had been|have been|is|are)|kept (?:dropping|crashing|failing|freezing|"
    r"breaking|changing|going down)|"
    r"(?:was|were|is|are|'s been|has been|have been|had been|got) (?:\w+ )?(?:busy|full|fully booked|short|hard|"
    r"difficult|hot|cold|slow|chaotic|hectic|swamped|overwhelmed|ambiguous|unclear|confusing|late|delayed|new|old|"
    r"ill|sick|away|off|closed|stuck|down|out of stock|not ready|missing|retired|unavailable)|"
    r"(?:new|temporary|agency|junior) (?:staff|system|portal|software|tool|team|colleagues?|hires?|people)|"
    r"(?:hottest|coldest|busiest|worst|wettest) (?:day|week|month|night|season|time)|"
    r"(?:\w+ )?times the (?:usual|normal) (?:number|amount|volume)|(?:has|have) not been (?:enlarged|expanded|increased)|"
    r"please understand|"
    r"(?:didn't|did not) leave (?:any |much |enough )?(?:room|time)|(?:reached|got to|arrived with) (?:us|me) "
    r"(?:\w+ ){0,3}?late)\b"
)
# Owning the mistake outright ("that was my mistake", "we should have tested it"): with that said, the story of
# how it happened is an explanation the reader is owed, not an excuse.
_TAKES_RESPONSIBILITY = rule_pattern(
    r"\b(?:my|our) (?:own )?(?:mistake|fault|error|oversight|responsibility|doing)\b|"
    r"\b(?:I|we) (?:really |clearly |definitely )?(?:should|ought to)(?:n't| not)? have\b|\b(?:I|we) should've\b|"
    r"\b(?:that's|that is|it's|it is|it was|this is|this was|that was) (?:all |entirely )?on (?:me|us)\b|"
    r"\b(?:I|we) (?:take|accept) (?:full |complete |total )?(?:responsibility|the blame)\b|"
    r"\bthe (?:fault|mistake|blame|error) (?:is|was|lies|lay) (?:entirely |all )?(?:mine|ours|with (?:me|us))\b|"
    r"\b(?:I|we) (?:didn't|did not|failed to|forgot to|never) (?:check|test|verify|confirm|follow|review|double-check)\b|"
    r"\bno excuse\b|\b(?:I|we) (?:messed|screwed) up\b|\b(?:I|we) dropped the ball\b|\b(?:I|we) got (?:it|this|that) wrong\b|"
    r"\b(?:because of|due to) (?:my|our) (?:own )?(?:delay|lateness|mistake|error|fault|oversight|carelessness|negligence|"
    r"slip|failure|mix-?up|misunderstanding|miscommunication|omission|lapse)\b"
)
# What the reader went through ("I know you had to postpone your launch"): impact owed to them, not the story.
_IMPACT_SENTENCE = rule_pattern(
    r"\byou (?:had to|were|lost|missed|spent|waited|couldn't|could not)\b|\bI (?:know|understand|realise|realize) (?:that |how )?"
)
# A sentence that puts things right or commits is not part of the story of the mistake.
_REMEDY_SENTENCE = rule_pattern(
    r"\b(?:I|we)(?:'ll| will|'ve| have| am| are|'m|'re) (?:now |also |already |just )?(?:\w+ed|sent|put|set|made|"
    r"refund\w*|credit\w*|fix\w*|replac\w*|send\w*|deliver\w*|book\w*|arrang\w*|call\w*|check\w*|make|make sure|"
    r"ensure|start\w*|add\w*|chang\w*)\b|\battached\b|\benclosed\b|\bfrom now on\b|\bgoing forward\b|"
    r"\bwill (?:be|arrive|ship|reach)\b|\b(?:is|are|has been|have been) (?:now )?(?:fixed|resolved|back|corrected|"
    r"refunded|credited|replaced)\b"
)
_CIRCUMSTANCE_SENTENCES = 3  # sentences after the apology read for the circumstances
_CIRCUMSTANCE_REACH = 600  # characters after the apology sentence, within its paragraph

# After an apology in the same sentence, "because ..." / "due to ..." introduces the circumstances.
_CAUSE = rule_pattern(r"\b(?:because|due to|owing to|on account of|as a result of|thanks to)\b")
_CAUSE_IS_EXCUSE = rule_pattern(
    r" (?!(?:of )?(?:my|our) (?:own )?(?:mistake|error|oversight|fault|carelessness|negligence|mix-?up|slip)\b)"
    r"(?!of (?:it|this|that|me|us)\b)"
    r"(?:of\b|I(?: was| wasn't| had| hadn't| got|'d|'ve been| have been| couldn't| could not| didn't have|"
    r" did not have| ran out| needed| had to)\b|we (?:were|weren't|had|got|couldn't|didn't have|ran out|needed|"
    r"had to)\b|my\b|our\b|"
    r"the\b|there\b|they\b|he\b|she\b|someone\b|somebody\b|everyone\b|everybody\b|a\b|an\b)"
)
# A dangling connective left when the explanation is cut off ("I'm sorry I was late because").
_TRAILING_CONNECTIVE = regex.compile(
    r"(?i)[\s,;:—–-]+(?:but|because|as|since|and|so|when|after|(?:which|that)\s+(?:was|were|is|are|has\s+been))$"
)

EXCUSE_WHY = (
    "Explaining the circumstances behind a mistake reads as an argument that it wasn't really your fault; "
    "the person affected is looking for ownership and a remedy, not the backstory."
)


@dataclass(frozen=True)
class ExcuseCheck(ScannedRule):
    """Circumstances offered to explain a mistake away: illness, transport, technology, workload, "because of"."""

    id: str = "excuse"
    severity: Severity = Severity.WARN
    applies_to: AppliesTo = AppliesTo.INDIVIDUAL

    def _scan(self, scan: RuleScan) -> Iterator[Finding]:
        yield from collect(
            lambda: self._phrase_findings(scan),
            lambda: self._cause_findings(scan),
            lambda: self._explanation_findings(scan),
            lambda: self._circumstance_findings(scan),
            lambda: scan.extra_findings(
                EXCUSE_WHY, lambda words: f'Delete "{words}"; keep the apology and what you will do about it.'
            ),
        )

    def _phrase_findings(self, scan: RuleScan) -> Iterator[Finding]:
        for _, match in scan.branch_matches(_EXCUSE):
            start, end = match.start(), scan.clause_end(match.end())
            yield scan.finding(start, end, EXCUSE_WHY, self._suggestion(scan, start, end))

    def _explanation_findings(self, scan: RuleScan) -> Iterator[Finding]:
        """Explanations that argue a mistake away ("it happened because", "the courier had problems"), counted only
        when the message apologises: the same words in a plain report describe rather than excuse."""
        matches = [match for _, match in scan.branch_matches(_EXPLANATION)]
        if not matches or first_apology(scan) is None:
            return
        for match in matches:
            start, end = match.start(), scan.clause_end(match.end())
            yield scan.finding(start, end, EXCUSE_WHY, self._suggestion(scan, start, end))

    def _circumstance_findings(self, scan: RuleScan) -> Iterator[Finding]:
        """The sentences right after an apology telling the circumstances ("The airport was extremely busy because of
        the strike, so the handlers didn't have time"), in a message that owns nothing: whatever the wording, the
        circumstances then stand where the ownership should be. One finding, on the first such sentence."""
        apology = first_apology(scan)
        if apology is None:
            return
        _, position = scan.sentence_bounds(apology.start(), apology.end())
        paragraph_end = scan.text.find("\n\n", position)
        reach = min(scan.limit, position + _CIRCUMSTANCE_REACH,
                    paragraph_end if paragraph_end != -1 and paragraph_end > position + 2 else len(scan.text))
        for _ in range(_CIRCUMSTANCE_SENTENCES):
            if position >= reach:
                return
            start, end = scan.sentence_bounds(position, position)
            start = max(start, position)
            while start < end and scan.text[start].isspace():
                start += 1
            end = min(end, reach)
            if start >= end:
                return
            cues = len(_CIRCUMSTANCE.findall(scan.text, start, end, timeout=scan.timeout(start, end)))
            if cues >= 2 and not scan.search(_REMEDY_SENTENCE, start, end) and not scan.search(_IMPACT_SENTENCE, start, end):
                # Only now the whole text is read for ownership: most apologies never get this far.
                if not scan.search(_TAKES_RESPONSIBILITY):
                    yield scan.finding(start, scan.clause_end(start, end - start), EXCUSE_WHY,
                                       self._suggestion(scan, start, end))
                return
            position = end

    def _cause_findings(self, scan: RuleScan) -> Iterator[Finding]:
        """"I'm sorry I missed it because ..." -- the cause clause after an apology in the same sentence."""
        for apology in apology_words(scan):
            if is_social(scan, apology):
                continue
            _, sentence_end = scan.sentence_bounds(apology.start(), apology.end())
            timeout = scan.timeout(apology.end(), sentence_end)
            cause = _CAUSE.search(scan.text, apology.end(), sentence_end, timeout=timeout)
            if cause is None or not scan.match_at(_CAUSE_IS_EXCUSE, cause.end(), reach=40):
                continue
            start, end = cause.start(), scan.clause_end(cause.end())
            yield scan.finding(start, end, EXCUSE_WHY, self._suggestion(scan, start, end))

    @staticmethod
    def _suggestion(scan: RuleScan, start: int, end: int) -> str:
        """Concrete rewrite: the apology sentence without the explanation, or the explanation deleted."""
        excerpt = scan.words(start, end)
        sentence_start, _ = scan.sentence_bounds(start, end)
        apology = first_apology(scan, sentence_start, start)
        if apology is None:
            # The explanation has a sentence of its own: quote the apology it follows (or precedes) as what to keep.
            elsewhere = first_apology(scan)
            if elsewhere is not None:
                kept_start = apology_head_start(scan, elsewhere)
                _, kept_end = scan.sentence_bounds(elsewhere.start(), elsewhere.end())
                kept_end = min(kept_end, start) if kept_start < start else kept_end
                kept = " ".join(scan.text[kept_start:kept_end].split()).rstrip(" ,;:—–-")
                if kept:
                    kept = kept if kept[-1] in ".!?" else kept + "."
                    return f'Delete "{excerpt}" and let the apology stand on its own: "{kept[0].upper() + kept[1:]}"'
        if apology is not None:
            contrast = _CONTRAST.search(scan.text, apology.end(), start, timeout=scan.timeout(apology.end(), start))
            kept_end = contrast.start() if contrast else start  # "sorry, but to be fair ..." keeps only "sorry"
            kept = scan.text[apology_head_start(scan, apology) : kept_end].rstrip(" \t\r\n,;:—–-")
            tail = len(kept) - min(len(kept), 40)  # the connective is at the very end; look only there
            kept = kept[:tail] + _TRAILING_CONNECTIVE.sub("", kept[tail:], timeout=scan.timeout(0, 40))
            if kept.strip():
                kept_words = " ".join(kept.split())
                return f'Rewrite as: "{kept_words[0].upper() + kept_words[1:]}." and delete "{excerpt}".'
        return (
            f'Delete "{excerpt}". Keep the apology and your part in it, then say what you will do, '
            'e.g. "I\'m sorry I <what you did>. I will <how you will put it right>."'
        )


# --------------------------------------------------------------------------------------------
# self-focus
# --------------------------------------------------------------------------------------------
_SELF_FOCUS = Branches(
    # so much going on / on my shoulders
    branch(
        "burden",
        "going|deal|juggle|cope|happening & much|lot|ton|loads|tons|things",
        r"\b(?:I have|I've|I had|I've had|I've got|I got|I'm dealing with|I am dealing with|I've been dealing with|"
        r"there's|there is|there's been|there has been) (?:got |had )?(?:so much|a lot|too much|a ton|way too much|"
        r"loads|tons|so many things) (?:going on|to deal with|to juggle|to cope with|happening)\b",
        before=100, after=20,
    ),
    branch(
        "burden",
        "juggling|water|straw|over|tough|hard|rough|awful|terrible|horrible|difficult|bad|brutal|stressful",
        r"\b(?:I'm|I am|I've been|I have been|I was) (?:\w+ )?juggling (?:so much|a lot|too much|everything|"
        r"(?:\w+ )?things)\b|"
        r"\b(?:barely |just )?(?:keeping|keep|kept) my head above water\b|\b(?:the|that was the) (?:final|"
        r"last) straw\b|"
        r"\b(?:tipped|pushed|sent) me over(?: the edge)?\b|"
        r"\bI(?:'ve had| have had| had|'m having| am having) (?:a|such a|one) (?:(?:really|very|super|truly) )?"
        r"(?:tough|hard|rough|awful|terrible|horrible|difficult|bad|brutal|stressful) (?:week|day|month|year|time|"
        # "a hard time interpreting the diagram" is finding something difficult, not a plea
        r"few days|few weeks)\b(?! (?:\w+ing|with|understanding)\b)", before=60, after=50,
    ),
    branch(
        "burden",
        "plate|shoulders|mind & my",
        r"\b(?:so much|a lot|too much|a ton|way too much|enough|loads|tons|the weight of the world) on my "
        r"(?:plate|shoulders|mind)\b", before=60, after=15,
    ),
    branch(
        "burden",
        "stretched",
        r"\bI(?:'m| am|'ve been| have been| feel) (?:\w+ ){0,2}?stretched (?:so |too |really |very |way too |as )?thin\b",
        before=50, after=25,
    ),
    branch(
        "effort",
        "everything|all & doing|did|tried|trying",
        r"\bI(?:'m| am|'ve been| have been| was| did)? (?:\w+ )?(?:doing|did|tried|trying) (?:everything|all) I "
        r"(?:can|could|possibly can)\b(?! to (?:fix|make|sort|resolve|get|put|correct|help you|find|repair|recover|"
        r"undo)\b)", before=45, after=70,
    ),
    branch("plea", "what & more|else",
           r"\bwhat (?:more|else) do you want(?: from me)?\b|\bwhat (?:more|else) can I do\?",
    before=5, after=40),
    # doing my best
    branch(
        "effort",
        "best",
        r"\bI(?:'m| am|'ve been| have been| was| did)? (?:just |really |honestly |only |truly )?(?:doing|trying|did|"
        r"tried) (?:the |my )?(?:very )?best(?: I can| I could)?\b(?! to (?:fix|make|sort|resolve|get|put|correct|"
        r"help you|find|repair|recover|undo)\b)", before=60, after=70,
    ),
    # only trying to help
    branch(
        "intent",
        "trying",
        rf"\bI{_I_WAS_OR_AM} (?:only |just |simply |merely |genuinely )?trying to (?:help|be helpful|"
        r"do (?:the right thing|my job|you a favou?r|what's best))\b", before=40, after=50,
    ),
    branch(
        "intent",
        "help|well|intentions",
        r"\bI (?:only |just |simply )?(?:wanted|meant|tried) to help\b|\bI meant well\b|"
        r"\b(?:my )?intentions were good\b|"
        r"\bwith the best (?:of )?intentions\b", before=35, after=25,
    ),
    # nobody helps me
    branch(
        "alone",
        "helping|helped|helps|supporting|supported|supports|backing|backed|backs|help|support|listens|listening|"
        "listened|cares|cared & nobody|one",
        r"\b(?:nobody|no one|no-one)(?: \w+){0,4}? (?:helping|helped|helps|supporting|supported|supports|backing|"
        r"backed|"
        r"backs|help|support|listens to|listening to|listened to|cares about|cared about) (?:me|us)\b",
        before=70, after=25,
    ),
    branch(
        "alone",
        "appreciate|appreciates|notice|notices|sees|recognises|recognizes|recognise|recognize|value|values|thanks|"
        "credit|recognition|appreciation & nobody|one|never|don|do|rarely",
        r"\b(?:nobody|no one|no-one)(?: \w+){0,3}? (?:appreciates?|notices?|sees|recogni[sz]es?|values?|thanks) "
        r"(?:me|how (?:much|hard) I|what I do|my (?:work|effort)|everything I do|all I do)\b|"
        r"\bI (?:never|don't|do not|rarely) get (?:any )?(?:credit|thanks|recognition|appreciation)\b",
        before=60, after=60,
    ),
    branch("alone", "help|support|backup|one & no",
           r"\bI (?:get|got|have|had) no (?:help|support|backup|one to help)\b",
    before=25, after=20),
    branch(
        "alone",
        "own|myself|alone|only",
        r"\bI(?:'m| am|'ve been| have been| was) (?:all )?(?:on my own|by myself|alone|the only one) (?:here|with this|"
        r"on this|doing|who)\b|\bI have to do (?:everything|it all) (?:myself|alone|on my own)\b", before=50, after=30,
    ),
    # my job is at risk
    branch(
        "stakes",
        "lose",
        rf"\b(?:if I lose|I{_I_COULD} lose) (?:this|my|your|the) (?:job|position|role|contract|bonus|account|business|"
        r"client|custom|customer)\b", before=30, after=30,
    ),
    branch(
        "stakes",
        "fired|sacked|let|written|trouble",
        r"\b(?:if I|I(?: could| might| may| will|'ll| am going to|'m going to|'m gonna| am gonna| would))"
        r"(?: (?:get|be|am|'m))? (?:fired|sacked|let go|written up|in (?:so much|big|real|serious|a lot of) trouble)\b",
        before=50, after=40,
    ),
    branch(
        "stakes",
        "riding|trouble|afford|boss|manager",
        r"\bI(?:'ve got| have got| have|'ve) (?:a lot|so much|everything|a great deal) riding on\b|"
        r"\bI(?:'m| am) (?:already |still )?in (?:enough |real |big |serious )?trouble with my (?:manager|boss|lead|supervisor)\b|"
        r"\bI (?:can't|cannot|can not) afford (?:another|a second|one more|any more) (?:complaint|mistake|escalation|"
        r"strike|bad review)\b|"
        r"\b(?:explain|justify) (?:this|it|that) to my (?:boss|manager|lead|supervisor)\b",
        before=60, after=50,
    ),
    # pleas to spare the sender: "please don't escalate this", "spare a thought for me", "I'm the one who has to"
    branch(
        "plea",
        "escalate|report|complain|hold|thought|one|idea|think|chance|head|side|point|perspective|understand|sink|ruin|"
        "destroy|finish",
        r"\b(?:please |so please |but please )?(?:don't|do not) (?:escalate|report|complain about|hold) (?:this|it|that|me)"
        r"(?: against me)?\b|\bspare a thought for me\b|\bI(?:'m| am) the one (?:who|that)(?:'s| has| had| will| gets| got)\b|"
        r"\byou (?:have|'ve got) no idea how (?:hard|difficult|stressful|tough|exhausting)\b|"
        r"\b(?:change|changes|affect|affects) (?:what|how) you (?:think|feel) (?:of|about) me\b|"
        r"\b(?:give|giving) me (?:one more|another|a second|a last) chance\b|\bwill have my head\b|"
        r"\bsee (?:things|it|this) from my (?:side|point of view|perspective)\b|"
        r"\byou (?:have|'ve got) no idea how (?:chaotic|busy|crazy|hectic|much)\b|"
        r"\bplease understand (?:that )?(?:I|we)\b|\b(?:could|would|will|might) (?:sink|ruin|destroy|finish) (?:us|me|our "
        r"(?:small )?business)\b|\bthink of (?:us|me|the \w+ of us) before\b",
        before=40, after=60,
    ),
    # the trouble is the sender's: "difficult this has been for me", "an awful day for me", "working here is tough"
    branch(
        "burden",
        "me & for",
        r"\b(?:hard|difficult|stressful|tough|awful|terrible|horrible|rough|bad|exhausting|upsetting)"
        r"(?: (?:week|day|month|time|few days|few weeks))? (?:this|it|that|things) (?:has|have|had) been for me\b|"
        r"\b(?:(?:a|an|such a|one) )?(?:really |very |truly )?(?:stressful|awful|terrible|horrible|rough|hard|tough|difficult|"
        r"exhausting|bad) (?:week|day|month|time|year|few days|few weeks|few months) for me\b|"
        r"\b(?:isn't|is not|isn't|hasn't been|has not been) (?:\w+ )?easy for me\b|"
        r"\bfor me (?:as well|too)\b|"
        r"\bfor me (?:it|this) (?:is|was|has been) (?:also )?(?:a )?(?:very |really )?(?:hard|difficult|tough|stressful|bad) "
        r"(?:time|period|week|month|year)\b",
        before=90, after=20,
    ),
    branch(
        "burden",
        "working|job|place|role|freelancing|work|business & tough|hard|difficult|stressful|nightmare|exhausting|brutal",
        r"\b(?:working here|this job|this place|this role|my job|freelancing|running (?:a|this|our) (?:small )?business|"
        r"(?:this|our) (?:small )?business) (?:has been|is|'s been) (?:really |so |incredibly |very )?"
        r"(?:tough|hard|difficult|stressful|a nightmare|exhausting|brutal)\b|"
        r"\b(?:a )?(?:really |very )?(?:tough|hard|difficult) (?:season|year|time) for (?:our|my) (?:small )?business\b",
        before=40, after=70,
    ),
    branch(
        "burden",
        "day|shouting|shouted|feet",
        r"\b(?:not|n't|never) had a (?:single )?day off\b|\bshout(?:ing|ed) at me\b|\bon my feet for\b",
        before=30, after=30,
    ),
    branch(
        "burden",
        "easy|worst|place|hurts|put|only|best|blamed",
        r"\bit(?:'s| is) not easy being\b|\bthe worst (?:week|day|month|year) of my life\b|"
        r"\bI(?:'ve| have) been all over the place\b|\bI(?:'d| had) put so much (?:work|effort|time) into\b|"
        r"\b(?:it )?(?:really |truly )?hurts me\b|\bnot at my best\b|\bbeing blamed for everything\b|"
        r"\bI put so much (?:of my own )?(?:work|effort|time|energy) into\b|\bthere(?:'s| is) only me\b",
        before=40, after=40,
    ),
    branch("stakes", "line & on", r"\bmy (?:job|neck|head|career|reputation) (?:is|'s) on the line\b",
    before=45, after=5),
    branch("stakes", "know & what", r"\bI (?:don't|do not) know what I(?:'m| am|'ll| will) (?:going to |gonna )?do\b",
    before=20, after=40),
    # my feelings
    branch(
        "feelings",
        "feel|felt|feeling",
        rf"\bI(?: feel| felt|'m feeling| am feeling|'ve been feeling| have been feeling) {_INTENSIFIER}{{0,2}}"
        r"(?:terrible|awful|horrible|dreadful|sick about|stupid|ashamed|mortified|embarrassed|guilty|miserable|"
        r"like (?:an? )?(?:idiot|fool|failure|moron|complete idiot|total failure))\b|"
        r"\bI(?: feel| felt|'m feeling) (?:so|really|just|very|incredibly|pretty) bad\b", before=5, after=80,
    ),
    branch(
        "feelings",
        "mortified|devastated|embarrassed|ashamed|gutted|mess|wreck|beside|stressed|overwhelmed|exhausted|burned|"
        "burnt|heartbroken|wits|end|breaking|pressure|stress|sleep|sleeping",
        rf"\bI(?:'m| am|'ve been| have been| was) {_INTENSIFIER}{{0,2}}(?:mortified|devastated|embarrassed|ashamed|"
        r"gutted|a (?:mess|wreck)|beside myself|stressed(?: out)?|overwhelmed|exhausted|burn(?:ed|t) out|heartbroken|"
        r"at (?:my|the) (?:wits'? end|end of my rope|breaking point)|under (?:so much|a lot of|enormous|huge|immense|"
        r"a ton of|a great deal of) (?:pressure|stress)|losing sleep|not sleeping)\b"
        # overwhelmed with gratitude or joy is no plea for sympathy
        r"(?! (?:with|by) (?:gratitude|joy|thanks|happiness|pride|emotion|the support|the kindness|kindness|"
        r"the response|excitement)\b)", before=80, after=60,
    ),
    branch(
        "feelings",
        "myself|sleep|slept",
        r"\b(?:beating|kicking) myself\b|\b(?:losing|lost) (?:so much |a lot of )?sleep\b|"
        r"\bI (?:haven't|have not|couldn't|could not|can't|cannot) (?:slept|sleep)\b", before=40, after=5,
    ),
    # this is hard for me
    branch(
        "hard-for-me",
        "hard|difficult|tough|stressful|rough|awful|exhausting|upsetting|painful|embarrassing|nightmare|draining|"
        "humiliating & me",
        r"\b(?:this|it|that|the whole thing|this whole thing|this week|this situation)(?:'s| is| was| has been|"
        r"'s been) "
        r"(?:(?:so|really|incredibly|very|just|extremely|super|such a|a|an|an absolute|a total|a real|too) ){0,2}"
        r"(?:hard|difficult|tough|stressful|rough|"
        r"awful|exhausting|upsetting|painful|embarrassing|nightmare|draining|humiliating) (?:for|on) me\b",
        before=80, after=15,
    ),
    branch(
        "hard-for-me",
        "idea|know|imagine|believe & how",
        r"\byou (?:have no idea|don't know|do not know|can't imagine|cannot imagine|wouldn't believe) how "
        r"(?:\w+ ){0,2}?(?:stressful|hard|difficult|tough|awful|bad|terrible|busy|much|crazy|rough|exhausting|"
        r"overwhelming|horrible)\b", before=20, after=70,
    ),
    # pleas for sympathy
    branch(
        "plea",
        "mad|angry|upset|cross & me",
        r"\bplease (?:don't|do not) be (?:mad|angry|upset|cross) (?:at|with) me\b|\bI hope you(?:'re| are) not "
        r"(?:mad|angry|upset|cross) (?:at|with) me\b", before=40, after=15,
    ),
    branch(
        "plea",
        "position|situation|side|perspective",
        r"\b(?:understand|see|appreciate|consider) (?:my|the) (?:position|situation|side|perspective) I(?:'m| am| was) "
        r"in\b|\b(?:try to |please )(?:understand|see|appreciate|consider) my (?:position|situation|side|"
        r"perspective)\b", before=45, after=20,
    ),
)

SELF_FOCUS_WHY = (
    "This moves the attention to your own troubles, which asks the person you let down to comfort you; "
    "it does nothing to repair what happened to them."
)


def _self_focus_suggestion(excerpt: str) -> str:
    return (
        f'Replace "{excerpt}" with a sentence about them, e.g. "I know this left you <what it cost them: '
        'the late night, the missed deadline>."'
    )


@dataclass(frozen=True)
class SelfFocusCheck(ScannedRule):
    """The apology turned toward the sender's own troubles, asking the reader for sympathy."""

    id: str = "self-focus"
    severity: Severity = Severity.WARN
    applies_to: AppliesTo = AppliesTo.INDIVIDUAL

    def _scan(self, scan: RuleScan) -> Iterator[Finding]:
        yield from collect(
            lambda: phrase_findings(scan, _SELF_FOCUS, SELF_FOCUS_WHY, _self_focus_suggestion),
            lambda: scan.extra_findings(SELF_FOCUS_WHY, _self_focus_suggestion),
        )


# --------------------------------------------------------------------------------------------
# gratitude-swap
# --------------------------------------------------------------------------------------------
_GRATITUDE = branch(
    "thanks",
    "thank|thanks|thx|cheers|appreciate|value|grateful & patience|waiting|understanding|bearing|holding|hanging|"
    "sticking|putting|flexibility|forbearance|tolerance|grace|patient|flexible|giving",
    r"\b(?:thank you|thanks|many thanks|thanks a lot|thx|cheers|(?:I|we) (?:really |truly |do )?(?:appreciate|value)|"
    r"appreciate|"
    r"grateful)(?: (?:so|very) much| a lot| again| kindly| all| heaps| a ton| a million| loads| tons| everyone| "
    r"everybody| folks| team)?(?: (?:so|very) much)? (?:(?:again )?for )?"
    r"(?:(?:your|all your|the|everyone's|you all|y'all|you) )?(?:(?:continued|ongoing|kind|great|infinite|incredible|"
    r"amazing|enormous|endless|extreme|extra|tremendous) )?(?:patience|waiting|understanding|bearing with (?:me|us)|"
    r"holding(?: on)?|hanging (?:in|on|tight)|sticking with (?:me|us)|putting up with|flexibility|forbearance|"
    r"tolerance|grace|"
    r"being (?:so |very )?(?:patient|understanding|flexible)|waiting (?:patiently|for me|for us|on me|on us)|"
    r"giving (?:us|me) (?:the |some |a little |more )?time)\b",
    before=30, after=150,
)

_GRATITUDE_FAMILY = Branches(_GRATITUDE)

GRATITUDE_SWAP_WHY = (
    "Thanking someone for their patience glosses over the fact that you kept them waiting; thanks can "
    "follow an apology, but here it stands in for one."
)


@dataclass(frozen=True)
class GratitudeSwapCheck(ScannedRule):
    """Thanks for patience or waiting used where an apology belongs (no real apology anywhere in the text)."""

    id: str = "gratitude-swap"
    severity: Severity = Severity.WARN
    applies_to: AppliesTo = AppliesTo.INDIVIDUAL

    def _scan(self, scan: RuleScan) -> Iterator[Finding]:
        thanks = [match for _, match in scan.branch_matches(_GRATITUDE_FAMILY)]
        # Team phrases are more ways of saying thanks-for-waiting: the same condition applies to them.
        thanks.extend(scan.extra_matches())
        # Only a real apology lets the thanks stand: "sorry if ..." or "apologies for any ..." do not count.
        if not thanks or first_real_apology(scan) is not None:
            return
        yield from select(
            scan.finding(m.start(), m.end(), GRATITUDE_SWAP_WHY, self._suggestion(scan.words(m.start(), m.end())))
            for m in thanks
        )

    @staticmethod
    def _suggestion(excerpt: str) -> str:
        lowered = excerpt.lower()
        if any(word in lowered for word in ("understanding", "flexib", "grace", "tolerance", "forbearance")):
            return (
                'Rewrite as: "I\'m sorry I <what you did>, and thank you for being so understanding." '
                f'Put the apology first; keep "{excerpt}" only after it.'
            )
        return (
            'Rewrite as: "I\'m sorry I kept you waiting." '
            f'If you want to thank them too, do it after the apology, not instead of it ("{excerpt}").'
        )


# --------------------------------------------------------------------------------------------
# incomplete-apology
# --------------------------------------------------------------------------------------------
_OWNERSHIP = Branches(
    branch(
        "ownership",
        "i|we & made|caused|forgot|missed|broke|dropped|messed|screwed|overlooked|misread|misunderstood|miscalculated|"
        "mixed|deleted|lost|sent|failed|neglected|botched|bungled|overbooked|double|mislabeled|mislabelled|let|got|"
        "wrong|didn|did|should|shouldn|ought|turned|submitted|handed|delivered|late|one|responsible|take|own|accept|"
        "slipped|blew|gave|blame",
        r"\b(?:I|we)(?: (?:really|totally|completely|just|clearly|accidentally|mistakenly|wrongly|also|simply))? "
        r"(?:made|caused|forgot|missed|broke|dropped|messed|screwed|overlooked|misread|misunderstood|miscalculated|"
        r"mixed|deleted|lost|sent|failed|neglected|botched|bungled|overbooked|double-booked|mislabel(?:l)?ed|"
        r"let (?:you|the team|everyone|you all) down|got (?:it|this|that|the \w+) wrong|was wrong|were wrong|"
        r"didn't|did not|should have|should've|shouldn't have|should not have|ought to have|turned|submitted|"
        r"handed|delivered|was late|were late|was the one|am responsible|was responsible|"
        r"take (?:full |complete |total |sole )?responsibility|own (?:this|that|it|the mistake|my mistake)|"
        r"accept (?:full |complete |total )?(?:responsibility|the blame|blame)|slipped up|blew it|dropped the ball|"
        r"gave you (?:the )?wrong)\b|\bI(?:'m| am) (?:late|responsible|to blame)\b", before=25, after=70, start=True),
    branch(
        "ownership",
        "i|we & wrong|mis*",
        r"\b(?:I|we) \w+(?: \w+)? (?:the|a|an|your) wrong\b|\b(?:I|we)(?: \w+ly)? mis(?:read|spelled|spelt|typed|"
        r"quoted|"
        r"placed|labell?ed|judged|handled|managed|heard|understood|remembered|calculated|counted|routed|filed|sent|"
        r"named|dated|priced)\b", after=60, start=True),
    branch(
        "ownership",
        "mistake|fault|error|bad|responsibility|oversight|mess|blunder|doing|slip|screw|screwup|failure|mix|mixup & "
        "my|our",
        r"\b(?:my|our) (?:own )?(?:mistake|fault|error|bad|responsibility|oversight|mess|blunder|doing|slip|"
        r"screw-?up|failure|mix-?up)\b", before=20, after=15,
    ),
    # A wrong step told as what we did: "I booked standard delivery instead of express", "I entered it wrong".
    branch(
        "ownership",
        "i|we & instead|wrong|without|although|though|despite",
        r"\b(?:I|we) (?:\w+ )?(?:\w+ed|put|set|sent|gave|wrote|took|made|read|got|left|let|ran|built|chose|picked|told|"
        r"sold|paid|kept|forgot|brought|bought|did)\b[^.!?\n]{0,80}?\b(?:instead of|wrong(?:ly)?|without (?:first )?"
        r"(?:checking|testing|asking|telling|confirming|reviewing|looking|reading|warning))\b|"
        r"\b(?:I|we)\b[^.!?\n]{0,120}?\b(?:although|even though|despite the fact that) you(?:'d| had)? (?:already )?"
        r"(?:told|asked|warned|reminded|mentioned|said)\b",
        after=200, start=True),
    branch(
        "ownership",
        "fault|mistake|error|blame|oversight & was|is|lies|lay|rests",
        r"\b(?:the )?(?:fault|mistake|error|blame|oversight) (?:was|is|lies|lay|rests) (?:entirely |all |completely |squarely )?"
        r"(?:ours|mine|with (?:us|me)|on (?:us|me)|(?:made )?(?:in|by|at) (?:our|my|us|me)\b)",
        before=10, after=60,
    ),
    branch("ownership", "me|us & on", r"\b(?:that's|that is|this is|it's|it is|it was|this was|that was|this one's|"
           r"that one's) (?:all )?on (?:me|us)\b", before=40, after=5),
    branch(
        "ownership",
        "sorry|apologise|apologize|apologies|apology",
        r"\b(?:sorry|apologi[sz]e|apologies|apology) (?:for|about) (?:my|our|(?!(?:the|any|this|that|your|anything|"
        r"nothing|something)\b)\w+ing)\b|"
        r"\b(?:sorry|apologi[sz]e|apologies) (?:that )?(?:I|we)\b(?! (?:feel|felt|think|thought|hope|know|understand|"
        r"want|wanted|would|'d|can|could|will|'ll|need|must|have to|had to|may|might)\b)", after=60, start=True),
)
_IMPACT = Branches(
    branch("impact", "you & had|needed", r"\byou(?:'ve| have)? (?:had|needed) to\b", after=30, start=True),
    branch(
        "impact",
        "meant|means|forced|left|put|cost|caused|made|kept|created|added|ruined|wasted|delayed|disrupted|affected|hurt|"
        "embarrassed & you|your",
        # Only whether it is there matters, so what comes before the verb is a look-behind and the verb anchors it.
        r"(?<=\b(?:this|that|it|which|my \w+) (?:has )?)(?:meant|means|forced|left|put|cost|caused|made|kept|created|"
        r"added|ruined|wasted|delayed|disrupted|affected|hurt|embarrassed) (?:you|your)\b",
        before=16, after=30, start=True,
    ),
    branch(
        "impact",
        "cost|costing|caused|causing|put|left|kept|made|forced|inconvenienced|affected|impacted|hurt|embarrassed|"
        "let|delayed|disrupted|wasted & you",
        r"\b(?:cost|costing|caused|causing|put|left|kept|made|forced|inconvenienced|affected|impacted|hurt|embarrassed|"
        r"let|delayed|disrupted|wasted) you\b", after=30, start=True),
    branch(
        "impact",
        "i & know|realise|realize|recognise|recognize|understand|appreciate|see|imagine|aware",
        r"\bI (?:know|realise|realize|recognise|recognize|understand|appreciate|can see|can imagine|imagine|am aware|"
        r"'m aware|see) (?:that |how |what |now )?(?:this|that|it|my \w+|the \w+|an? \w+|you|your|much|(?:worrying|frustrating|"
        r"stressful|annoying|upsetting|inconvenient|disruptive|disappointing|difficult|hard|embarrassing|unsettling|"
        r"confusing|awkward|costly|serious)\b)", after=60, start=True),
    # What it did to them, told as their experience: "your whole team sat waiting", "you were charged", "it must
    # have been a scramble". Each wording has its own words, so it is only tried where they occur.
    branch(
        "impact",
        "your & sat|waited|missed|lost|had|were|was|could|couldn|stuck|spent|ended",
        r"\byour (?:\w+ ){0,2}?(?:team|staff|customers|clients|on-?call|colleagues|family|guests|students|patients|"
        r"users|readers|department|manager|boss)\b[^.!?\n]{0,40}?\b(?:sat|waited|missed|lost|had to|were left|was left|"
        r"could not|couldn't|were stuck|got stuck|spent|ended up)\b",
        after=90, start=True),
    branch(
        "impact",
        "you & were|came|drove|travelled|traveled|turned|showed|made|rearranged|cancelled|canceled|paid|had",
        r"\byou were (?:\w+ )?(?:charged|billed|overcharged|double-charged|sent|given|told|asked|moved|booked|dropped|"
        r"removed|locked out|logged out|cut off|without)\b|"
        r"\byou (?:came in|drove|travell?ed|turned up|showed up|came all|made the trip|rearranged|cancell?ed|paid)\b|"
        r"\byou had (?:\w+ ){0,3}?(?:waiting|sitting|standing|stuck)\b",
        after=90, start=True),
    branch("impact", "nothing & for", r"\bfor nothing\b", before=5, after=12),
    branch(
        "impact",
        "because|due & this|that|it|me|us|my|our",
        r"\b(?:because of|due to) (?:this|that|it|me|us|my \w+|our \w+),? (?:you|your)\b",
        after=60, start=True),
    branch(
        "impact",
        "lost & days|day|hours|hour|weeks|week|morning|afternoon|evening|night|shift|shifts",
        r"\blost (?:two|three|four|five|\d+|a|an|the|half a|a whole|a full) (?:\w+ )?(?:days?|hours?|weeks?|morning|afternoon|"
        r"evening|night|shift|shifts)(?: of\b)?",
        after=60, start=True),
    branch("impact", "must & been", r"\b(?:it|that|this) must have been\b", before=8, after=25),
    # The consequence told as a clause: "so the present you ordered didn't arrive in time", "your rent was late as
    # a result".
    branch(
        "impact",
        "so|result|meant|meaning & you|your",
        r"\b(?:so|and so|which meant|meaning)\b(?: that)?[^.!?\n]{0,80}?\b(?:you|your)\b[^.!?\n]{0,60}?\b(?:didn't|did not|"
        r"wasn't|was not|couldn't|could not|missed|lost|had to|slipped|went to|were|was|got|arrived)\b|"
        r"\byour [^.!?\n]{0,60}?\b(?:was|were|got|has been) (?:\w+ )?(?:late|delayed|lost|missed|cancell?ed|rejected|"
        r"refused|charged)\b[^.!?\n]{0,20}?\bas a result\b",
        before=80, after=160),
    branch(
        "impact",
        "you",
        r"\byou (?:missed|lost|were left|ended up|couldn't|could not|weren't able|were not able|waited|spent|had no|"
        r"were kept|were stuck|got stuck|must have|must be|were probably|were counting|were relying|"
        r"had been counting|had been relying)\b|"
        r"\byou were (?:\w+ )?(?:frustrated|disappointed|annoyed|upset|angry|stressed|embarrassed|inconvenienced|"
        r"worried|let down|blindsided|left waiting)\b", after=70, start=True),
    branch(
        "impact",
        "wasted|wasting|wasteful",
        r"\b(?:wasted|wasting) (?:a |an |your |the |two |three |several |whole )?(?:\w+ )?(?:trip|journey|morning|afternoon|"
        r"day|evening|time|visit|call|hours?|week|weekend)\b",
        after=60, start=True),
    branch(
        "impact",
        "extra|lost|wasted|ruined|missed & time|evening|weekend|hours|day|night|morning|afternoon|money|work|deadline|"
        "flight|meeting|appointment",
        r"\b(?:your|the) (?:extra|lost|wasted|ruined|missed) (?:time|evening|weekend|hours|day|night|morning|afternoon|"
        r"money|work|deadline|flight|meeting|appointment)\b", before=10, after=30,
    ),
    branch(
        "impact",
        "end|side|plate|work|hours|effort|time|frustrating|disappointing|stressful|inconvenient|annoying|upsetting|"
        "embarrassing|difficult|hard|unfair|expense|evening|weekend|plans|schedule|day & you|your",
        r"\bon your (?:end|side|plate)\b|\b(?:extra|more|additional|double) (?:work|hours|effort|time) (?:for|"
        r"on) you\b|"
        r"\b(?:frustrating|disappointing|stressful|inconvenient|annoying|upsetting|embarrassing|difficult|hard|unfair) "
        r"(?:for|on) you\b|\bat your expense\b|\byour (?:evening|weekend|time|plans|schedule|day) (?:was|were|got)\b",
        before=35, after=30,
    ),
)
_AMENDS_VERBS = (
    # (fixing our own job or process is a commitment for next time, not amends to the reader)
    r"(?:refund(?:ed|ing)?|redo(?:ne|ing)?|redid|cover(?:ed|ing)?|fix(?:ed|ing)?(?! (?:the|our|a) (?:[\w-]+ )?(?:job|process|"
    r"system|bug|script|template|pipeline|config\w*|tool|code|form|page|check|workflow|integration|cron)\b)|replac(?:e|ed|ing)|"
    r"resen[dt](?:ing)?|re-send|reimburs(?:e|ed|ing)|compensat(?:e|ed|ing)|credit(?:ed|ing)?|waiv(?:e|ed|ing)|"
    r"rebook(?:ed|ing)?|reschedul(?:e|ed|ing)|correct(?:ed|ing)?|restor(?:e|ed|ing)|(?:take|took|taking) (?:over|on|"
    r"care of|some|a few|the rest|your|(?:\w+ ){0,3}off\b)|handl(?:e|ed|ing)|pick(?:ed)? up|finish(?:ed|ing)?|"
    r"complet(?:e|ed|ing)|stay late|buy you|sen[dt](?:ing)? you|attach(?:ed|ing)?|offer(?:ed|ing)?|owe you|absorb|"
    r"pa(?:y|id) for|expedit(?:e|ed|ing)|upgrad(?:e|ed|ing)|repair(?:ed|ing)?|recover(?:ed|ing)?|"
    r"sort(?:ed|ing)? (?:it|this|that) out|(?:re)?book(?:ed|ing)? (?:you|it|a|an|the|another)|"
    r"pa(?:y|id|ying) (?:the|your|for|you|back)|(?:give|gave|giving|given) you|add(?:ed|ing)? (?:\d[\d,.]* |a |an |two |three |"
    r"one )?(?:free |extra |bonus )?(?:miles|points|credit|days?|weeks?|months?|nights?|sessions?|hours?)|"
    r"order(?:ed|ing)? (?:it|you|a|an|the|another|new)|meet (?:you|whenever|at|on|tomorrow|today)|"
    r"mov(?:e|ed|ing) (?:my|our) (?:meeting|call|plans|appointment))"
)
# A remedy that has been or will be given ("a refund has been issued", "I've credited you"), not one refused.
_REMEDY_NOUNS = "refund|credit|voucher|discount|replacement|reimbursement|compensation"
# A remedy that has been or will be given ("a refund has been issued", "I've credited you"), not one refused. Only
# whether one is there matters (amends, deflection), so the determiner is looked for behind the noun, and each
# wording is tried only where the noun or the verb occurs.
REMEDY_GIVEN: tuple[Branch, ...] = (
    branch(
        "remedy",
        _REMEDY_NOUNS + "|goodwill",
        r"(?<=\b(?:a|your|the|full|partial|an|this) (?:full |partial |extra |additional )?"
        r"(?:[£$€] ?\d[\d.,]* |\d[\d.,]* ?(?:%|[£$€]|euros?|dollars?|pounds?) )?)(?:refund|credit|voucher|"
        r"discount|replacement|reimbursement|compensation|goodwill (?:payment|gesture|credit)) (?:has been|have been|was|"
        r"is|will|should|ships|arrives|goes|went|of|for|is on)\b",
        after=60,
        start=True,
    ),
    branch(
        "remedy",
        "issued|processed|sent|approved|arranged|applied|added|booked|dispatched|shipped|ordered|given|offered|raised|"
        f"started|initiated & {_REMEDY_NOUNS}",
        r"\b(?:issued|processed|sent|approved|arranged|applied|added|booked|dispatched|shipped|ordered|given|offered|"
        r"raised|started|initiated) (?:you )?(?:a |the |your |an )?(?:full |partial |extra )?"
        r"(?:[£$€] ?\d[\d.,]* |\d[\d.,]* ?(?:%|[£$€]|euros?|dollars?|pounds?) )?(?:refund|credit|voucher|"
        r"discount|replacement|reimbursement|compensation)\b",
        before=30, after=60,
        start=True,
    ),
)
_AMENDS = Branches(
    branch("amends", "let & me", r"\blet me\b(?! know\b)", after=20, start=True),
    # Put right without a verb of ours: "has been refunded in full", "is back on your card", "at our cost".
    branch(
        "amends",
        "been|back|cost|expense|charge|free|house|less|complimentary|and|also|then|to|go|was|were|is|are|like",
        r"\b(?:has|have|had) (?:now |already |also )?been (?:\w+ )?(?:refunded|credited|reimbursed|replaced|waived|"
        r"resent|re-sent|rebooked|corrected|fixed|restored|relabell?ed|re-?run|redone|reissued|re-issued|reversed|"
        r"cancell?ed|updated|reprinted|re-?shipped|sent out|expedited)\b|"
        r"\b(?:is|are) (?:now )?back (?:on|in) your (?:card|account|wallet|balance)\b|"
        r"\b(?:was|were|is|are) (?:now |already |also )?(?:refunded|credited|reimbursed|replaced|waived|reversed)\b|"
        r"\b(?:is|are) (?:free|free of charge|on us|on the house)\b|"
        r"\b(?:I|we)(?:'d| would) like to (?:set up|arrange|organi[sz]e|offer|make up)\b|"
        r"\bat (?:no|our|my) (?:cost|expense|charge)\b|\b(?:no|free of) charge\b|\bon the house\b|"
        r"\b(?:a|one|two|three|\d+) (?:\w+ )?(?:months?|weeks?|days?|years?) (?:of )?free\b|"
        r"\bone less thing\b|\bto (?:set|put|make) (?:that|this|it|things) right\b|"
        r"\b(?:I|we)(?:'ll| will)? go (?:through|over) (?:\w+ ){0,3}?with you\b|"
        r"\b(?:free|complimentary) (?:breakfast|night|nights|upgrade|delivery|shipping|month|months|session|lesson|service|"
        r"parking|drinks?|dessert|coffee|meal|room|ticket|class|repair|replacement|consultation|check-?up|visit)\b|"
        r"\b(?:and|also|then) (?:have |also )?(?:refunded|credited|reimbursed|waived|replaced|rebooked|resent|re-sent|"
        r"covered|compensated|upgraded|expedited) (?:you|your|the|it|them)\b",
        before=40, after=60),
    branch(
        "amends",
        "gone|walked|sat|gave|taken|gone",
        r"\b(?:I|we)(?:'ve| have)? (?:gone|been) through (?:\w+ ){0,4}?with (?:you|your)\b|"
        r"\b(?:I|we)(?:'ve| have)? (?:walked|talked) (?:you|your \w+) through\b|"
        r"\b(?:I|we)(?:'ve| have)? taken (?:\d+ ?%|[£$€]\d[\d.,]*|\d[\d.,]* ?(?:euros?|dollars?|pounds?)|a|the|some) "
        r"(?:\w+ ){0,3}?off\b",
        before=40, after=80),
    branch(
        "amends",
        "make|making|made",
        r"\b(?:make|making|made) (?:it|this|that|things) (?:up to you|right)\b|\bmake up for\b|\bmake amends\b",
        after=40, start=True),
    branch(
        "amends",
        "i|we & refund|refunded|refunding|redo|redone|redoing|redid|cover|covered|covering|fix|fixed|fixing|replace|"
        "replaced|replacing|resend|resent|resending|send|reimburse|reimbursed|reimbursing|compensate|compensated|"
        "compensating|credit|credited|crediting|waive|waived|waiving|rebook|rebooked|rebooking|reschedule|rescheduled|"
        "rescheduling|correct|corrected|correcting|restore|restored|restoring|take|took|taking|handle|handled|handling|"
        "pick|picked|finish|finished|finishing|complete|completed|completing|stay|buy|sent|sending|attach|attached|"
        "attaching|offer|offered|offering|owe|absorb|pay|paid|expedite|expedited|expediting|upgrade|upgraded|upgrading|"
        "repair|repaired|repairing|recover|recovered|recovering|sort|sorted|sorting|book|booked|booking|rebook|"
        "rebooked|order|ordered|ordering|meet|move|moved|moving|give|gave|giving|given|add|added|adding|paying|taken",
        r"\b(?:I|we)(?:'ll| will| can| could| would like to|'d like to| am going to|'m going to| are going to|"
        r"'re going to| have|'ve| already| just| now|'m| am| are|'re| would be happy to|'d be happy to|'m happy to|"
        r" am happy to)? (?:(?:happily|gladly|personally|also|already|now|immediately|right away|gone ahead and) )?"
        rf"{_AMENDS_VERBS}\b", before=50, after=100, start=True),
    # a concrete delivery promised now ("I'll send the file today") also puts things right
    branch(
        "amends",
        "i|we & send|sending|deliver|delivering|share|sharing|post|posting|bring|bringing|get|getting|update|"
        "updating|rework|reworking|rerun|rerunning|run|running|arrange|arranging|book|booking|call|calling",
        r"\b(?:I|we)(?:'ll| will| can| am going to|'m going to| are going to|'re going to|'m| am|'re| are) "
        r"(?:(?:personally|also|now|immediately|right away|happily|gladly) )?(?:send(?:ing)?|deliver(?:ing)?|"
        r"shar(?:e|ing)|post(?:ing)?|bring(?:ing)?|get(?:ting)? (?:it|this|that|the \w+|you)|updat(?:e|ing)|"
        r"rework(?:ing)?|rerun(?:ning)?|re-run(?:ning)?|arrang(?:e|ing)|book(?:ing)?|call(?:ing)? you)\b",
        before=45, after=80, start=True),
    *REMEDY_GIVEN,
    branch(
        "amends",
        "corrected|updated|fixed|revised|amended & version|copy|file|invoice|report|figures|numbers|document|"
        "spreadsheet|deck|slides|link|order|booking",
        r"\b(?:corrected|updated|fixed|revised|amended) (?:version|copy|file|invoice|report|figures|numbers|document|"
        r"spreadsheet|deck|slides|link|order|booking)\b", after=40, start=True),
    # "I'll write the summary for you", "I can do the formatting for you"
    branch(
        "amends",
        "i|we & for & you",
        r"\b(?:I|we)(?:'ll| will| can|'d like to| would like to| am going to|'m going to| are going to|'re going to|"
        r"'d be happy to| would be happy to) \w+(?: \w+){0,5}? for you\b", after=110, start=True),
)
_COMMITMENT = Branches(
    # A change told as the new rule: "every status message will now be checked by a second person", "every job
    # card now has a tick box", "any future change".
    branch(
        "commitment",
        "every|each|all|any & will|now|future",
        r"\b(?:every|each|all|any) (?:[\w-]+(?:'\w+)? ){0,5}?(?:will (?:now |also )?(?:be|get|have|go|need)|(?:is|are) now|now "
        r"(?:has|have|gets?|goes|go|includes?|needs?|requires?|carries|carry))\b|\b(?:any|every) future\b",
        after=120, start=True),
    # A habit from now on: "I'll test every route before handing over", "I now check the full address".
    branch(
        "commitment",
        "i|we|before & check|test|verify|confirm|review|double|read|look|log|use|scan|copy|keep|run|ask|before|again|"
        "every|each|calendar|calendars",
        r"\b(?:I|we)(?:'ll| will| now| now always| always) (?:also |always |now )?(?:check|test|verify|confirm|review|"
        r"double-check|read|look at|log|use|scan|copy|keep|run|ask)\b[^.!?\n]{0,100}?\b(?:before|every|each|any|all)\b|"
        r"\b(?:I|we) now (?:always )?(?:check|log|test|verify|confirm|review|double-check|read|use|scan|copy|keep|run)\b|"
        r"\b(?:I|we) now (?:always )?[a-z]+ [^.!?\n]{0,60}?\b(?:every|each|before)\b|"
        r"\b(?:I|we)(?:'ve| have)? (?:put|added|set|blocked|booked|scheduled|marked) (?:[\w-]+ ){0,4}?(?:in|into) (?:my|our|both our|"
        r"your|the) calendars?\b|"
        r"\bbefore (?:I|we) (?:\w+ ){1,4}?again\b",
        after=140, start=True),
    branch(
        "commitment",
        "forward|now|here|future|next|today|henceforth|ahead|point|this|starting",
        r"\b(?:going forward|moving forward|from now on|from here on(?: out)?|in (?:the )?future|next time|from today|"
        r"henceforth|in the months ahead|from this point|for (?:all )?future|from now|from (?:this|next) (?:week|month)|"
        r"starting (?:today|now|tomorrow|this week|next week|from today))\b|\b(?:for|before|at|on|by) (?:the|your|our|my|every|each) "
        r"next (?:one|\w+)\b", before=20, after=30,
    ),
    branch(
        "commitment",
        "added|introduced|created|set",
        r"\b(?:added|introduced|created|set up) (?:a|an|another|one more) (?:[\w-]+ ){0,2}?(?:step|check|review|confirmation|alert|"
        r"reminder|test|safeguard|rule|approval|sign-?off|warning)\b",
        after=80, start=True),
    branch(
        "commitment",
        "again",
        r"\b(?:won't|will not|will never|shall not|never|not|doesn't|does not|don't|can't|"
        r"cannot) (?:\w+ ){0,3}?again\b", before=70, after=10,
    ),
    branch(
        "commitment",
        "i|we & always|sure|ensure|double|start|stop|set|change|put|add|added|commit",
        r"\b(?:I|we)(?:'ll| will| am going to|'m going to| are going to|'re going to)? (?:always|make sure|ensure|"
        r"be sure to|double-check|start|stop|set (?:up )?(?:a |an )?(?:reminder|alert|alarm|check)|change how|"
        r"change the way|put in place|add(?:ed)? (?:a |an )?(?:check|step|reminder|review|test)|commit to)\b",
        before=40, after=80, start=True),
    branch(
        "commitment",
        "set|added|put|created|changed|introduced|started|blocked|learned|learnt|fixed|automated|prevent|avoid|switched|moved|"
        "turned|enabled",
        r"\b(?:I|we)(?:'ve| have) (?:now |also )?(?:set up|added|put in place|created|changed|introduced|started using|"
        r"switched to|moved to|switched on|turned on|enabled|"
        r"blocked out|learned|learnt|fixed the process|automated)\b|\blessons? learned\b|\blearn(?:ed|t) (?:my|a|"
        r"from)\b|"
        r"\bto (?:prevent|avoid) (?:this|that|it|a repeat|a repetition|the same)\b", before=25, after=30,
    ),
)

# (branches, what the message calls the missing piece, a template sentence for the suggestion)
_PARTS: tuple[tuple[Branches, str, str], ...] = (
    (_OWNERSHIP, "ownership of the mistake", 'Own it: "I <what you did wrong>; that was my mistake."'),
    (_IMPACT, "what it cost the reader", 'Name the impact: "I know this meant you had to <what it cost them>."'),
    (_AMENDS, "an offer to make amends", 'Offer amends: "To make up for it, I will <something concrete for them>."'),
    (
        _COMMITMENT,
        "a commitment for next time",
        'Commit: "From now on I will <what changes> so this does not happen again."',
    ),
)


def _join_words(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


@dataclass(frozen=True)
class IncompleteApologyCheck(ScannedRule):
    """A real apology that lacks ownership, acknowledgement of impact, amends or a commitment for next time."""

    id: str = "incomplete-apology"
    severity: Severity = Severity.WARN
    applies_to: AppliesTo = AppliesTo.INDIVIDUAL_REAL_APOLOGY

    def _scan(self, scan: RuleScan) -> Iterator[Finding]:
        anchor = self._anchor(scan)
        if anchor is None:
            return
        missing = [(label, template) for branches, label, template in _PARTS if not scan.any_branch(branches)]
        if not missing:
            return
        message = (
            f"This apology is missing {_join_words([label for label, _ in missing])}. An apology lands when it owns "
            "the mistake, acknowledges the harm, offers to put it right and says what will change."
        )
        yield scan.finding(anchor[0], anchor[1], message, " ".join(template for _, template in missing))

    @staticmethod
    def _anchor(scan: RuleScan) -> tuple[int, int] | None:
        """The sentence holding the first real apology (or a team phrase that counts as one)."""
        apology = first_real_apology(scan) or first_apology(scan)
        from_team = False
        if apology is None and scan.extra:
            # Team phrases are extra apology wordings ("our bad", "please excuse") that anchor the check.
            apology = next(iter(scan.extra_matches()), None)
            from_team = True
        if apology is None:
            return None
        start, end = scan.sentence_bounds(apology.start(), apology.end())
        if not from_team:
            start = min(start, apology_head_start(scan, apology))
        while end > start and scan.text[end - 1].isspace():
            end -= 1
        return start, end


RULES: tuple[NonApologyCheck | ExcuseCheck | SelfFocusCheck | GratitudeSwapCheck | IncompleteApologyCheck, ...] = (
    NonApologyCheck(),
    ExcuseCheck(),
    SelfFocusCheck(),
    GratitudeSwapCheck(),
    IncompleteApologyCheck(),
)
