"""How well a sentence gives the kind of answer a question wants, and which lines never lead.

:func:`sentence_fit` scores a candidate answer sentence for a question type
(:func:`assistant.qtype.question_type`), so the answerer can open with the sentence that answers
what was asked: a span of time for "how long", a number for "how many", a verdict for "should
I". :func:`is_intro` spots the help-center welcome and marketing lines that should never open an
answer. Everything here is generic English, never a topic of one knowledge base.

Example::

    sentence_fit("Hold each stretch for 30 seconds.", "duration")  # 1.0
    is_intro("This article has you covered!")                      # True
"""

from __future__ import annotations

import re
from functools import lru_cache

from assistant.qtype import TEXT_CACHE, TIME_UNITS, QType

_NUM = (
    r"(?:\d+(?:[.,]\d+)?(?:\s*(?:-|–|to|or)\s*\d+(?:[.,]\d+)?)?|a|an|one|two|three|four|five|six|"
    r"seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|sixty|ninety|"
    r"hundred|a few|few|a couple of|couple of|several|many|some|half an?|a half|"
    r"(?:one|two|three|four|five|six|a) (?:to|or) (?:two|three|four|five|six|eight|ten|twelve))"
)
_DURATION = re.compile(
    rf"\b{_NUM}(?:\s*(?:-|–|to|or)\s*{_NUM})?[\s-]+(?:more |extra |full |whole )?"
    rf"{TIME_UNITS}\b|\b(?:a|one) (?:day|night|week|month|year|minute|hour) or (?:two|three|so)\b|"
    r"\bovernight\b|"
    r"\bfortnight\b|\b\d+\s*(?:s|sec|min|h|hr|wk)s?\b",
    re.I,
)
_TIMING = re.compile(
    r"\b(?:once|until|after|before|as soon as|by the time|over time|gradually|at first|"
    r"within|at least|no sooner|the first|in week|from week|weeks? \d)\b",
    re.I,
)
_DOSE_UNITS = (
    r"(?:sets?|reps?|repetitions?|times?|rounds?|seconds?|secs?|minutes?|mins?|hours?|"
    r"hrs?|steps?|breaths?|metres?|meters?|m|km|kilomet(?:re|er)s?|miles?|yards?|cm|"
    r"centimet(?:re|er)s?|mm|millimet(?:re|er)s?|inches|inch|feet|kg|kilos?|kilograms?|grams?|"
    r"lbs?|pounds?|percent|per cent|%|x|each (?:side|leg|foot))"
)
_DOSE = re.compile(rf"\b{_NUM}\s*{_DOSE_UNITS}(?![a-z])|\b\d+\s*x\s*\d+\b|\d\s*%", re.I)
_FREQUENCY = re.compile(
    r"\b(?:every (?:day|other day|week|session|\w+ days)|daily|weekly|twice|once (?:a|per|or)|"
    r"(?:a|per) (?:day|week|session|side|leg|foot)|each (?:side|leg|foot|way|day|week))\b",
    re.I,
)
_NUMBER = re.compile(
    r"\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|twelve|fifteen|twenty|thirty|"
    r"fifty|hundred|half|double|twice)\b",
    re.I,
)
#: Closed-class words: a sentence that opens with one is not an imperative.
_FUNCTION_WORDS = frozenset(
    "a an the this that these those my your our their his her its it i you we they he she "
    "there here some any many most much more less few all both each every no none not "
    "is are am was were be been being has have had will would can could should may might must "
    "shall if when while because as so but and or nor yet for of in on at to from by with "
    "about into onto over under after before during without within through than then also "
    "just only even very too usually often sometimes always rarely people someone anyone "
    "what which who whom whose why how where".split()
)
_PARTICLES = frozenset(
    "the a an your you it them this that these those one both each up down out on off in "
    "into onto over back away to for with about at from by through around forward slowly "
    "gently lightly tall still straight steady loose relaxed".split()
)
_STEP_OPENING = re.compile(
    r"^\s*(?:\d+[.)]\s|step \d+|[-*•]\s|first(?:ly)?\b|second(?:ly)?\b|next\b|then\b|"
    r"finally\b|start (?:by|with)\b|begin (?:by|with)\b|try\b|make sure\b|be sure\b)",
    re.I,
)
_REASON_STRONG = re.compile(
    r"\b(?:because|so that|in order to|the reason|due to|as a result|which means|this means|"
    r"that means|that way|that is why|this is why|thanks to)\b",
    re.I,
)
_REASON = re.compile(
    r"\b(?:helps?|helping|allows?|lets|enables?|improves?|strengthens?|reduces?|protects?|"
    r"builds?|prevents?|increases?|trains?|targets?|works?|causes?|leads? to|results? in|"
    r"makes? (?:it|them|you)|so (?:the|your|you|it|they)|to (?:avoid|prevent|reduce|improve|"
    r"build|protect|help|keep|strengthen)|since|benefits?)\b",
    re.I,
)
_DEFINITION = re.compile(
    r"^(?:an? |the )?[\w'’\"“”-]+(?: [\w'’\"“”-]+){0,5},? (?:is|are|means|refers to|describes|"
    r"is called|are called)\b(?: (?:a|an|the|one|when|any|simply|basically|just|what|how))?",
    re.I,
)
_DEFINITION_WEAK = re.compile(
    r"\b(?:also called|also known as|known as|is called|are called|stands for|short for|"
    r"is a|is an|are a|means)\b",
    re.I,
)
_PLACE_STRONG = re.compile(
    r"\b(?:tap|click|press|select|go to|navigate to|open the|settings|menu|screen|tab|button|"
    r"icon|dashboard|profile page|sidebar|toolbar|top (?:left|right)|bottom (?:left|right))\b",
    re.I,
)
_PLACE = re.compile(
    r"\b(?:app|website|web site|page|section|link|inbox|spam|junk|folder|email|e-mail|"
    r"account|profile|under|listed|find (?:it|them)|available (?:in|on|from)|online|portal|"
    r"library|catalogue|store)\b",
    re.I,
)
_VERDICT_START = re.compile(
    r"^(?:yes|yeah|no|not yet|not (?:until|before|unless)|do not|don't|never|avoid|wait|stop|"
    r"only|always|keep|skip|it is (?:fine|okay|ok|safe|normal|best|better|worth)|"
    r"it's (?:fine|okay|ok|safe|normal|best|better|worth)|there is no need|no need|"
    r"you (?:can|can't|cannot|should|shouldn't|should not|don't need|do not need|need|may|must|"
    r"will|do not|don't)|(?:most|many) (?:people|runners|users) can)\b",
    re.I,
)
_VERDICT = re.compile(
    r"\b(?:only (?:when|if|once|after)|not until|until|build up|gradually|is (?:fine|okay|ok|"
    r"safe|normal|common|expected|not|best|better|worth)|are (?:fine|okay|ok|safe|normal|"
    r"common|expected|not)|should(?:n't| not)?|avoid|wait|better to|best to|(?:not )?recommended|"
    r"a (?:good|bad) idea|it depends|depends on|as long as|provided|unless|you (?:can|may|need|"
    r"must|do not|don't)|can be|do not|don't|never|stop)\b",
    re.I,
)


