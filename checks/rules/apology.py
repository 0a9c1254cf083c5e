"""Apology-language rules: non-apologies, excuses, self-focus, thanks in place of an apology, incomplete apologies."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import regex

from checks.model import AppliesTo, CheckMessage, Finding, Severity
from checks.text import MATCH_TIMEOUT, TextIndex, make_finding, phrase_pattern

# --------------------------------------------------------------------------------------------
# Limits. How a rule ends its scan early, by design:
#  * a regex that exceeds MATCH_TIMEOUT raises TimeoutError; `guarded` catches it and ends that
#    rule's scan for this message: findings already produced stand, the rule yields nothing more.
#    A pattern timing out means the text is pathological, so trying the rule's other passes would
#    only spend another timeout each.
#  * a rule reports at most MAX_FINDINGS findings per message: beyond that the bounce is unreadable
#    and the message is held (or warned about) anyway.
#  * a pass that must look at context around each candidate (a "but", a "because", an apology word)
#    examines at most MAX_CANDIDATES candidates, so dense adversarial text ("but but but ...") costs
#    a bounded amount of Python work.
#  * context look-ups (the sentence around a match) never look further than SENTENCE_REACH
#    characters either side, so each costs O(SENTENCE_REACH), not O(len(text)).
# --------------------------------------------------------------------------------------------
MAX_FINDINGS = 20
MAX_CANDIDATES = 400
SENTENCE_REACH = 300
CLAUSE_REACH = 100


def rule_pattern(source: str) -> regex.Pattern[str]:
    """Compile a rule pattern written for readability.

    A literal space stands for any run of whitespace (line breaks included, so a phrase
    wrapped across lines still matches), " ?" for optional whitespace, and an apostrophe
    matches both ' and ’ (mail clients often send the curly one). Case-insensitive.
    """
    expanded = source.replace(" ?", r"\s*").replace(" ", r"\s+").replace("'", "['’]")
    return regex.compile(expanded, regex.IGNORECASE)


@functools.lru_cache(maxsize=256)
def extra_pattern(phrases: tuple[str, ...]) -> regex.Pattern[str] | None:
    """The team's extra phrases as one whitespace-tolerant pattern (cached: teams rarely change them)."""
    return phrase_pattern(phrases)


def guarded(findings: Iterable[Finding]) -> Iterator[Finding]:
    """At most MAX_FINDINGS findings; a regex timeout ends the rule's scan quietly (see Limits above)."""
    produced = 0
    try:
        for finding in findings:
            yield finding
            produced += 1
            if produced >= MAX_FINDINGS:
                return
    except TimeoutError:
        return


# A sentence ends at . ! ? followed by whitespace, or at a blank line.
_SENTENCE_BREAK = regex.compile(r"[.!?…](?=\s)|\n[ \t]*\r?\n")
# A clause ends at punctuation, a dash between spaces or a blank line.
_CLAUSE_BREAK = regex.compile(r"[.,;:!?…)]|\s[—–-]\s|\n[ \t]*\r?\n")
_LAST_SPACE = regex.compile(r"\s\S*$")


class RuleScan:
    """Per-message working state for one rule: text, index, greeting lines and spans already reported."""

    def __init__(self, message: CheckMessage, rule_id: str, severity: Severity) -> None:
        self.text = message.text
        self.index = TextIndex(self.text)
        self.greeting_lines = message.parsed.greeting_lines
        self.rule_id = rule_id
        self.severity = severity
        self.extra = extra_pattern(tuple(message.team.rule(rule_id).extra_phrases))
        self._claimed: list[tuple[int, int]] = []

    def matches(
        self, pattern: regex.Pattern[str], pos: int = 0, endpos: int | None = None, limit: int | None = None
    ) -> Iterator[regex.Match[str]]:
        """Matches of `pattern` outside greeting lines, at most `limit` of them (None: unlimited)."""
        end = len(self.text) if endpos is None else endpos
        seen = 0
        for match in pattern.finditer(self.text, pos, end, timeout=MATCH_TIMEOUT):
            if self.on_greeting(match.start()):
                continue
            yield match
            seen += 1
            if limit is not None and seen >= limit:
                return

    def search(self, pattern: regex.Pattern[str], pos: int = 0, endpos: int | None = None) -> regex.Match[str] | None:
        end = len(self.text) if endpos is None else endpos
        return pattern.search(self.text, pos, end, timeout=MATCH_TIMEOUT)

    def match_at(self, pattern: regex.Pattern[str], pos: int, reach: int = 80) -> regex.Match[str] | None:
        """An anchored match at `pos` that may look at most `reach` characters ahead."""
        return pattern.match(self.text, pos, min(len(self.text), pos + reach), timeout=MATCH_TIMEOUT)

    def ends_before(self, pattern: regex.Pattern[str], pos: int, reach: int = 60) -> regex.Match[str] | None:
        """A match of `pattern` (which should end in `$`) that ends exactly at `pos`."""
        return pattern.search(self.text, max(0, pos - reach), pos, timeout=MATCH_TIMEOUT)

    def on_greeting(self, offset: int) -> bool:
        return bool(self.greeting_lines) and self.index.line_of(offset) in self.greeting_lines

    def sentence_bounds(self, start: int, end: int) -> tuple[int, int]:
        """The sentence around text[start:end], looking at most SENTENCE_REACH characters either side."""
        low = max(0, start - SENTENCE_REACH)
        sentence_start = low
        for brk in _SENTENCE_BREAK.finditer(self.text, low, start, timeout=MATCH_TIMEOUT):
            sentence_start = brk.end()
        high = min(len(self.text), end + SENTENCE_REACH)
        following = _SENTENCE_BREAK.search(self.text, end, high, timeout=MATCH_TIMEOUT)
        sentence_end = following.end() if following else high
        while sentence_start < start and self.text[sentence_start].isspace():
            sentence_start += 1
        return sentence_start, sentence_end

    def clause_end(self, pos: int, reach: int = CLAUSE_REACH) -> int:
        """Where the clause that continues at `pos` ends: punctuation, a dash, or a word break within `reach`."""
        high = min(len(self.text), pos + reach)
        brk = _CLAUSE_BREAK.search(self.text, pos, high, timeout=MATCH_TIMEOUT)
        if brk:
            end = brk.start()
        elif high == len(self.text):
            end = high
        else:
            # Cut at the last word break so the excerpt never ends mid-word.
            space = _LAST_SPACE.search(self.text, pos, high, timeout=MATCH_TIMEOUT)
            end = space.start() if space else high
        while end > pos and self.text[end - 1].isspace():
            end -= 1
        return end

    def claim(self, start: int, end: int) -> bool:
        """Reserve a span for a finding; False when it overlaps one this rule already reported."""
        for taken_start, taken_end in self._claimed:
            if start < taken_end and taken_start < end:
                return False
        self._claimed.append((start, end))
        return True

    def finding(self, start: int, end: int, message: str, suggestion: str) -> Finding:
        return make_finding(self.index, self.rule_id, self.severity, start, end, message, suggestion)

    def words(self, start: int, end: int) -> str:
        """text[start:end] with whitespace collapsed, as it would read on one line."""
        return " ".join(self.text[start:end].split())

    def extra_findings(self, message: str, suggestion: Callable[[str], str]) -> Iterator[Finding]:
        """Findings for the team's extra phrases (unconditional triggers)."""
        if self.extra is None:
            return
        for match in self.matches(self.extra):
            if self.claim(match.start(), match.end()):
                yield self.finding(match.start(), match.end(), message, suggestion(self.words(match.start(), match.end())))


