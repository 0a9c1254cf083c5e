"""Tests for the apology-language rules (checks/rules/apology.py) and the deflection rule (checks/rules/service.py)."""
from __future__ import annotations

import dataclasses
import time

import pytest

from checks.engine import run_checks
from checks.model import (
    AppliesTo,
    Audience,
    Check,
    CheckMessage,
    Classification,
    Finding,
    ParsedMessage,
    RuleSettings,
    Severity,
    TeamContext,
)
from checks import scan
from checks.rules import apology, service

RULES_BY_ID: dict[str, Check] = {rule.id: rule for rule in (*apology.RULES, *service.RULES)}


def make_message(
    text: str,
    extra: dict[str, tuple[str, ...]] | None = None,
    audience: Audience = Audience.INDIVIDUAL,
    greeting_lines: frozenset[int] = frozenset(),
    real_apology: bool = True,
) -> CheckMessage:
    """A CheckMessage for `text` as if parsed and classified as an oops mail."""
    parsed = ParsedMessage(
        subject="oops",
        sender=None,
        to=(),
        cc=(),
        bcc=(),
        message_id="<t@example.com>",
        in_reply_to="",
        references=(),
        date=None,
        headers={},
        text=text,
        greeting_lines=greeting_lines,
    )
    classification = Classification(
        team="default",
        is_oops=True,
        oops_reason="header",
        audience=audience,
        internal=False,
        follow_up=False,
        real_apology=real_apology,
    )
    settings = {rule_id: RuleSettings(extra_phrases=phrases) for rule_id, phrases in (extra or {}).items()}
    return CheckMessage(parsed, classification, TeamContext(rules=settings))


def findings_of(rule_id: str, text: str, **kwargs: object) -> list[Finding]:
    return list(RULES_BY_ID[rule_id].run(make_message(text, **kwargs)))  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Sentences written for these tests (not taken from the seed articles).