def _opens_with_imperative(sentence: str) -> bool:
    """Heuristic imperative: a plain verb-like first word followed by an object, particle or
    adverb ("Stand tall", "Keep the knee...", "Rest about a minute", "Tap Settings")."""
    words = re.findall(r"[A-Za-z'’]+", sentence)
    if not words:
        return False
    first = words[0].lower()
    if first in ("do", "don't", "dont", "never", "avoid", "let's", "please"):
        return first != "do" or len(words) < 2 or words[1].lower() not in _FUNCTION_WORDS - {
            "not", "it", "this", "that", "the", "a", "an", "your", "them", "both", "each",
        }  # fmt: skip
    if first in _FUNCTION_WORDS or first.endswith(("ing", "ed", "ly", "'s", "’s")):
        return False
    if first.endswith("s") and not first.endswith("ss"):
        return False  # "Calf raises strengthen...": a noun or a third-person verb
    if len(words) < 2:
        return False
    second = words[1].lower()
    return second in _PARTICLES or second.endswith("ly") or words[1][:1].isupper()


@lru_cache(maxsize=TEXT_CACHE)
def sentence_fit(sentence: str, qtype: QType) -> float:
    """How well a sentence gives the kind of answer a question of ``qtype`` wants, in [0, 1].

    1.0 is the kind of sentence such a question is answered by ("Rest one to two days." for a
    duration), 0.0 a sentence with none of the signs; "other" questions fit every sentence
    equally (0.5), so the score can only re-order answers to typed questions.
    """
    text = sentence.strip()
    if not text:
        return 0.0
    if qtype == "duration":
        if _DURATION.search(text):
            return 1.0
        return 0.5 if _TIMING.search(text) else 0.0
    if qtype == "dose":
        if _DOSE.search(text):
            return 1.0
        if _FREQUENCY.search(text) or _DURATION.search(text):
            return 0.8
        return 0.4 if _NUMBER.search(text) else 0.0
    if qtype == "steps":
        if _STEP_OPENING.search(text) or _opens_with_imperative(text):
            return 1.0
        return 0.5 if re.match(r"^(?:to|for) \w+", text, re.I) or re.search(
            r"\byou (?:can|should)\b|\bby (?:\w+ing)\b", text, re.I
        ) else 0.0
    if qtype == "reason":
        if _REASON_STRONG.search(text):
            return 1.0
        return 0.7 if _REASON.search(text) else 0.0
    if qtype == "definition":
        if _DEFINITION.search(text):
            return 1.0
        return 0.5 if _DEFINITION_WEAK.search(text) else 0.0
    if qtype == "place":
        if _PLACE_STRONG.search(text):
            return 1.0
        return 0.6 if _PLACE.search(text) else 0.0
    if qtype == "decision":
        if _VERDICT_START.search(text):
            return 1.0
        return 0.7 if _VERDICT.search(text) else 0.0
    if qtype == "comparison":
        if re.search(r"\b(?:than|whereas|while|unlike|instead of|rather than|compared|"
                     r"difference|both|either|versus|vs)\b", text, re.I):
            return 1.0
        return 0.5 if re.search(r"\b(?:better|worse|more|less|best)\b", text, re.I) else 0.0
    return 0.5