# --------------------------------------------------------------------------------------------
# Apology words, shared by several rules.
# --------------------------------------------------------------------------------------------
APOLOGY_WORD = rule_pattern(
    r"\b(?:sorry|apologi[sz](?:e[sd]?|ing)|apolog(?:y|ies)|regret(?:s|ted|ting)?|my bad|forgive me|mea culpa)\b"
)
# A "sorry" that is manners or sympathy rather than an apology for something the sender did.
_SOCIAL_AFTER = rule_pattern(
    r"\s*,?\s*(?:to (?:bother|trouble|disturb|interrupt|hear|say|ask|chase|nag|pester|be a pain|jump in|butt in|"
    r"add to|keep)|for (?:bothering|interrupting|troubling|disturbing|the (?:late|slow|delayed|long|brief) "
    r"(?:reply|response|answer|email|message|note))|\?)"
)
_NEGATED_BEFORE = rule_pattern(
    r"(?:\bnot|\bno need to|\bdon't|\bdo not|\bnever|\bnothing to|\bwon't|\bno)(?: (?:be|feel|have to|need to))? $"
)
# An apology that is itself hedged or aimed at the reader's reaction does not count as a real one.
_HEDGED_AFTER = rule_pattern(
    r"\s*,?\s*(?:if\b|in case\b|(?:that |for how |about how )?(?:you|anyone|anybody|some of you|people) "
    r"(?:may |might )?(?:feel|felt|think|thought|took|saw|see|find|found|were upset|are upset|were offended)\b|"
    r"(?:for|about|over) (?:any|whatever)\b)"
)
_HEAD_BEFORE = rule_pattern(
    r"(?:\b(?:I|we)(?:'m|'re| am| are| do| really| truly| sincerely| deeply| humbly)?|\b(?:my|our)"
    r"(?: (?:sincere|sincerest|deepest|heartfelt|humble|honest))?) (?:(?:so|very|really|truly|deeply|sincerely|"
    r"terribly|genuinely|awfully|most|extremely|incredibly|profoundly|just) ){0,2}$"
)


def is_social(scan: RuleScan, match: regex.Match[str]) -> bool:
    """True for a manners/sympathy "sorry" ("sorry to bother you") or a negated one ("no need to apologise")."""
    return bool(scan.match_at(_SOCIAL_AFTER, match.end()) or scan.ends_before(_NEGATED_BEFORE, match.start()))


def is_real_apology(scan: RuleScan, match: regex.Match[str]) -> bool:
    """An apology word that is neither social, negated, nor hedged ("sorry if", "apologies for any")."""
    return not is_social(scan, match) and not scan.match_at(_HEDGED_AFTER, match.end())


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


def first_real_apology(scan: RuleScan, pos: int = 0, endpos: int | None = None) -> regex.Match[str] | None:
    for match in scan.matches(APOLOGY_WORD, pos, endpos, limit=MAX_CANDIDATES):
        if is_real_apology(scan, match):
            return match
    return None


def first_apology(scan: RuleScan, pos: int = 0, endpos: int | None = None) -> regex.Match[str] | None:
    """The first apology word that is not merely social (hedged ones count)."""
    for match in scan.matches(APOLOGY_WORD, pos, endpos, limit=MAX_CANDIDATES):
        if not is_social(scan, match):
            return match
    return None


def uses_we(scan: RuleScan, start: int, end: int) -> bool:
    """Whether the sender speaks as "we" rather than "I" around text[start:end]."""
    low, high = max(0, start - SENTENCE_REACH), min(len(scan.text), end + SENTENCE_REACH)
    we = len(_WE_WORDS.findall(scan.text, low, high, timeout=MATCH_TIMEOUT))
    i = len(_I_WORDS.findall(scan.text, low, high, timeout=MATCH_TIMEOUT))
    return we > i


_WE_WORDS = rule_pattern(r"\b(?:we|we're|we've|we'll|our|us)\b")
_I_WORDS = rule_pattern(r"\b(?:I|I'm|I've|I'll|I'd|my|me)\b")


# --------------------------------------------------------------------------------------------
# non-apology
# --------------------------------------------------------------------------------------------
_APOL = r"(?:sorry|apologi[sz]e[sd]?|apologi[sz]ing|apolog(?:y|ies)|regret(?:s|ted)?)"
_PEOPLE = r"(?:anyone|anybody|someone|somebody|any of you|some of you|those of you|some people|people|some (?:customers|colleagues|folks|readers))"
_HURT = (
    r"(?:upset|offended|hurt|disappointed|annoyed|bothered|frustrated|unhappy|angry|mad|confused|uncomfortable|"
    r"put out|insulted|slighted|let down|affected|impacted|inconvenienced|troubled|misled|left out|excluded|ignored|"
    r"overlooked)"
)
_HARM_NOUN = (
    r"(?:inconvenience|confusion|trouble|disruption|frustration|hassle|distress|upset|offen[cs]e|harm|"
    r"misunderstanding|disappointment|issues?|problems?|difficult(?:y|ies)|stress|annoyance|concern|delay|discomfort)"
)
_MAY_HAVE = r"(?:may|might|could) (?:have )?(?:caused|created|resulted in|led to|brought|meant)(?: you| anyone| some of you)?"