# ---------------------------------------------------------------------------------------------
CASES: dict[str, dict[str, list[str]]] = {
    "non-apology": {
        "flag": [
            # In an oops notice a conditional apology for one's own confusing mail is still "sorry if" (untagged,
            # the same line is manners and the mail is never checked: tests/test_classify.py).
            "Sorry if my earlier notes were confusing - here is the short version.",
            "I apologize if my earlier email was confusing. The window is Friday 06:00-07:00, not 16:00-17:00.",
            "I'm sorry if my comments in the review came across as harsh.",
            "Apologies if the new schedule caught anyone off guard.",
            "I am sorry you feel the handover was rushed.",
            "We're sorry that you felt ignored during the call.",
            "Sorry, but the deadline was never realistic in the first place.",
            "I apologise for the confusion, however the spec did say Tuesday.",
            "We regret any inconvenience this might have caused your team.",
            "Mistakes were made during the migration last weekend.",
            "I'm sorry the invoice was wrong, though finance had changed the template.",
            "If anybody was upset by the announcement, I apologize.",
            "My apologies to whoever was affected by the outage.",
            "I'm sorry\nbut the vendor shipped late.",
            "I regret that you were disappointed with the result.",
            "Sorry    if   that  sounded  rude.",
            "I'm sorry about the outage; that said, it only lasted ten minutes.",
            "Errors have been made in how the rota was shared.",
            "If anyone was offended by my joke, that was never my intention.",
            "I'm sorry about the outage. However, it only affected a few users.",
            "Sorry if the numbers caused any confusion, but to be fair the template was out of date.",
            # the same shapes stay flagged when they are about a mistake rather than the message
            "Sorry if the outage caused you any trouble.",
            "Sorry, but the deploy was delayed by the vendor.",
            "I'm sorry if you were upset by the delay.",
            "Sorry you feel that way about the refund.",
            "Sorry for the duplicate invoices, but our billing provider sent them.",
            "Apologies for the long wait, however the courier lost the parcel.",
            "Sorry if my change broke the export, but the spec was vague.",
            "We regret any disruption this may have caused to your team.",
        ],
        "pass": [
            "I'm sorry.",
            "I'm sorry I missed our one-to-one this morning.",
            "Sorry for the delay in the report; I've sent it now.",
            "I'm sorry, and I'll fix the totals before noon.",
            "I apologise for sending the wrong attachment.",
            "We are sorry we double-charged your card and have refunded it.",
            "Sorry to bother you, but could you check the numbers?",
            "I am sorry that you had to stay late to fix my mistake.",
            "I made a mistake in the forecast and I'm sorry.",
            "I regret not checking the figures before sending them.",
            "Let me know if anyone was missed from the invite.",
            "I'm sorry I wasn't clear, and I'll send a corrected version, but it may take an hour.",
            "Let me know if anyone was upset by the change.",
            "I'll send a note to whoever was affected.",
            "Sorry if this has been asked before; where do I find the export?",
            # apologies for the message itself or the writer's manner apologise for no mistake
            "Sorry for the lengthy mail, but the background matters here.",
            "Apologies for being so pedantic, but the RFC says MUST, not SHOULD.",
            "Sorry if this was answered already, but where is the retention schedule documented?",
            "Sorry if I sound like a broken record, but please update your client.",
            "Sorry, but I can't help myself: the new logo is great.",
            "My apologies if I mangled your argument in the summary above.",
            "Sorry for the rant, but the build farm deserves better.",
            "Sorry for the short notice, but the standup moves to 10:30 tomorrow.",
            "Sorry, but why does the export need admin rights?",
            "Apologies for the cross-post; this went to both lists.",
            "Sorry for the basic question, but what does the retry flag do?",
        ],
    },
    "excuse": {
        "flag": [
            ("We are sorry that the decision has been delayed. Please understand that after the rule change we received "
             "three times the usual number of applications, and our team has not been enlarged."),
            ("Apologies for the misspelling of your name. The template was designed by an external agency, and its "
             "font does not show the accents."),
            ("I'm very sorry the label showed the wrong time. It was printed at the end of a twelve-hour shift, and "
             "the printer had been jamming all afternoon, so the check was rushed."),
            ("I'm sorry your invoice had last year's rate. To be fair to our team, the tables are maintained by head "
             "office, and they only sent the update late on Friday."),
            "I apologize for the delay with your order. Unfortunately our warehouse was short-staffed this week.",
            "So sorry about the double charge. It happened because I was covering two shifts at once.",
            "Sorry I overwrote the scheduler config. In my defence, the docs called that flag deprecated.",
            # Circumstances told after the apology, whatever the wording, in a message that owns nothing.
            ("I'm sorry your parcel arrived a week late. The depot was short of drivers because of the flu, and there "
             "were only two vans for the whole region."),
            ("Apologies that the venue was cold. It was the coldest night of the year and the heating had been "
             "switched off by the building manager, so the hall never warmed up."),
            "Sorry I broke the sheet. I was on the train and the signal kept dropping.",
            ("Sorry the translation came back with errors. The source text reached us two days late, and the "
             "deadline you gave didn't leave any room for a second review."),
            "Apologies for resetting the wrong account. The ticket was vague, so honestly it was an easy mistake to make.",
            "Really sorry about the missed date on the mock-ups. To be fair, the brief changed twice last week.",
            "I'm sorry about the incorrect invoice. There have been teething problems since the billing change.",
            "Sorry I left you off the invite. My calendar has been unreliable since we migrated to the new system.",
            "I'm sorry I was short with you. I'd had a really long day and had just come off a hard call.",
            "I apologize for the wrong figures. I didn't get a chance to look it over before the weekend.",
            "I'm sorry your refund is late. The approval got stuck in someone's inbox while they were away.",
            "I apologise for the wrong tax code. Many other employers got caught out by the same change.",
            "Sorry for the wrong version. With so many drafts around it was bound to happen sooner or later.",
            "I'm sorry the report was late. The reason was that finance sent me the figures on Friday night.",
            "Sorry for missing the call. What happened was my train got cancelled.",
            "I’m sorry I didn’t reply sooner. I had a lot on this week with the audit.",
            "Apologies for the wrong invoice. We were dealing with a system upgrade at the time.",
            "Sorry the slides had errors. It wasn't my fault.",
            "Sorry for the broken link — the CMS has been playing up all week.",
            "We apologise for the late parcel. Our courier had technical problems.",
            "Sorry for the wait, we are short staffed owing to the Christmas rush.",
            "Sorry I missed the call; my laptop crashed halfway through an update.",
            "I'm sorry the slides were late, I was swamped with the audit all week.",
            "Apologies for the delay, the bus was forty minutes late this morning.",
            "I'm sorry I didn't reply, I've been feeling under the weather.",
            "Because of the storm I couldn't get the parcel out on time.",
            "I would have finished the draft, but the data came in late.",
            "Sorry for the mix-up. It's not like I had any say in the rota.",
            "The delay was due to circumstances beyond our control.",
            "I'm sorry I was late to the demo, traffic was a nightmare.",
            "Sorry about the missing figures, nobody told me the deadline moved.",
            "I'm sorry I forgot, it's been a crazy week.",
            "I'm sorry I didn't call back because my phone battery died.",
            "Apologies, I was travelling and had no signal.",
            "Sorry I missed it, my calendar didn't sync.",
            "I was sick and couldn't finish the slides.",
        ],
        "pass": [
            ("I'm sorry we delivered the files a week late. I know that because of our delay you had to postpone "
             "your launch. We will not charge for this order."),
            "Our courier had problems with the van, so parcels from Monday arrive on Thursday.",
            "I know it's a busy week for you, so briefly: I sent the wrong mock-ups. I'm sorry; the right ones are attached.",
            ("I'm sorry your parcel arrived a week late. That was our mistake: the depot was short of drivers and we "
             "did not tell you, so there were two days of silence."),
            "I'm sorry the report was late. There were only two of us this week, but I should have told you on Monday it would slip.",
            "I'm sorry some records didn't import. The cause was a bug in our import job, which we should have tested.",
            "I'm sorry I broke the build. To be fair to the reviewers, they asked me to run the tests and I didn't.",
            "I apologize for the delay with your order. I've upgraded you to express shipping at no cost.",
            "Apologies for the wrong invoice. The corrected one is attached.",
            "Sorry the slides had errors; that was my mistake, and the fixed deck is in the folder.",
            "I'm sorry. The problem was that I misread your order, and I've corrected it.",
            "I'm sorry I missed the deadline.",
            "I'm sorry the report was late; you had to rework your evening because of it.",
            "The invoice you received had the wrong total.",
            "I'll resend the corrected file by 3pm today.",
            "From now on I'll double-check the totals before sending.",
            "I know this meant you had to explain the error to your client.",
            "I'm sorry I was late, and I'll make up the time this afternoon.",
            "My mistake cost you a morning of work.",
            "I feel well prepared for tomorrow's session.",
            "The train tickets you asked for are attached.",
            "I'm sick and tired of the rebuild times on this laptop.",
            "We have no connection with the sender of that newsletter.",
        ],
    },
    "self-focus": {
        "flag": [
            "Sorry your seat was given away. Please understand I had been on my feet for twelve hours.",
            "I am sorry for missing the deadline. Freelancing is so hard, and I have not had a single day off since August.",
            ("We're sorry about the mirror. It has been a tough season for our small business and a review like yours "
             "could sink us."),
            "I apologise for the wrong rate. If I lose your account over this my manager will have my head.",
            "Sorry for the wrong contract. It's been a really hard few weeks for me personally and I'm not at my best.",
            "I'm sorry about the wrong time. I hope you can see things from my side.",
            "I'm very sorry. I feel like I'm being blamed for everything, and it really isn't easy for me at the moment.",
            "I am very sorry for the error in the minutes. For me it is also a very hard time with the new project.",
            "I'm sorry two items were missing. I'm stretched as thin as anyone can be - there's only me packing orders.",
            "I'm sorry the workshop disappointed you. It really hurts me that you think I don't care.",
            "Sorry about the cancelled order. I have a lot riding on this account and can't lose it.",
            "Apologies for the late delivery. Please don't escalate this, I'm already in trouble with my manager.",
            "I'm sorry about the delay. I hope you can see how difficult this has been for me as well.",
            "Sorry for the overcharge. Spare a thought for me: I have to explain this to my boss tomorrow.",
            "I apologise for the billing error. It's been a really stressful week for me.",
            "I'm sorry about the wrong quote. I hope it doesn't change what you think of me.",
            "My apologies for the broken export. It's not easy being the only one here who knows this system.",
            "Sorry about the lost booking. I'd put so much work into it and now it's all wasted.",
            "I have so much going on at home right now.",
            "Honestly I'm doing the best I can with the time I've got.",
            "I was only trying to help when I changed your settings.",
            "No one on this team ever helps me with the releases.",
            "If I lose this contract I don't know how I'll pay rent.",
            "I feel absolutely awful about all of this.",
            "This whole thing has been so stressful for me.",
            "You have no idea how hard this month has been.",
            "I've been losing sleep over it.",
            "Please don't be angry with me.",
            "I'm under so much pressure from my manager.",
            "I'm doing everything I can, what more do you want?",
            "Honestly no one appreciates how much I do here.",
            "I've had a really hard week.",
            "I'm overwhelmed and exhausted.",
        ],
        "pass": [
            "I'm sorry the mirror was damaged. We will replace it this week at our cost; please tell us a good day.",
            "I'm sorry the order was cancelled. I know a lot was riding on it for you, so it ships first thing tomorrow.",
            "Sorry for the delay. If it would help, I'm happy to explain the change to your manager myself.",
            "I know this left you short-staffed on Friday.",
            "I'm doing my best to fix the export tonight.",
            "I'll take the next two support shifts to make up for it.",
            "I'm sorry I overlooked your request.",
            "You had to cancel your plans because of me.",
            "I feel confident the new checklist will catch this.",
            "This has been hard for you, and I'm sorry.",
            "Nobody should have to chase me for a reply.",
            "I have a lot of respect for how you handled it.",
            "I'm overwhelmed with gratitude for all the kind messages.",
            "I'm having a hard time reading the new chart - can you resend it larger?",
        ],
    },
    "gratitude-swap": {
        "flag": [
            "Thank you for giving us the time to sort out the mix-up with your passport photos.",
            "Thank you for your patience while we fixed the billing error.",
            "Thanks for hanging in there while we fixed the broken login link we sent you.",
            "Thanks for sticking with us through last week's onboarding hiccups.",
            "Thanks for putting up with the back-and-forth caused by our mistake on the form.",
            "We truly value your patience while our team corrected the shipping error.",
            "Thanks for waiting, the order has now shipped.",
            "We appreciate your understanding as we resolve this.",
            "Many thanks for bearing with me this week.",
            "Thank you so much for being patient with the delays.",
            "Thanks again for your continued patience.",
            "I really appreciate your patience on this one.",
            "Thank you for your patience. We apologize for any inconvenience.",
            "Thanks for hanging in there while the site was down.",
        ],
        "pass": [
            "I'm sorry I'm late, and thank you for waiting.",
            "I apologise for the slow refund; thank you for your patience.",
            "Thank you for the quick reply.",
            "Thanks for sending the contract over.",
            "Sorry we kept you waiting so long, and thanks for sticking with us.",
            "I appreciate your help with the migration.",
            "Thank you for your patience, and I'm sorry I let the ticket sit for a week.",
            "My apologies for the wait. Thanks for understanding.",
            "Thanks for your feedback on the draft.",
        ],
    },
    "incomplete-apology": {
        "flag": [
            ("I'm sorry we charged you twice. That was our error. I know an unexpected charge can cause real problems. "
             "We've fixed the payment job so it can't run twice again."),
            "I'm sorry I missed the deadline.",
            "I apologise for the error in the invoice. I'll send a corrected one today.",
            "Sorry about yesterday. It won't happen again.",
            "I'm so sorry. I know this cost you a whole afternoon.",
            "My apologies for the delay.",
            "I'm sorry I sent the wrong file. Going forward I'll check attachments twice.",
            "We apologize for the outage and the trouble it caused you.",
            "Sorry, I messed up the booking. Let me rebook it for you tonight.",
            "Sorry I couldn't make it to your talk yesterday.",
            "Sorry, I can't believe I forgot your birthday.",
        ],
        "pass": [
            ("I'm sorry I turned the report in late; that's my responsibility. I know it meant you reviewed it on Sunday. "
             "To make up for it, I'll prepare Thursday's slides, and I've put a draft deadline in both our calendars."),
            ("I apologise for charging your card twice; that was our billing error. I know an unexpected charge is "
             "unwelcome. The duplicate was refunded this morning, and we've added a check against a second charge."),
            ("sorry mate, I merged without your review and it broke the page you'd tested. That one's on me. You had to "
             "redo a day of testing. I'll take your Tuesday shift, and I've switched on branch protection."),
            ("I'm sorry: we packed someone else's order, so the present you ordered didn't arrive in time. That was "
             "our error. It arrives tomorrow by express and we've refunded it in full; we now scan every parcel before sealing."),
            ("I apologise: I set up your standing order for the 15th instead of the 1st, and your rent was late as a "
             "result. We will "
             "reimburse the late fee today, and I have corrected the date and added a confirmation step."),
            ("I got the delivery date wrong, so you had two people waiting at your warehouse for nothing, and I'm "
             "sorry. We'll cover the overtime in full, and from now on I'll confirm every date in writing."),
            ("I'm sorry I missed the planning meeting; you had to present my part too. To set that right I'll write "
             "up the actions today, and I've blocked Thursday mornings for future planning meetings."),
            ("I am sorry, I made a mistake in the drawings. Because of this your carpenter lost two days of work. We "
             "pay the material and his days, and in the future I check the unit in every drawing."),
            ("I'm sorry, I published your status without checking it, and I know it caused you real distress. "
             "I've asked the committee for a decision by Friday and I will call you myself, and every status message "
             "will now be checked by a second person."),
            ("Apologies, we forgot to put your key back. That's on us, and it cost you an hour's wait at the garage. "
             "We'll pay the call-out fee, and every job card now has a 'key returned' box."),
            ("I am sorry for my mistake in your booking; you made a wasted trip to the hotel. I give you free "
             "breakfast for all nights, and in future I read the dates back to every guest."),
            ("I'm sorry: I put your booking on the Tuesday list instead of Thursday, so you came in for nothing. "
             "The visit has been rebooked at no charge, and I'll confirm every booking with you by email before saving it."),
            ("We are sorry. The mistake was made in our billing team, and you were charged twice. The €40 is back on "
             "your card with a €10 credit for the hassle, and we now check every manual charge against the order."),
            ("I entered your start date wrong, and it must have been a stressful morning. I've taken 10% off this "
             "month's fee and I've switched to copying dates straight from the signed form."),
            "Sorry I double-booked the room, my mistake. You had to move your client meeting at short notice. I've booked the boardroom for you on Thursday and will check the calendar before booking in future.",
            "I'm sorry I forgot to order your laptop; that was my mistake. You had to borrow one for a week. I've ordered it with express delivery, and in future I'll order kit the day the contract is signed.",
            "I'm sorry I sent the report late. I know you had to stay late to review it. Let me take two of your "
            "reports this week, and from now on I'll send drafts a day early.",
            "I apologise for double-booking the room; that's on me. It meant you had to run the workshop in the "
            "corridor. I've refunded the catering, and I'll make sure bookings are confirmed in writing next time.",
            "Sorry, I forgot to forward the contract. This left you waiting on legal for two days. I'll cover the "
            "late fee, and I've set up a reminder so it won't happen again.",
            "I'm sorry I got the figures wrong. I realise this put you in an awkward spot with the board. Let me "
            "redo the slides tonight. Going forward I will have a second person review the numbers.",
            "My apologies: I overlooked your ticket. You had to chase us three times. I've credited your account, "
            "and in future I'll check the queue every morning.",
            "I'm sorry I snapped at you in the meeting. That was my fault, and I know it embarrassed you in front "
            "of the team. I'd like to make it right by saying so to the team, and I'll keep those conversations "
            "private from now on.",
            "We're sorry we shipped the wrong size. Our mistake meant you missed the event. We will refund the "
            "order in full and we've added a size check to packing so this does not happen again.",
            "I apologize for missing the handover. It left you covering the night shift alone. I can take your "
            "next two shifts, and next time I'll ask for cover early.",
            # declining an invitation or the message's own manners are no apology to complete
            "Sorry, can't make it Thursday - I'm at the dentist.",
            "Sorry, I won't be able to join the call on Friday.",
            "Apologies, I'm away next week, so Lea will run the review.",
            "Sorry for the noise - please ignore the test message.",
            "Sorry for the long mail; the details are below.",
        ],
    },
    "deflection": {
        "flag": [
            "I've worked here for six years and have never come across this happening before.",
            "We are sorry for the fee. This is not possible to change from our side, it is the rule of the bank.",
            "As stated in our terms and conditions, we are unable to refund shipping costs for delayed deliveries.",
            "I'm sorry your room was given away. I'm afraid nothing more can be done at this point.",
            "Per our terms and conditions we're unable to reissue expired vouchers.",
            "I'm not sure why my colleague told you that.",
            "We're not able to make exceptions to our terms and conditions.",
            "It is the rule of our company, we cannot make exception for one tenant.",
            "That's just how our billing system works: it calculates the charges and we can't change them.",
            "We've honestly never had a complaint like this from any other patient.",
            "This is the first time we've ever seen this error, so I'm not sure what to tell you.",
            "My colleague shouldn't have promised you a free upgrade; I don't know where he got that from.",
            "Billing errors are handled by a separate department, so please contact them directly.",
            "Access requests are IT's responsibility, not ours, so you'll have to raise it with them.",
            "Sorry the doc got messed up. I really feel for you, and hopefully it's not too much work to redo.",
            "Our hands are tied on this one.",
            "This is out of our control, I'm afraid.",
            "That's just how the system works.",
            "Unfortunately that's company policy and I can't change it.",
            "There's really nothing more we can do at this stage.",
            "I've never seen this happen with any other account.",
            "You're the first person to complain about the app.",
            "The previous agent should not have promised you a discount.",
            "That's not my department.",
            "It's out of my hands now.",
            "I understand your frustration.",
            "Per our policy, refunds are only issued within 14 days.",
            "We are unable to help with that request.",
            "No other customers have reported this.",
            "It works fine on our end.",
            "We haven't had any other complaints about this.",
            "That isn't something my team handles.",
            "Our policy does not cover lost parcels.",
            "Sorry to hear the parcel arrived damaged.",
            "You're the only customer who has reported this problem.",
            "Nobody else has had this issue with the app.",
            "We can't do anything more for you.",
        ],
        "pass": [
            "We don't usually make exceptions, but I've refunded the fee this time and removed the clause from your plan.",
            "I can't change it until Monday, but I've noted it and I'll make the change first thing then.",
            "The delay was caused by circumstances beyond our control, and I've refunded the delivery fee.",
            "I've issued a refund and it should reach your card by Friday.",
            "I understand how frustrating this is, so I've escalated it to our billing lead and will call you "
            "tomorrow.",
            "Here's what I'll do: rebook you on the 9am flight at no cost.",
            "I'm sorry we lost your parcel; a replacement ships today.",
            "Thanks for reporting this; I'm looking into it now.",
            "I'll check with the warehouse and get back to you by 5pm.",
            "Our returns window is 30 days, and I've extended yours to 60.",
            "I can see your order was charged twice, so I've reversed the second charge.",
            "I know how to fix this and will do it now.",
            "Our policy is to refund within 14 days, and I've already started yours.",
            "Unfortunately we cannot issue a refund yet, so I've asked the courier to trace it today.",
            # condolence, facts and a stated wait are not deflection
            "Sorry to hear about your cat; take all the time you need.",
            "You're the only one who received the updated rota, so please share it with the others.",
            "Nobody noticed the typo until the printed copies arrived.",
            "I won't be able to do much until I'm back on Monday.",
            "According to the stated rules of the quiz, ties are broken by speed.",
        ],
    },
}