# --- intro and marketing lines ---------------------------------------------------------------

_INTRO = re.compile(
    r"\b(?:this|the following) (?:article|guide|post|page|video)\b|"
    r"\bin this (?:article|guide|post|section|video)\b|"
    r"\bwe(?:'ll|’ll| will| are going to|'re going to|’re going to) (?:answer|cover|explain|look|"
    r"walk|go|show|take|share|help|tell|discuss|explore|dive)\b|\bread on\b|\bkeep reading\b|"
    r"\b(?:you'?ll|you’ll|you will) (?:learn|find out|discover)\b|\blearn (?:more|all|everything)\b|"  # noqa: E501
    r"\bfind out (?:more|how|what|why|everything)\b|\bhas you covered\b|\bgot you covered\b|"
    r"\b(?:come|came) to the right place\b|\b(?:everything|all) you need to know\b|\bhere(?:'s|’s| is) (?:what|how|everything)\b|"  # noqa: E501
    r"\bwe(?:'re|’re| are) (?:here|happy|glad|excited|thrilled) to\b|\bwelcome(?: to|!|\b)|"
    r"\blet(?:'s|’s| us) (?:dive|get started|take a look|explore|begin|jump|look)\b|"
    r"\blook no further\b|\bfaqs?\b|\bfrequently asked\b|\bwe(?:'ve|’ve| have) (?:put together|"
    r"rounded up|compiled|gathered|got)\b|\b(?:great|good) question\b|\bhappy (?:running|training|"
    r"shopping|reading)\b|\bstay tuned\b|\bwithout further ado\b|"
    # sympathy before the help: "Sync issues can be frustrating, but...", "We know how..."
    r"\bcan be (?:so |really |very )?(?:frustrating|annoying|confusing|stressful|overwhelming)\b|"
    r"\bwe (?:know|understand) (?:how|that)\b|\byou(?:'re|’re| are) not alone\b",
    re.I,
)


#: Openings that carry on from the sentence before ("For example, add a fourth run...", "Then
#: open the Watch app..."): read first, such a sentence leaves the runner without what it goes on
#: from. Generic English connectives, never a topic.
_CONTINUES = re.compile(
    r"^(?:for example|for instance|e\.g\.|then|after that|also|in addition|additionally|"
    r"however|otherwise|instead|likewise|similarly|as well|on the other hand|that said)\b",
    re.I,
)


def continues_previous(sentence: str) -> bool:
    """Whether a sentence opens by carrying on from the one before it (see ``_CONTINUES``)."""
    return bool(_CONTINUES.match(sentence.strip()))


@lru_cache(maxsize=TEXT_CACHE)
def is_intro(sentence: str) -> bool:
    """Whether a sentence is a help-center intro or marketing line that must never open an answer.

    Cues: it talks about the article itself ("In this article we'll answer..."), promises or
    welcomes ("Read on to learn", "We're here to help", "Welcome to"), asks the reader a
    rhetorical question (an answer never ends with "?"), or is a short exclamation with no
    instruction or number in it ("Great news!", "Happy running!").
    """
    text = sentence.strip()
    if not text:
        return False
    if _INTRO.search(text):
        return True
    if text.endswith("?"):
        return True
    if text.endswith("!") and len(text.split()) <= 8 and not re.search(r"\d", text):
        return not (_opens_with_imperative(text) or _VERDICT_START.search(text))
    return False