_NON_APOLOGY = rule_pattern(
    "|".join(
        [
            # sorry if / apologies in case
            rf"(?P<conditional>\b{_APOL} (?:if|in case)\b(?! (?:this|it) (?:is|was) (?:a |an )?(?:silly|dumb|stupid|basic|naive|daft|obvious|duplicate|repeat|double|cross-?post|off-topic)\b))",
            # sorry you feel / that you felt / for how you feel; sorry it came across
            rf"(?P<reaction>\b{_APOL} (?:that |for how |about how |for the way |about the way )?(?:you|{_PEOPLE}) "
            rf"(?:(?:may|might|must) (?:have )?)?(?:feel|felt|feeling|feels|think|thought|see|saw|took|take|taken|find|found|"
            rf"perceived?|interpreted|reacted|viewed?|(?:were|are|'re|was|got|have been|'ve been|became|ended up|feel|felt) "
            rf"(?:(?:so|that|a bit|a little|quite|very|really|at all) )?{_HURT})\b|"
            rf"\b{_APOL} (?:that )?(?:it|this|that|my (?:email|message|note|comment|reply|tone|words?|remark|joke|post)) "
            rf"(?:came across|came off|sounded|was taken|was perceived|was received|landed|seemed|felt|read)\b)",
            # we regret that you were ...
            rf"(?P<regret>\bregret(?:s|ted)? (?:that |if )?(?:you|{_PEOPLE}|customers) (?:were|was|are|feel|felt|have been|'ve been|"
            rf"got|may|might|found|took|saw|experienced)\b)",
            # any inconvenience this may have caused
            rf"(?P<harm>\b(?:any|whatever|the) (?:possible |potential )?{_HARM_NOUN} (?:(?:this|that|it|which|we|I|this \w+|"
            rf"the \w+|my \w+|our \w+) )?{_MAY_HAVE}\b|"
            rf"(?<=\b(?:for|about|over|regret|regrets) )(?:any|whatever) (?:possible |potential )?{_HARM_NOUN}\b|"
            rf"\bif (?:this|that|it|we|I|our \w+|my \w+) (?:has |may have |might have )?(?:caused|created) (?:you |anyone )?any {_HARM_NOUN}\b)",
            # mistakes were made / the ball was dropped
            r"(?P<passive>\b(?:(?:a|an|some|certain|several|a few|the|few) )?(?:mistakes?|errors?|oversights?|misjudge?ments?|"
            r"missteps?|bad (?:calls|decisions|choices)) (?:were|was|have been|has been|had been|got|may have been|might have been) "
            r"(?:made|committed)\b(?! (?:by (?:me|us|myself|I)|on (?:my|our) (?:part|side|end))\b)|"
            r"\bthe ball (?:was|got|has been) dropped\b(?! by (?:me|us)\b))",
            # if anyone was offended / to whoever was affected (needs an apology in the sentence)
            rf"(?P<vague>\bif {_PEOPLE} (?:(?:was|were|is|are|felt|feels|got|has been|have been|may have been|might have been|"
            rf"became|ended up) )?(?:(?:at all|in any way|remotely) )?{_HURT}\b|"
            rf"\bif (?:I|we|this|that|it|my \w+|our \w+) (?:have |has |may have |might have )?(?:offended|upset|hurt|bothered|"
            rf"annoyed|inconvenienced|confused|affected|disappointed) (?:you|{_PEOPLE})\b|"
            rf"\b(?:to|towards?) (?:whoever|whomever|anyone|anybody|any of you|those of you) (?:(?:who|that|I|we|this|it) )?"
            rf"(?:(?:was|were|is|are|felt|feels|got|has been|have been|may have been|might have been|may have|might have|may|"
            rf"might|may feel|might feel|may have felt|might have felt) )?(?:(?:at all|in any way) )?{_HURT}\b)",
        ]
    )
)
_CONTRAST = rule_pattern(
    r"\b(?:but|however|though|although|nevertheless|nonetheless|that said|having said that|that being said|even so|"
    r"all the same)\b|\bstill(?=,)"
)
# "but" that is not a contrast: "all but", "nothing but", "not only ... but", "as though".
_FALSE_CONTRAST_BEFORE = rule_pattern(r"\b(?:all|anything|nothing|everything|help|last|as|not only|not just)\s*$")
_FALSE_CONTRAST_AFTER = rule_pattern(r"\s+(?:also|not least|for you)\b")
# Between the apology and the contrast: an "and I'll ..." or "not only" means the contrast is about something else.
_CONTRAST_UNRELATED = rule_pattern(r"\band (?:I|we)\b|\bnot (?:only|just)\b|;")
_HARM_NOUN_RE = rule_pattern(_HARM_NOUN)


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


@dataclass(frozen=True)
class NonApologyCheck:
    """Conditional, reaction-focused, hypothetical or passive apologies, and apologies taken back with "but"."""

    id: str = "non-apology"
    severity: Severity = Severity.BLOCK
    applies_to: AppliesTo = AppliesTo.ALL


    def run(self, message: CheckMessage) -> Iterator[Finding]:
        return guarded(self._scan(RuleScan(message, self.id, self.severity)))

    def _scan(self, scan: RuleScan) -> Iterator[Finding]:
        for match in scan.matches(_NON_APOLOGY, limit=MAX_CANDIDATES):
            kind = match.lastgroup or "conditional"
            found = self._phrase_finding(scan, match, kind)
            if found is not None:
                yield found
        yield from self._contrast_findings(scan)
        yield from scan.extra_findings(
            NON_APOLOGY_WHY["extra"],
            lambda words: f'Replace "{words}" with a plain apology for what you did, e.g. "I\'m sorry I <what you did>."',
        )

    def _phrase_finding(self, scan: RuleScan, match: regex.Match[str], kind: str) -> Finding | None:
        start, end = match.start(), match.end()
        if kind == "vague":
            # "if anyone was affected" is only a non-apology when it hedges an apology in the same sentence.
            sentence_start, sentence_end = scan.sentence_bounds(start, end)
            if first_apology(scan, sentence_start, sentence_end) is None:
                return None
        if kind in {"conditional", "reaction", "regret"}:
            apology = APOLOGY_WORD.search(scan.text, start, end, timeout=MATCH_TIMEOUT)
            if apology is None or is_social(scan, apology):
                return None
            start = apology_head_start(scan, apology)
            end = max(end, scan.clause_end(end))
            head = apology_rewrite(scan, start, apology)
            if kind == "conditional":
                suggestion = f'Rewrite as: "{head}" Stop there, or name your own part: "{head[:-1]} I <what you did>."'
            else:
                suggestion = f'Rewrite as: "{head[:-1]} I <what you did>." Apologise for your action, not for their reaction.'
            kind = "reaction" if kind == "regret" else kind
        elif kind == "harm":
            noun = _HARM_NOUN_RE.search(scan.text, start, end, timeout=MATCH_TIMEOUT)
            noun_word = noun.group(0).lower() if noun else "trouble"
            if noun_word in {"inconvenience", "issue", "issues", "problem", "problems", "hassle", "concern"}:
                noun_word = "trouble"  # a softer word for the same damage; name it plainly
            suggestion = (
                f'Rewrite as: "the {noun_word} this caused you" and name it, '
                'e.g. "the afternoon you lost re-entering the orders".'
            )
        elif kind == "passive":
            subject = "we" if uses_we(scan, start, end) else "I"
            lowered = scan.words(start, end).lower()
            if "ball" in lowered:
                rewrite = f"{subject} dropped the ball"
            elif "error" in lowered:
                rewrite = f"{subject} made {'errors' if 'errors' in lowered else 'an error'}"
            elif "oversight" in lowered:
                rewrite = f"{subject} overlooked <what was missed>"
            else:
                rewrite = f"{subject} made {'mistakes' if 'mistakes' in lowered else 'a mistake'}"
            suggestion = f'Rewrite as: "{rewrite[0].upper() + rewrite[1:]}" and say what it was.'
        else:  # vague
            end = max(end, scan.clause_end(end, reach=40)) if scan.text[start:end].lower().startswith("if") else end
            suggestion = (
                'Speak to the people it hit and say what you did: "I\'m sorry I <what you did>." '
                'or "to everyone whose <order/report/meeting> was affected".'
            )
        if not scan.claim(start, end):
            return None
        return scan.finding(start, end, NON_APOLOGY_WHY[kind], suggestion)

    def _contrast_findings(self, scan: RuleScan) -> Iterator[Finding]:
        """"Sorry ..., but / however / though" in one sentence: the apology is taken back."""
        for contrast in scan.matches(_CONTRAST, limit=MAX_CANDIDATES):
            c_start, c_end = contrast.start(), contrast.end()
            if scan.ends_before(_FALSE_CONTRAST_BEFORE, c_start, reach=15) or scan.match_at(_FALSE_CONTRAST_AFTER, c_end, 20):
                continue
            sentence_start, _ = scan.sentence_bounds(c_start, c_end)
            apology = first_apology(scan, sentence_start, c_start)
            if apology is None or scan.search(_CONTRAST_UNRELATED, apology.end(), c_start):
                continue
            start = apology_head_start(scan, apology)
            end = scan.clause_end(c_end)
            if not scan.claim(start, end):
                continue
            before = scan.text[start:c_start].rstrip(" \t\r\n,;:—–-")
            prefix = " ".join(before.split())
            if before == scan.text[start : apology.end()].rstrip():
                rewrite = apology_rewrite(scan, start, apology)  # bare "Sorry, but ..." -> "I'm sorry."
            else:
                rewrite = prefix[0].upper() + prefix[1:] + "."
            word = " ".join(contrast.group(0).rstrip(",").split())
            suggestion = f'Rewrite as: "{rewrite}" and delete the reason after "{word}".'
            yield scan.finding(start, end, NON_APOLOGY_WHY["contrast"], suggestion)


