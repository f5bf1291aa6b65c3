"""The question inside a long message: what is asked, and the context that changes the answer.

Runners ramble: "hey so quick question. I'm 45, been running for years, love the app btw. I just
bought minimalist shoes, can I run in them tomorrow?" Retrieval and answer selection work best
on the asking sentence plus the facts that change its answer (age, experience, body weight, the
current training block or race, an injury history, being new to something), without greetings,
thanks and praise. :func:`focus` splits the message into sentences (and a run-on sentence into
clauses), sorts them into asking / context / chit-chat / other, and returns what to search with.

Only generic English cues are used (interrogatives, "should I", "wondering if", "tell me",
"I'm 45", "years", "injury", "just started", "training for"...), never a topic word. Chit-chat
is dropped; a sentence that is neither asking, context nor chit-chat is kept when it has a few
content words (it often names the subject or a symptom) or when the question leans on it
("is there a better time to do *them*?", "help??"), and dropped when it is a short aside.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: Messages up to this many words come back unchanged: there is nothing to trim.
SHORT_WORDS = 25
#: A sentence longer than this is split into clauses at commas and before asking cues, so a
#: run-on message without full stops still gets its question found.
RUN_ON_WORDS = 20
#: A sentence with no context cue is kept only with at least this many content words
#: ("No real damage." and "Long week." go, "my calves are wrecked after intervals" stays).
OTHER_MIN_CONTENT = 3
#: An asking sentence with at most this many content words leans on the rest of the message
#: ("how often?", "help??"); with more it stands on its own and the asker's context stays out
#: of the query.
LEANS_CONTENT = 2


@dataclass(frozen=True)
class Focus:
    """What to retrieve with (``query``), the sentences that ask, and the kept context.

    Example::

        f = focus("Hi! I'm 45 and new to running. Love the app. How often should I run?")
        f.asking   # ["How often should I run?"]
        f.context  # ["I'm 45 and new to running."]
        f.query    # "I'm 45 and new to running. How often should I run?"
    """

    query: str
    asking: list[str] = field(default_factory=list)
    context: list[str] = field(default_factory=list)
    #: the query without its side notes about the asker, when ``query`` keeps them ("I'm 47.
    #: return policy?" -> "return policy?"): what the message asks about, for retrieval to
    #: weigh beside the whole (empty: nothing set aside, or the question is about the asker)
    bare: str = ""


# Sentence ends: ".", "!", "?" runs (with closing quotes), line breaks, and " - " dashes.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\s*\n+\s*|(?<=[?!])(?=[A-Za-z])")
_ABBREVIATION = re.compile(r"\b(?:e\.g|i\.e|etc|vs|approx|dr|mr|mrs|ms|st|no)\.$", re.I)
_CLAUSE_BREAK = re.compile(
    r"\s*[,;]\s+|\s+[-–—]+\s+|\s+(?=(?:and |but |so )?(?:i was|i'm|im|i am) (?:wondering|curious|"
    r"not sure)\b)|\s+(?=(?:and |but |so )(?:should|can|could|do|does|is|are|will|would) "
    r"(?:i|it|you|my|we|there|they)\b)",
    re.I,
)

_INTERROGATIVE_START = re.compile(
    r"^(?:(?:and|but|so|ok(?:ay)?|also|then|or)\s+)?(?:why|how|what|whats|what's|which|who|"
    r"whom|whose|where|wheres|where's)\b|^(?:(?:and|but|so|ok(?:ay)?|also|then|or)\s+)?"
    r"(?:should|can|could|may|must|do|does|is|are|am|will|would|shall|did|was|were|have|has)"
    r"(?:n't|nt)?\s+(?:i|you|we|it|they|he|she|my|your|the|this|that|these|those|there|anyone|"
    r"anybody|someone|a|an)\b|^(?:(?:and|but|so)\s+)?when\s+(?:should|can|could|do|does|is|are|"
    r"will|would|am|might)\b",
    re.I,
)
_ASKING_CUE = re.compile(
    r"\b(?:wondering|wonder|curious|not sure|unsure) (?:if|whether|how|what|when|why|where|"
    r"which|about)\b|\bwondering\b|\b(?:should|can|could|do|must) i\b|\bdo i (?:need|have) to\b|"
    r"\bis it (?:ok|okay|fine|safe|bad|normal|alright|better|worth|too|a good idea|a bad idea)\b|"
    r"\bis (?:that|this) (?:ok|okay|fine|normal|right|bad|safe|a problem)\b|\bis there\b|"
    r"\b(?:tell|show|give|teach) me\b|\b(?:any|some) (?:tips|advice|ideas|suggestions|pointers|"
    r"recommendations|help)\b|\b(?:i want|i'd like|i would like|i need) to know\b|"
    r"\bhelp me\b|\bplease (?:advise|help|explain)\b|\b(?:thoughts|ideas|advice)\s*\?|"
    r"\bhow (?:long|many|much|often|do|can|should|to)\b|\bwhat (?:should|can|is|are)\b|"
    r"\bam i (?:overthinking|doing|ok|okay|wrong|right)\b",
    re.I,
)
_CHITCHAT = re.compile(
    r"\b(?:hi|hey|hello|hiya|howdy|yo|greetings|good (?:morning|afternoon|evening)|"
    r"thanks?|thank you|thx|ty|cheers|ta|appreciated?|in advance|much appreciated|"
    r"love (?:the|this|your) (?:app|site|service|product|content|articles?|help|team)|"
    r"(?:great|awesome|amazing|brilliant|fantastic|cool) (?:app|site|service|product|job|work|"
    r"articles?|team)|you (?:guys|all|lot) (?:are|rock)\w*|you(?:'re| are) (?:the best|great|"
    r"awesome|amazing)|keep it up|quick question|random (?:one|question)|question for you|"
    r"long story short|sorry (?:for|about) (?:the|this|my) (?:long|essay|ramble)\w*|"
    r"bit of a (?:long one|ramble|story)|hope (?:you(?:'re| are)|this|that|all|it)\b\w*|"
    r"(?:super|so|really|very) (?:excited|stoked|happy|pumped|keen)|excited|stoked|lol|haha\w*|"
    r"lmao|btw|anyway|anyways|so yeah|yeah|ok(?:ay)?|so|um+|uh+|well|any help|"
    r"would be (?:great|appreciated|amazing)|makes sense|first time (?:posting|writing|asking)|"
    r"the best|much|sorry|please|pls|plz)\b",
    re.I,
)
_CONTEXT_CUE = re.compile(
    # age
    r"\b(?:i'?m|i am|im|aged?)\s+\d{2}\b|\b\d{2}\s*(?:years? old|yrs? old|yo|y/o)\b|"
    r"\bin my (?:\d0s|twenties|thirties|forties|fifties|sixties|seventies|eighties)\b|"
    # experience
    r"\b(?:been|started|start|began) (?:\w+ ){0,2}(?:running|training|doing|using|lifting)\b|"
    r"\b(?:\d+|a|one|two|three|four|five|six|few|couple of|several|many) (?:years?|months?|"
    r"weeks?)\b|\bon and off\b|\bfor (?:years|months|ages|a while)\b|\bever since\b|"
    # body weight
    r"\b(?:weigh|weight|kg|kgs|lbs?|pounds|stone|overweight|bmi|heavy|heavier)\b|"
    # current training, race, plan, routine
    r"\b(?:training for|train for|preparing for|prepping for|signed up|entered|race|event|"
    r"plan|plans|planned|planning|programme|program|block|schedule|coach|per week|a week|"
    r"weekly|every day|daily|"
    r"already|currently|usually|normally|regularly|typically|week \d+|mileage)\b|"
    r"\b\d+\s*x\s*\d+\b|\b\d+\s*(?:k|km|mi|miles)\b|"
    # injury and health history
    r"\b(?:injur\w*|surgery|operation|fracture\w*|broke|broken|sprain\w*|torn|tear|strain\w*|"
    r"recover\w*|rehab|physio\w*|doctor|diagnos\w*|condition|pregnan\w*|postpartum|pain\w*|"
    r"hurt\w*|sore\w*|ache\w*|aching|niggle\w*|swell\w*|swollen|history of|medication|"
    r"damage|stiff\w*|tight\w*|cramp\w*|tired|exhausted|wrecked|feel|feels|felt|feeling)\b|"
    # new to something, constraints
    r"\b(?:new to|new (?:shoes|pair)|beginner|newbie|novice|first (?:time|ever|week|month|run|"
    r"pair)|never (?:done|tried|run|used|had)|just (?:started|got|bought|signed|joined|"
    r"switched|began|moved|finished)|recently|started|switch\w*|transition\w*|bought|"
    r"(?:don'?t|do not|doesn'?t) have|no access|only (?:have|got)|at home|no (?:gym|equipment|"
    r"time)|limited)\b",
    re.I,
)
_ANAPHORA = re.compile(
    r"\b(?:it|its|it's|them|they|that|this|those|these|one|ones|there|then|same)\b", re.I
)
#: A question about the asker's own case leans on the context they gave.
_PERSONAL = re.compile(
    r"\b(?:for me|for someone (?:like me|my age|of my)|at my (?:age|weight|level)|in my case|"
    r"someone like me|people like me|my situation|my age)\b",
    re.I,
)
#: ... or ends by asking what the asker is ("which ability level am I?", "what size am I").
_ABOUT_ME = re.compile(r"\b(?:am i|i am)\s*[?.!]*$", re.I)
_LEADING_FILLER = re.compile(
    r"^(?:(?:hi|hey|hello|hiya|ok(?:ay)?|so|and|um+|uh+|well|right|anyway|yeah|quick question|"
    r"quick one|random (?:one|question)|question)\b[\s,.:;!-]*)+",
    re.I,
)
#: Openers that say nothing about the question; unlike _LEADING_FILLER it keeps "and", "so",
#: "ok", which mark a follow-up.
_GREETING_OPENER = re.compile(
    r"^(?:(?:hi|hey|hello|hiya|um+|uh+|quick question|quick one|random (?:one|question)|"
    r"(?:ok(?:ay)? )?so i was wondering|i was wondering|i'm wondering)\b[\s,.:;!-]*)+",
    re.I,
)
_STOP = frozenset(
    "a an the and or of to in on for with is are be am do does did i my me you your it its "
    "this that what how when why which who can should could would will much many often long "
    "about any there their them they at by from as if so but not no up just really get got "
    "im i'm it's its have has had was were been being".split()
)


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9']+", text)


def split_sentences(message: str) -> list[str]:
    """Sentences of a message: at ., ! and ? (runs included), line breaks, not after "e.g."."""
    pieces: list[str] = []
    for raw in _SENTENCE_END.split(message.strip()):
        piece = raw.strip()
        if not piece:
            continue
        if pieces and _ABBREVIATION.search(pieces[-1]):
            pieces[-1] = f"{pieces[-1]} {piece}"
        else:
            pieces.append(piece)
    return pieces


def _clauses(sentence: str) -> list[str]:
    """A run-on sentence's clauses; fragments of one or two words stay with their neighbour."""
    if len(_words(sentence)) <= RUN_ON_WORDS:
        return [sentence]
    parts = [p.strip() for p in _CLAUSE_BREAK.split(sentence) if p and p.strip()]
    merged: list[str] = []
    for part in parts:
        if merged and len(_words(part)) <= 2 and not is_chitchat(part):
            merged[-1] = f"{merged[-1]}, {part}"
        else:
            merged.append(part)
    return merged


