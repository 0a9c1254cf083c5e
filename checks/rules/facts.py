"""Fact rules: no guessing or drama in a broadcast (speculation), and resource requests come with options (single-option)."""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from typing import Iterator

import regex

from checks.dates import add_working_days, format_day, local_date
from checks.model import AppliesTo, CheckMessage, Finding, Severity
from checks.scan import (
    Anchored,
    AnchoredSet,
    ScanText,
    anchor_offsets,
    anchored,
    greeting_floor,
    keyword_anchored,
    matches_near,
    phrase_matches,
    prepare,
    sentence_around,
)
from checks.text import make_finding, span_timeout

MAX_FINDINGS = 20
# A line of capitals with at most this many words and no "!" is a heading, not shouting.
HEADING_WORDS = 6
# All-caps candidates looked at per message; hostile text full of capitals stays cheap.
MAX_CAPS_CANDIDATES = 300

_HEDGE = regex.compile(
    r"(?<!\w)(?:"
    # (not a polite request: "perhaps you could delete the second copy")
    r"probably|presumably|possibly|(?:perhaps|maybe)(?!\s+(?:you|we|I|everyone)\s+(?:could|can|might|would|should)\b)|"
    r"supposedly|apparently|hopefully|conceivably"
    r"|(?:most\s+|very\s+|quite\s+|more\s+than\s+)?likely"
    # (not a requirement: "every claim must have a receipt attached")
    r"|must\s+have(?!\s+(?:a|an|the|some|at\s+least|one|two|three|\d|their|its|your|our|his|her|no|all|every|"
    r"any)\b)(?:\s+been)?|might\s+have\s+been|could\s+have\s+been|may\s+have\s+been\s+caused"
    # a guess about what happened: "the load balancer might have dropped"; "you may have received" is notice wording
    r"|(?<!you\s)(?<!you\s(?:also|already)\s)(?:might|may)\s+(?:well\s+|also\s+)?have\s+(?!been\s+(?:affected|"
    r"charged|sent|asked|contacted|notified)\b)(?:[a-z]+(?:ed|en|wn|ne|ck|pt|lt|ost|ung|ew|ook|ought|ught)|sent|spent|"
    r"meant|lent|burnt|learnt)"
    # "it's possible the sync overwrote ...", not "it is possible to configure ..."
    r"|it(?:['’]s|\s+is)\s+(?:quite\s+|entirely\s+|very\s+|also\s+)?possible(?!\s+(?:to|for)\b)(?:\s+that)?"
    r"|i\s+guess|i['’]d\s+guess|my\s+guess\s+is|i['’]m\s+guessing|(?:our|my)\s+best\s+guess"
    r"|(?:my|our)\s+(?:hunch|gut(?:\s+feeling)?|feeling|instinct|sense|bet)\s+(?:is|says|tells\s+(?:me|us)|would\s+be)"
    r"|i(?:['’]d|\s+would)?\s+(?:bet|wager)|i['’]d\s+imagine|i\s+(?:suppose|daresay)|somehow"
    r"|(?:i|we)\s+(?:think|believe|suspect|assume|imagine|reckon|presume|figure)"
    r"|(?:i['’]m|we['’]re|i\s+am|we\s+are)\s+(?:pretty|fairly|quite|reasonably)\s+(?:sure|certain|confident)"
    r"|(?:i['’]m|we['’]re|i\s+am|we\s+are)\s+not\s+(?:\w+\s+)?sure|not\s+(?:100\s*%|entirely|completely|totally|quite)\s+sure"
    r"|it\s+(?:seems|looks|appears)\s+(?:like|that|as\s+if|as\s+though|to\s+(?:have|be))|seems\s+(?:like|to\s+have)"
    r"|it\s+seems\s+(?:the|our|a|an|some|this|that|they|we|someone|something)\b"
    r"|chances\s+are|in\s+all\s+likelihood|who\s+knows|god\s+knows|no\s+idea\s+(?:why|how|what)"
    r")(?!\w)",
    regex.IGNORECASE,
)
_HEDGE_KEYWORDS = (
    "probably", "presumably", "possibly", "perhaps", "maybe", "supposedly", "apparently", "hopefully",
    "conceivably", "likely", "must", "might", "could", "may", "guess", "guessing", "think", "believe", "suspect",
    "assume", "imagine", "reckon", "presume", "figure", "sure", "certain", "confident", "seems", "seem", "looks",
    "appears", "chances", "likelihood", "knows", "idea", "possible", "hunch", "gut", "feeling", "instinct", "sense",
    "bet", "wager", "suppose", "daresay", "somehow",
)
_DRAMA = regex.compile(
    r"(?<!\w)(?:"
    # (not a term of the trade or the news: "disaster recovery", "the flood disaster", "chaos engineering")
    r"(?<!\b(?:flood|earthquake|natural|fire|storm|climate|humanitarian|environmental|nuclear|rail|mining|air|"
    r"famine|volcano|hurricane)\s)disaster(?:s|ous)?(?![\s-]+(?:recovery|planning|plan|drill|test|site|relief|"
    r"preparedness|response))|catastroph(?:e|es|ic)|nightmare(?:s|ish)?|fiasco|meltdown|apocalyp\w{0,6}|armageddon"
    r"|train[\s-]?wreck|dumpster\s+fire|shit\s?show|cluster[\s-]?f(?:u|\*|@|#|k)\w{0,5}|"
    r"chaos(?!\s+(?:engineering|monkey|testing|tests?|experiments?|day|theory))|chaotic|havoc|shambles"
    r"|(?:a|huge|total|complete|big|massive|real|giant|absolute|utter)\s+mess"
    r"|horrible|horrendous|horrific|terrible|awful|unbelievable|insane|crazy|panic(?:ked|king)?"
    r"|worst\s+(?:[a-z]+\s+){0,3}ever|epic\s+fail|all\s+hell|blew\s+up\s+in|omg|wtf|oh\s+no"
    r")(?!\w)",
    regex.IGNORECASE,
)
_DRAMA_KEYWORDS = (
    "disaster", "disasters", "disastrous", "catastrophe", "catastrophes", "catastrophic", "nightmare",
    "nightmares", "nightmarish", "fiasco", "meltdown", "apocalypse", "apocalypses", "apocalyptic", "armageddon",
    "trainwreck", "cluster",
    "wreck", "dumpster", "shitshow", "show", "clusterfuck", "chaos", "chaotic", "havoc", "shambles", "mess",
    "horrible", "horrendous", "horrific", "terrible", "awful", "unbelievable", "insane", "crazy", "panic",
    "panicked", "panicking", "worst", "epic", "hell", "blew", "omg", "wtf", "oh",
)
# Neutral words for the suggested rewrite, keyed by the start of the dramatic word.
_HEDGES = keyword_anchored(_HEDGE, _HEDGE_KEYWORDS, 40, 60)
_DRAMAS = keyword_anchored(_DRAMA, _DRAMA_KEYWORDS, 40, 60)
_CALMER = (
    ("disastrous", "serious"), ("disaster", "serious problem"), ("catastrophic", "serious"),
    ("catastroph", "serious problem"), ("nightmare", "problem"), ("fiasco", "problem"), ("meltdown", "failure"),
    ("chaotic", "disrupted"), ("chaos", "disruption"), ("havoc", "disruption"), ("shambles", "problem"),
    ("horrible", "serious"), ("horrendous", "serious"), ("horrific", "serious"), ("terrible", "serious"),
    ("awful", "serious"), ("unbelievable", "unexpected"), ("insane", "unexpected"), ("crazy", "unexpected"),
    ("panic", "concern"), ("worst", "serious"),
)
_EXCLAIM = regex.compile(r"[!?]*!(?:\s?[!?])+|\?!")
_CAPS_START = regex.compile(r"[A-Z]{3}")
_WORD_REST = regex.compile(r"[\w'’]*")
_CAPS_RUN = regex.compile(r"[A-Z][A-Z'’]{0,30}(?:[ \t]+[A-Z][A-Z'’]{0,30}){0,8}(?![\w:])")
# Capital words (one-letter ones too, "I AM SO SORRY") that lead up to a candidate.
_CAPS_BEFORE = regex.compile(r"(?:(?<![\w'’])[A-Z][A-Z'’]{0,30}[ \t]+){1,8}$")
# Capitals that are emphasis on their own, even as a single word.
SHOUT_WORDS: frozenset[str] = frozenset(
    """
    NOT NEVER ALL EVERY EVERYTHING EVERYONE NOTHING NOBODY NONE HUGE MASSIVE TOTAL TOTALLY COMPLETELY ENTIRE
    ENTIRELY ABSOLUTELY BROKEN DEAD GONE WRONG CRITICAL EMERGENCY IMMEDIATELY NOW STOP PLEASE HELP DISASTER
    WORST HORRIBLE TERRIBLE UNACCEPTABLE PANIC MUST REALLY VERY WHY SERIOUSLY CANNOT CAN'T DON'T NEVER AGAIN
    EVER CRASHED DELETED WIPED FAILED
    """.split()
)
# Abbreviations written in capitals that are not shouting.
ACRONYMS: frozenset[str] = frozenset(
    """
    AWS API APIS ERP SSO SLA SLAS KPI KPIS CEO CTO CFO COO CIO CISO EOD COB EOB EOW CET CEST UTC GMT EST EDT PST PDT
    USA UK EU GDPR HIPAA ISO SOC ETA FAQ OTP IOS IAM SES SNS SQS ASAP YAML SAML OAUTH REST CRON JIRA LDAP NOC SAP
    IDE ORM UAT POC MVP OKR OKRS ROI OOO PTO AJAX JSON NASA NATO UEFA UNICEF AI ML SRE QA HR IT PR CI CD RCA SEV
    AM PM EUR USD GBP CHF IBAN BIC VAT IPO LLC GMBH AG INC LTD NDA RFP RFC SMTP IMAP HTTP HTTPS URL URI DNS VPN
    SQL CSV PDF XML HTML CSS TLS SSL SSH FTP SFTP TCP UDP CPU GPU RAM SSD OS SDK CLI NPM PHP MFA SMS FYI TBD TBA
    """.split()
)