# --------------------------------------------------------------------------------------------
# excuse
# --------------------------------------------------------------------------------------------
_INTENSIFIER = r"(?:(?:so|really|very|quite|pretty|super|a bit|a little|completely|totally|just|absolutely|incredibly|extremely) )"
_NOT_OWNERSHIP_AFTER_BUT = r"(?! (?:I )?(?:forgot|didn't|did not|failed|messed|dropped|missed|never|should)\b)"

_EXCUSE = rule_pattern(
    "|".join(
        [
            # health
            rf"\bI (?:was|wasn't|was not|'ve been|have been|had been|'m|am|'m not|am not|haven't been|have not been) "
            rf"{_INTENSIFIER}?feeling {_INTENSIFIER}?(?:great|good|well|sick|ill|unwell|myself|100 ?%|rough|poorly|off|"
            rf"under the weather|my best)\b",
            rf"\bI (?:was|'ve been|have been|had been|'m|am|got|felt|fell|'d been) {_INTENSIFIER}{{0,2}}(?:sick|ill|unwell|poorly|"
            rf"under the weather|jet-?lagged|run down|off colou?r)\b(?! of\b)",
            r"\bI (?:wasn't|was not|haven't been|have not been|'m not|am not) well\b(?![- ](?:prepared|organi[sz]ed|informed|"
            r"equipped|aware|versed|thought|planned|enough|placed)\b)",
            r"\b(?:came|come|coming) down with\b",
            r"\bI (?:had|have|'ve had|'ve got|got|woke up with|was fighting|'ve been fighting) (?:a |the |an )?(?:(?:bad|terrible|"
            r"awful|nasty|splitting|pounding|stomach|horrible|killer) )?(?:cold|flu|migraine|headache|fever|bug|virus|covid|"
            r"food poisoning|toothache|stomach ache|sore throat)\b",
            # transport
            r"\b(?:the|my|our|a) (?:train|bus|subway|tube|metro|flight|plane|tram|ferry|taxi|uber|cab|ride|connection|commute) "
            r"(?:was|were|got|had been|has been|ran|came|is) (?:\w+ ){0,3}?(?:late|delayed|cancell?ed|stuck|held up|diverted|"
            r"slow|overbooked|behind schedule)\b",
            r"\b(?:(?:stuck|caught|held up|sat|sitting|trapped) in|because of|due to|thanks to) (?:(?:the|heavy|bad|awful|terrible|"
            r"horrible|rush[- ]hour|morning|evening|insane|crazy) ){0,2}traffic\b",
            r"\btraffic (?:was|is|has been|were) (?:\w+ ){0,2}?(?:terrible|awful|bad|horrible|insane|crazy|a nightmare|backed up|"
            r"jammed|gridlocked|heavy|brutal|murder|hell|worse|slow|at a standstill)\b",
            r"\b(?:traffic jams?|(?:heavy|bad|awful|terrible|horrible|rush[- ]hour) traffic)\b",
            r"(?<=[-—–:;,] ?)traffic(?=[.!…]|\s*$)",
            r"\bmissed (?:my|the) (?:train|bus|flight|connection|ride|ferry|tram)\b",
            r"\b(?:my|the|our) car (?:broke down|wouldn't start|would not start|died|had a flat|got a flat)\b",
            r"\b(?:a |my )?flat (?:tire|tyre)\b|\broad ?works\b",
            # technology
            r"\bmy (?:computer|laptop|pc|mac|machine|phone|internet|wi-?fi|connection|vpn|e-?mail|inbox|printer|alarm|calendar|"
            r"headset|mic|microphone|camera|battery|charger|power|hard drive|files?|broadband|router) (?:(?:had|has|just|suddenly) )?"
            r"(?:crashed|died|broke|froze|failed|went down|was down|stopped working|didn't go off|did not go off|didn't work|"
            r"did not work|wasn't working|was not working|cut out|dropped|glitched|ran out|(?:got )?corrupted|acted up|"
            r"was acting up|decided to|restarted|rebooted|updated|went off)\b",
            r"\b(?:the|our) (?:internet|wi-?fi|power|electricity|network|vpn|broadband) (?:was|went|had gone|cut|kept) "
            r"(?:down|out|off|dropping|cutting out)\b",
            r"\b(?:a |the )?power (?:cut|outage|failure)\b|\btechnical (?:issues|difficulties|problems|glitch(?:es)?)\b",
            # workload
            rf"\bI (?:was|'ve been|have been|had been|got|'d been) {_INTENSIFIER}{{0,2}}(?:swamped|slammed|buried|snowed under|"
            rf"overloaded|stretched(?: too)? thin|busy|flat out|run off my feet|drowning|tied up|caught up|held up|sidetracked|"
            rf"distracted|pulled (?:in|into|away)|stuck in|in back-to-back|double-booked|double booked|out of (?:the )?office|"
            rf"on (?:holiday|vacation|leave)|away)\b",
            rf"\bI(?:'m| am) {_INTENSIFIER}{{0,2}}(?:swamped|slammed|buried|snowed under|overloaded|stretched(?: too)? thin|"
            rf"drowning|flat out)\b",
            r"\b(?:it's|it has|it had|it was|this|the|last|it's been|this has|this has been|this was) (?:been )?(?:(?:a|such a|one) )?"
            r"(?:crazy|hectic|busy|mad|insane|chaotic|manic|rough|long|nightmare|brutal) (?:week|day|month|morning|few days|"
            r"few weeks|quarter|time|stretch)\b",
            r"\b(?:with|because of|due to) (?:everything|all) (?:else )?(?:that(?:'s| was| is) )?going on\b",
            r"\bback-to-back (?:meetings|calls)\b|\bsomething came up\b",
            r"\b(?:a |an )?(?:family|personal|medical|childcare|last-minute|unexpected) (?:emergency|matter|situation|crisis)\b",
            r"\bmy (?:kid|son|daughter|child|dog|cat|partner|wife|husband) (?:was|got|had been|fell) (?:sick|ill|unwell)\b",
            # "because of X I couldn't" / "I couldn't ... because"
            r"\bbecause of [^.!?\n]{1,60}? (?:I|we) (?:couldn't|could not|wasn't able|was not able|was unable|weren't able|"
            r"were unable|didn't have (?:the )?time|did not have (?:the )?time|had no (?:choice|time)|ran out of time|"
            r"didn't get (?:a |the )?chance|never got (?:a |the )?chance|had to)\b",
            r"\b(?:I|we) (?:couldn't|could not|wasn't able to|was not able to|was unable to|weren't able to|were unable to|"
            r"didn't get (?:a |the )?chance to|never got (?:a |the )?chance to|had no time to|didn't have time to|"
            r"did not have time to|ran out of time to)\b[^.!?\n]{0,60}? (?:because|since|as|due to|owing to|thanks to)\b",
            # circumstances
            r"\bdue to (?:(?:unforeseen|unexpected|unavoidable|personal|extenuating|some|certain|a few|a number of|various|"
            r"several|other) )?(?:circumstances|reasons|issues|matters|factors|events|commitments)\b",
            r"\b(?:unforeseen|unexpected|unavoidable|extenuating) (?:circumstances|events|issues)\b",
            r"\b(?:circumstances )?(?:beyond|outside|out of) (?:my|our) control\b",
            # "it's not like I ..."
            r"\bit(?:'s| is| was)(?: just)? not (?:like|as if|as though) (?:I|we)\b|\bit(?: isn't| wasn't| ain't| is not| was not) "
            r"(?:like|as if|as though) (?:I|we)\b|\bnot like I (?:meant|wanted|planned|intended|did it)\b",
            # "I would have ... but", "I was going to ... but", "I tried to ... but"
            rf"\b(?:I|we)(?: would|'d) have\b[^.!?\n]{{0,80}}? but\b{_NOT_OWNERSHIP_AFTER_BUT}",
            rf"\b(?:I|we) (?:was|were) (?:going|planning|about) to\b[^.!?\n]{{0,80}}? but\b{_NOT_OWNERSHIP_AFTER_BUT}",
            rf"\b(?:I|we) (?:tried|meant|wanted|intended|planned) to\b[^.!?\n]{{0,80}}? but\b{_NOT_OWNERSHIP_AFTER_BUT}",
            # nobody told me / the instructions were unclear
            r"\b(?:nobody|no one|no-one) (?:told|informed|warned|reminded|asked) (?:me|us)\b",
            r"\bI (?:wasn't|was not|was never|had not been|hadn't been|never got) (?:told|informed|warned|reminded|made aware|"
            r"copied|cc'?d)\b",
            r"\b(?:the|your) (?:instructions|brief|email|request|spec|specification|requirements|ticket|message|deadline|"
            r"directions) (?:was|were) (?:(?:a bit|a little|quite|very|really|pretty|so|kind of|somewhat) ){0,2}(?:unclear|"
            r"confusing|ambiguous|vague|misleading|not clear)\b",
        ]
    )
)
# A dangling connective left when the explanation is cut off ("I'm sorry I was late because").
_TRAILING_CONNECTIVE = regex.compile(r"(?i)[\s,;:—–-]+(?:but|because|as|since|and|so|when|after)$")
# After an apology in the same sentence, "because ..." / "due to ..." introduces the circumstances.
_CAUSE = rule_pattern(r"\b(?:because|due to|owing to|on account of|as a result of|thanks to)\b")
_CAUSE_IS_EXCUSE = rule_pattern(
    r" (?!(?:of )?(?:my|our) (?:own )?(?:mistake|error|oversight|fault|carelessness|negligence|mix-?up|slip)\b)"
    r"(?:of\b|I (?:was|wasn't|had|hadn't|got|'d|'ve been|have been|couldn't|could not|didn't have|did not have|"
    r"ran out|needed|had to)\b|we (?:were|weren't|had|got|couldn't|didn't have|ran out|needed|had to)\b|my\b|our\b|the\b|"
    r"there\b|they\b|he\b|she\b|someone\b|somebody\b|everyone\b|everybody\b|a\b|an\b)"
)