FLAG_CASES = [(rule_id, text) for rule_id, cases in CASES.items() for text in cases["flag"]]
PASS_CASES = [(rule_id, text) for rule_id, cases in CASES.items() for text in cases["pass"]]


def test_every_rule_has_enough_cases() -> None:
    assert set(CASES) == set(RULES_BY_ID)
    for cases in CASES.values():
        assert len(cases["flag"]) >= 8 and len(cases["pass"]) >= 8


@pytest.mark.parametrize(("rule_id", "text"), FLAG_CASES)
def test_flags(rule_id: str, text: str) -> None:
    found = findings_of(rule_id, text)
    assert found, f"{rule_id} should flag: {text!r}"
    for finding in found:
        assert finding.rule == rule_id
        assert finding.severity is RULES_BY_ID[rule_id].severity
        # The excerpt is the text at the span, whitespace collapsed.
        assert finding.excerpt == " ".join(text[finding.span.start : finding.span.end].split())[: len(finding.excerpt)]
        assert finding.message.strip() and finding.suggestion.strip()
        assert finding.suggestion != finding.message


@pytest.mark.parametrize(("rule_id", "text"), PASS_CASES)
def test_passes(rule_id: str, text: str) -> None:
    assert findings_of(rule_id, text) == [], f"{rule_id} should not flag: {text!r}"