_HEDGE_MESSAGE = (
    "This is a guess or a hedge. In a group notice, a guess is read as a fact and repeated; if it turns out wrong "
    "it has to be walked back. Say only what is confirmed, and when more will be known."
)
_DRAMA_MESSAGE = (
    "Dramatic wording makes the problem sound bigger and less under control than the facts show, and invites "
    "alarm rather than understanding. Neutral words and measured impact keep the notice credible."
)
_SHOUT_MESSAGE = (
    "Capitals and stacked exclamation marks read as shouting. They raise the temperature without adding any "
    "information; a calm, factual notice is taken more seriously."
)


def _calmer_sentence(sentence: str, start: int, end: int) -> str:
    """The sentence with the dramatic words swapped for neutral ones."""
    dramatic = sentence[start:end].lower()
    replacement = next((calm for key, calm in _CALMER if key in dramatic), "problem")
    before = sentence[:start]
    # "a total disaster" -> "a serious problem": drop intensifiers the neutral word does not need.
    before = regex.sub(r"(?i)\b(?:total|complete|absolute|utter|huge|massive|real|giant|big)\s+$", "", before)
    if regex.search(r"(?i)\ban\s+$", before) and replacement[:1] not in "aeiou":
        before = before[: before.lower().rfind("an ")] + "a "
    elif regex.search(r"(?i)\ba\s+$", before) and replacement[:1] in "aeiou":
        before = before[: before.lower().rfind("a ")] + "an "
    rewritten = before + replacement + sentence[end:]
    return " ".join(rewritten.split())