EXCUSE_WHY = (
    "Explaining the circumstances behind a mistake reads as an argument that it wasn't really your fault; "
    "the person affected is looking for ownership and a remedy, not the backstory."
)


@dataclass(frozen=True)
class ExcuseCheck:
    """Circumstances offered to explain a mistake away: illness, transport, technology, workload, "because of"."""

    id: str = "excuse"
    severity: Severity = Severity.WARN
    applies_to: AppliesTo = AppliesTo.INDIVIDUAL

    def run(self, message: CheckMessage) -> Iterator[Finding]:
        return guarded(self._scan(RuleScan(message, self.id, self.severity)))

    def _scan(self, scan: RuleScan) -> Iterator[Finding]:
        for match in scan.matches(_EXCUSE, limit=MAX_CANDIDATES):
            start, end = match.start(), scan.clause_end(match.end())
            if scan.claim(start, end):
                yield scan.finding(start, end, EXCUSE_WHY, self._suggestion(scan, start, end))
        yield from self._cause_findings(scan)
        yield from scan.extra_findings(EXCUSE_WHY, lambda words: f'Delete "{words}"; keep the apology and what you will do.')

    def _cause_findings(self, scan: RuleScan) -> Iterator[Finding]:
        """"I'm sorry I missed it because ..." -- the cause clause after an apology in the same sentence."""
        for cause in scan.matches(_CAUSE, limit=MAX_CANDIDATES):
            if not scan.match_at(_CAUSE_IS_EXCUSE, cause.end(), reach=40):
                continue
            sentence_start, _ = scan.sentence_bounds(cause.start(), cause.end())
            if first_apology(scan, sentence_start, cause.start()) is None:
                continue
            start, end = cause.start(), scan.clause_end(cause.end())
            if scan.claim(start, end):
                yield scan.finding(start, end, EXCUSE_WHY, self._suggestion(scan, start, end))

    @staticmethod
    def _suggestion(scan: RuleScan, start: int, end: int) -> str:
        """Concrete rewrite: the sentence without the explanation, or the explanation deleted."""
        excerpt = scan.words(start, end)
        sentence_start, _ = scan.sentence_bounds(start, end)
        apology = first_apology(scan, sentence_start, start)
        if apology is not None:
            head_start = apology_head_start(scan, apology)
            kept = scan.text[head_start:start].rstrip(" \t\r\n,;:—–-")
            kept = _TRAILING_CONNECTIVE.sub("", kept, timeout=MATCH_TIMEOUT)
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
_SELF_FOCUS = rule_pattern(
    "|".join(
        [
            # so much going on / on my shoulders
            r"\b(?:I have|I've|I had|I've had|I've got|I got|I'm dealing with|I am dealing with|I've been dealing with|"
            r"there's|there is|there's been|there has been) (?:got |had )?(?:so much|a lot|too much|a ton|way too much|"
            r"loads|tons|so many things) (?:going on|to deal with|to juggle|to cope with|happening)\b",
            r"\b(?:so much|a lot|too much|a ton|way too much|enough|loads|tons|the weight of the world) on my "
            r"(?:plate|shoulders|mind)\b",
            # doing my best
            r"\bI(?:'m| am|'ve been| have been| was| did)? (?:just |really |honestly |only |truly )?(?:doing|trying|did|tried) "
            r"(?:the |my )?(?:very )?best(?: I can| I could)?\b(?! to (?:fix|make|sort|resolve|get|put|correct|help you|"
            r"find|repair|recover|undo)\b)",
            # only trying to help
            r"\bI (?:was|'m|am) (?:only |just |simply |merely |genuinely )?trying to (?:help|be helpful|do (?:the right thing|"
            r"my job|you a favou?r|what's best))\b",
            r"\bI (?:only |just |simply )?(?:wanted|meant|tried) to help\b|\bI meant well\b|\b(?:my )?intentions were good\b|"
            r"\bwith the best (?:of )?intentions\b",
            # nobody helps me
            r"\b(?:nobody|no one|no-one) (?:is|was|has been|ever|will|even)? ?(?:helping|helped|supporting|supported|backing|"
            r"backed|help|support|listens to|listening to|cares about) (?:me|us)\b",
            r"\bI (?:get|got|have|had) no (?:help|support|backup|one to help)\b",
            r"\bI(?:'m| am|'ve been| have been| was) (?:all )?(?:on my own|by myself|alone|the only one) (?:here|with this|on this|"
            r"doing|who)\b|\bI have to do (?:everything|it all) (?:myself|alone|on my own)\b",
            # my job is at risk
            r"\b(?:if I lose|I (?:could|might|may|will|'ll|would) lose) (?:this|my) (?:job|position|role|contract|bonus)\b",
            r"\bI(?: could| might| may| will|'ll| am going to|'m going to|'m gonna| am gonna) (?:get|be) (?:fired|sacked|let go|"
            r"written up|in (?:so much|big|real|serious|a lot of) trouble)\b",
            r"\bmy (?:job|neck|head|career|reputation) (?:is|'s) on the line\b",
            r"\bI (?:don't|do not) know what I(?:'m| am|'ll| will) (?:going to |gonna )?do\b",
            # my feelings
            rf"\bI(?: feel| felt|'m feeling| am feeling|'ve been feeling| have been feeling) {_INTENSIFIER}{{0,2}}"
            r"(?:terrible|awful|horrible|dreadful|sick about|stupid|ashamed|mortified|embarrassed|guilty|miserable|"
            r"like (?:an? )?(?:idiot|fool|failure|moron|complete idiot|total failure))\b",
            r"\bI(?: feel| felt|'m feeling) (?:so|really|just|very|incredibly|pretty) bad\b",
            rf"\bI(?:'m| am|'ve been| have been| was) {_INTENSIFIER}{{0,2}}(?:mortified|devastated|embarrassed|ashamed|gutted|"
            r"a (?:mess|wreck)|beside myself|stressed(?: out)?|overwhelmed|exhausted|burn(?:ed|t) out|heartbroken|"
            r"at (?:my|the) (?:wits'? end|end of my rope|breaking point)|under (?:so much|a lot of|enormous|huge|immense|"
            r"a ton of|a great deal of) (?:pressure|stress)|losing sleep|not sleeping)\b",
            r"\b(?:beating|kicking) myself\b|\b(?:losing|lost) (?:so much |a lot of )?sleep\b|"
            r"\bI (?:haven't|have not|couldn't|could not|can't|cannot) (?:slept|sleep)\b",
            # this is hard for me
            r"\b(?:this|it|that|the whole thing|this whole thing|this week|this situation)(?:'s| is| was| has been|'s been) "
            r"(?:(?:so|really|incredibly|very|just|extremely|super|such a) ){0,2}(?:hard|difficult|tough|stressful|rough|"
            r"awful|exhausting|upsetting|painful|embarrassing|nightmare|draining|humiliating) (?:for|on) me\b",
            r"\byou (?:have no idea|don't know|do not know|can't imagine|cannot imagine|wouldn't believe) how "
            r"(?:\w+ ){0,2}?(?:stressful|hard|difficult|tough|awful|bad|terrible|busy|much|crazy|rough|exhausting|"
            r"overwhelming|horrible)\b",
            # pleas for sympathy
            r"\bplease (?:don't|do not) be (?:mad|angry|upset|cross) (?:at|with) me\b|\bI hope you(?:'re| are) not "
            r"(?:mad|angry|upset|cross) (?:at|with) me\b",
            r"\b(?:understand|see|appreciate|consider) (?:my|the) (?:position|situation|side|perspective) I(?:'m| am| was) in\b|"
            r"\b(?:try to |please )(?:understand|see|appreciate|consider) my (?:position|situation|side|perspective)\b",
        ]
    )
)


