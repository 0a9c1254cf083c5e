"""Blame rules for group mail: naming people (blame-names) and taking the blame personally in public (public-self-blame)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Iterable, Iterator, Mapping

import regex

from checks.model import AppliesTo, CheckMessage, Finding, Severity
from checks.scan import (
    AnchoredSet,
    ScanText,
    anchored,
    anchor_offsets,
    greeting_floor,
    keyword_anchored,
    matches_near,
    phrase_matches,
    prepare,
    sentence_around,
    vocabulary_words,
)
from checks.text import make_finding, span_timeout

# Findings one rule reports for one message: enough to show the pattern, short enough to read.
MAX_FINDINGS = 20
# Name hits looked at before giving up: hostile text repeating a name cannot make the rule slow.
MAX_NAME_HITS = 400

# Function words, sentence adverbs, greetings and calendar words: they start sentences, and may stand right
# before a name ("Yesterday Priya forgot"), but are never names themselves.
OPENER_WORDS: frozenset[str] = frozenset(
    """
    a about above after again against all almost also although always am among an and another any anybody anyone
    anything apparently are around as at back be because been before being below between both but by can could
    did do does doing done down during each either else even ever every everybody everyone everything few first
    for from further had has have having he her here hers herself him himself his how however i if in indeed into
    is it its itself just last later least less like many may maybe me meanwhile might mine more most much must
    my myself neither never next no nobody none nor not nothing now of off often on once one only or other others
    otherwise our ours ourselves out over own perhaps please quite rather really same several she should since so
    some somebody someone something sometimes somehow still such than that the their theirs them themselves then
    there therefore these they this those though through thus to today together tomorrow tonight too under
    unfortunately until up upon us very was we well were what whatever when where whether which while who whom
    whose why will with within without would yes yesterday yet you your yours yourself yourselves
    finally initially luckily sadly thankfully hopefully obviously clearly basically actually currently recently
    additionally also anyway again earlier overnight shortly soon instead regardless thanks thank sorry hello hi
    dear hey greetings best regards cheers sincerely kind warm note update fyi re fw fwd ps
    monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun
    january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec
    christmas easter thanksgiving halloween covid brexit new year
    """.split()
)
# Nouns for things, teams and products: never a person, and a capitalised word right after one is part of a
# product or team name ("Google Calendar deleted"), not a person either.
THING_WORDS: frozenset[str] = frozenset(
    """
    legacy staging production prod dev sandbox cache storage bucket disk memory cpu node nodes pod pods container
    containers worker workers timer import sync batch upload download order orders payment payments message
    messages login logins file files record records account accounts password passwords certificate
    certificates cert certs token tokens key keys domain dns link links vpn wifi router switch traffic spam filter
    filters rule rules policy policies request requests charge charges refund refunds transaction transactions
    shipment shipments delivery deliveries feed feeds form forms field fields table tables query queries whoever
    several none most many such both neither either everything anything nothing something
    team teams staff all crew group everyone folks people colleagues members member list lists department dept
    division office board committee council management leadership leads lead manager managers admin admins
    support service services desk help helpdesk engineering engineers engineer ops devops sre it hr finance legal
    sales marketing security compliance product design research operations platform infrastructure infra
    network networking data analytics billing accounts accounting payroll procurement customer customers client
    clients user users vendor vendors partner partners provider contractor contractors bot robot automation
    system systems server servers database databases cluster clusters service script scripts job jobs cron
    backup backups deploy deployment deployments release releases build builds pipeline pipelines migration
    migrations monitoring alerting alerts alert test tests testing qa review reviewer change changes config
    configuration patch patches upgrade upgrades rollout rollback fix fixes bug bugs issue issues incident
    incidents outage outages error errors problem problems mistake mistakes process firewall proxy gateway api
    app apps application website site page portal email emails mail mailing newsletter invoice invoices report
    reports dashboard code repo repository branch commit commits merge request ticket tickets queue scheduler
    nightly daily weekly monthly hourly morning afternoon evening night week month year quarter
    checkout cart basket search signup registration onboarding authentication auth sso mfa homepage inbox
    calendar export exports reporting invoicing ordering shipping printing printer scanner phone phones laptop
    laptops device devices hardware software firmware driver drivers plugin plugins extension extensions
    integration integrations webhook webhooks endpoint endpoints service-desk portal intranet wiki chat chatbot
    assistant robot scheduler queue queues index indexes indices replica replicas primary secondary region
    zone zones certificate license licence licenses licences subscription subscriptions plan plans template
    templates campaign campaigns survey surveys sheet spreadsheet document documents doc docs folder folders
    drive share sharepoint onedrive status monitoring uptime downtime load balancer balancers cdn frontend
    backend ui ux mobile web desktop tablet android ios windows linux mac office hq warehouse store shop
    accounts-payable payables receivables treasury audit auditors auditor regulator regulators bank banks
    company org organisation organization department headquarters hq office
    our their its the this that these those nobody somebody
    google microsoft amazon apple meta facebook twitter linkedin slack github gitlab bitbucket jira confluence
    jenkins kubernetes docker terraform ansible puppet chef aws azure gcp heroku vercel netlify cloudflare
    datadog grafana prometheus sentry pagerduty opsgenie splunk elastic kibana postgres postgresql mysql redis
    kafka rabbitmq nginx apache linux windows mac macos ios android chrome firefox safari outlook gmail exchange
    office teams zoom salesforce hubspot zendesk mailchimp stripe paypal shopify wordpress sap oracle excel word
    sheets drive dropbox okta auth0 twilio sendgrid mailgun notion asana trello figma dependabot renovate copilot
    python java node ruby rust golang
        """.split()
)
COMMON_WORDS: frozenset[str] = OPENER_WORDS | THING_WORDS

# Display names that describe a list or a function, not a person.
GENERIC_DISPLAY_WORDS: frozenset[str] = frozenset(
    """
    team staff all everyone list group department dept ops support help desk helpdesk noreply no-reply notifications
    notification bot admin admins info sales marketing hr it announcements announce newsletter committee board
    council users members customers office platform engineering security finance legal operations service
    services alerts alert monitoring system systems robot automation mailer daemon postmaster webmaster crew
    tech technology technologies specialist specialists digital media news magazine digest weekly daily monthly
    online solutions inc ltd llc gmbh corp corporation company co labs lab software foundation association
    society institute university college school center centre club community store shop deals offers rewards
    care studio studios agency consulting partners insurance airlines hotel hotels travel tickets events
    conference summit project projects org discussion developers mailing reply replies donotreply contact hello
    billing accounts invoices orders shipping press jobs careers recruiting talent network networks official
    """.split()
)

# Endings of ordinary nouns and adjectives that first names rarely have.
_NON_NAME_SUFFIXES = ("tion", "sion", "ment", "ness", "ity", "ing", "ship", "ware", "able", "ible", "ful", "less",
                      "ism", "ogy", "ics", "ancy", "ency", "out", "up", "base", "bot", "box", "hub",
                      "ops", "sync", "flow", "desk", "book", "point", "mail", "card", "pay")

_NAME_WORD = regex.compile(r"[^\W\d_][^\W\d_'’-]*(?:['’-][^\W\d_]+)*")
_CLOSINGS = regex.compile(
    r"(?i)^(?:best|thanks|thank\s+you|many\s+thanks|regards|kind\s+regards|best\s+regards|warm\s+regards|cheers|"
    r"sincerely|yours|all\s+the\s+best|talk\s+soon|take\s+care)\b"
)

# Verbs and phrases that, right after a person's name, make the sentence about what that person did wrong.
_BLAME_VERBS = (
    r"forgot|forgotten|missed|broke|broken|deleted|pushed|did\s*n['’]?t|did\s+not|never|failed(?:\s+to)?|"
    r"(?:was|were)\s+supposed\s+to|caused|messed\s+up|screwed\s+up|dropped\s+the\s+ball|overlooked|neglected|"
    r"overwrote|overwritten|misconfigured|mistyped|ignored|skipped|botched|wiped|removed|dropped|"
    r"sent\s+the\s+wrong|ran\s+the\s+wrong|approved|merged|deployed|shipped|made\s+(?:a|an|the)\s+(?:\w+\s+)?"
    r"(?:mistake|error|change)|(?:is|was)\s+(?:responsible|to\s+blame|at\s+fault)|should\s+have|"
    r"(?:was|wasn['’]t|was\s+not)\s+(?:careful|paying\s+attention|supposed)|accidentally|mistakenly|wrongly|"
    r"carelessly|apparently\s+(?:forgot|deleted|broke|pushed)|has\s+(?:broken|deleted|forgotten)|"
    r"had\s+(?:broken|deleted|forgotten|missed|not)"
)
_ADVERBS = r"(?:accidentally|apparently|also|just|then|simply|somehow|mistakenly|unfortunately|again|already|obviously|clearly|probably|both|all)"
_CAP_WORD = r"\p{Lu}\p{Ll}{1,20}(?:['’-]\p{L}\p{Ll}{1,20})?"

# A capitalised word standing on its own: not glued to a word, an apostrophe, a dot or a hyphen before it.
_NAME_START = r"(?<![\w'’.-])"
# Names that are not on the roster or in the headers count only in wording that makes the person the author of the
# mistake ("Hamid failed to rotate the keys"), not where a name merely sits next to an ordinary verb.
_MISTAKE_VERBS = (
    r"forgot|(?:has|had)\s+forgotten|broke|(?:has|had)\s+broken|deleted|(?:has|had)\s+deleted|missed|"
    r"(?:has|had)\s+missed|failed\s+to|neglected\s+to|pushed|caused|messed\s+up|screwed\s+up|botched|"
    r"dropped\s+the\s+ball|(?:was|were)\s+supposed\s+to|overwrote|(?:has|had)\s+overwritten|misconfigured|mistyped|"
    r"wiped|overlooked|ran\s+the\s+wrong|sent\s+the\s+wrong|made\s+(?:a|an|the)\s+(?:\w+\s+)?(?:mistake|error)|"
    r"(?:is|was)\s+(?:responsible|to\s+blame|at\s+fault)|(?:wasn['’]t|was\s+not)\s+(?:careful|paying\s+attention)|"
    r"should\s+have\s+(?:caught|noticed|checked|tested|seen|verified|spotted|reviewed)|"
    r"(?:accidentally|mistakenly|wrongly|carelessly)\s+[a-z]+|"
    # an ordinary action made a mistake by how or where it was done: "ran the migration against production",
    # "pushed the change without review", "sent the newsletter twice"
    r"(?:(?:has|had)\s+(?:run|re-?run|executed|applied|deployed|pushed|merged|started|triggered|restarted|"
    r"dropped|truncated|changed|edited|sent|released|published|uploaded|imported)|ran|re-?ran|executed|applied|deployed|pushed|merged|started|triggered|restarted|dropped|truncated|changed|"
    r"edited|sent|released|published|uploaded|imported)\s+(?:[\w-]+\s+){0,4}?(?:twice|again|"
    r"(?:against|on|in|into|to)\s+(?:the\s+)?(?:live|prod|production)(?:\s+(?:database|db|cluster|server|system))?|"
    r"by\s+mistake|without\s+(?:a\s+|any\s+)?(?:review|reviews|testing|tests|checking|approval|backups?|a\s+backup))|"
    # done the wrong way or from the wrong source: "uploaded the wrong file", "took the date from last month's
    # release instead of the new one", "has used the old address list", "signed off without looking"
    r"(?:(?:has|had)\s+[a-z]+|[a-z]+ed|took|put|set|sent|ran|chose|picked|pulled|wrote|gave|signed\s+off(?:\s+on)?)\s+"
    r"(?:(?:[a-z\d][\w'’-]*|(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day)\s+){0,6}?"
    r"(?:the\s+wrong|instead\s+of|in\s+place\s+of|the\s+old|an\s+old|an\s+outdated|"
    r"the\s+outdated|and\s+(?:nobody|no\s+one)\s+(?:re-?)?(?:checked|reviewed|noticed|tested)|"
    r"last\s+(?:month|year|week)['’]s|without\s+(?:looking|checking|testing|reviewing|asking|reading))|"
    # an omission: "didn't back up", "never renewed"; not a state of mind ("didn't know", "never liked")
    r"(?:did\s*n['’]?t|did\s+not|had\s+not|had\s*n['’]t|never)\s+(?!(?:know|knew|have|had|like|love|want|think|believe|"
    r"get|qualify|need|mean|seem|care|say|feel|see|understand|agree|expect|realise|realize|hear|mind|wish|intend|"
    r"happen|happened|exist|matter|bother|been|be|heard|seen|thought|liked|wanted|got)\b)[a-z]+"
)
# "<Name> forgot ...", "<First> <Last> deleted ..."
_NAME_THEN_VERB = regex.compile(
    rf"{_NAME_START}(?P<name>{_CAP_WORD}(?:\s{_CAP_WORD})?)(?:\s+{_ADVERBS}){{0,2}}\s+(?P<verb>{_MISTAKE_VERBS})(?!\w)"
)
# "<Name>'s typo", "<Name>'s config change" (the latter only where the sentence reports a problem)
_MISTAKE_NOUNS = frozenset("mistake error fault typo oversight slip blunder screw-up screwup mess bug".split())
_POSSESSIVE_NOUNS = (
    r"mistake|error|fault|change|changes|commit|typo|script|deploy|deployment|push|merge|config|configuration|bug|"
    r"oversight|code|update|query|migration|patch|slip|blunder|screw-?up|mess|decision|release|pull\s+request|"
    r"PR|fix|hotfix|edit|rule|setting|settings|upload|import|export|test|review|approval|call|responsibility"
)
_NAME_POSSESSIVE = regex.compile(
    rf"{_NAME_START}(?P<name>{_CAP_WORD})['’]s?\s+(?:[a-z][\w-]{{0,20}}\s+){{0,2}}?(?P<noun>{_POSSESSIVE_NOUNS})(?!\w)"
)
# "thanks to <Name>", "because <Name>", "blame <Name>", "caused by <Name>"
_TRIGGER_THEN_NAME = regex.compile(
    r"(?P<trigger>(?i:thanks\s+to|because(?:\s+of)?|due\s+to|blame[ds]?(?:\s+(?:it|this|that))?(?:\s+on)?|"
    r"caused\s+by|introduced\s+by|broken\s+by|deleted\s+by|pushed\s+by|made\s+by|done\s+by|"
    r"(?:the\s+)?fault\s+of|(?:the\s+)?mistake\s+of|courtesy\s+of|(?:came|comes|originated|stemmed|stems)\s+from|"
    r"(?:sits|sat|lies|lay|rests|rested)\s+with|(?:was|were)\s+(?:\w+\s+)?(?:skipped|missed|forgotten|removed|"
    r"overwritten|wiped|disabled|ignored|misconfigured|mistyped)\s+by|(?:that|which)(?=\s+\p{Lu}\p{Ll}+\s+(?:had\s+|has\s+)?[a-z]+ed\b)))\s+"
    rf"(?P<name>{_CAP_WORD})(?P<possessive>['’]s)?(?![\w-])"
)
# Triggers that blame on their own, and those that only do where the sentence reports a problem.
_BLAMING_TRIGGERS = ("blame", "caused", "introduced", "broken", "deleted", "pushed", "fault", "the fault", "mistake",
                     "the mistake", "was", "were")
# Words of the patterns above; a text without any of them cannot hold a name in blame wording.
_CONTEXT_KEYWORDS = (
    "forgot", "forgotten", "missed", "broke", "broken", "deleted", "pushed", "didn", "didnt", "did", "never", "failed",
    "supposed", "caused", "messed", "screwed", "dropped", "overlooked", "neglected", "overwrote", "overwritten",
    "misconfigured", "mistyped", "botched", "wiped", "wrong", "mistake", "error", "responsible", "blame", "blamed",
    "blames", "fault", "should", "careful", "attention", "accidentally", "mistakenly", "wrongly", "carelessly",
    "thanks", "because", "due", "courtesy", "introduced", "made", "done", "had", "hadn",
    "twice", "again", "production", "prod", "live", "without", "came", "comes", "originated", "stemmed", "stems",
    "instead", "old", "outdated", "wrong", "place", "nobody",
    "took", "used", "uploaded", "copied", "pulled", "signed", "picked", "chose", "entered", "sent", "ran", "set",
)
# Words of the triggers that come before a name ("thanks to", "came from", "sits with"); "that"/"which" are
# found with _RELATIVE_NAME instead, since they are in almost every text.
_TRIGGER_KEYWORDS = (
    "skipped", "missed", "forgotten", "removed", "overwritten", "wiped", "disabled", "ignored", "misconfigured",
    "mistyped", "thanks", "because", "due", "blame", "blamed", "blames", "caused", "introduced", "broken", "deleted", "pushed",
    "made", "done", "fault", "mistake", "courtesy", "came", "comes", "originated", "stemmed", "stems", "sits", "sat",
    "lies", "lay", "rests", "rested",
)
_RELATIVE_NAME = regex.compile(r"\b(?:that|which)\s+\p{Lu}\p{Ll}+\s+(?:had\s+|has\s+)?[a-z]+ed\b")
_POSSESSIVE_MARKS = ("'s", "’s", "s'", "s’")
# "It was Lucas who deleted ...", "It's Lucas that broke ..."
_IT_WAS_NAME = regex.compile(
    rf"(?i:it\s+was|it['’]s|that\s+was)\s+(?P<name>{_CAP_WORD})\s+(?i:who|that)(?:\s+{_ADVERBS}){{0,2}}\s+"
    rf"(?:{_MISTAKE_VERBS})(?!\w)"
)
# What makes a sentence report a problem, so that "because Ingrid re-ran the import" in it reads as blame.
_PROBLEM = regex.compile(
    r"(?i)(?<!\w)(?:broke|broken|break|breaks|crash\w*|fail\w*|outage|down|twice|duplicat\w*|wrong|lost|delet\w*|"
    r"missing|missed|errors?|bugs?|corrupt\w*|delay\w*|late|stuck|overwr\w+|wiped|again|mistakes?|problems?|"
    r"issues?|incident|oops|by\s+mistake|instead\s+of|forgot\w*|double|leaked|exposed|expired|bounced|wrongly|"
    r"blame[ds]?|fault|overstated|understated|incorrect\w*|"
    r"accidentally)(?!\w)"
)
# Right after a name: something that person did ("re-ran the import", "has changed"), in the past tense.
_PAST_ACTION_AFTER = regex.compile(
    r"\s+(?:(?:has|had|just|also|then|accidentally|apparently|somehow|already)\s+){0,2}"
    r"(?:[a-z][a-z-]*ed|re-?ran|ran|sent|broke|wrote|took|made|put|set|left|let|cut|shut|hit|lost|gave|forgot|kept|built|"
    r"spent|brought|bought|chose|found|held|told|did|got|overrode|overwrote|froze|undid|rewrote|reset)(?![\w-])"
)
# Capitalised words that name a country, a people or a language: "blame America", "the Irish", "in German".
PLACE_AND_PEOPLE_WORDS: frozenset[str] = frozenset(
    """
    america american americans africa african europe european europeans asia asian australia australian britain
    british england english scotland scottish wales welsh ireland irish canada canadian mexico mexican brazil
    brazilian argentina china chinese japan japanese korea korean india indian pakistan russia russian ukraine
    ukrainian germany german germans deutschland france french spain spanish portugal portuguese italy italian
    italians netherlands dutch holland belgium belgian sweden swedish norway norwegian denmark danish finland
    finnish poland polish czech austria austrian switzerland swiss greece greek turkey turkish israel israeli
    iran iranian iraq iraqi egypt egyptian nigeria kenya texas california london paris berlin washington
    latin arabic hindi hebrew mandarin cantonese
    """.split()
)
# Titles that mark the following word as a surname of someone in the news, not a colleague's first name.
_TITLES = frozenset("mr mrs ms dr prof sen senator gov governor rep president judge general gen col capt lord sir "
                    "king queen pope saint st".split())
# "On Tuesday, Robert Elz wrote:" -- whose words are quoted; names in them are attributions, not blame.
_ATTRIBUTION = regex.compile(
    r"(?m)^[^\n]{0,80}?(?P<who>\p{Lu}[\p{L}'’-]+(?:[ \t]+\p{Lu}[\p{L}'’-]+){0,3})[ \t]*(?:\([^\n)]{0,80}\)|<[^\n>]{0,80}>)?"
    r"[ \t]*(?:wrote|writes|said)[ \t]*:[ \t]*$"
)
_ATTRIBUTIONS = keyword_anchored(_ATTRIBUTION, ("wrote", "writes", "said"), 260, 20)
# Right after a name: the blame phrase that makes it part of the excerpt.
_AFTER_NAME = regex.compile(rf"(?:['’]s)?(?:\s+{_ADVERBS}){{0,2}}\s+(?:{_BLAME_VERBS})(?!\w)")
_BEFORE_NAME = regex.compile(
    r"(?i:thanks\s+to|because(?:\s+of)?|due\s+to|blame[ds]?(?:\s+(?:it|this|that))?(?:\s+on)?|caused\s+by|"
    r"(?:the\s+)?fault\s+of)\s+$"
)

_NAMES_MESSAGE = (
    "Someone's name appears in a message that goes to a whole group. Pointing at a person in a public notice about a "
    "problem shifts attention from what happened to who did it, and leaves a colleague exposed in front of everyone; "
    "who did what is a matter for a private conversation."
)
_OWN_NAME_MESSAGE = (
    "The sender's own name appears in the notice. Putting yourself in the spotlight in a group message about a problem "
    "makes it a story about a person rather than the facts; keep personal apologies for one-to-one mail."
)
_CONTEXT_MESSAGE = (
    "This sentence pins the problem on a named person in front of the whole group. A public notice should describe "
    "the event and its effect, not a culprit; conversations about individual responsibility belong in private."
)


@dataclass(frozen=True)
class _Person:
    """A name worth watching for, and where it came from."""

    token: str
    own: bool  # the sender's own name
    ambiguous: bool  # also an ordinary word ("Will", "May"): only counted mid-sentence


_NOT_A_NAME = regex.compile(r"[@\d]|\.[a-z]{2,}\b")
_BRACKETED = regex.compile(r"\([^)]{0,80}\)|\[[^\]]{0,80}\]|[\"<>]")


def _name_words(display: str) -> list[str]:
    """The words of a display name, with "Last, First" turned round and anything in brackets dropped; none for
    names that carry an address, a domain or digits ("support@acme", "Amazon.com", "Team 42")."""
    if _NOT_A_NAME.search(display, timeout=span_timeout(0, len(display))):
        return []
    cleaned = _BRACKETED.sub(" ", display, timeout=span_timeout(0, len(display)))
    if cleaned.count(",") == 1:
        last, first = cleaned.split(",")
        cleaned = f"{first} {last}"
    return _NAME_WORD.findall(cleaned)


def _is_generic_display(words: list[str]) -> bool:
    """A display name of a list, a function or an organisation ("Platform Team", "Acme Digital Media"), not a person:
    one such word disqualifies the whole name, and people rarely carry more than four names."""
    return len(words) > 4 or any(w.lower() in GENERIC_DISPLAY_WORDS or w.lower() in THING_WORDS for w in words)


def _usable_part(word: str) -> bool:
    """A display-name word that can stand for the person: capitalised, not an initial, not an ordinary word."""
    return (
        len(word) > 1
        and word[0].isupper()
        and not word.isupper()
        and word.lower() not in COMMON_WORDS
    )


def _local_part_name(addr: str) -> list[str]:
    """ "dana.whitfield@example.com" -> ["Dana", "Whitfield"] for addresses that carry no display name."""
    local = addr.partition("@")[0]
    parts = [p for p in regex.split(r"[._]", local) if p]
    if len(parts) < 2 or not all(p.isalpha() and len(p) > 1 for p in parts):
        return []
    words = [p.capitalize() for p in parts]
    return [] if _is_generic_display(words) else words


def _signature_name(signature: str) -> list[str]:
    """The name in the signature block: the first short line of capitalised words that is not a closing."""
    for line in signature.splitlines()[:6]:
        line = line.strip().rstrip(",")
        if not line or line == "--" or _CLOSINGS.match(line):
            continue
        words = _NAME_WORD.findall(line)
        if 1 <= len(words) <= 3 and " ".join(words) == line and all(w[0].isupper() for w in words):
            return [] if _is_generic_display(words) else words
        return []
    return []


def _people(message: CheckMessage) -> Mapping[str, _Person]:
    """Every name the rule watches for: the team roster, the sender (display name, address or signature) and
    the recipients' display names, each as a full name and as its single words."""
    parsed = message.parsed
    sender = (parsed.sender.name, parsed.sender.addr) if parsed.sender is not None else None
    recipients = tuple((recipient.name, recipient.addr) for recipient in parsed.recipients)
    return _people_from(tuple(message.team.roster), sender, parsed.signature, recipients)