def _quiet_sentence(sentence: str) -> str:
    """The sentence in normal case with single punctuation."""
    calmer = regex.sub(r"[!?]*!(?:\s?[!?])*", ".", sentence)
    calmer = regex.sub(r"\.{2,}", ".", calmer)

    def lower_word(match: regex.Match[str]) -> str:
        word = match.group()
        return word if word in ACRONYMS or len(word) < 2 else word.lower()

    calmer = regex.sub(r"\b[A-Z][A-Z'’]+\b", lower_word, calmer)
    calmer = " ".join(calmer.split())
    return calmer[:1].upper() + calmer[1:]


def _shouting_runs(text: str) -> Iterator[tuple[int, int]]:
    """Spans of capitalised words that read as shouting (not acronyms, not "UPDATE:" labels)."""
    position, candidates = 0, 0
    while candidates < MAX_CAPS_CANDIDATES:
        start_match = _CAPS_START.search(text, position, timeout=span_timeout(position, len(text)))
        if start_match is None:
            return
        candidates += 1
        start = start_match.start()
        # Short, bounded stretches from here on: no timer needed (see checks.text.span_timeout).
        word_end = _WORD_REST.match(text, start_match.end(), min(len(text), start_match.end() + 64)).end()
        position = word_end
        if start > 0 and (text[start - 1].isalnum() or text[start - 1] in "'’"):
            continue  # "iPHONE", "McDONALD": capitals inside a word
        leading = _CAPS_BEFORE.search(text, max(0, start - 80), start)
        if leading is not None:
            start = leading.start()
        run = _CAPS_RUN.match(text, start, min(len(text), start + 400))
        if run is None:
            continue
        position = max(position, run.end())
        words = run.group().split()
        meaningful = [w for w in words if w.replace("’", "'") not in ACRONYMS]
        exclaimed = text[run.end() : run.end() + 1] == "!"
        reach_back = max(0, run.start() - 400)
        line_start = max(reach_back, text.rfind("\n", reach_back, run.start()) + 1)
        line_end = text.find("\n", run.end(), run.end() + 400)
        line = text[line_start : line_end if line_end != -1 else min(len(text), run.end() + 400)]
        if line.upper() == line:
            # A line in capitals throughout is a heading ("SAME DAY SHIPPING AVAILABLE") unless it is a long
            # sentence or exclaimed: capitals among ordinary words are what reads as shouting.
            if len(line.split()) <= HEADING_WORDS and "!" not in line:
                continue
            if meaningful:
                yield run.start(), run.end()
            continue
        emphatic = [w for w in meaningful if w.replace("’", "'") in SHOUT_WORDS]
        # Short capitalised words are mostly names of things ("MPEG LA"); shouting uses ordinary words.
        long_words = [w for w in meaningful if len(w) >= 5 and any(v in w for v in "AEIOUY")]
        if emphatic or (len(words) >= 2 and long_words) or (long_words and exclaimed):
            yield run.start(), run.end()