SELF_FOCUS_WHY = (
    "This moves the attention to your own troubles, which asks the person you let down to comfort you; "
    "it does nothing to repair what happened to them."
)


@dataclass(frozen=True)
class SelfFocusCheck:
    """The apology turned toward the sender's own troubles, asking the reader for sympathy."""

    id: str = "self-focus"
    severity: Severity = Severity.WARN
    applies_to: AppliesTo = AppliesTo.INDIVIDUAL

    def run(self, message: CheckMessage) -> Iterator[Finding]:
        return guarded(self._scan(RuleScan(message, self.id, self.severity)))

    def _scan(self, scan: RuleScan) -> Iterator[Finding]:
        for match in scan.matches(_SELF_FOCUS, limit=MAX_CANDIDATES):
            start, end = match.start(), scan.clause_end(match.end())
            if scan.claim(start, end):
                yield scan.finding(start, end, SELF_FOCUS_WHY, self._suggestion(scan.words(start, end)))
        yield from scan.extra_findings(SELF_FOCUS_WHY, self._suggestion)

    @staticmethod
    def _suggestion(excerpt: str) -> str:
        return (
            f'Replace "{excerpt}" with a sentence about them, e.g. "I know this left you <what it cost them: '
            'the late night, the missed deadline>."'
        )