@lru_cache(maxsize=256)
def _people_from(
    roster: tuple[str, ...],
    sender: tuple[str, str] | None,
    signature: str,
    recipients: tuple[tuple[str, str], ...],
) -> Mapping[str, _Person]:
    """The names of `_people`, cached: a team's roster and its usual correspondents recur message after message."""
    people: dict[str, _Person] = {}

    def add(words: list[str], own: bool, trusted: bool) -> None:
        usable = [w for w in words if len(w) > 1 and w[0].isupper() and not w.isupper()]
        if not usable:
            return
        tokens = ([" ".join(usable)] if len(usable) > 1 else []) + usable
        for token in tokens:
            common = token.lower() in COMMON_WORDS
            if common and not trusted:
                continue
            known = people.get(token)
            people[token] = _Person(token, own or (known.own if known else False), common)

    for member in roster:
        add(_name_words(member), own=False, trusted=True)
    if sender is not None:
        own_words = _name_words(sender[0]) if sender[0] else _local_part_name(sender[1])
        if not _is_generic_display(own_words):
            add([w for w in own_words if _usable_part(w)], own=True, trusted=False)
    add([w for w in _signature_name(signature) if _usable_part(w)], own=True, trusted=False)
    for name, addr in recipients:
        words = _name_words(name) if name else _local_part_name(addr)
        if not _is_generic_display(words):
            add([w for w in words if _usable_part(w)], own=False, trusted=False)
    return MappingProxyType(people)