def _next_working_day_text(message: CheckMessage) -> str:
    if message.parsed.date is None:
        return "<the next working day>"
    return format_day(add_working_days(local_date(message.parsed.date, message.team.timezone or "UTC"), 1))


@dataclass(frozen=True)
class Speculation:
    """Guesses, hedging or drama in a broadcast instead of facts ("probably", "must have", "disaster", "!!!")."""

    id: str = "speculation"
    severity: Severity = Severity.WARN
    applies_to: AppliesTo = AppliesTo.BROADCAST

    def run(self, message: CheckMessage) -> Iterator[Finding]:
        text = message.text
        if not text.strip():
            return
        scan = prepare(text)
        index = scan.index
        spans: list[tuple[int, int, str]] = []
        spans += [(m.start(), m.end(), "hedge") for m in scan.matches(_HEDGES) if not _named_or_quoted(text, m)]
        spans += [(m.start(), m.end(), "drama") for m in scan.matches(_DRAMAS) if not _named_or_quoted(text, m)]
        exclaim_offsets = anchor_offsets(text, ("!!", "! !", "?!", "!?")) if "!" in text else []
        spans += [(m.start(), m.end(), "shout") for m in matches_near(text, _EXCLAIM, exclaim_offsets, 10, 40)]
        spans += [(start, end, "shout") for start, end in _shouting_runs(text)]
        phrases = message.team.rule(self.id).extra_phrases
        spans += [(m.start(), m.end(), "hedge") for m in phrase_matches(scan, phrases)]
        later = _next_working_day_text(message)
        merged: list[tuple[int, int, str]] = []
        for start, end, kind in sorted(spans):
            # "DOWN!!!" is one outburst, not two findings.
            if merged and kind == "shout" == merged[-1][2] and start <= merged[-1][1] + 2:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]), kind)
            else:
                merged.append((start, end, kind))
        reported, last_end = 0, -1
        for start, end, kind in merged:
            if start < last_end or scan.in_footer(start):
                continue
            last_end = end
            floor = greeting_floor(index, message.parsed.greeting_lines, start)
            sentence_start, sentence_end = sentence_around(text, start, end, floor=floor)
            sentence = text[sentence_start:sentence_end]
            if kind == "hedge":
                why = _HEDGE_MESSAGE
                suggestion = (
                    "Replace the guess with what is confirmed and say when more will be known, e.g. "
                    f"\"The cause is not confirmed yet; we will know more by {later}, 12:00.\""
                )
            elif kind == "drama":
                why = _DRAMA_MESSAGE
                calmer = _calmer_sentence(sentence, start - sentence_start, end - sentence_start)
                suggestion = f"Use neutral words and give the measured impact instead: \"{calmer}\""
            else:
                why = _SHOUT_MESSAGE
                suggestion = f"Write it in normal case with plain punctuation: \"{_quiet_sentence(sentence)}\""
            yield make_finding(index, self.id, self.severity, start, end, why, suggestion)
            reported += 1
            if reported >= MAX_FINDINGS:
                return


def _named_or_quoted(text: str, match: regex.Match[str]) -> bool:
    """A word that is not the sender's own voice: inside quotation marks on its line ("How likely are you to
    recommend us?", the "Nightmare Before Christmas" film night), or a capitalised label mid-sentence (answered
    Maybe, items tagged Must Have)."""
    line_start = text.rfind("\n", 0, match.start()) + 1
    before = text[line_start:match.start()]
    if before.count('"') % 2 == 1 or before.count("\u201c") > before.count("\u201d"):
        return True
    word = match.group()
    if word[:1].isupper() and before.strip() and before.rstrip()[-1] not in ".!?:;-\u2014\u2013(\"'":
        return all(part[:1].isupper() for part in word.split())
    return False


# ---- single-option ----