def test_rules_are_frozen_checks_with_spec_defaults() -> None:
    expected = {
        "non-apology": (Severity.BLOCK, AppliesTo.ALL),
        "excuse": (Severity.WARN, AppliesTo.INDIVIDUAL),
        "self-focus": (Severity.WARN, AppliesTo.INDIVIDUAL),
        "gratitude-swap": (Severity.WARN, AppliesTo.INDIVIDUAL),
        "incomplete-apology": (Severity.WARN, AppliesTo.INDIVIDUAL_REAL_APOLOGY),
        "deflection": (Severity.BLOCK, AppliesTo.INDIVIDUAL),
    }
    assert {rule.id: (rule.severity, rule.applies_to) for rule in RULES_BY_ID.values()} == expected
    for rule in RULES_BY_ID.values():
        assert isinstance(rule, Check)
        with pytest.raises(dataclasses.FrozenInstanceError):
            rule.id = "changed"  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------
# Positions and excerpts
# ---------------------------------------------------------------------------------------------
def test_position_on_a_later_line() -> None:
    text = "Hi Sam,\n\nThe numbers are fixed.\nI'm sorry if the first version confused you."
    (finding,) = findings_of("non-apology", text)
    assert (finding.span.line, finding.span.column) == (4, 1)
    assert finding.excerpt == "I'm sorry if the first version confused you"


