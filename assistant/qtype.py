"""What kind of answer a question wants, and how well a sentence gives that kind of answer.

"Should I run in them yet?" wants a verdict first, "how long before..." a span of time, "how
many sets" a number, "how do I..." an instruction. :func:`question_type` reads the kind from the
question's wording; :func:`sentence_fit` scores a candidate answer sentence for that kind, so the
answerer can open with the sentence that answers what was asked; :func:`is_intro` spots the
help-center welcome and marketing lines that should never open an answer.

Everything here is generic English (interrogatives, auxiliaries, units of time and quantity,
user-interface verbs), never a topic of one knowledge base. The rules, in order of precedence:

1. the earliest cue in the question wins ("how long should I..." is a duration, not a decision);
   at the same position the more specific type wins (``_PRECEDENCE``);
2. a yes/no question whose "or" offers a real alternative ("trail or road shoes?") is a
   comparison, unless the alternative is rhetorical ("...or is that a dumb idea", "or not");
   so is a question with no other cue that offers two options ("before or after a run?").
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

QType = Literal[
    "decision", "duration", "dose", "steps", "reason", "definition", "place", "comparison",
    "other",
]  # fmt: skip
QTYPES: tuple[QType, ...] = (
    "decision", "duration", "dose", "steps", "reason", "definition", "place", "comparison",
    "other",
)  # fmt: skip

# --- normalising the question -----------------------------------------------------------------

#: Contractions typed without apostrophes and frequent misspellings of interrogatives.
_REWRITES = {
    "whats": "what is", "what's": "what is", "wats": "what is", "wat": "what", "wht": "what",
    "whta": "what", "hwo": "how", "hw": "how", "hows": "how is", "how's": "how is",
    "whys": "why is", "why's": "why is", "wheres": "where is", "where's": "where is",
    "whens": "when is", "when's": "when is", "im": "i am", "i'm": "i am", "ive": "i have",
    "i've": "i have", "dont": "do not", "don't": "do not", "doesnt": "does not",
    "doesn't": "does not", "cant": "can not", "can't": "can not", "cannot": "can not",
    "shouldnt": "should not", "shouldn't": "should not", "isnt": "is not", "isn't": "is not",
    "arent": "are not", "aren't": "are not", "wont": "will not", "won't": "will not",
    "its": "it is", "it's": "it is", "thats": "that is", "that's": "that is",
    "shud": "should", "shld": "should", "shoud": "should", "sould": "should", "cn": "can",
    "u": "you", "ur": "your", "r": "are", "wanna": "want to", "gonna": "going to",
    "ok": "okay", "k": "okay", "alright": "okay", "vs": "versus", "v": "versus",
}  # fmt: skip
_TOKEN = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?|[?]")
#: Chatty openers that hide the real first word ("ok so quick question, should I...").
_FILLER = re.compile(
    r"^(?:(?:hi|hey|hello|ok(?:ay)?|so|and|also|but|um+|uh+|well|right|yeah|quick|question|"
    r"random|one|just|actually|honestly|please|pls|sorry|hmm+)\b[\s,.:;!-]*)+"
)


#: Politeness and register after the question ("what is X in plain english?", "... please").
_TRAILER = re.compile(
    r"(?:\s+\b(?:in (?:plain|simple|basic|normal|everyday|layman'?s?) (?:english|"
    r"terms|words|language)|please|pls|thanks|thank you|exactly|for me|lol|haha))+(?=\s*\??\s*$)"
)


def normalise(text: str) -> str:
    """Lower case, contractions spelled out, interrogative typos fixed, filler openers and
    trailing politeness dropped."""
    words = [_REWRITES.get(w, w) for w in _TOKEN.findall(text.lower().replace("’", "'"))]
    flat = " ".join(words)
    core = _TRAILER.sub("", _FILLER.sub("", flat)).strip()
    return core or flat


# --- question types ---------------------------------------------------------------------------

_SUBJECT = r"(?:i|you|we|it|they|he|she|my|your|our|the|this|that|these|those|a|an|one|someone|anyone|there)"  # noqa: E501
_AUX = r"(?:should|can|could|may|might|must|do|does|did|is|are|am|was|were|will|would|have|has|shall)"  # noqa: E501
_TIME_UNITS = r"(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|nights?|weeks?|months?|years?)"

_PATTERNS: dict[QType, list[re.Pattern[str]]] = {
    "reason": [
        re.compile(r"\bwhy\b"),
        re.compile(r"\bhow come\b"),
        re.compile(r"\bwhat is the (?:point|purpose|reason|benefit|use)\b"),
        re.compile(r"\bwhat (?:is|are) (?:that|this|it|they|those|these) for\b"),
        re.compile(r"\bwhat does (?:that|this|it) (?:tell|say|indicate|show)\b"),
        re.compile(r"\bwhat (?:good|difference) (?:does|will|would) (?:it|that|this)\b"),
        re.compile(r"\bwhat (?:does|do|will) (?:\S+ ){1,6}(?:actually |really |even )?(?:train|work|target|strengthen|improve|help|do for)\b"),  # noqa: E501
    ],
    "place": [
        re.compile(rf"\bwhere (?:{_AUX}|{_SUBJECT})\b(?! (?:i )?(?:start|begin)\b)"),
        re.compile(r"\b(?:can not|could not|unable to|do not|can|how (?:do|can) i) (?:find|see|locate|access|open)\b.*\b(?:app|site|website|page|menu|settings|account|anywhere|profile|dashboard)\b"),  # noqa: E501
        re.compile(r"\bis (?:not|nothing) showing up\b|\bnot showing up\b|\bwhich (?:tab|menu|screen|page|button)\b"),  # noqa: E501
    ],
    "comparison": [
        re.compile(r"\bdifferences? between\b|\bversus\b|\bcompared? (?:to|with)\b"),
        re.compile(r"\bwhat is the (?:actual |real |main )?difference\b"),
        re.compile(r"\btell (?:\w+ ){1,4}apart\b|\bwhich (?:is|one is|are) (?:better|best|worse)\b"),  # noqa: E501
        re.compile(r"\b(?:is it|are they|would it be) better\b.*\bor\b|\bwhich (?:one|of)\b.*\bor\b"),  # noqa: E501
        re.compile(r"\bwhich (?:\w+ ){0,3}should (?:i|we) (?:buy|get|choose|pick|use|go for|start with)\b"),  # noqa: E501
    ],
    "duration": [
        re.compile(r"\bhow long\b|\bhow soon\b|\bhow quickly\b|\bhow much time\b"),
        re.compile(rf"\bhow many {_TIME_UNITS}\b"),
        re.compile(r"\b(?:what|which) (?:time ?frame|timeline|timescale)\b|\bover what (?:time|period)\b"),  # noqa: E501
        re.compile(rf"\bwhen (?:will|would|can|could|should|do|does|am|might) {_SUBJECT}\b"),
        re.compile(r"\bwhen is (?:the|a) (?:best|right|good) time\b|\buntil when\b"),
    ],
    "dose": [
        re.compile(r"\bhow (?:many|much|often|frequently|far|high|tall|heavy|wide|big|deep|hard|fast|slow|low)\b"),  # noqa: E501
        re.compile(r"\bwhat (?:size|length|height|width|weight|distance|pace|speed|rate|number|amount|percent|percentage|frequency|dose|dosage|temperature)\b"),  # noqa: E501
        re.compile(r"\b(?:sets|reps|repetitions|times) (?:a|per) (?:day|week|session)\b"),
        re.compile(r"\bsets (?:and |n |or |of )?(?:reps|repetitions)\b"),
    ],
    "definition": [
        re.compile(r"\bwhat (?:does|do) (?!(?:i|you|we|they)\b)(?:\S+ ){1,5}(?:even |actually |really )?mean\b"),  # noqa: E501
        re.compile(r"\bwhat is meant by\b|\bmeaning of\b|\bdefin(?:e|ition)\b|\bwhat counts as\b"),
        re.compile(r"\bwhat (?:actually |exactly |really )?makes (?:a|an|something|it)\b"),
        re.compile(r"\bwhat (?:even |exactly |actually |really )?(?:is|are) (?!(?:(?:a|an|the) )?(?:best|right|good|next|point|difference|main|typical)\b)(?:(?:a|an|the) )?(?:[a-z0-9'-]+ ?){1,4}(?:$|\?|(?= and\b)|(?= or\b))"),  # noqa: E501
    ],
    "steps": [
        re.compile(r"\bhow (?:do|can|should|would|could|does) (?:i|you|we|one|someone)\b(?! (?:know|tell)\b)"),  # noqa: E501
        re.compile(r"\bhow to\b|\b(?:best|right|proper|correct|easiest|safest) way\b|\bwhere (?:do|should|can) i (?:start|begin)\b"),  # noqa: E501
        re.compile(r"\bwhat (?:am|are) (?:i|we) (?:meant|supposed) to do\b|\bwhat (?:should|can|could|do) (?:i|we) do\b|\bwhat (?:am|are) (?:i|we) doing wrong\b"),  # noqa: E501
        re.compile(r"\b(?:any|some|got any|give me|need) (?:tips|advice|ideas|suggestions|pointers|recommendations)\b"),  # noqa: E501
        re.compile(r"^(?:tell|show|give|teach|walk|explain to) (?:me|us)\b|\bcan you (?:tell|show|give|explain)\b"),  # noqa: E501
        re.compile(r"\b(?:make|making) (?:it|them|this|that|these|those|\w+) (?:harder|easier|tougher|more|less)\b"),  # noqa: E501
        re.compile(r"\b(?:harder|easier|tougher|advanced|simpler|next) (?:version|variation|option|progression|step|level)\b|\bwhat comes (?:next|after)\b"),  # noqa: E501
        re.compile(r"\b(?:what|which|in what) order\b|\bwhat is (?:a|the|an) (?:\w+ ){0,2}(?:routine|plan|process|method|procedure|programme|program|schedule|workout)\b"),  # noqa: E501
        re.compile(r"\bis there (?:a|an|any) (?:\w+ )?(?:option|alternative|version|way|variation)\b"),  # noqa: E501
    ],
    "decision": [
        # an auxiliary opening the question or one of its clauses: "is calf soreness normal",
        # "first week with new shoes, can i run in them yet", "wondering do I just go..."
        re.compile(r"(?:^|[,.;:!?] |\b(?:wondering|wonder|so|and|but|or|then) )(?:should|can|could|may|might|must|do|does|is|are|am|will|would|shall|need)(?: not)? (?!you (?:tell|show|give|explain|recommend|suggest|help)\b)\w"),  # noqa: E501
        re.compile(r"(?:^|[,.;:!?] )(?:did|was|were|have|has) (?:i|you|we|it|they|anyone|anybody|someone|there)\b"),  # noqa: E501
        re.compile(r"\b(?:is|would) (?:it|that|this) (?:be )?(?:okay|fine|safe|bad|good|normal|wise|alright|right|correct|wrong|a problem|an issue|a (?:good|bad|dumb|stupid) idea|worth|too|enough)\b"),  # noqa: E501
        re.compile(r"\b(?:wondering|wonder|unsure|not sure|curious|asking) (?:if|whether)\b|(?<!what )\b(?:if|whether) (?:i|we) (?:should|can|could|need|have to)\b"),  # noqa: E501
        re.compile(r"\bwhen (?:should|do|does|is it) ?(?:i )?not\b|\bwhen (?:is|are) (?!the (?:best|right) time\b)"),  # noqa: E501
        re.compile(r"\b(?:okay|fine|safe|normal|allowed|straight away|right away|yet|or not)\s*\??\s*$"),  # noqa: E501
    ],
}  # fmt: skip
#: "can I", "should I", "do I need to" inside a sentence are a yes/no question unless a
#: wh-word leads their clause ("what cadence should I run at" wants a number, not a verdict).
_MODAL = re.compile(r"\b(?:should|can|could|may|must) (?:i|we)\b|\bdo (?:i|we) (?:still |really |actually |even )?(?:need|have) to\b")  # noqa: E501
_WH = re.compile(r"\b(?:what|which|how|where|when|who|whom|why)\b")
_CLAUSE_END = re.compile(r"[,.;:!?]")
#: At the same position, the more specific cue wins: "how many weeks" is a duration before it
#: is a dose, "how do I find" a place before it is steps, "should I...or..." a comparison.
_PRECEDENCE: tuple[QType, ...] = (
    "reason", "place", "comparison", "duration", "dose", "definition", "steps", "decision",
)  # fmt: skip
#: "or" that offers no real alternative: "or not", "a size or two", "or is that just marketing".
_REAL_OR = re.compile(
    r"\bor\b(?! (?:not|no|nah|two|three|so|something|anything|whatever|what|less|more)\b)"
    rf"(?! (?:is|am|are|was|do|does|did|should|can|will|would|have) (?:{_SUBJECT})\b)"
)


def _modal_start(text: str) -> int | None:
    for match in _MODAL.finditer(text):
        clause = _CLAUSE_END.split(text[: match.start()])[-1]
        if not _WH.search(clause):
            return match.start()
    return None


#: Judgements of a text (a question, a heading, a sentence) are pure functions of it; the same
#: headings and sentences are judged for every question that retrieves them, so they are cached
#: (bounded: the units of a knowledge base, and the questions of the last while).
TEXT_CACHE = 65536


@lru_cache(maxsize=TEXT_CACHE)
def question_type(question: str) -> QType:
    """The kind of answer a question asks for (see the module docstring for the rules).

    >>> question_type("how long before I can run in them?")
    'duration'
    """
    text = normalise(question)
    found: list[tuple[int, int, QType]] = []
    for qtype, patterns in _PATTERNS.items():
        starts = [m.start() for p in patterns if (m := p.search(text))]
        if qtype == "decision" and (modal := _modal_start(text)) is not None:
            starts.append(modal)
        if starts:
            found.append((min(starts), _PRECEDENCE.index(qtype), qtype))
    if not found:
        # "stretches before or after a run?": two options and nothing else to go on
        return "comparison" if _REAL_OR.search(text) else "other"
    qtype = min(found)[2]
    if qtype == "decision" and _REAL_OR.search(text) and not re.search(r"\bor\s*\??\s*$", text):
        return "comparison"
    return qtype


# --- how well a sentence answers ----------------------------------------------------------------

_NUM = (
    r"(?:\d+(?:[.,]\d+)?(?:\s*(?:-|–|to|or)\s*\d+(?:[.,]\d+)?)?|a|an|one|two|three|four|five|six|"
    r"seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|sixty|ninety|"
    r"hundred|a few|few|a couple of|couple of|several|many|some|half an?|a half|"
    r"(?:one|two|three|four|five|six|a) (?:to|or) (?:two|three|four|five|six|eight|ten|twelve))"
)
_DURATION = re.compile(
    rf"\b{_NUM}(?:\s*(?:-|–|to|or)\s*{_NUM})?[\s-]+(?:more |extra |full |whole )?"
    rf"{_TIME_UNITS}\b|\b(?:a|one) (?:day|night|week|month|year|minute|hour) or (?:two|three|so)\b|"
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
    r"steps?|breaths?|metres?|meters?|m|km|kilometres?|miles?|yards?|cm|centimetres?|mm|"
    r"inches|inch|feet|kg|kilos?|lbs?|pounds?|percent|per cent|%|x|each (?:side|leg|foot))"
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
    r"shopping|reading)\b|\bstay tuned\b|\bwithout further ado\b",
    re.I,
)


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