_RESOURCE = (
    r"(?:budget|funding|funds|money|spend|investment|capex|opex|head\s?count|new\s+hires?|hires?|"
    r"engineers?|developers?|contractors?|consultants?|freelancers?|ftes?|resources?|resourcing|"
    # people by role, and things bought: "a dedicated DBA", "an external audit", "a second appliance"
    r"dbas?|sres?|admins?|administrators?|specialists?|analysts?|testers?|architects?|"
    r"appliances?|subscriptions?|approval|sign[\s-]?off|go[\s-]ahead|"
    # things that are only asked for when new: "a new vendor", not "logs from the vendor"
    r"(?:new|dedicated|extra|additional|second|another|external|different)\s+(?:[\w-]+\s+)?"
    r"(?:team|person|hire|vendors?|tools?|tooling|audits?|provider)|"
    r"(?:(?:\d+|one|two|three|four|five|six|ten)\s+)?(?:more|extra|additional|dedicated)\s+"
    r"(?:people|persons?|staff|time|weeks|days|months|sprints?|hands|capacity|engineers?|developers?)|"
    r"(?:\d+|two|three|four|five|six|ten)\s+(?:people|persons|staff|engineers|developers)|"
    # people by what they do: "4 pickers", "two nurses", "three translators"
    r"(?:\d+|two|three|four|five|six|ten)\s+(?:more\s+|extra\s+)?[a-z]+(?:ers|ors|ists|ants|ents|ians|nurses|hands)\b|"
    r"(?:\d+|one|two|three|four|five|six|ten|a\s+few)\s+(?:days|weeks|sprints|months)\s+of\b|"
    r"(?:\d+|one|two|three|four|five|six|ten)\s+(?:more|extra|additional|dedicated|new)\s+(?:[a-z-]+\s+)?[a-z]+s\b|"
    r"another\s+(?:sprint|week|month|engineer|developer|person)|licen[cs]es?|servers?|hardware|"
    r"[$€£]\s?\d[\d,.]*\s?[kKmM]?|\d[\d,.]*\s?(?:[kKmM]\s?)?(?:usd|eur|gbp|dollars|euros|pounds)|\d[\d,.]*\s?[kK](?!\w))"
)
_GAP = (
    r"(?:\s+(?:to\s+(?:hire|add|buy|get|purchase|recruit|bring\s+in|fund|secure|increase|expand|allocate|contract|"
    r"onboard|spend|borrow|loan|reassign|second|use|have)|(?!to\b|that\b|it\b|everyone\b|all\b|you\b|them\b|us\b)[\w$€£.,%'’-]+)){0,6}?\s+"
)
_REQUEST_VERB = (
    r"(?:\s+(?:will|would|urgently|really|also|therefore|now|still|definitely))?\s*"
    r"(?:need|needs|require|requires|are\s+requesting|am\s+requesting|request|are\s+asking\s+for|am\s+asking\s+for|"
    r"['’]m\s+asking\s+for|['’]re\s+asking\s+for|would\s+like|['’]d\s+like|want|are\s+looking\s+for|"
    r"am\s+looking\s+for|must\s+have|ask\s+for|['’]ll\s+need|['’]d\s+need|propose|are\s+proposing|"
    r"suggest|are\s+seeking|am\s+seeking)"
)
_REQUEST_VERB_WORDS = (
    "need|needs|require|requires|requesting|request|asking|like|want|looking|must|ask|propose|proposing|suggest|seeking"
)


def _request(source: str) -> regex.Pattern[str]:
    return regex.compile(r"(?<!\w)(?:" + source + r")(?!\w)", regex.IGNORECASE)