def asks(sentence: str) -> bool:
    """Whether a sentence asks something: a "?", an interrogative opening, or an asking cue."""
    text = _LEADING_FILLER.sub("", sentence.strip())
    return (
        sentence.rstrip().endswith("?")
        or bool(_INTERROGATIVE_START.search(text))
        or bool(_ASKING_CUE.search(text))
    )


def is_chitchat(sentence: str) -> bool:
    """Greetings, thanks, praise and filler: nothing is left once those phrases are removed."""
    if not _CHITCHAT.search(sentence):
        return False
    rest = _CHITCHAT.sub(" ", sentence)
    return sum(1 for w in _words(rest) if w.lower() not in _STOP) <= 1


def gives_context(sentence: str) -> bool:
    """Whether a sentence states a fact about the asker that can change the answer."""
    return bool(_CONTEXT_CUE.search(sentence))


def _content_count(sentence: str) -> int:
    return sum(1 for w in _words(sentence) if w.lower() not in _STOP)


#: A side note about the asker starts with them ("I'm 47...", "I run 25 km a week...") and tells
#: no symptom: "ok my legs are sore after plyo." is the subject of the question, not an aside.
_PROFILE_START = re.compile(
    r"^(?:(?:ok(?:ay)?|so|well|hi|hey)\W+)?(?:i'?m|i am|im|i run|i've been|i have been|i started|"
    r"i weigh|i train|i do|i'm training|bit of background|for context)\b",
    re.I,
)
_SYMPTOM = re.compile(
    r"\b(?:sore|pain\w*|hurt\w*|ache|aches|aching|achy|injur\w*|swell\w*|swollen|numb\w*|"
    r"tight|stiff\w*|cramp\w*|tender|bruis\w*|sprain\w*|strain\w*|blister\w*|tingl\w*)\b",
    re.I,
)