def test_position_mid_line_for_contrast() -> None:
    text = "We shipped it Monday. Sorry, but the courier lost it."
    (finding,) = findings_of("non-apology", text)
    assert (finding.span.line, finding.span.column) == (1, 23)
    assert finding.excerpt.startswith("Sorry, but the courier lost it")


def test_position_across_a_line_break() -> None:
    text = "Update on the export.\nWe apologise\nif the file\nwas late."
    (finding,) = findings_of("non-apology", text)
    assert (finding.span.line, finding.span.column) == (2, 1)
    assert finding.excerpt == "We apologise if the file was late"
    assert '"We apologise."' in finding.suggestion


def test_position_of_excuse_and_deflection() -> None:
    (excuse,) = findings_of("excuse", "Sorry for the wait.\n  My laptop died at noon.")
    assert (excuse.span.line, excuse.span.column) == (2, 3)
    assert excuse.excerpt == "My laptop died at noon"
    (deflection,) = findings_of("deflection", "Thanks for writing in.\nSadly, that is our policy.")
    assert (deflection.span.line, deflection.span.column) == (2, 8)
    assert deflection.excerpt == "that is our policy"


# ---------------------------------------------------------------------------------------------
# Suggestions are concrete rewrites of the excerpt
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "rewrite"),
    [
        ("I'm sorry if you were upset.", '"I\'m sorry."'),
        ("Sorry, but the server was down.", '"I\'m sorry."'),
        ("Sorry if the numbers were off, but the template was old.", '"I\'m sorry."'),
        ("I'm sorry about the outage. However, it was short.", 'Keep "I\'m sorry about the outage."'),
        ("I'm so sorry about the mix-up, however the data was late.", '"I\'m so sorry about the mix-up."'),
        ("We apologize for any inconvenience this may have caused.", '"the trouble this caused you"'),
        ("Any confusion this may have caused is regrettable.", '"the confusion this caused you"'),
        ("Mistakes were made in the forecast.", '"I made a mistake"'),
        ("Our team met on Monday and we reviewed it; mistakes were made by our group.", '"We made a mistake"'),
        ("The ball was dropped on your ticket.", '"I dropped the ball"'),
    ],
)
def test_non_apology_rewrites(text: str, rewrite: str) -> None:
    (finding,) = findings_of("non-apology", text)
    assert rewrite in finding.suggestion