def _ordinary_word(lowered: str) -> bool:
    return lowered in COMMON_WORDS or lowered.endswith(_NON_NAME_SUFFIXES)


def _looks_like_first_name(word: str) -> bool:
    """A capitalised word that could be a person's first name: not an ordinary word, product, weekday or month."""
    lowered = word.lower().replace("’", "'")
    if not (2 <= len(word) <= 20 and word[0].isupper() and word[1:].islower()) or _ordinary_word(lowered):
        return False
    # Plurals of ordinary nouns ("Invoices", "Payments") start sentences too.
    if lowered.endswith("s") and not lowered.endswith("ss"):
        return not (_ordinary_word(lowered[:-1]) or (lowered.endswith("es") and _ordinary_word(lowered[:-2])))
    return True


def _at_sentence_start(text: str, offset: int) -> bool:
    position = offset - 1
    while position >= 0 and offset - position < 40 and text[position] in " \t\"'“(":
        position -= 1
    return position < 0 or text[position] in "\n.!?:;-*•"


# A name written in lower case is read as one only where a person fits: "run by marcus", "marcus's change",
# "marcus forgot"; "please mark the release" is the verb.
_LOWER_NAME_AFTER = regex.compile(
    r"['’]s\b|\s+(?:(?:had|has|just|also)\s+)?(?:[a-z]+ed|forgot|broke|ran|sent|did|didn['’]t|pushed|set|put|made|took|"
    r"wrote|said|told|gave|left|will|should|was|is)\b"
)
_LOWER_NAME_BEFORE = regex.compile(r"(?:\bby|\bto|\bfrom|\bwith|\bblame|\bask|\btell|\band|\bthanks)\s+$")