def _about_asker(asking: list[str]) -> bool:
    """Whether a question is about the asker's own case ("...for me?", "which level am I?")."""
    return any(_PERSONAL.search(u) or _ABOUT_ME.search(u) for u in asking)


def _profile(sentence: str) -> bool:
    return bool(_PROFILE_START.search(sentence)) and not _SYMPTOM.search(sentence)


def is_note(sentence: str) -> bool:
    """Whether a sentence is a side note about the asker: it starts with them ("I'm 47 and...",
    "I run 25 km a week"), names no symptom and asks nothing."""
    return _profile(sentence) and not asks(sentence)


def last_question(message: str) -> str:
    """The last sentence of a message without a chatty opener: what a follow-up is judged by
    ("I'm 47. And how do I make them harder?" -> "how do I make them harder?")."""
    sentences = split_sentences(message) or [message]
    last = _GREETING_OPENER.sub("", sentences[-1]).strip()
    return last or sentences[-1]


def _clean(sentence: str) -> str:
    """Drop a chatty opener ("hey so quick question, ...") and a leading conjunction."""
    text = _LEADING_FILLER.sub("", sentence).strip()
    parts = re.split(r"(?<=[,!])\s+", text)
    while len(parts) > 1 and is_chitchat(parts[0]):
        parts.pop(0)  # "Love the app, been using it for months"
    while len(parts) > 1 and is_chitchat(parts[-1]):
        parts.pop()  # "..., thanks!"
    text = " ".join(parts).rstrip(",")
    text = re.sub(r"^(?:and|but|so)\s+", "", text, flags=re.I)
    return text[:1].upper() + text[1:] if text else sentence


