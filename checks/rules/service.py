"""Service-desk rules: deflection (policy, "nothing we can do", doubting the report, blaming colleagues, empty sympathy)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from checks.model import AppliesTo, CheckMessage, Finding, Severity
from checks.rules.apology import MAX_CANDIDATES, RuleScan, guarded, rule_pattern

_DEFLECTION = rule_pattern(
    "|".join(
        [
            # that's our policy / company policy / per our policy / policy doesn't allow
            r"(?P<policy>\b(?:that's|that is|this is|it's|it is|that was|it was|that's just|this is just)(?: (?:just|simply|"
            r"unfortunately|strictly|sadly|standard))? (?:our|the|company|store|bank|airline|standard|a|store's|bank's) "
            r"(?:company |store |standard |strict |official |internal )?polic(?:y|ies)\b|"
            r"\b(?:company|corporate|store|internal|our|their|bank|airline) polic(?:y|ies)\b|"
            r"\b(?:per|according to|under|in line with|as per) (?:our|the|company|store) (?:\w+ )?(?:policy|policies|rules|"
            r"terms|procedures?|guidelines|protocol)\b|"
            r"\b(?:against|violates|breaks|outside(?: of)?) (?:our|the|company) (?:\w+ )?(?:policy|policies|rules)\b|"
            r"\b(?:policy|the rules?|the system|our system) (?:doesn't|does not|won't|will not|cannot|can't|don't|do not) "
            r"(?:allow|let|permit)\b|"
            r"\bI(?:'m| am) (?:just |only |simply )?following (?:the |our |company )?(?:policy|procedures?|rules|protocol|"
            r"process|guidelines|orders)\b|\brules are rules\b)",
            # there's nothing we can do / out of my hands
            r"(?P<nothing>\bthere(?:'s| is| was)(?: (?:really|just|simply|unfortunately|honestly|sadly|literally))? "
            r"(?:nothing|not much|not a lot|little|no way)(?: (?:more|else|further))? (?:that )?(?:I|we|anyone|anybody|they|"
            r"the team|our team) (?:can|could|are able to|am able to|will be able to)(?: do| help)?\b|"
            r"\b(?:I|we)(?: really| simply| just| unfortunately| honestly)? (?:can't|cannot|can not|couldn't|could not|"
            r"won't be able to|am not able to|'m not able to|are not able to|'re not able to|am unable to|'m unable to|"
            r"are unable to|'re unable to) (?:do|offer) (?:anything|much|more|a thing|any more|nothing)\b|"
            r"\bnothing (?:more |else |further )?(?:I|we) (?:can|could) do\b|"
            r"\b(?:I|we)(?:'m| am|'re| are) (?:not able|unable) to help(?: you)?(?: (?:with )?(?:that|this|it|there))?\b|"
            r"\b(?:I|we) (?:can't|cannot|can not) help (?:you )?(?:with )?(?:that|this|it|there)\b|"
            r"\b(?:out of|beyond|above) (?:my|our) (?:hands|pay ?grade|remit|authority|scope)\b|"
            r"\bmy hands are tied\b|\b(?:not|isn't|is not) up to (?:me|us)\b)",
            # never heard of this / you're the first
            r"(?P<doubt>\b(?:I|we)(?:'ve| have)? never (?:heard of|seen|come across|encountered|had) (?:this|that|it|"
            r"anything like (?:this|that|it)|such (?:a|an)|a (?:case|problem|complaint|report|situation|issue) like)\b|"
            r"\b(?:this|that|it)(?:'s| has| had)? never (?:happened|come up|been reported|been an issue)(?: before| to anyone)?\b|"
            r"\b(?:no one|nobody|no-one|no other (?:customers?|clients?|users?))(?: else)? (?:has |have |had |is |was )?"
            r"(?:ever )?(?:reported|had|complained|mentioned|raised|experienced|seen|noticed)\b|"
            r"\byou(?:'re| are) the (?:first|only)(?: (?:one|person|customer|client|user))?(?: (?:to|who|that|with))?\b|"
            r"\b(?:it|everything)(?:'s| is)? (?:works?|working|looks?|looking) (?:fine|ok|okay|correct|normal) (?:on|from|at|for) "
            r"(?:our|my) (?:end|side)\b|\bworks (?:fine|ok|okay) for (?:everyone|everybody|other customers|all our other)\b)",
            # the other agent told you / whoever told you that
            r"(?P<colleague>\b(?:the |your |an |a |that )?(?:other|previous|last|earlier|first|another|different) "
            r"(?:agent|rep|representative|person|colleague|associate|advisor|adviser|operator|department|team|guy|lady|woman|"
            r"man|staff member|employee|support (?:agent|person|rep)|call centre|call center|branch|store|office)\b"
            r"(?: \w+){0,6}? (?:told|gave|said|promised|informed|quoted|misinformed|shouldn't|should not|was wrong|were wrong|"
            r"made a mistake|must have|may have|might have|got it wrong)\b|"
            r"\bI (?:don't|do not|can't|cannot) (?:know|explain|say|understand) why (?:the other \w+|they|he|she|someone|"
            r"somebody|anyone|that (?:agent|person|rep)|whoever) (?:told|said|promised|gave|quoted)\b|"
            r"\bwhoever (?:told|promised|gave|quoted) you\b|"
            r"\b(?:they|he|she) (?:shouldn't|should not|should never) have (?:told|promised|said|quoted|offered)\b|"
            r"\byou (?:must have|probably|may have) (?:misunderstood|misheard|been misinformed|misread)\b)",
            # not my department / talk to another team
            r"(?P<elsewhere>\b(?:(?:that's|that is|this is|it's|it is) )?not (?:my|our) (?:department|area|team|job|"
            r"responsibility|problem|remit|call|decision|division)\b|"
            r"\byou(?:'ll| will)? (?:need|have) to (?:contact|call|email|speak (?:to|with)|talk (?:to|with)|reach out to|"
            r"take (?:it|this|that) up with|ask|go (?:to|through)) (?:another|a different|the other|the right|the relevant|"
            r"the appropriate|that|the responsible|your) (?:department|team|group|division|office|branch|store)\b)",
        ]
    )
)
# Sympathy phrases; they only deflect when the text offers no action at all.
_SYMPATHY = rule_pattern(
    r"\bI (?:completely |totally |fully |really |truly |do |certainly |absolutely |can )?(?:understand|(?:can )?imagine|"
    r"see|know|appreciate|get|hear|realise|realize|recognise|recognize) (?:how|your|that|why|what|this|the)\b"
    r"[^.!?\n]{0,60}?\b(?:frustrat\w*|difficult\w*|hard|upset\w*|annoy\w*|stress\w*|inconvenien\w*|disappoint\w*|"
    r"feel\w*|anger|angry|concern\w*|situation|tough|awful|terrible|worr\w*|unhappy|not ideal|irritat\w*|"
    r"unacceptable|position|point)\b|"
    r"\bI (?:hear|feel) you\b|\bI (?:sympathi[sz]e|empathi[sz]e)\b|"
    r"\b(?:I(?:'m| am) )?(?:so |very |really )?sorry (?:to hear|you(?:'re| are) (?:going through|dealing with|having))\b"
)
# Anything that tells the reader what happens next.
_ACTION = rule_pattern(
    "|".join(
        [
            r"\blet me\b(?! know\b)|\bhere(?:'s| is) what (?:I|we)\b|\bnext steps?\b|\bI've gone ahead\b",
            r"\b(?:I|we)(?:'ll| will| shall| am going to|'m going to| are going to|'re going to| can|'ve| have| just| already|"
            r"'m| am|'re| are|'d like to| would like to)? (?:(?:personally|already|now|just|also|immediately|gone ahead and|"
            r"right away|today) )?(?:escalat\w*|rais(?:e|ed|ing)|fil(?:e|ed|ing)|open(?:ed|ing)?|issu(?:e|ed|ing)|"
            r"process(?:ed|ing)?|cancel\w*|call(?:ed|ing)?|phon\w*|email(?:ed|ing)?|contact\w*|follow(?:ed|ing)? up|"
            r"check(?:ed|ing)?|look(?:ed|ing)? into|investigat\w*|updat(?:e|ed|ing)|expedit\w*|arrang\w*|book(?:ed|ing)?|"
            r"schedul\w*|assign\w*|sort(?:ed|ing)?|resolv\w*|sen[dt](?:ing)?|ship(?:ped|ping)?|refund\w*|fix(?:ed|ing)?|"
            r"replac\w*|credit\w*|reimburs\w*|compensat\w*|waiv\w*|rebook\w*|reschedul\w*|correct\w*|restor\w*|"
            r"reset\w*|reactivat\w*|upgrad\w*|apply|applied|add(?:ed|ing)?|transfer\w*|handl\w*|take care|took care|"
            r"make (?:it|this|that) right|make up|cover\w*|pa(?:y|id) for|redo|redid|resen[dt]\w*|offer\w*|confirm\w*|"
            r"get back to you|ring|rang|chase|chased|push(?:ed)?|flag(?:ged)?|request(?:ed)?|submit\w*|override|"
            r"overrid\w*|approv\w*|authori[sz]\w*)\b",
            r"\b(?:a |the |full |partial )?(?:refund|credit|voucher|discount|replacement|reimbursement|compensation)\b",
        ]
    )
)

# Why each kind of deflection fails the customer (the finding's message).
DEFLECTION_WHY: dict[str, str] = {
    "policy": (
        "Quoting policy tells the customer why you won't help rather than what you will do, and the problem "
        "stays theirs."
    ),
    "nothing": (
        "Saying nothing can be done closes the conversation with the problem still open; there is almost always "
        "a next step to offer."
    ),
    "doubt": (
        "Saying you've never seen this before casts doubt on the customer's account and does nothing about their "
        "problem; whether others had it doesn't matter to them."
    ),
    "colleague": (
        "Pointing at another agent, department or at the customer's memory doesn't help: to the customer, you speak "
        "for the whole company."
    ),
    "elsewhere": "Sending the customer somewhere else leaves them to chase the problem alone.",
    "sympathy": "Sympathy with no action reads as a script: the customer still doesn't know what happens next.",
    "extra": "Your team lists this wording as a way of deflecting the customer instead of helping.",
}
# A concrete next step for each kind (the finding's suggestion).
_NEXT_STEP: dict[str, str] = {
    "policy": 'Say what you can do instead: "Here is what I can do: I will <next step> by <when>."',
    "nothing": 'Rewrite as: "Here is what I can do: <the closest option you have>. I will confirm it by <when>."',
    "doubt": 'Rewrite as: "Thank you for telling us. I\'m looking into it now and will update you by <when>."',
    "colleague": (
        'Rewrite as: "You were given the wrong information, and I\'m sorry. I will <put it right> by <when>."'
    ),
    "elsewhere": 'Rewrite as: "I\'ll pass this to <team> myself and make sure you hear back by <when>."',
    "extra": 'State what you will do now instead: "I will <next step> by <when>."',
}


@dataclass(frozen=True)
class DeflectionCheck:
    """Service-desk deflection: hiding behind policy, giving up, doubting the report, blaming others, empty sympathy."""

    id: str = "deflection"
    severity: Severity = Severity.BLOCK
    applies_to: AppliesTo = AppliesTo.INDIVIDUAL

    def run(self, message: CheckMessage) -> Iterator[Finding]:
        return guarded(self._scan(RuleScan(message, self.id, self.severity)))

    def _scan(self, scan: RuleScan) -> Iterator[Finding]:
        for match in scan.matches(_DEFLECTION, limit=MAX_CANDIDATES):
            kind = match.lastgroup or "policy"
            start, end = match.start(), match.end()
            if scan.claim(start, end):
                yield scan.finding(start, end, DEFLECTION_WHY[kind], _NEXT_STEP[kind])
        yield from self._sympathy_findings(scan)
        yield from scan.extra_findings(DEFLECTION_WHY["extra"], lambda _words: _NEXT_STEP["extra"])

    @staticmethod
    def _sympathy_findings(scan: RuleScan) -> Iterator[Finding]:
        """"I understand how frustrating this is" is fine with an action and a deflection without one."""
        sympathies = list(scan.matches(_SYMPATHY, limit=MAX_CANDIDATES))
        if not sympathies or scan.search(_ACTION) is not None:
            return
        for match in sympathies:
            start, end = match.start(), scan.clause_end(match.end())
            if not scan.claim(start, end):
                continue
            said = scan.words(start, end).rstrip(".!,;: ")
            suggestion = f'Keep it and add the action: "{said}, so I will <what you will do> by <when>."'
            yield scan.finding(start, end, DEFLECTION_WHY["sympathy"], suggestion)


RULES: tuple[DeflectionCheck, ...] = (DeflectionCheck(),)