# Ways of asking for budget, people or approval, each tried only where its first word occurs; the earliest
# match is the request (at one place, the earlier entry wins).
_REQUESTS = AnchoredSet((
    anchored(_request(r"(?:we|i)" + _REQUEST_VERB + _GAP + _RESOURCE), f"we|i & {_REQUEST_VERB_WORDS}", before=30,
             after=240, start=True),
    anchored(_request(r"(?:the|our)\s+team" + _REQUEST_VERB + _GAP + _RESOURCE),
             f"the|our & team & {_REQUEST_VERB_WORDS}", before=6, after=240, start=True),
    anchored(_request(r"(?<!\bnot\s+)(?<!n['’]t\s+)(?:requesting|request\s+for|asking\s+for|seeking|looking\s+for)"
                      + _GAP + _RESOURCE),
             "requesting|request|asking|seeking|looking", after=220, start=True),
    anchored(_request(
        r"(?:please|(?:could|can|would)\s+you(?:\s+please)?)\s+(?:approve|sign[\s-]?off(?:\s+on)?|fund|authori[sz]e)"
        r"(?!\s+(?:the\s+|my\s+|this\s+|your\s+|our\s+)?(?:meeting|invite|invitation|calendar|timesheet|time\s+sheet|"
        r"leave|vacation|holiday|pto|pull\s+request|pr|merge\s+request|minutes)\b)"
    ), "please|could|can|would & approve|sign|signoff|fund|authorise|authorize", after=140, start=True),
    anchored(_request(
        r"(?:need|needs|require|requires|requesting|request|seeking|seek|ask\s+for|asking\s+for|get|obtain|want)\s+"
        r"(?:your\s+|an?\s+|the\s+|management\s+|formal\s+|leadership\s+|budget\s+)?"
        r"(?:approval|sign[\s-]?off|go[\s-]ahead|green\s+light|buy[\s-]in|ok|okay)(?!\w)"
    ), "need|needs|require|requires|requesting|request|seeking|seek|ask|asking|get|obtain|want & "
       "approval|ok|okay|sign|signoff|go|green|buy", after=70, start=True),
    anchored(_request(r"(?:can|could|may)\s+(?:we|i)\s+(?:please\s+)?(?:get|have|hire|add|buy)" + _GAP + _RESOURCE),
             "can|could|may & get|have|hire|add|buy", after=240, start=True),
    # A team or function that needs more of something: "payroll needs more capacity".
    anchored(_request(
        r"(?:team|department|office|desk|payroll|support|finance|depot|unit|group|ward|clinic|studio|newsroom)\s+"
        r"(?:will\s+|urgently\s+|now\s+)?(?:needs?|requires?)" + _GAP + _RESOURCE
    ), "team|department|office|desk|payroll|support|finance|depot|unit|group|ward|clinic|studio|newsroom & need|needs|"
       "require|requires", after=240, start=True),
    # A decision asked for outright: "Approval needed:", "Need a decision:", "Ask: approval for 6,000 EUR".
    anchored(_request(
        # (not "no decision is needed today", "no budget approval is required")
        r"(?<!\b(?:no|not)\s+(?:[\w-]+\s+){0,3})(?:approval|sign[\s-]?off|decision|budget|go[\s-]ahead)\s+(?:is\s+)?"
        r"(?:needed|required|requested)"
        r"|(?:need|needs|needed|require|requires)\s+a\s+(?:decision|yes(?:\s+or\s+|/)no)"
        r"|(?<=(?:^|\n)[ \t]*(?:[-*\u2022][ \t]*)?(?:(?:the|our|my)\s+)?)ask\s*:"
    ), "approval|sign|signoff|decision|budget|go|need|needs|needed|require|requires|ask", after=60, start=True),
    # "We're asking leadership to approve a freeze", "Can the exec team approve hiring an agency?"
    anchored(_request(
        r"(?:asking|ask|asked|request(?:ing)?)\s+(?:[\w-]+\s+){0,3}?to\s+(?:approve|sign\s+off(?:\s+on)?|fund|authori[sz]e)"
        r"|(?:can|could|would|will)\s+(?:the\s+)?(?:[\w-]+\s+){0,3}?(?:approve|sign\s+off\s+on|fund|authori[sz]e)\s+"
        r"(?:hiring|buying|adding|the\s+(?:budget|purchase|hire|spend)|a\s+|an\s+|\d|[$€£])"
        r"|please\s+(?:allocate|assign|lend|release|free\s+up|provide)" + _GAP + _RESOURCE
    ), "asking|ask|asked|request|requesting|can|could|would|will|please & approve|sign|fund|authorise|authorize|"
       "allocate|assign|lend|release|free|provide", after=240, start=True),
    # Courses laid out for a decision: "We see two ways forward", "there are two options".
    anchored(_request(
        r"(?:we\s+see|there\s+are|we\s+have|we\s+can\s+see|I\s+see)\s+(?:only\s+)?(?:two|2|a\s+couple\s+of)\s+"
        r"(?:ways(?:\s+forward)?|options|choices|paths|alternatives|routes)"
    ), "we|there|i & two|couple", after=60, start=True),
    # Two or more courses put to the reader: "Please tell us which you prefer."
    anchored(_request(
        r"(?:tell\s+(?:us|me)|let\s+(?:us|me)\s+know|decide|choose|pick)\s+which\s+(?:one\s+|option\s+)?(?:you\s+)?"
        r"(?:prefer|choose|pick|approve|want|go\s+with|to\s+go\s+with|would\s+(?:fund|approve|back))"
    ), "tell|let|decide|choose|pick & which", after=60, start=True),
    # "The proposal is to move to the enterprise tier at 30k per year": a single plan with a price or people in it.
    anchored(_request(
        r"(?:the|our|my)\s+(?:proposal|plan|recommendation|ask|request|suggestion)\s+(?:is|would\s+be)\s+to"
        r"(?:\s+[\w$€£.,%'’-]+){0,8}?\s+" + _RESOURCE
    ), "the|our|my & proposal|plan|recommendation|ask|request|suggestion", before=30, after=240, start=True),
))
_OPTION_LABEL = regex.compile(
    r"(?<!\w)(?:option|alternative|plan|scenario|tier)\s*(?:#\s*)?"
    r"(?P<label>[1-9]|(?-i:[A-D])|one|two|three|four)(?!\w)",
    regex.IGNORECASE,
)
_ORDINAL_OPTION = regex.compile(
    r"(?<!\w)(?P<label>first|second|third|fourth)\s+(?:option|alternative|approach|choice)(?!\w)", regex.IGNORECASE
)
_COST_TIER = regex.compile(
    r"(?<!\w)(?P<tier>high(?:er|est)?|medium|mid|moderate|middle|low(?:er|est)?|cheap(?:er|est)?|expensive|minimal|"
    r"premium|basic)[\s-]+(?:cost|price|budget|effort|spend|investment|option|tier)(?!\w)",
    regex.IGNORECASE,
)
_LIST_ITEM = regex.compile(r"(?m)^[ \t]{0,8}(?:[-*•]|\(?\d{1,2}[.)]|\(?[a-dA-D][.)])[ \t]+(?P<item>[^\n]{1,400})")
_COSTED = regex.compile(
    r"(?i)(?<!\w)(?:cost|costs|price|budget|effort|risk|[$€£]|\d+\s?[kKmM]\b|weeks?|days?|months?|fte|"
    r"\d[\d,.]*\s?(?:eur|usd|gbp|chf|euros?|dollars?|pounds?)\b|free\b)"
)
# Options told in prose by their price: "the most expensive is ...", "in the middle, ...", "the cheapest ...".
_PROSE_TIER = regex.compile(
    r"(?<!\w)(?P<tier>most\s+expensive|priciest|costliest|cheapest|least\s+expensive|most\s+affordable|"
    r"in\s+the\s+middle|middle\s+(?:option|ground|one|choice)|mid-?range|mid-?priced)(?!\w)",
    regex.IGNORECASE,
)
_RISK = regex.compile(r"(?<!\w)(?:risks?|risky|riskier|riskiest|downsides?|trade-?offs?)(?!\w)", regex.IGNORECASE)
_RECOMMENDATION = regex.compile(
    r"(?<!\w)(?:(?:we|i)(?:['’]d|\s+would)?\s+(?:strongly\s+|therefore\s+)?(?:recommend|suggest|propose|prefer|favou?r|advise)"
    r"|recommend(?:ed|ation|s)?|our\s+(?:preference|pick|choice)|my\s+(?:preference|pick|choice)|prefer(?:red|able)"
    r"|best\s+option|(?:we|i)['’]d\s+(?:go|opt)\s+(?:with|for)|(?:we|i)\s+(?:would\s+)?(?:go|opt)\s+(?:with|for)"
    r"|makes\s+the\s+most\s+sense)(?!\w)",
    regex.IGNORECASE,
)
# The same patterns, each tried only where its first word occurs in the text.
# (prefixes: "Option2" and "tier1" are written as one word too)
_OPTION_LABELS = anchored(_OPTION_LABEL, "option*|alternative*|plan*|scenario*|tier*", after=30, start=True)
_ORDINAL_OPTIONS = anchored(
    _ORDINAL_OPTION, "first|second|third|fourth & option|alternative|approach|choice", after=40, start=True
)
_COST_TIERS = anchored(
    _COST_TIER,
    "high|higher|highest|medium|mid|moderate|middle|low|lower|lowest|cheap|cheaper|cheapest|expensive|minimal|"
    "premium|basic & cost|price|budget|effort|spend|investment|option|tier",
    after=50,
    start=True,
)
_PROSE_TIERS = anchored(
    _PROSE_TIER, "most|priciest|costliest|cheapest|least|in|middle|midrange|mid|range|midpriced|priced", after=30,
    start=True,
)
_PROSE_TIER_KINDS = {"most expensive": "high", "priciest": "high", "costliest": "high", "cheapest": "low",
                     "least expensive": "low", "most affordable": "low"}
