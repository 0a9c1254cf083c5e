"""Service-desk rule: deflection (policy, "nothing we can do", doubting the report, blaming others, empty sympathy)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from checks.model import AppliesTo, Finding, Severity
from checks.rules.apology import REMEDY_GIVEN, Branches, RuleScan, ScannedRule, branch, collect, rule_pattern

_DEFLECTION = Branches(
    # that's our policy / company policy / per our policy / the system won't let me
    branch(
        "policy",
        "policy|policies",
        r"\b(?:that's|that is|this is|it's|it is|that was|it was)(?: (?:just|simply|unfortunately|strictly|sadly|"
        r"standard))? (?:our|the|company|store|bank|airline|standard|a|store's|bank's) (?:company |store |standard |"
        r"strict |official |internal )?polic(?:y|ies)\b", before=60, after=10,
    ),
    branch(
        "policy",
        "policy|policies|rules|procedure|procedures|guidelines|protocol|terms|conditions|t",
        # the company's rules, not "according to the stated rules" of a game or a debate
        r"\b(?:per|according to|in line with|as per|as (?:stated|set out|laid out|described|explained|written) in) "
        r"(?:our|company|store|the (?:company|store|shop|bank|airline|hotel)"
        r"(?:'s)?) (?:\w+ )?(?:policy|policies|rules|"
        r"procedures?|guidelines|protocol|terms(?: and conditions)?|t&cs|conditions)\b|"
        r"\b(?:against|violates|breaks|outside(?: of)?) (?:our|the|company) (?:\w+ )?(?:policy|policies|rules)\b",
        before=50, after=10,
    ),
    branch(
        "policy",
        "allow|let|permit & policy|rule|rules|system",
        r"\b(?:policy|the rules?|the system|our system) (?:doesn't|does not|won't|will not|cannot|can't|don't|do not) "
        r"(?:allow|let|permit)\b", before=50, after=10,
    ),
    branch(
        "policy",
        "following|rules",
        r"\bI(?:'m| am) (?:just |only |simply )?following (?:the |our |company )?(?:policy|procedures?|rules|protocol|"
        r"process|guidelines|orders)\b|\brules are rules\b", before=20, after=40,
    ),
    # there's nothing we can do / I can't do anything / out of my hands
    branch(
        "nothing",
        "nothing|much|lot|little|way & there|nothing",
        r"\bthere(?:'s| is| was)(?: (?:really|just|simply|unfortunately|honestly|sadly|literally))? "
        r"(?:nothing|not much|not a lot|little|no way)(?: (?:more|else|further))? (?:that )?(?:I|we|anyone|anybody|"
        r"they|the team|our team) (?:can|could|are able to|am able to|will be able to)(?: do| help)?\b|"
        r"\bnothing (?:more |else |further )?(?:I|we) (?:can|could) do\b|"
        r"\bnothing (?:more |else |further )?(?:can|could) be done\b", before=40, after=70,
    ),
    branch(
        "nothing",
        "anything|much|more|thing|nothing & do|offer",
        r"\b(?:I|we)(?: really| simply| just| unfortunately| honestly)? (?:can't|cannot|can not|couldn't|could not|"
        r"won't be able to|am not able to|'m not able to|are not able to|'re not able to|am unable to|'m unable to|"
        r"are unable to|'re unable to) (?:do|offer) (?:anything|much|more|a thing|any more|nothing)\b"
        # "I won't be able to do much until I get back" says when, not that nothing will be done
        r"(?! (?:\w+ ){0,3}?(?:until|till|before|while|when|after)\b)", before=70, after=50,
    ),
    branch(
        "nothing",
        "help",
        r"\b(?:I|we)(?:'m| am|'re| are) (?:not able|unable) to help(?: you)?(?: (?:with )?(?:that|this|it|there))?\b|"
        r"\b(?:I|we) (?:can't|cannot|can not) help (?:you )?(?:with )?(?:that|this|it|there)\b", before=30, after=30,
    ),
    branch(
        "nothing",
        "hands|pay|paygrade|grade|remit|authority|scope|up|control",
        r"\b(?:out of|beyond|above|outside) (?:my|our) (?:hands|pay ?grade|remit|authority|scope)\b|"
        # present tense only: "circumstances beyond our control" explains the past (an excuse, not a refusal)
        r"\b(?:this|that|it)(?:'s| is)(?: (?:simply|just|sadly|unfortunately|completely|entirely))? (?:out of|beyond|"
        r"outside) (?:my|our) control\b|"
        r"\b(?:my|our) hands are (?:\w+ )?tied\b|"
        r"\b(?:not|isn't|is not) up to (?:me|us)\b", before=20, after=20,
    ),
    # "that's just how the system works": the process is presented as a fact the customer has to live with
    branch(
        "policy",
        "how|way & works|work|is|goes|operates",
        r"\b(?:that's|that is|this is|it's|it is)(?: (?:just|simply|unfortunately|sadly))? (?:how|the way) "
        r"(?:(?:the|our) (?:[\w-]+ )?(?:system|process|software|tool|procedure|platform|policy)|it|things|the rules) "
        r"(?:works?|is|goes|operates?)\b", before=40, after=40,
    ),
    # Rules as a wall: "we cannot make an exception", "it is the rule of our company", "we can't change them".
    branch(
        "policy",
        "exception|exceptions|exemption|exemptions|rule|rules|conditions|terms|change|alter|override|adjust|amend|"
        "possible",
        r"\b(?:I|we)(?:'re| are|'m| am)? (?:not able to|unable to|can't|cannot|can not|don't|do not|won't|will not|never) "
        r"(?:make|grant|allow|give|do) (?:an? |any )?(?:exceptions?|exemptions?)\b|"
        r"\b(?:it is|it's|that is|that's|this is) (?:the|a|our) (?:company |house |strict )?rules? (?:of|at|in|for) "
        r"(?:our|the|this) (?:company|firm|office|store|hotel|practice|building|shop|bank|airline|school|university|"
        r"clinic|hospital|council|agency|insurer|landlord|management)\b|"
        r"\b(?:is|it's|it is|that's|that is) not possible (?:to \w+ )?(?:from|on) our (?:side|end)\b|"
        r"\b(?:our|the) (?:terms and conditions|terms|t&cs|contract|rules) (?:don't|do not|doesn't|does not|won't|will not) "
        r"(?:allow|let|permit|cover)\b|"
        r"\b(?:I|we) (?:can't|cannot|can not|are not able to|aren't able to|'re not able to|am not able to|'m not able to) "
        r"(?:change|alter|override|adjust|amend) (?:that|this|it|them|those|these)\b"
        r"(?! (?:\w+ ){0,3}?(?:until|till|before|but|unless|yet|myself)\b)",
        before=70, after=60,
    ),
    # never heard of this / you're the first / works on our end
    branch(
        "doubt",
        "never|first|only|tell",
        r"\b(?:(?:I|we)(?:'ve| have)?|and have|have)(?: (?:honestly|really|genuinely|actually|literally|truly))? never "
        r"(?:heard of|seen|come across|encountered|had|received) (?:this|that|it|"
        r"anything like (?:this|that|it)|such (?:a|an)|a (?:case|problem|complaint|report|situation|issue) like)\b|"
        r"\b(?:this|that|it)(?:'s| has| had)? never (?:happened|come up|been reported|been an issue)"
        r"(?: before| to anyone)?\b|"
        r"\b(?:this is|it's|it is|that's|that is) the (?:first|only) time (?:I|we)(?:'ve| have)? (?:ever )?(?:seen|heard|"
        r"had|come across)\b|"
        r"\b(?:not sure|no idea|don't know|do not know) what (?:else )?(?:to tell you|I can tell you)\b",
        before=60, after=60,
    ),
    branch(
        "doubt",
        "nobody|one|other & reported|had|complained|mentioned|raised|experienced|seen|noticed",
        # "nobody else has reported this", "no other customers have had it"; not a plain "nobody noticed" in a story
        r"\b(?:(?:no one|nobody|no-one) else|no other (?:customers?|clients?|users?|people))(?: (?:has|have|had|is|was))?"
        r"(?: ever)? (?:reported|had|complained|mentioned|raised|experienced|seen|noticed)\b|"
        r"\b(?:no one|nobody|no-one) (?:has|have|had)(?: ever)? (?:reported|complained about|mentioned|raised|"
        r"experienced|seen|noticed|had) (?:this|that|it|such|anything like|a similar|the same)\b", before=5, after=70,
    ),
    branch(
        "doubt",
        "other|similar & complaint|complaints|report|reports|issue|issues|problem|problems|case|cases|customer|"
        "customers",
        r"\b(?:haven't|have not|hadn't|had not|never|not)(?: \w+){0,2}? (?:had|seen|heard|received|gotten|got)"
        r"(?: of)?(?: any| a single)? (?:other|similar) (?:complaints?|reports?|issues?|problems?|cases?|customers?)\b",
        before=70, after=20,
    ),
    branch(
        "doubt",
        "first|only & you",
        # the first or only one to complain or to have the problem; "you're the only one who received it" is a fact
        r"\byou(?:'re| are) the (?:first|only)(?: (?:one|person|customer|client|user))?(?: \w+){0,3}? (?:(?:to|who|"
        r"that)(?: has| have| had|'s|'ve)?(?: ever)? (?:complain\w*|report\w*|mention\w*|raise[ds]?|raising|"
        r"experienc\w*|notic\w*|(?:see|saw|seen) (?:this|that|it)|ha(?:d|s|ve|ving) (?:this|that|the|a|an|any|such an?) "
        r"(?:problem|issue|trouble|complaint|error|fault)|r[au]n into|hit (?:this|that)|encounter\w*)|with (?:this|that|"
        r"the|a|an|such an?) (?:problem|issue|complaint|error|fault))\b", before=15, after=90,
    ),
    branch(
        "doubt",
        "fine|ok|okay|correct|normal",
        r"\b(?:it|everything)(?:'s| is)? (?:works?|working|looks?|looking) (?:fine|ok|okay|correct|normal) (?:on|from|"
        r"at|for) (?:our|my) (?:end|side)\b|\bworks (?:fine|ok|okay) for (?:everyone|everybody|other customers|"
        r"all our other)\b", before=30, after=30,
    ),
    # the other agent told you / whoever told you that / you must have misunderstood
    branch(
        "colleague",
        "other|previous|last|earlier|first|another|different & agent|rep|representative|person|colleague|"
        "associate|advisor|adviser|operator|department|team|guy|lady|woman|man|staff|employee|support|call|branch|store|"
        "office",
        r"\b(?:(?:the|your|an|a|that) )?(?:other|previous|last|earlier|first|another|different) (?:agent|rep|"
        r"representative|person|colleague|associate|advisor|adviser|operator|department|team|guy|lady|woman|man|"
        r"staff member|employee|support (?:agent|person|rep)|call centre|call center|branch|store|office)\b"
        r"(?: \w+){0,6}? (?:told|gave|said|promised|informed|quoted|misinformed|shouldn't|should not|was wrong|"
        r"were wrong|made a mistake|must have|may have|might have|got it wrong)\b", before=10, after=130,
    ),
    branch(
        "colleague",
        "why|whoever|should|shouldn|where|involved|comment",
        r"\bI(?: don't| do not| can't| cannot|'m not sure| am not sure| have no idea| honestly don't) "
        r"(?:(?:know|explain|say|understand) )?why (?:the other \w+|they|he|she|someone|somebody|anyone|"
        r"that (?:agent|person|rep)|whoever|(?:my|a|our|your|the) (?:previous |other |last )?(?:colleague|agent|rep|"
        r"representative|advisor|adviser|team|person)) (?:told|said|promised|gave|quoted)\b|"
        r"\bwhoever (?:told|promised|gave|quoted) you\b|"
        r"\b(?:they|he|she|(?:my|our|the|a|your) (?:colleague|agent|rep|coworker|co-worker|team ?mate)) "
        r"(?:shouldn't|should not|should never) have (?:told|promised|said|quoted|offered)\b|"
        r"\bI (?:don't|do not) know where (?:he|she|they|that|this) got (?:that|this|it)(?: from)?\b|"
        r"\bI (?:wasn't|was not) (?:involved|part of|there) (?:in|with|for) (?:that|this|the|those)\b|"
        r"\b(?:can't|cannot|can not) (?:really )?comment on what (?:you were|they) (?:told|said|promised)\b",
        before=60, after=60,
    ),
    branch(
        "colleague",
        "misunderstood|misheard|misinformed|misread",
        r"\byou (?:must have|probably|may have) (?:misunderstood|misheard|been misinformed|misread)\b",
        before=25, after=15,
    ),
    # not my department / you'll need to contact another team
    branch(
        "elsewhere",
        "department|area|team|job|responsibility|problem|remit|call|decision|division & not & my|our",
        r"\b(?:(?:that's|that is|this is|it's|it is) )?not (?:my|our) (?:department|area|team|job|responsibility|"
        r"problem|remit|call|decision|division)\b", before=25, after=5,
    ),
    branch(
        "elsewhere",
        "handle|handles|deal|deals|do|does|cover|covers|look|looks|help & not|isn|don|doesn",
        r"\b(?:isn't|is not|not) (?:something|anything|a thing|what) (?:my|our|we|I) (?:team |department )?"
        r"(?:handles?|deals? with|do(?:es)?|covers?|looks? after|can help with)\b|"
        r"\b(?:I|we|my team|our team|my department|our department) (?:don't|do not|doesn't|does not) (?:handle|"
        r"deal with|"
        r"cover|look after|do) (?:that|this|those|these|it)\b", before=50, after=20,
    ),
    branch(
        "elsewhere",
        "department|team|group|division",
        r"\b(?:question|matter|issue|one|something|problem|request) for (?:another|a different|the other|the right|"
        r"the \w+) (?:department|team|group|division)\b|\b(?:another|a different|the other) (?:department|team)(?:'s)? "
        r"(?:problem|issue|responsibility|job|area)\b", before=45, after=30,
    ),
    branch(
        "elsewhere",
        "department|team|group|division|office|branch|store & need|have & you",
        r"\byou(?:'ll| will)? (?:need|have) to (?:contact|call|email|speak (?:to|with)|talk (?:to|with)|reach out to|"
        r"take (?:it|this|that) up with|ask|go (?:to|through)) (?:another|a different|the other|the right|the relevant|"
        r"the appropriate|that|the responsible|your|the \w+) (?:department|team|group|division|office|branch|store)\b",
        before=80, after=5,
    ),
    branch(
        "elsewhere",
        "handled|dealt|managed|responsibility|raise|contact",
        r"\b(?:is|are) (?:handled|dealt with|managed|looked after) by (?:a |an |another |the )?(?:separate |different |"
        r"other |external )?(?:\w+ )?(?:department|team|office|group|division|company|provider)\b|"
        r"\b(?:\w+(?:'s)?|their|its) responsibility,? not (?:ours|mine)\b|"
        r"\byou(?:'ll| will)? (?:need|have) to (?:contact|call|email|phone|raise (?:it|this|that) with|ask|speak to|"
        r"talk to|write to|take (?:it|this|that) up with) them\b",
        before=60, after=60,
    ),
)
# "Our policy ..." / "company policy ..." deflects only when nothing is done about the problem.
_POLICY_MENTION = branch(
    "policy", "policy|policies", r"\b(?:company|corporate|store|our|bank|airline) polic(?:y|ies)\b", before=15, after=10
)
_POLICY_MENTIONS = Branches(_POLICY_MENTION)
# Sympathy phrases; they only deflect when the text offers no action at all.
_SYMPATHY = Branches(
    # "I understand how ..." -- a sympathy verb; whether it is about the reader's feelings is checked after.
    branch(
        "understand",
        "i & understand|imagine|see|know|appreciate|get|hear|realise|realize|recognise|recognize",
        r"\bI (?:completely |totally |fully |really |truly |do |certainly |absolutely |can )?(?:understand|"
        r"(?:can )?imagine|see|know|appreciate|get|hear|realise|realize|recognise|recognize) (?:how|your|that|why|what|"
        r"this|the)\b", after=50, start=True),
    branch(
        "sympathy",
        "i|so|very|really|sorry & hear|feel|sympathise|sympathize|empathise|empathize|sorry",
        r"\bI (?:hear|feel) you\b|\bI (?:sympathi[sz]e|empathi[sz]e)\b|"
        r"\b(?:I(?:'m| am) )?(?:so |very |really )?sorry (?:to hear|you(?:'re| are) (?:going through|dealing with|"
        r"having))\b", before=25, after=60, start=True),
    branch(
        "sympathy",
        "feel|hopefully",
        r"\bI (?:really |truly |do )?feel for you\b|\bhopefully it(?:'s| is|'ll| will)?(?: not|n't)? (?:be )?"
        r"(?:not )?too (?:much|bad|hard|difficult)\b",
        before=10, after=60),
)
# What an "I understand how ..." must be about, within the same clause, to count as sympathy.
_FEELING = rule_pattern(
    r"\b(?:frustrat\w*|difficult\w*|hard|upset\w*|annoy\w*|stress\w*|inconvenien\w*|disappoint\w*|feel\w*|"
    r"anger|angry|concern\w*|situation|tough|awful|terrible|worr\w*|unhappy|not ideal|irritat\w*|unacceptable|"
    r"position|point)\b"
)
_SORRY_TO_HEAR = rule_pattern(r"\bsorry (?:to hear|you(?:'re| are) (?:going through|dealing with|having))\b")
# What a "sorry to hear ..." must be about to be sympathy with the reader's problem rather than condolence.
_REPORTED_PROBLEM = rule_pattern(
    r"\b(?:this|that|it|trouble|troubles|problems?|issues?|difficult\w*|frustrat\w*|experience|delay\w*|"
    r"inconvenien\w*|disappoint\w*|unhappy|dissatisf\w*|not working|doesn't work|isn't working|stopped working|broken|"
    r"errors?|wrong|late|missing|damaged|lost|charged?|charges|refund|order|delivery|parcel|package|account|service|"
    r"bill|billing|invoice|situation|outage|fault\w*|defect\w*|mix-?up)\b"
)
# Anything that tells the reader what happens next.
_ACTION = Branches(
    branch("action", "let|here|next|i", r"\blet me\b(?! know\b)|\bhere(?:'s| is) what (?:I|we)\b|\bnext steps?\b|"
           r"\bI've gone ahead\b", after=30, start=True),
    branch(
        "action",
        "i|we & "
        "escalate|escalated|escalates|escalating|escalation|raise|raised|raising|file|filed|filing|open|opened|"
        "opening|issue|issued|issuing|process|processed|processing|cancel|cancels|cancelled|canceled|cancelling|"
        "canceling|cancellation|call|called|calling|phone|phoned|phoning|email|emailed|emailing|contact|contacted|"
        "contacting|follow|followed|following|check|checked|checking|look|looked|looking|investigate|investigated|"
        "investigating|update|updated|updating|expedite|expedited|expediting|arrange|arranged|arranging|book|"
        "booked|booking|schedule|scheduled|scheduling|assign|assigned|assigning|sort|sorted|sorting|resolve|"
        "resolved|resolving|send|sent|sending|ship|shipped|shipping|refund|refunded|refunding|fix|fixed|fixing|"
        "replace|replaced|replacing|replacement|credit|credited|crediting|reimburse|reimbursed|reimbursing|"
        "compensate|compensated|compensating|waive|waived|waiving|rebook|rebooked|rebooking|reschedule|"
        "rescheduled|rescheduling|correct|corrected|correcting|restore|restored|restoring|reset|resetting|"
        "reactivate|reactivated|reactivating|upgrade|upgraded|upgrading|apply|applied|add|added|adding|transfer|"
        "transferred|transferring|handle|handled|handling|take|took|make|cover|covered|covering|pay|paid|redo|"
        "redid|resend|resent|resending|offer|offered|offering|confirm|confirmed|confirming|get|ring|rang|chase|"
        "chased|push|pushed|flag|flagged|request|requested|submit|submitted|submitting|override|overridden|"
        "overriding|overrode|approve|approved|approving|authorise|authorised|authorising|authorize|authorized|"
        "authorizing|start|started|starting",
        r"\b(?:I|we)(?:'ll| will| shall| am going to|'m going to| are going to|'re going to| can|'ve| have| just|"
        r" already|'m| am|'re| are|'d like to| would like to)? (?:(?:personally|already|now|just|also|immediately|"
        r"gone ahead and|right away|today) )?(?:escalat\w*|rais(?:e|ed|ing)|fil(?:e|ed|ing)|open(?:ed|ing)?|"
        r"issu(?:e|ed|ing)|process(?:ed|ing)?|cancel\w*|call(?:ed|ing)?|phon\w*|email(?:ed|ing)?|contact\w*|"
        r"follow(?:ed|ing)? up|check(?:ed|ing)?|look(?:ed|ing)? into|investigat\w*|updat(?:e|ed|ing)|expedit\w*|"
        r"arrang\w*|book(?:ed|ing)?|schedul\w*|assign\w*|sort(?:ed|ing)?|resolv\w*|sen[dt](?:ing)?|"
        r"ship(?:ped|ping)?|refund\w*|fix(?:ed|ing)?|replac\w*|credit\w*|reimburs\w*|compensat\w*|waiv\w*|"
        r"rebook\w*|reschedul\w*|correct\w*|restor\w*|reset\w*|reactivat\w*|upgrad\w*|apply|applied|"
        r"add(?:ed|ing)?|transfer\w*|handl\w*|take care|took care|make (?:it|this|that) right|make up|cover\w*|"
        r"pa(?:y|id) for|redo|redid|resen[dt]\w*|offer\w*|confirm\w*|get back to you|ring|rang|chase|chased|"
        r"push(?:ed)?|flag(?:ged)?|request(?:ed)?|submit\w*|overrid\w*|approv\w*|authori[sz]\w*|"
        r"start(?:ed|ing)? (?:on )?(?:yours|it|this|the|your|a))\b", before=50, after=90, start=True),
    *REMEDY_GIVEN,
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
        "Blaming another agent, another department or the customer's memory doesn't help: to the customer, you "
        "speak for the whole company."
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
class DeflectionCheck(ScannedRule):
    """Service-desk deflection: hiding behind policy, giving up, doubting the report, blaming others, empty sympathy."""

    id: str = "deflection"
    severity: Severity = Severity.BLOCK
    applies_to: AppliesTo = AppliesTo.INDIVIDUAL

    def _scan(self, scan: RuleScan) -> Iterator[Finding]:
        yield from collect(
            lambda: self._phrase_findings(scan),
            lambda: self._findings_without_action(scan),
            lambda: scan.extra_findings(DEFLECTION_WHY["extra"], lambda _words: _NEXT_STEP["extra"]),
        )

    @staticmethod
    def _phrase_findings(scan: RuleScan) -> Iterator[Finding]:
        for item, match in scan.branch_matches(_DEFLECTION):
            start, end = match.start(), scan.clause_end(match.end())
            yield scan.finding(start, end, DEFLECTION_WHY[item.kind], _NEXT_STEP[item.kind])

    @staticmethod
    def _findings_without_action(scan: RuleScan) -> Iterator[Finding]:
        """"I understand how frustrating this is" or "our policy is ..." is fine with an action, deflection without."""
        policies = [(m.start(), scan.clause_end(m.end())) for _, m in scan.branch_matches(_POLICY_MENTIONS)]
        sympathies: list[tuple[int, int]] = []
        for item, match in scan.branch_matches(_SYMPATHY):
            end = scan.clause_end(match.end(), reach=80)
            # "I understand how to fix it" is not sympathy: the clause must be about how the reader feels.
            if item.kind == "understand" and scan.search(_FEELING, match.end(), end) is None:
                continue
            # "Sorry to hear about your cat" is condolence; only sympathy about the reader's problem can stand in for
            # help with it.
            if item.kind == "sympathy" and scan.search(_SORRY_TO_HEAR, match.start(), match.end()) and (
                scan.search(_REPORTED_PROBLEM, match.end(), end) is None
            ):
                continue
            sympathies.append((match.start(), end))
        if not (sympathies or policies) or scan.any_branch(_ACTION):
            return
        for start, end in policies:
            yield scan.finding(start, end, DEFLECTION_WHY["policy"], _NEXT_STEP["policy"])
        for start, end in sympathies:
            said = scan.words(start, end).rstrip(".!,;: ")
            suggestion = f'Keep it and add the action: "{said}, so I will <what you will do> by <when>."'
            yield scan.finding(start, end, DEFLECTION_WHY["sympathy"], suggestion)


RULES: tuple[DeflectionCheck, ...] = (DeflectionCheck(),)