# --------------------------------------------------------------------------------------------
# gratitude-swap
# --------------------------------------------------------------------------------------------
_GRATITUDE = rule_pattern(
    r"\b(?:thank you|thanks|many thanks|thanks a lot|thx|(?:I|we) (?:really |truly |do )?appreciate|appreciate|grateful)"
    r"(?: (?:so|very) much| a lot| again| kindly| all)?(?: (?:so|very) much)? (?:(?:again )?for )?(?:(?:your|all your|the|"
    r"everyone's|you all|y'all) )?(?:(?:continued|ongoing|kind|great|infinite|incredible|amazing|enormous|endless|"
    r"extreme|extra|tremendous) )?(?:patience|waiting|understanding|bearing with (?:me|us)|holding(?: on)?|hanging "
    r"(?:in|on|tight)|sticking with (?:me|us)|flexibility|forbearance|tolerance|grace|being (?:so |very )?(?:patient|"
    r"understanding|flexible)|waiting (?:patiently|for me|for us|on me|on us)|your time while)\b"
)


GRATITUDE_SWAP_WHY = (
    "Thanking someone for their patience glosses over the fact that you kept them waiting; thanks can "
    "follow an apology, but here it stands in for one."
)


@dataclass(frozen=True)
class GratitudeSwapCheck:
    """Thanks for patience or waiting used where an apology belongs."""

    id: str = "gratitude-swap"
    severity: Severity = Severity.WARN
    applies_to: AppliesTo = AppliesTo.INDIVIDUAL

    def run(self, message: CheckMessage) -> Iterator[Finding]:
        return guarded(self._scan(RuleScan(message, self.id, self.severity)))

    def _scan(self, scan: RuleScan) -> Iterator[Finding]:
        thanks = list(scan.matches(_GRATITUDE, limit=MAX_FINDINGS))
        if scan.extra is not None:
            # Team phrases are extra ways of saying thanks-for-waiting: same condition as the built-in ones.
            thanks.extend(scan.matches(scan.extra, limit=MAX_FINDINGS))
        if not thanks:
            return
        # Only a real apology (not "sorry if", not "apologies for any inconvenience") lets the thanks stand.
        if first_real_apology(scan) is not None:
            return
        for match in sorted(thanks, key=lambda m: m.start()):
            start, end = match.start(), match.end()
            if scan.claim(start, end):
                yield scan.finding(start, end, GRATITUDE_SWAP_WHY, self._suggestion(scan.words(start, end)))

    @staticmethod
    def _suggestion(excerpt: str) -> str:
        lowered = excerpt.lower()
        if any(word in lowered for word in ("understanding", "flexib", "grace", "tolerance", "forbearance")):
            return (
                f'Rewrite as: "I\'m sorry I <what you did>, and thank you for being so understanding." '
                f'Put the apology first; keep "{excerpt}" only after it.'
            )
        return (
            'Rewrite as: "I\'m sorry I kept you waiting." '
            f'If you want to thank them too, do it after the apology, not instead of it ("{excerpt}").'
        )