def test_excuse_rewrite_keeps_the_apology_and_drops_the_reason() -> None:
    (finding,) = findings_of("excuse", "I'm sorry I missed the call because my laptop died.")
    assert finding.excerpt == "because my laptop died"
    assert '"I\'m sorry I missed the call."' in finding.suggestion


def test_gratitude_rewrite_is_an_apology() -> None:
    (finding,) = findings_of("gratitude-swap", "Thanks for waiting, it's fixed.")
    assert "I'm sorry I kept you waiting." in finding.suggestion


def test_deflection_sympathy_rewrite_adds_an_action() -> None:
    (finding,) = findings_of("deflection", "I understand how this is difficult for you.")
    assert finding.excerpt == "I understand how this is difficult for you"
    assert "I understand how this is difficult for you, so I will" in finding.suggestion


# ---------------------------------------------------------------------------------------------
# incomplete-apology names exactly what is missing
# ---------------------------------------------------------------------------------------------
LABELS = {
    "ownership": "ownership of the mistake",
    "impact": "what it cost the reader",
    "amends": "an offer to make amends",
    "commitment": "a commitment for next time",
}


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("I'm sorry I missed the deadline.", {"impact", "amends", "commitment"}),
        ("I apologise for the delay. I'll send the file today.", {"ownership", "impact", "commitment"}),
        ("Sorry about yesterday. It won't happen again.", {"ownership", "impact", "amends"}),
        ("I'm sorry I forgot. I know you had to wait. Let me buy lunch.", {"commitment"}),
        ("Sorry. Next time I will check, and I know it cost you an hour.", {"ownership", "amends"}),
    ],
)
def test_incomplete_apology_names_what_is_missing(text: str, missing: set[str]) -> None:
    (finding,) = findings_of("incomplete-apology", text)
    missing_sentence = finding.message.split(". ")[0]
    for part, label in LABELS.items():
        assert (label in missing_sentence) == (part in missing), (part, finding.message)
    # One template sentence per missing piece.
    assert finding.suggestion.count('"') == 2 * len(missing)