def focus(message: str) -> Focus:
    """The asking part of a message, with the context sentences that change its answer.

    A message of one sentence comes back unchanged, as its own only asking sentence.

    - **Short messages** (at most :data:`SHORT_WORDS` words) lose only a sentence about the
      asker (age, mileage, the training block) put beside a question that stands on its own:
      "I'm 47. When shouldn't I do jump training?" retrieves exactly what "When shouldn't I do
      jump training?" does. A question that leans on it ("what about *them*?", "help??",
      "return policy?") keeps the whole message, and gives it without the note as ``bare``:
      retrieval weighs both, so the note neither picks the article ("I'm 61 and walk a lot.
      return policy?") nor is lost. One about the asker's own case ("does it take longer *for
      me*?", "which level am I?") keeps the whole message and has no ``bare`` form.
    - **Long messages** are split into sentences and clauses, sorted into asking, context,
      chit-chat and other; the query is the asking sentences with the context that can change
      the answer, without the chit-chat. Without any asking sentence, ``asking`` is empty and
      the query is the message minus its chit-chat. Its notes about the asker stay in the
      query, and ``bare`` gives it without them, as for a short message.
    """
    text = message.strip()
    short = len(_words(text)) <= SHORT_WORDS
    sentences = split_sentences(text)
    units = sentences if short else [c for s in sentences for c in _clauses(s)]
    if len(units) <= 1:
        return Focus(text, [text] if text else [], [])
    kinds: list[str] = []
    for unit in units:
        if asks(unit) and _content_count(_clean(unit)) >= 1:
            kinds.append("asking")
        elif is_chitchat(unit):
            kinds.append("chitchat")
        elif gives_context(unit):
            kinds.append("context")
        elif asks(unit):  # "help??", "thoughts?": asks, but says nothing itself
            kinds.append("asking")
        else:
            kinds.append("other")
    asking_units = [u for u, k in zip(units, kinds, strict=True) if k == "asking"]
    # The question leans on the rest of the message for its subject ("...do *them*?",
    # "help??") or on the asker's circumstances ("...for me?").
    leans = not asking_units or any(
        _ANAPHORA.search(u) or _PERSONAL.search(u) or _content_count(_clean(u)) <= LEANS_CONTENT
        for u in asking_units
    )
    if short:
        # a short message loses only a side note about the asker (who they are, how they
        # train), and only when the question stands on its own
        aside = [k == "context" and _profile(u) for u, k in zip(units, kinds, strict=True)]
        if not any(aside):
            return Focus(text, [text], [])
        rest = " ".join(u for u, a in zip(units, aside, strict=True) if not a)
        if leans:
            # about the asker's own case ("...longer for me?", "which level am I?"): the note
            # is what it asks about, and only it picks the answer
            return Focus(text, [text], [], bare="" if _about_asker(asking_units) else rest)
        context = [u for u, a in zip(units, aside, strict=True) if a]
        return Focus(rest, asking_units, context)
    # A sentence without a cue is still kept when it says something (it may name the subject
    # or a symptom: "my calves are wrecked after yesterday's intervals"), and always when the
    # question leans on it (or is thin); two-word asides go.
    thin = leans or any(_content_count(_clean(u)) <= OTHER_MIN_CONTENT for u in asking_units)
    for i, kind in enumerate(kinds):
        if kind == "other" and (thin or _content_count(units[i]) >= OTHER_MIN_CONTENT):
            kinds[i] = "context"
    kept = [
        (_clean(u), k) for u, k in zip(units, kinds, strict=True) if k in ("asking", "context")
    ]
    if not kept:
        return Focus(text, [text], [])
    asking = [u for u, k in kept if k == "asking"]
    context = [u for u, k in kept if k == "context"]
    query = " ".join(_terminated(u) for u, _ in kept)
    # notes about the asker stay in the query; retrieval also weighs it without them
    notes = [u for u, k in kept if k == "context" and _profile(u)]
    bare = "" if _about_asker(asking) or not notes else " ".join(
        _terminated(u) for u, _ in kept if u not in notes
    )
    return Focus(query, asking, context, bare=bare)


def _terminated(piece: str) -> str:
    """A clause cut out of a run-on sentence gets a full stop, so the query reads as text."""
    return piece if re.search(r"[.!?;:]$", piece) else f"{piece}."