def _lowercase_name_in_use(text: str, start: int, end: int) -> bool:
    return bool(_LOWER_NAME_AFTER.match(text, end, min(len(text), end + 30))
                or _LOWER_NAME_BEFORE.search(text, max(0, start - 12), start))


_PLACE_AFTER = regex.compile(
    r"[ \t]+(?:Road|Rd|Street|St|Avenue|Ave|Lane|Way|Drive|Square|Place|Building|House|Hall|Centre|Center|Campus|"
    r"Park|Tower|Court|Close|Gardens|Station|Bridge|Wing|Block|Site|Plant|Depot|Office|Catering|Ltd|GmbH|Inc|LLC)\b"
)
_NAME_LINE_REST = regex.compile(r"[\s.,;:!?…*_~()\[\]\"'’—–-]*(?:[A-Z][\w'’.-]*[\s.,;:!?…*_~()\"'’—–-]*){0,2}")


def _alone_on_line(text: str, start: int, end: int) -> bool:
    """A name standing alone on its line ("Paul...", "— Dana Whitfield") signs or labels the mail; it blames no one."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end == -1 else line_end
    if line_end - line_start > 60:
        return False
    before, after = text[line_start:start], text[end:line_end]
    return bool(_NAME_LINE_REST.fullmatch(before)) and bool(_NAME_LINE_REST.fullmatch(after))


def _in_address(text: str, start: int, end: int) -> bool:
    """Part of an e-mail address, URL or file name rather than prose."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return before in "@./\\_" or after in "@_" or (after == "." and end + 1 < len(text) and text[end + 1].isalnum())