_RISKS = anchored(
    _RISK, "risk|risks|risky|riskier|riskiest|downside|downsides|tradeoff|tradeoffs|trade", after=20, start=True
)
_RECOMMENDATIONS = anchored(
    _RECOMMENDATION,
    "recommend|recommended|recommendation|recommends|suggest|propose|prefer|favour|favor|advise|preference|pick|"
    "choice|preferred|preferable|best|go|opt|sense",
    before=30,
    after=30,
)
# First characters of a list item ("- ", "2. ", "(b) ").
_ITEM_MARKS = frozenset("-*•(0123456789abcdABCD")
_TIERS = {"high": "high", "highe": "high", "expen": "high", "premi": "high", "mediu": "medium", "mid": "medium",
          "moder": "medium", "middl": "medium", "low": "low", "lowe": "low", "cheap": "low", "minim": "low",
          "basic": "low"}
_LABELS = {"a": "1", "b": "2", "c": "3", "d": "4", "one": "1", "two": "2", "three": "3", "four": "4",
           "first": "1", "second": "2", "third": "3", "fourth": "4"}
# How much text around the request is read for its options: a proposal sits next to its ask.
_BEFORE_REQUEST, _AFTER_REQUEST = 3000, 6000

_SINGLE_OPTION_MESSAGE = (
    "This asks for {what} but {missing}. People agree more readily when they can choose between costed "
    "options, each with its risk spelled out, and can see which one you back; a single take-it-or-leave-it "
    "proposal invites resistance."
)
_SINGLE_OPTION_SUGGESTION = (
    "Lay out three options, then your pick: \"Option 1 (high cost): ... Risk: low. Option 2 (medium cost): ... "
    "Risk: medium. Option 3 (low cost): ... Risk: high. We recommend option 2 because ...\""
)