def test_incomplete_apology_is_one_finding_anchored_on_the_apology_sentence() -> None:
    text = "Hi Ana,\nThe export ran twice.\nI'm sorry I didn't check it. Sorry again."
    (finding,) = findings_of("incomplete-apology", text)
    assert (finding.span.line, finding.span.column) == (3, 1)
    assert finding.excerpt == "I'm sorry I didn't check it."


def test_incomplete_apology_without_any_apology_is_silent() -> None:
    assert findings_of("incomplete-apology", "The export ran twice; the duplicate is deleted.") == []


# ---------------------------------------------------------------------------------------------
# Team extra phrases
# ---------------------------------------------------------------------------------------------
EXTRA_CASES = [
    ("non-apology", ("regrettably",), "Regrettably the numbers were off."),
    ("excuse", ("the dog ate",), "Sorry, the dog ate my notes."),
    ("self-focus", ("woe is me",), "Woe is me, the release slipped."),
    ("gratitude-swap", ("cheers for sitting tight",), "Cheers for sitting tight, all sorted now."),
    ("incomplete-apology", ("please excuse the slip",), "Please excuse the slip with the dates."),
    ("deflection", ("computer says no",), "I checked and the computer\n   says no."),
]


@pytest.mark.parametrize(("rule_id", "phrases", "text"), EXTRA_CASES)
def test_extra_phrases_are_triggers(rule_id: str, phrases: tuple[str, ...], text: str) -> None:
    assert findings_of(rule_id, text) == []
    found = findings_of(rule_id, text, extra={rule_id: phrases})
    assert len(found) == 1
    assert found[0].rule == rule_id and found[0].suggestion and found[0].suggestion != found[0].message


def test_extra_phrase_across_line_break_has_exact_span() -> None:
    text = "I checked twice and the Computer\n   says   NO."
    (finding,) = findings_of("deflection", text, extra={"deflection": ("computer says no",)})
    assert text[finding.span.start : finding.span.end] == "Computer\n   says   NO"
    assert finding.excerpt == "Computer says NO"
    assert (finding.span.line, finding.span.column) == (1, 25)


def test_builtin_policy_wording_covers_company_guidelines() -> None:
    (finding,) = findings_of("deflection", "Refunds take 30 days per company\n   guidelines.")
    assert finding.excerpt == "per company guidelines"


def test_extra_phrases_of_other_rules_do_not_leak() -> None:
    text = "Refunds take 30 days per company guidelines."
    assert findings_of("excuse", text, extra={"deflection": ("per company guidelines",)}) == []


def test_gratitude_extra_phrase_still_passes_next_to_an_apology() -> None:
    text = "I'm sorry I lost your form. Cheers for sitting tight."
    assert findings_of("gratitude-swap", text, extra={"gratitude-swap": ("cheers for sitting tight",)}) == []


def test_greeting_lines_are_skipped() -> None:
    text = "Thank you for your patience, Dana,\nthe order shipped today."
    assert findings_of("gratitude-swap", text)
    assert findings_of("gratitude-swap", text, greeting_lines=frozenset({0})) == []


# ---------------------------------------------------------------------------------------------
# List and newsletter footers are boilerplate, not the sender's words
# ---------------------------------------------------------------------------------------------
FOOTER = (
    "\n\n--\nYou are receiving this because you subscribed to release notes. To unsubscribe, reply STOP; we "
    "apologise for any inconvenience this may have caused.\n"
)
BODY = "The spring release is out. Read the notes at the link below; the upgrade takes a few minutes."


def test_footer_text_is_not_checked() -> None:
    assert findings_of("non-apology", BODY + FOOTER) == []
    # The same words in the body are the sender's own and are flagged.
    assert findings_of("non-apology", "We apologise for any inconvenience this may have caused. " + BODY)


def test_footer_marker_early_in_a_short_text_is_not_a_footer() -> None:
    text = "To unsubscribe I had to mail support, sorry if that caused any confusion."
    assert findings_of("non-apology", text)


# ---------------------------------------------------------------------------------------------
# Engine integration: audiences and severities
# ---------------------------------------------------------------------------------------------
def test_engine_applies_audiences() -> None:
    text = "I'm sorry if you were upset, I was swamped. That's our policy."
    rules = list(RULES_BY_ID.values())
    individual = {f.rule for f in run_checks(make_message(text), rules)}
    broadcast = {f.rule for f in run_checks(make_message(text, audience=Audience.BROADCAST), rules)}
    assert {"non-apology", "excuse", "deflection", "incomplete-apology"} <= individual
    assert broadcast == {"non-apology"}
    no_real = {f.rule for f in run_checks(make_message(text, real_apology=False), rules)}
    assert "incomplete-apology" not in no_real


# ---------------------------------------------------------------------------------------------
# Adversarial input: every rule completes quickly on 1 MB and never raises
# ---------------------------------------------------------------------------------------------
MB = 1_000_000