def _blame_extent(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a name's span to the blame phrase around it ("because Priya forgot") when there is one."""
    # Both look at a few dozen characters: no timer needed (see checks.text.span_timeout).
    after = _AFTER_NAME.match(text, end, min(len(text), end + 80))
    before = _BEFORE_NAME.search(text, max(0, start - 30), start)
    return (before.start() if before else start), (after.end() if after else end)


# ---- the impersonal rewrite offered as a suggestion ----

_IRREGULAR_PARTICIPLES: dict[str, str] = {
    "break": "broken", "broke": "broken", "send": "sent", "sent": "sent", "run": "run", "ran": "run",
    "rerun": "rerun", "reran": "rerun", "write": "written", "wrote": "written", "overwrite": "overwritten",
    "overwrote": "overwritten", "rewrite": "rewritten", "rewrote": "rewritten", "take": "taken", "took": "taken",
    "make": "made", "made": "made", "put": "put", "set": "set", "reset": "reset", "shut": "shut", "give": "given",
    "gave": "given", "forget": "forgotten", "forgot": "forgotten", "hit": "hit", "leave": "left", "left": "left",
    "lose": "lost", "lost": "lost", "build": "built", "built": "built", "rebuild": "rebuilt", "rebuilt": "rebuilt",
    "spend": "spent", "spent": "spent", "cut": "cut", "get": "got", "got": "got", "do": "done", "did": "done",
    "keep": "kept", "kept": "kept", "pay": "paid", "paid": "paid", "see": "seen", "saw": "seen", "tell": "told",
    "told": "told", "sell": "sold", "sold": "sold", "bring": "brought", "brought": "brought", "buy": "bought",
    "bought": "bought", "choose": "chosen", "chose": "chosen", "find": "found", "found": "found", "hold": "held",
    "held": "held", "read": "read", "show": "shown", "throw": "thrown", "threw": "thrown", "undo": "undone",
    "undid": "undone", "override": "overridden", "overrode": "overridden", "feed": "fed", "fed": "fed",
    "draw": "drawn", "drew": "drawn", "freeze": "frozen", "froze": "frozen", "hide": "hidden", "hid": "hidden",
    "meet": "met", "met": "met", "quit": "quit", "say": "said", "said": "said", "split": "split",
    "spread": "spread", "upset": "upset", "mislay": "mislaid", "mislaid": "mislaid", "lay": "laid",
}
_DOUBLED_FINAL = frozenset(
    "stop drop ship plan tag commit submit swap zip log skip scan map pin flag strip trim cap admit omit permit "
    "refer transfer control chat plug unplug tap wrap step grab snap ban bar jam clip chop flip slip trip scrap".split()
)
_PARTICLES = r"(?:up|down|off|out|on|over|back|in|through|away)"
_OBJECT = (
    r"(?P<det>the|a|an|our|their|his|her|its|this|that|these|those|my|your)\s+"
    r"(?P<np>(?:[\w-]+\s+){0,4}?[\w-]+)"
    r"|(?P<bare>(?!(?:the|a|an|to|and|but|so|up|down|out|off)\b)[a-z][\w-]*(?:\s+[a-z][\w-]*){0,2}?)"
)
_OBJECT_END = (
    r"(?=\s*[,;:.!?)]|\s*$|\s+(?:and|but|so|which|that|before|after|when|while|because|during|on|in|at|for|from|to|"
    r"by|until|with|without|yesterday|today|tonight|last|this|again|twice|overnight|properly|correctly|"
    r"in\s+time)\b)"
)
_NEGATED_ACTION = regex.compile(
    rf"\s+(?:{_ADVERBS}\s+){{0,2}}(?:forgot\s+to|failed\s+to|neglected\s+to|omitted\s+to|did\s*n['’]?t|did\s+not|"
    rf"never|(?:was|were)\s+supposed\s+to|(?:was|were)\s+unable\s+to|could\s*n['’]?t|could\s+not)\s+"
    rf"(?P<verb>[a-z]+)(?:\s+(?P<particle>{_PARTICLES}))??\s+(?:{_OBJECT}){_OBJECT_END}(?P<tail>.*)",
    regex.DOTALL,
)
_PAST_ACTION = regex.compile(
    rf"\s+(?P<adverbs>(?:{_ADVERBS}\s+){{0,2}})(?:had\s+|has\s+)?(?P<verb>[a-z]+ed|"
    + "|".join(sorted((k for k, v in _IRREGULAR_PARTICIPLES.items() if k != v or k.endswith("t")), key=len, reverse=True))
    + rf")(?:\s+(?P<particle>{_PARTICLES}))??\s+(?:{_OBJECT}){_OBJECT_END}(?P<tail>.*)",
    regex.DOTALL,
)
_POSSESSIVE_REWRITE = regex.compile(
    rf"['’]s?\s+(?P<np>(?:[a-z][\w-]{{0,20}}\s+){{0,2}}?(?:{_POSSESSIVE_NOUNS}))(?!\w)(?P<tail>.*)", regex.DOTALL
)


def past_participle(verb: str) -> str:
    """Best-effort past participle of an English verb, base or past form ("disable" -> "disabled")."""
    lowered = verb.lower()
    if lowered in _IRREGULAR_PARTICIPLES:
        return _IRREGULAR_PARTICIPLES[lowered]
    if lowered.endswith("ed"):
        return lowered
    if lowered in _DOUBLED_FINAL:
        return lowered + lowered[-1] + "ed"
    if lowered.endswith("e"):
        return lowered + "d"
    if len(lowered) > 2 and lowered.endswith("y") and lowered[-2] not in "aeiou":
        return lowered[:-1] + "ied"
    return lowered + "ed"


def _passive_clause(match: regex.Match[str], negated: bool) -> str:
    """ "forgot to disable the cron job" -> "the cron job was not disabled"."""
    determiner = (match.group("det") or "").lower()
    noun_phrase = match.group("np") or match.group("bare") or ""
    if determiner in ("his", "her", "their", "my", "your"):
        determiner = "the"
    subject = f"{determiner} {noun_phrase}".strip()
    head = noun_phrase.split()[-1].lower() if noun_phrase.split() else ""
    plural = head.endswith("s") and not head.endswith(("ss", "us", "is", "news", "status"))
    auxiliary = "were" if plural else "was"
    adverbs = "" if negated else " ".join((match.groupdict().get("adverbs") or "").split())
    particle = f" {match.group('particle')}" if match.group("particle") else ""
    middle = "not" if negated else adverbs
    words = [subject, auxiliary] + ([middle] if middle else []) + [past_participle(match.group("verb")) + particle]
    return " ".join(words) + match.group("tail")


def _sentence_case(text: str) -> str:
    text = " ".join(text.split())
    return text[:1].upper() + text[1:] if text else text


def impersonal_rewrite(sentence: str, name_start: int, name_end: int, own: bool = False) -> str:
    """The sentence rewritten without the person: passive voice where a common pattern allows, else the name
    replaced by "a team member" (the sender's own name is dropped; "" when nothing worth keeping remains)."""
    before, after = sentence[:name_start], sentence[name_end:]
    try:
        timeout = span_timeout(0, len(sentence))
        possessive = _POSSESSIVE_REWRITE.match(after, timeout=timeout)
        if possessive:
            noun_phrase = possessive.group("np")
            article = "an" if noun_phrase[:1].lower() in "aeiou" else "a"
            lead = regex.sub(r"(?i)thanks\s+to\s*$", "because of ", before, timeout=timeout)
            return _sentence_case(f"{lead}{article} {noun_phrase}{possessive.group('tail')}")
        if regex.search(r"(?i)\bby\s+$", before, timeout=timeout):
            # A passive sentence that only adds the doer ("was deleted by Tom"): drop the doer.
            return _sentence_case(regex.sub(r"(?i)\s*\bby\s+$", "", before) + after)
        for pattern, negated in ((_NEGATED_ACTION, True), (_PAST_ACTION, False)):
            action = pattern.match(after, timeout=timeout)
            if action:
                lead = regex.sub(r"(?i)\b(?:because\s+of|thanks\s+to|due\s+to)\s*$", "because ", before)
                clause = _passive_clause(action, negated)
                return _sentence_case(lead + clause)
    except TimeoutError:
        pass
    if own:
        remainder = _sentence_case(regex.sub(r"^[\s,;:.-]+", "", before.rstrip(" ,;:-") + after))
        return remainder if len(remainder.split()) >= 3 else ""
    replacement = "A team member" if not before.strip() else "a team member"
    return _sentence_case(before + replacement + after)


@dataclass(frozen=True)
class BlameNames:
    """A person's name in the new text of a broadcast: team roster, sender, recipients or a name in blame wording."""

    id: str = "blame-names"
    severity: Severity = Severity.BLOCK
    applies_to: AppliesTo = AppliesTo.BROADCAST

    def run(self, message: CheckMessage) -> Iterator[Finding]:
        text = message.text
        if not text:
            return
        scan = prepare(text)
        index = scan.index
        greetings = message.parsed.greeting_lines
        people = _people(message)
        found: list[tuple[int, int, int, int, str, bool]] = []  # span, name span, message, own name?

        def keep(start: int, end: int, own: bool, why: str) -> None:
            if (greetings and index.line_of(start) in greetings) or scan.in_footer(start):
                return
            if _PLACE_AFTER.match(text, end, min(len(text), end + 20)):
                return  # "the Whitfield Road office": a street or a building, not the person
            if _alone_on_line(text, start, end) or _in_address(text, start, end) or any(s <= start < e or start <= s < end for _, _, s, e, _, _ in found):
                return
            low, high = _blame_extent(text, start, end)
            found.append((low, high, start, end, why, own))

        # Only names whose every word occurs in the text are searched for.
        present = [token for token in people if all(scan.has(part) for part in vocabulary_words(token))]
        # Casual mail writes names in lower case ("the export was run by marcus"); a name that is also an
        # ordinary word ("will", "mark") is only a name when capitalised.
        lowered = {token.lower(): token for token in present
                   if not people[token].ambiguous and token.lower() != token}
        if present:
            pattern = _names_pattern(tuple(present) + tuple(lowered))
            hits = matches_near(text, pattern, anchor_offsets(text, present + list(lowered), MAX_NAME_HITS),
                                before=25, after=60)
            for match in hits:
                if len(found) >= MAX_FINDINGS:
                    break
                if match.group() in lowered and not _lowercase_name_in_use(text, match.start(), match.end()):
                    continue
                person = people[lowered.get(match.group(), match.group())]
                if person.ambiguous and (
                    _at_sentence_start(text, match.start()) or text[match.end() : match.end() + 4].lstrip()[:1].isdigit()
                ):
                    continue
                keep(match.start(), match.end(), person.own, _OWN_NAME_MESSAGE if person.own else _NAMES_MESSAGE)

        for match in phrase_matches(scan, message.team.rule(self.id).extra_phrases):
            if len(found) >= MAX_FINDINGS:
                break
            keep(match.start(), match.end(), False, _NAMES_MESSAGE)

        if len(found) < MAX_FINDINGS:
            for start, end in _names_in_blame_context(scan):
                if len(found) >= MAX_FINDINGS:
                    break
                keep(start, end, False, _CONTEXT_MESSAGE)

        for low, high, name_start, name_end, why, own in sorted(found):
            floor = greeting_floor(index, greetings, low)
            sentence_start, sentence_end = sentence_around(text, low, high, floor=floor)
            rewrite = impersonal_rewrite(
                text[sentence_start:sentence_end], name_start - sentence_start, name_end - sentence_start, own
            )
            if own and not rewrite:
                suggestion = "Leave your own name out of the text; the From line already says who is writing."
            elif own:
                suggestion = f"Leave your own name out; the From line already says who is writing: \"{rewrite}\""
            else:
                suggestion = f"Describe what happened without naming anyone: \"{rewrite}\""
            yield make_finding(index, self.id, self.severity, low, high, why, suggestion)


@lru_cache(maxsize=256)
def _names_pattern(names: tuple[str, ...]) -> regex.Pattern[str]:
    """One pattern for the names present in a text; cached, since the same names recur in a team's mail."""
    return regex.compile(r"\b\L<names>\b", names=names)


def _names_in_blame_context(scan: ScanText) -> Iterable[tuple[int, int]]:
    """Spans of capitalised first names that sit in blame wording ("Jorge forgot", "thanks to Jorge's change")."""
    text = scan.text
    verb_offsets = scan.offsets(_CONTEXT_KEYWORDS)
    possessive_offsets = anchor_offsets(text, _POSSESSIVE_MARKS) if scan.has("s") else []
    # "that"/"which" open a clause about a named person only when a capitalised word follows: found at C speed.
    relative_offsets = [m.start() for m in _RELATIVE_NAME.finditer(text)] if scan.has("that") or scan.has("which") else []
    trigger_offsets = sorted(set(scan.offsets(_TRIGGER_KEYWORDS)) | set(relative_offsets))
    attributed = _attributed_names(scan)
    # Windows sized to each pattern: the name comes before a verb, around an "'s", or after a trigger.
    for pattern, offsets, before, after in (
        (_NAME_THEN_VERB, verb_offsets, 60, 45),
        (_NAME_POSSESSIVE, possessive_offsets, 25, 60),
        (_TRIGGER_THEN_NAME, trigger_offsets, 25, 50),
        (_IT_WAS_NAME, scan.offsets(("who", "that")), 40, 60),
    ):
        for match in matches_near(text, pattern, offsets, before=before, after=after):
            name_start = match.start("name")
            words = list(_TOKEN.finditer(match.group("name")))
            # "Yesterday Priya forgot": leading openers are not part of the name; "Google Calendar deleted":
            # a product or team word makes the whole phrase a thing.
            while words and _bare(words[0].group()) in OPENER_WORDS:
                words.pop(0)
            if not words or not all(_looks_like_first_name(w.group()) for w in words):
                continue
            start, end = name_start + words[0].start(), name_start + words[-1].end()
            relative = (match.groupdict().get("trigger") or "").lower() in ("that", "which")
            if _not_a_colleague(text, start, end, attributed, match.start(), relative) or not _blames(scan, match):
                continue
            yield start, end


_TOKEN = regex.compile(r"\S+")
_APOSTROPHE = regex.compile(r"['’]")
_NEXT_CAPITALISED = regex.compile(r"[ \t]+(\p{Lu}[\p{L}'’-]+)")
_CLAUSE_END = regex.compile(r"[.;!?]")
_FOR = regex.compile(r"(?i)(?<!\w)for(?!\w)")


def _bare(word: str) -> str:
    """A word in lower case without a contraction or possessive ("We've" -> "we", "Chris'" -> "chris")."""
    return _APOSTROPHE.split(word.lower(), maxsplit=1)[0]


def _not_a_colleague(
    text: str, start: int, end: int, attributed: frozenset[str], wording_start: int, relative: bool = False
) -> bool:
    """A capitalised word in blame wording that is not a colleague's first name: a thing after a determiner ("the
    Jenkins job"), a country or a people ("blame America"), a public figure after a title ("Mr. Bush"), the second
    word of a longer proper name ("the F.C.C. Grinch"), or the author of a quoted message ("Robert Elz wrote:")."""
    if not relative and _preceded_by_determiner(text, start):
        return True  # ("a filter that Anouk changed": "that" opens a clause about what Anouk did)
    words = [_bare(word) for word in text[start:end].split()]
    if any(word in PLACE_AND_PEOPLE_WORDS or word in _TITLES for word in words):
        return True
    before = text[max(0, start - 24) : start]
    previous = before.split()[-1] if before.split() else ""
    if previous.rstrip(".").lower() in _TITLES:
        return True
    # (a word before the name inside the blame wording, "Blame Piotr", is the wording itself)
    if (
        start == wording_start
        and previous
        and previous[0].isupper()
        and _bare(previous.strip("\"'“(")) not in OPENER_WORDS
        and not _ends_sentence(before)
    ):
        return True
    following = _NEXT_CAPITALISED.match(text, end, min(len(text), end + 40))
    names = set(words) | ({_bare(following.group(1))} if following else set())
    return bool(attributed) and not names.isdisjoint(attributed)


def _ends_sentence(before: str) -> bool:
    """Whether `before` (the text up to a word) ends with a sentence end, a line break or a bracket."""
    stripped = before.rstrip(" \t")
    return not stripped or stripped[-1] in ".!?:;\n(\"“'‘-–—*•"


def _attributed_names(scan: ScanText) -> frozenset[str]:
    """Lower-case words of the names on attribution lines ("Robert Elz wrote:"), remembered per text."""
    key = ("blame", "attributed")
    found = scan.memo.get(key)
    if found is None:
        names: set[str] = set()
        if scan.has("wrote") or scan.has("writes") or scan.has("said"):
            for line in scan.matches(_ATTRIBUTIONS):
                names.update(_bare(word) for word in line.group("who").split())
        found = scan.memo[key] = frozenset(names)
    return found  # type: ignore[return-value]


def _blames(scan: ScanText, match: regex.Match[str]) -> bool:
    """Whether the wording around a name that is nobody's known name makes that person the author of a mistake."""
    text = scan.text
    groups = match.groupdict()
    if groups.get("verb") is not None or match.re is _IT_WAS_NAME:
        return True  # the name is the subject of a mistake verb
    sentence_start, sentence_end = sentence_around(text, match.start(), match.end())
    after_name = text[match.end() : sentence_end]
    if groups.get("noun") is not None:
        # "Teodor's typo" blames on its own; "Kofi's change" only in a sentence that reports a problem.
        if groups["noun"].lower() in _MISTAKE_NOUNS:
            return True
        return _PROBLEM.search(text, sentence_start, sentence_end) is not None
    trigger = " ".join(groups["trigger"].lower().split())
    if trigger.startswith(_BLAMING_TRIGGERS):
        return True
    # "thanks to", "because", "due to", "courtesy of", "made by": gratitude or a plain reason unless the person's
    # action is followed by a problem ("thanks to Kofi's change, the build broke") and nobody is being thanked
    # ("thanks to Greta and Omar for the notes").
    clause = _CLAUSE_END.split(after_name, maxsplit=1)[0]
    if _FOR.search(clause.split(",")[0] if groups.get("possessive") else clause):
        return False
    if trigger.startswith(("because", "due")) and not (
        groups.get("possessive") or _PAST_ACTION_AFTER.match(text, match.end(), min(len(text), match.end() + 60))
    ):
        return False  # "because Bronson is ..." gives a reason; "because Ingrid re-ran ..." names an action
    return _PROBLEM.search(text, sentence_start, sentence_end) is not None


def _preceded_by_determiner(text: str, start: int) -> bool:
    """ "the Jenkins job", "our Atlas cluster": a capitalised word after a determiner is a thing, not a person."""
    before = text[max(0, start - 12) : start].lower().split()
    return bool(before) and before[-1] in ("the", "a", "an", "our", "their", "this", "that", "your", "its", "my", "every", "each", "some")


def _self_blame(source: str) -> regex.Pattern[str]:
    return regex.compile(r"(?<!\w)(?:" + source + r")", regex.IGNORECASE)


# Ways of taking the blame personally, each tried only where its first word occurs and a word it needs follows.
_SELF_BLAMES = AnchoredSet((
    anchored(_self_blame(
        r"(?<!\bnot\s)(?<!n['’]t\s)(?:(?:all|entirely|totally|completely|wholly)\s+)?my\s+(?:own\s+)?(?:fault|mistake|"
        r"error|bad|oversight|blunder|screw-?\s?up|doing|responsibility|guilt)"
    ), "all|entirely|totally|completely|wholly|my & fault|mistake|error|bad|oversight|blunder|screw|screwup|doing|"
       "responsibility|guilt", before=25, after=70, start=True),
    anchored(_self_blame(
        r"i\s+(?:take|accept|bear|assume|own)\s+(?:full\s+|complete\s+|total\s+|sole\s+|all\s+(?:the\s+)?|personal\s+|"
        r"the\s+)?(?:responsibility|blame|ownership)"
        r"|i(?:['’]m|\s+am)\s+(?:fully\s+|entirely\s+|solely\s+|totally\s+|personally\s+|the\s+one\s+)?(?:to\s+blame|"
        r"at\s+fault|responsible\s+for\s+(?:this|that|it|the\s+(?:mistake|error|outage|incident|problem|issue|mix-?up|"
        r"confusion|failure|mess)))"
        r"|i\s+(?:really\s+|totally\s+|completely\s+|badly\s+)?(?:messed|screwed|fouled|mucked)\s+(?:this\s+|it\s+|"
        r"things\s+)?up"
        r"|i\s+(?:really\s+)?(?:dropped\s+the\s+ball|blew\s+it|goofed|botched|fumbled)"
        r"|i\s+made\s+(?:a|an)\s+(?:\w+\s+)?(?:mistake|error|blunder)"
        r"|i(?:['’]m|\s+am|\s+was)\s+the\s+one\s+who"
        r"|i\s+should\s+have\s+(?:caught|noticed|checked|tested|seen|known|verified|double-?checked|spotted|reviewed|"
        r"been\s+more\s+careful)"
        r"|i\s+(?:accidentally|mistakenly|carelessly|wrongly|inadvertently)\s+[a-z]+"
        r"|i\s+(?:(?:totally|completely|simply|just|clean|entirely)\s+)?(?:forgot|failed|neglected)\s+to\s+[a-z]+"
        r"|i\s+got\s+(?:the|my|our|your|a|an|this|that|it|these|those)\s+(?:[\w-]+\s+){0,3}?wrong(?!\w)"
        r"|i\s+(?:overlooked|caused|broke)(?!\w)"
        # a failing of one's own: "I was careless", "I wasn't paying attention", "I let the team down"
        r"|i(?:['’]m|\s+am|\s+was)\s+(?:\w+\s+)?(?:careless|sloppy|negligent|lazy|too\s+hasty|in\s+too\s+much\s+of\s+a\s+hurry)"
        r"|i\s+(?:wasn['’]t|was\s+not)\s+(?:\w+\s+)?(?:paying\s+attention|careful|thinking|concentrating|focused)"
        r"|i\s+(?:really\s+|totally\s+)?let\s+(?:the\s+team|you\s+all|everyone|you|all\s+of\s+you|the\s+company|us)\s+down"
        r"|i\s+(?:really\s+|totally\s+|completely\s+)?(?:botched|bungled|fumbled|fluffed|mangled|butchered)"
    ), "i & responsibility|blame|ownership|fault|responsible|messed|screwed|fouled|mucked|dropped|blew|goofed|botched|fumbled|made|"
       "one|should|accidentally|mistakenly|carelessly|wrongly|inadvertently|forgot|failed|neglected|overlooked|caused|"
       "broke|got|careless|sloppy|negligent|lazy|hasty|hurry|paying|careful|thinking|concentrating|focused|let|"
       "bungled|fluffed|mangled|butchered", before=25, after=90, start=True),
    # "The error happened from my side only", "the slip was on my end"
    anchored(_self_blame(
        r"(?:error|mistake|fault|slip|problem|issue)\s+(?:happened|occurred|was|is|came)\s+(?:from|on|at)\s+my\s+"
        r"(?:side|end|part)"
    ), "error|mistake|fault|slip|problem|issue & side|end|part", before=40, after=60, start=True),
    # "I made a real mess of the distribution list"
    anchored(_self_blame(r"i\s+made\s+(?:a|such\s+a|quite\s+a)\s+(?:real\s+|total\s+|complete\s+|right\s+|proper\s+)?"
                         r"(?:mess|hash|muddle|pig['’]s\s+ear)\s+of"), "i & made", before=5, after=60, start=True),
    # "The error is mine alone", "the mistake was mine"
    anchored(_self_blame(
        r"the\s+(?:\w+\s+)?(?:error|mistake|fault|slip|oversight|blunder)\s+(?:is|was)\s+(?:all\s+|entirely\s+|completely\s+)?mine"
    ), "the & mine", before=40, after=60, start=True),
    anchored(_self_blame(r"mea\s+culpa"), "mea & culpa", before=5, after=12, start=True),
    anchored(_self_blame(r"blame\s+(?:it\s+on\s+|this\s+on\s+)?me(?!\w)"), "blame & me", after=30, start=True),
    anchored(_self_blame(r"the\s+blame\s+(?:\w+\s+){0,3}?(?:is|lies|rests|sits|lay|sat)\s+(?:\w+\s+)?(?:with\s+me|mine)"), "the & blame",
    before=6, after=60,
             start=True),
    anchored(_self_blame(r"it\s+was\s+(?:me|i)\s+(?:who|that)"), "it & was", before=5, after=30, start=True),
    anchored(_self_blame(
        r"(?:that|this|it)(?:['’]s|\s+is|\s+was|\s+one\s+is|\s+one['’]s|\s+one\s+was)\s+(?:all\s+|entirely\s+|totally\s+|"
        r"fully\s+|100\s?%\s+)?on\s+me(?!\w)"
    ), "that|this|it & me", before=30, after=45, start=True),
    anchored(_self_blame(r"(?:100\s?%|one\s+hundred\s+percent|entirely|completely|totally|all)\s+on\s+me(?!\w)"),
             "entirely|completely|totally|all|100|hundred & me", before=12, after=30, start=True),
))
_SELF_BLAME_MESSAGE = (
    "The sender takes the blame personally in a message to a whole group. A public notice works best when it sticks "
    "to neutral facts: one person shouldering the fault in front of everyone makes the story about them. Unless the "
    "mistake hurt a particular person, any personal apology is better made one to one."
)
_SELF_BLAME_SUGGESTION = (
    "State the facts without a culprit, e.g. \"The release went out without the final check.\", and send your "
    "personal apology directly to the people it affected."
)


@dataclass(frozen=True)
class PublicSelfBlame:
    """Individual self-blame in a broadcast ("my fault", "I messed up", "I take full responsibility")."""

    id: str = "public-self-blame"
    severity: Severity = Severity.WARN
    applies_to: AppliesTo = AppliesTo.BROADCAST

    def run(self, message: CheckMessage) -> Iterator[Finding]:
        text = message.text
        if not text:
            return
        scan = prepare(text)
        index = scan.index
        hits = list(scan.merged_matches(_SELF_BLAMES))
        hits += phrase_matches(scan, message.team.rule(self.id).extra_phrases)
        reported = 0
        last_end = -1
        for match in sorted(hits, key=lambda m: m.start()):
            if match.start() < last_end or scan.in_footer(match.start()):
                continue
            last_end = match.end()
            yield make_finding(
                index, self.id, self.severity, match.start(), match.end(), _SELF_BLAME_MESSAGE, _SELF_BLAME_SUGGESTION
            )
            reported += 1
            if reported >= MAX_FINDINGS:
                return


RULES = (BlameNames(), PublicSelfBlame())