# --------------------------------------------------------------------------------------------
# incomplete-apology
# --------------------------------------------------------------------------------------------
_OWNERSHIP = rule_pattern(
    "|".join(
        [
            r"\b(?:I|we)(?: (?:really|totally|completely|just|clearly|accidentally|mistakenly|wrongly|also|simply))? "
            r"(?:made|caused|forgot|missed|broke|dropped|messed|screwed|overlooked|misread|misunderstood|miscalculated|"
            r"mixed|deleted|lost|sent|failed|neglected|botched|bungled|overbooked|double-booked|mislabel(?:l)?ed|"
            r"let (?:you|the team|everyone|you all) down|got (?:it|this|that|the \w+) wrong|was wrong|were wrong|"
            r"didn't|did not|should have|should've|shouldn't have|should not have|ought to have|turned|submitted|"
            r"handed|delivered|was late|were late|'m late|am late|was the one|am responsible|'m responsible|"
            r"was responsible|take (?:full |complete |total |sole )?responsibility|own (?:this|that|it|the mistake|my mistake)|"
            r"accept (?:full |complete |total )?(?:responsibility|the blame|blame)|slipped up|blew it|dropped the ball|"
            r"gave you (?:the )?wrong)\b",
            r"\b(?:my|our) (?:own )?(?:mistake|fault|error|bad|responsibility|oversight|mess|blunder|doing|slip|"
            r"screw-?up|failure|mix-?up)\b",
            r"\b(?:that's|that is|this is|it's|it is|it was|this was|that was|this one's|that one's) (?:all )?on (?:me|us)\b",
            r"\b(?:sorry|apologi[sz]e|apologies|apology) (?:for|about) (?:my|our|(?!(?:the|any|this|that|your|anything|"
            r"nothing|something)\b)\w+ing)\b",
            r"\b(?:sorry|apologi[sz]e|apologies) (?:that )?(?:I|we)\b(?! (?:feel|felt|think|thought|hope|know|understand|"
            r"want|wanted|would|'d|can|could|will|'ll|need|must|have to|had to|may|might)\b)",
        ]
    )
)
_IMPACT = rule_pattern(
    "|".join(
        [
            r"\byou(?:'ve| have)? (?:had|needed) to\b",
            r"\b(?:this|that|it|which|my \w+) (?:has )?(?:meant|means|forced|left|put|cost|caused|made|kept|created|added|"
            r"ruined|wasted|delayed|disrupted|affected|hurt|embarrassed) (?:you|your)\b",
            r"\b(?:cost|costing|caused|causing|put|left|kept|made|forced|inconvenienced|affected|impacted|hurt|embarrassed|"
            r"let|delayed|disrupted|wasted) you\b",
            r"\bI (?:know|realise|realize|recognise|recognize|understand|appreciate|can see|can imagine|imagine|am aware|'m aware|"
            r"see) (?:that |how |what |now )?(?:this|that|it|my \w+|the \w+|you|much)\b",
            r"\byou (?:missed|lost|were left|ended up|couldn't|could not|weren't able|were not able|waited|spent|had no|"
            r"were kept|were stuck|got stuck|must have|must be|were probably|were counting|were relying|had been counting|"
            r"had been relying)\b",
            r"\byou were (?:\w+ )?(?:frustrated|disappointed|annoyed|upset|angry|stressed|embarrassed|inconvenienced|worried|"
            r"let down|blindsided|left waiting)\b",
            r"\b(?:your|the) (?:extra|lost|wasted|ruined|missed) (?:time|evening|weekend|hours|day|night|morning|afternoon|money|"
            r"work|deadline|flight|meeting|appointment)\b",
            r"\bon your (?:end|side|plate)\b|\b(?:extra|more|additional|double) (?:work|hours|effort|time) (?:for|on) you\b",
            r"\b(?:frustrating|disappointing|stressful|inconvenient|annoying|upsetting|embarrassing|difficult|hard|"
            r"unfair) (?:for|on) you\b",
            r"\bat your expense\b|\byour (?:evening|weekend|time|plans|schedule|day) (?:was|were|got)\b",
        ]
    )
)
_AMENDS = rule_pattern(
    "|".join(
        [
            r"\blet me\b(?! know\b)",
            r"\b(?:make|making|made) (?:it|this|that|things) (?:up to you|right)\b|\bmake up for\b|\bmake amends\b",
            r"\b(?:I|we)(?:'ll| will| can| could| would like to|'d like to| am going to|'m going to| are going to|"
            r"'re going to| have|'ve| already| just| now|'m| am| are|'re| would be happy to|'d be happy to|'m happy to| am happy to)? "
            r"(?:(?:happily|gladly|personally|also|already|now|immediately|right away|gone ahead and) )?(?:refund(?:ed|ing)?|"
            r"redo(?:ne|ing)?|redid|cover(?:ed|ing)?|fix(?:ed|ing)?|replac(?:e|ed|ing)|resen[dt](?:ing)?|re-send|"
            r"reimburs(?:e|ed|ing)|compensat(?:e|ed|ing)|credit(?:ed|ing)?|waiv(?:e|ed|ing)|rebook(?:ed|ing)?|"
            r"reschedul(?:e|ed|ing)|correct(?:ed|ing)?|restor(?:e|ed|ing)|(?:take|took|taking) (?:over|on|care of|some|"
            r"a few|the rest|(?:\w+ ){0,3}off your)|handl(?:e|ed|ing)|pick(?:ed)? up|finish(?:ed|ing)?|complet(?:e|ed|ing)|"
            r"stay late|buy you|sen[dt](?:ing)? you|attach(?:ed|ing)?|offer(?:ed|ing)?|owe you|absorb|pa(?:y|id) for|"
            r"expedit(?:e|ed|ing)|upgrad(?:e|ed|ing)|repair(?:ed|ing)?|recover(?:ed|ing)?|sort(?:ed|ing)? (?:it|this|that) out)\b",
            r"\b(?:a |the |full |partial )?(?:refund|credit|voucher|discount|replacement|reimbursement|compensation|"
            r"goodwill)\b",
            r"\b(?:corrected|updated|fixed|revised|amended) (?:version|copy|file|invoice|report|figures|numbers|document|"
            r"spreadsheet|deck|slides|link|order|booking)\b",
        ]
    )
)
_COMMITMENT = rule_pattern(
    "|".join(
        [
            r"\b(?:going forward|moving forward|from now on|from here on(?: out)?|in (?:the )?future|next time|from today|"
            r"henceforth|in the months ahead|from this point)\b",
            r"\b(?:won't|will not|will never|shall not|never|not|doesn't|does not|don't|can't|cannot) (?:\w+ ){0,3}?again\b",
            r"\b(?:I|we)(?:'ll| will| am going to|'m going to| are going to|'re going to)? (?:always|make sure|ensure|be sure to|"
            r"double-check|start|stop|set (?:up )?(?:a |an )?(?:reminder|alert|alarm|check)|change how|change the way|"
            r"put in place|add(?:ed)? (?:a |an )?(?:check|step|reminder|review|test)|commit to)\b",
            r"\b(?:I|we)(?:'ve| have) (?:now )?(?:set up|added|put in place|created|changed|introduced|started using|blocked out|"
            r"learned|learnt|fixed the process|automated)\b",
            r"\blesson(?:s)? learned\b|\blearn(?:ed|t) (?:my|a|from)\b|\bto (?:prevent|avoid) (?:this|that|it|a repeat|"
            r"a repetition|the same)\b",
        ]
    )
)

_MISSING_PARTS = (
    ("ownership", _OWNERSHIP, "ownership of the mistake", 'Own it: "I <what you did wrong>; that was my mistake."'),
    (
        "impact",
        _IMPACT,
        "what it cost the reader",
        'Name the impact: "I know this meant you had to <what it cost them>."',
    ),
    ("amends", _AMENDS, "an offer to make amends", 'Offer amends: "To make up for it, I will <something concrete for them>."'),
    (
        "commitment",
        _COMMITMENT,
        "a commitment for next time",
        'Commit: "From now on I will <what changes> so this does not happen again."',
    ),
)


def _join_words(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


@dataclass(frozen=True)
class IncompleteApologyCheck:
    """A real apology that lacks ownership, acknowledgement of impact, amends or a commitment for next time."""

    id: str = "incomplete-apology"
    severity: Severity = Severity.WARN
    applies_to: AppliesTo = AppliesTo.INDIVIDUAL_REAL_APOLOGY

    def run(self, message: CheckMessage) -> Iterator[Finding]:
        return guarded(self._scan(RuleScan(message, self.id, self.severity)))

    def _scan(self, scan: RuleScan) -> Iterator[Finding]:
        anchor_start, anchor_end = self._anchor(scan)
        if anchor_start < 0:
            return
        missing = [(label, template) for _, pattern, label, template in _MISSING_PARTS if scan.search(pattern) is None]
        if not missing:
            return
        labels = [label for label, _ in missing]
        message = (
            f"This apology is missing {_join_words(labels)}. An apology lands when it owns the mistake, names what it "
            "cost the reader, offers to put it right and says what will change."
        )
        suggestion = " ".join(template for _, template in missing)
        yield scan.finding(anchor_start, anchor_end, message, suggestion)

    @staticmethod
    def _anchor(scan: RuleScan) -> tuple[int, int]:
        """The sentence holding the first real apology (or a team phrase that counts as one); (-1, -1) if none."""
        apology = first_real_apology(scan) or first_apology(scan)
        if apology is None and scan.extra is not None:
            apology = next(scan.matches(scan.extra, limit=1), None)
        if apology is None:
            return -1, -1
        start, end = scan.sentence_bounds(apology.start(), apology.end())
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