def _within(scan: ScanText, item: Anchored, low: int, high: int) -> list[regex.Match[str]]:
    return [m for m in scan.matches(item) if low <= m.start() and m.end() <= high]


def _list_items(scan: ScanText, low: int, high: int) -> Iterator[regex.Match[str]]:
    """List items ("- ...", "2. ...", "(b) ...") on the lines that start in text[low:high]."""
    text, starts = scan.text, scan.index.line_starts
    for line_start in starts[bisect_left(starts, low) : bisect_left(starts, high)]:
        if text[line_start : line_start + 10].lstrip(" \t")[:1] in _ITEM_MARKS:
            item = _LIST_ITEM.match(text, line_start, min(high, line_start + 420))  # one line: no timer needed
            if item is not None:
                yield item


def _count_options(scan: ScanText, low: int, high: int) -> int:
    """How many options text[low:high] lays out: labelled, ordinal, by cost tier, or as costed list items."""
    labels = {_LABELS.get(m.group("label").lower(), m.group("label").lower())
              for m in _within(scan, _OPTION_LABELS, low, high)}
    ordinals = {m.group("label").lower() for m in _within(scan, _ORDINAL_OPTIONS, low, high)}
    tiers = {_TIERS.get(m.group("tier").lower()[:5], _TIERS.get(m.group("tier").lower()[:3], ""))
             for m in _within(scan, _COST_TIERS, low, high)} - {""}
    tiers |= {_PROSE_TIER_KINDS.get(" ".join(m.group("tier").lower().split()), "medium")
              for m in _within(scan, _PROSE_TIERS, low, high)}
    costed_items = sum(1 for m in _list_items(scan, low, high) if _COSTED.search(m.group("item")))
    return max(len(labels), len(ordinals), len(tiers), costed_items)


@dataclass(frozen=True)
class SingleOption:
    """A request for budget, people or approval without three costed options, their risks and a recommendation."""

    id: str = "single-option"
    severity: Severity = Severity.WARN
    applies_to: AppliesTo = AppliesTo.INTERNAL_BROADCAST

    def run(self, message: CheckMessage) -> Iterator[Finding]:
        text = message.text
        if not text.strip():
            return
        scan = prepare(text)
        # The first request is the one to judge: the options that belong to it are read around it.
        asked = [m for item in _REQUESTS.candidates(scan) for m in scan.matches(item)[:1]]
        first = min(asked, key=lambda m: m.start()) if asked else None
        requests = ([first] if first else []) + phrase_matches(scan, message.team.rule(self.id).extra_phrases)
        requests = [m for m in requests if not scan.in_footer(m.start())]
        if not requests:
            return
        request = min(requests, key=lambda m: m.start())
        low = max(0, request.start() - _BEFORE_REQUEST)
        high = min(len(text), request.end() + _AFTER_REQUEST)
        try:
            options = _count_options(scan, low, high)
            has_risk = bool(_within(scan, _RISKS, low, high))
            has_pick = bool(_within(scan, _RECOMMENDATIONS, low, high))
        except TimeoutError:
            return
        missing: list[str] = []
        if options < 3:
            missing.append("offers only one option" if options <= 1 else f"offers only {options} options")
        if not has_risk:
            missing.append("says nothing about risk")
        if not has_pick:
            missing.append("does not say which option you recommend")
        if not missing:
            return
        what = " ".join(request.group().split())
        missing_text = missing[0] if len(missing) == 1 else ", ".join(missing[:-1]) + " and " + missing[-1]
        why = _SINGLE_OPTION_MESSAGE.format(what=f"\"{what}\"", missing=missing_text)
        yield make_finding(scan.index, self.id, self.severity, request.start(), request.end(), why,
                           _SINGLE_OPTION_SUGGESTION)


RULES = (Speculation(), SingleOption())
