"""What kind of answer a question wants.

"Should I run in them yet?" wants a verdict first, "how long before..." a span of time, "how
many sets" a number, "how do I..." an instruction. :func:`question_type` reads the kind from the
question's wording; :mod:`assistant.answer_fit` scores how well a sentence gives that kind.

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
TIME_UNITS = r"(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|nights?|weeks?|months?|years?)"

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
        re.compile(rf"\bhow many {TIME_UNITS}\b"),
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