def _fill(unit: str) -> str:
    return (unit * (MB // len(unit) + 1))[:MB]


ADVERSARIAL = {
    "sorry-repeated": _fill("sorry "),
    "no-spaces": "a" * MB,
    "many-buts": _fill("but "),
    "sorry-comma-but": _fill("sorry, but "),
    "conditional": _fill("I'm sorry if "),
    "newlines": _fill("sorry\n"),
    "because": _fill("sorry because of "),
    "would-have": _fill("I would have "),
    "thanks": _fill("thank you for your patience "),
    "understand": _fill("I understand how "),
    "mixed": _fill("I'm so sorry, however I wasn't feeling well but that's our policy and nobody helps me. "),
    "apostrophes": _fill("I'"),
    "whitespace": " " * MB,
    "circumstances": _fill("sorry. the printer had been jamming on a twelve-hour shift, was designed by an agency so the "),
    "conditional-before": _fill("if we caused you any trouble, we apologise, sorry your laptop came back, but the form "),
    "parts": _fill("you had two people waiting for nothing, to set that right, every job card now has "),
}


@pytest.mark.parametrize("rule_id", sorted(RULES_BY_ID))
@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_megabyte_completes(rule_id: str, name: str) -> None:
    extra = {rule_id: ("per company guidelines", "sorry but")}
    message = make_message(ADVERSARIAL[name], extra=extra)
    started = time.perf_counter()
    found = list(RULES_BY_ID[rule_id].run(message))
    elapsed = time.perf_counter() - started
    assert len(found) <= apology.MAX_FINDINGS
    # The scan is capped (MAX_SCAN_CHARS, RULE_BUDGET): generous bound for slow CI machines.
    assert elapsed < 1.0, f"{rule_id} took {elapsed:.3f}s on {name}"


def test_timeout_ends_the_rule_scan_without_raising(monkeypatch: pytest.MonkeyPatch) -> None:
    # A spent budget makes the first regex call raise TimeoutError inside the rule: the rule must stop quietly.
    monkeypatch.setattr(apology, "RULE_BUDGET", -1.0)
    for rule in RULES_BY_ID.values():
        assert list(rule.run(make_message("I'm sorry if you were upset; that's our policy."))) == []


def test_guarded_keeps_findings_before_a_timeout() -> None:
    (finding,) = findings_of("self-focus", "I feel terrible.")

    def produce() -> object:
        yield finding
        raise TimeoutError

    assert list(apology.guarded(produce())) == [finding]  # type: ignore[arg-type]


def test_findings_are_capped_per_rule() -> None:
    text = " ".join(f"Mistakes were made in step {n}." for n in range(60))
    assert len(findings_of("non-apology", text)) == apology.MAX_FINDINGS


def test_text_beyond_the_scan_limit_is_not_read() -> None:
    sentence = "The export finished and every row was checked. "
    filler = sentence * (apology.MAX_SCAN_CHARS // len(sentence) + 10)
    assert findings_of("non-apology", "Mistakes were made. " + filler)
    assert findings_of("non-apology", filler + " Mistakes were made.") == []


# ---------------------------------------------------------------------------------------------
# Anchored patterns find exactly what a full scan finds
# ---------------------------------------------------------------------------------------------
def _anchored_patterns() -> list[tuple[str, scan.Anchored]]:
    """Every Anchored pattern the built-in rules use, named for the failure message."""
    from checks.rules import blame, facts, timing

    found: list[tuple[str, scan.Anchored]] = []
    for module in (apology, service, facts, timing, blame, scan):
        for name, value in vars(module).items():
            if isinstance(value, scan.Anchored):
                found.append((f"{module.__name__}.{name}", value))
            if not isinstance(value, (apology.Branches, scan.AnchoredSet)):
                continue
            for position, item in enumerate(value.items):
                anchored = getattr(item, "anchored", item)
                if isinstance(anchored, scan.Anchored):
                    found.append((f"{module.__name__}.{name}[{position}]", anchored))
    return found


EQUIVALENCE_TEXTS = [text for cases in CASES.values() for text in cases["flag"] + cases["pass"]] + [
    "Priya forgot to disable the cron job; we will send an update by Thursday noon. The fix is to add a check.",
    "We need two more engineers. Option A (high cost): 40k, risk: low. Option2 is cheaper. We recommend option A.",
    "Going forward, every change needs two reviewers. It must have been the new firewall rule!!! A total DISASTER.",
    "To unsubscribe, reply STOP.\nYou are receiving this because you subscribed. All rights reserved.",
    "I'm so sorry I'm late; I was stuck in traffic and my phone died. Thanks for your patience, and I'll make it up.",
]


def test_anchored_patterns_find_what_a_full_scan_finds() -> None:
    patterns = _anchored_patterns()
    assert len(patterns) > 100  # every family is registered
    for name, item in patterns:
        for text in EQUIVALENCE_TEXTS:
            full = [(m.start(), m.end()) for m in item.pattern.finditer(text)]
            anchored = [(m.start(), m.end()) for m in scan.prepare(text).matches(item)]
            assert anchored == full, (name, text)


@pytest.mark.parametrize(
    ("source", "text"),
    [
        (r"\bit's done\b", "it’s done"),
        (r"\b(?:[\w'-]+ ){0,2}done\b", "we’ve nearly done"),
        (r"\b[a-z']+ sorry\b", "i’m sorry"),
    ],
)
def test_rule_patterns_take_either_apostrophe_inside_and_outside_classes(source: str, text: str) -> None:
    match = apology.rule_pattern(source).search(text)
    assert match is not None and match.group() == text
