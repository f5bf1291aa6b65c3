"""What kind of chat message this is, before any retrieval: a question, or small talk.

:func:`classify` returns an :class:`Intent`: greetings, thanks and goodbyes that ask nothing get
a short reply instead of a search; an explicit request for a person, or for someone to act on
the runner's own account (refund, cancel, change an email), is flagged for a handoff; and a
message clearly not in English is recognised (py3langid, restricted to widely used languages),
since the articles are in English. The reply texts are generic: the welcome is built from the
knowledge base's collection names, so nothing here names a help center's topics.

Example::

    intent = classify("hi, how long should I hold the stretch?")
    intent.kind                      # "question": a greeting with a question is a question
    classify("thanks!").kind         # "thanks" -> thanks_text()
    classify("get me a real person").wants_person   # True -> person_text()
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

IntentKind = Literal["question", "greeting", "thanks", "goodbye", "person"]

#: Languages the identifier may answer (ISO 639-1). A closed set keeps rare look-alike languages
#: from claiming short English messages.
LANGUAGES: dict[str, str] = {
    "en": "English", "es": "Spanish", "fr": "French", "de": "German", "it": "Italian",
    "pt": "Portuguese", "nl": "Dutch", "sv": "Swedish", "da": "Danish", "no": "Norwegian",
    "fi": "Finnish", "pl": "Polish", "cs": "Czech", "tr": "Turkish", "ru": "Russian",
    "uk": "Ukrainian", "el": "Greek", "ar": "Arabic", "he": "Hebrew", "hi": "Hindi",
    "ja": "Japanese", "zh": "Chinese", "ko": "Korean", "id": "Indonesian", "vi": "Vietnamese",
}
# A non-English verdict is trusted only for a message this long, with this probability, and
# when most of its words are not common English words: short English jargon and typos
# ("calf raisses?") get confident wrong verdicts from character n-gram models.
MIN_WORDS, MIN_PROBABILITY, MAX_ENGLISH_SHARE = 3, 0.9, 0.5


@dataclass(frozen=True)
class Intent:
    kind: IntentKind
    wants_person: bool = False
    account_action: bool = False
    language: str = "en"


_GREETING = (r"hi+|hello+|hey+|hiya|howdy|yo|greetings|good (?:morning|afternoon|evening|day)"
             r"|morning|evening|hi there|hello there|hey there")
_THANKS = (r"thanks?|thank you|thank u|thx|ty|tysm|cheers|ta|much appreciated|appreciate it"
           r"|(?:that|this) (?:helped|helps|was helpful|is helpful)|helpful|great help")
_GOODBYE = (r"bye+|goodbye|good bye|bye bye|see (?:you|ya)|cya|later|catch you later|take care"
            r"|have a (?:good|great|nice) (?:one|day|evening|night|week)|good ?night"
            r"|that'?s all(?: i (?:needed|wanted)(?: to know)?)?|(?:i'?m|i am) done|that'?s it")
_FILLER = (r"ok(?:ay)?|cool|great|awesome|perfect|nice|lovely|brilliant|amazing|super|wow|oh"
           r"|so much|very much|a lot|again|there|all|everyone|team|folks|guys|mate|for now"
           r"|for (?:the|your) help|for that|that'?s|really|and|so|then|you|again|bot|friend")
_SOCIAL = {
    kind: re.compile(rf"(?<!\w)(?:{p})(?!\w)")
    for kind, p in (("greeting", _GREETING), ("thanks", _THANKS), ("goodbye", _GOODBYE))
}
_FILLER_RX = re.compile(rf"(?<!\w)(?:{_FILLER})(?!\w)")

_PERSON = re.compile(r"(?<!\w)(?:" + "|".join((
    r"(?:talk|speak|chat|get through) (?:to|with) (?:a |an |the |some(?:one|body) )?(?:real "
    r"|actual |live )?(?:human|person|people|agent|someone|somebody|representative|rep"
    r"|operator|member of (?:staff|the team)|support(?: team)?|customer (?:service|support))",
    r"(?:get|connect|transfer|put|pass) me (?:to |through to |with |on to )?(?:a |an |the )?"
    r"(?:real |actual |live )?(?:human|person|agent|someone|somebody|representative|support)",
    r"real (?:person|human|people)", r"human (?:being|agent|support|please)", r"live (?:agent|chat"
    r"|person|support)", r"is (?:there|anyone) (?:someone|somebody|anyone|a person|a human)"
    r"[^.?!]{0,30}\b(?:speak|talk|chat|help)", r"(?:want|need|like) (?:a|to talk to a) human",
    r"^(?:a )?(?:human|person|agent)(?: please)?[.!?]*$",
)) + r")(?!\w)")
_NOT_WANTED = re.compile(r"\b(?:don'?t|do not|no need to|never) (?:want|need|have) to\b|"
                         r"\bwithout (?:a|talking)\b")

_ACTION = (r"refund|cancel|change|update|delete|close|reset|resend|remove|upgrade|downgrade"
           r"|pause|unsubscribe|transfer|reactivate|merge|correct|fix|edit|stop|renew|return"
           r"|exchange|replace|credit|reverse")
_OWN = (r"(?:my|our) (?:\w+ ){0,2}?(?:order|payment|subscription|account|e-?mail(?: address)?"
        r"|address|password|plan|membership|card|charge|booking|invoice|data|profile|username"
        r"|phone(?: number)?|name|billing|renewal|purchase|delivery|parcel|package)s?")
_ACCOUNT = re.compile(r"(?<!\w)(?:" + "|".join((
    rf"^(?:please |pls |can you |could you |would you |kindly )?(?:just )?(?:{_ACTION})\w* "
    rf"(?:\w+ )?{_OWN}",
    rf"(?:can|could|would|will) you (?:please |pls )?(?:just )?(?:{_ACTION})\w* (?:\w+ )?{_OWN}",
    rf"(?:i want|i'd like|i would like|i need|please) (?:you to |to have |to get )?(?:{_ACTION})"
    rf"\w* (?:\w+ )?{_OWN}", r"(?:i want|i'd like|i need|give me|i'm owed|i demand) (?:a |my )?"
    r"(?:refund|money back|reimbursement)",
    # a charge gone wrong, whoever is named before it ("I was", "you", "the app")
    r"\w+ (?:double[- ])?charged (?:me )?(?:twice|two times|double|again|wrongly|by mistake)",
    r"(?:i was|i've been|i got|i'm being|you) double[- ]charged",
    rf"(?:{_ACTION})\w* [^.?!]{{0,40}}(?:#\s?\d{{3,}}|\border (?:number |no\.? )?\d{{3,}})",
    rf"(?:{_ACTION})\w* (?:\w+ ){{0,3}}to \S+@\S+",
)) + r")(?!\w)")
_SELF_SERVICE = re.compile(r"^(?:how|where|when|what|why|can i|do i|is it possible)\b")


def _clean(message: str) -> str:
    return re.sub(r"\s+", " ", message.lower().replace("\u2019", "'")).strip()


def classify(message: str, vector: Sequence[float] | None = None) -> Intent:
    """The intent of one chat message. ``vector`` (the message's embedding) is accepted for
    symmetry with the safety gate; the decision here is lexical and does not need it."""
    del vector
    text = _clean(message)
    wants_person = bool(_PERSON.search(text)) and not _NOT_WANTED.search(text)
    account = bool(_ACCOUNT.search(text)) and not (
        _SELF_SERVICE.search(text) and not re.search(r"#\s?\d|@", text))
    kind = "person" if wants_person and _only_person(text) else _kind(text)
    return Intent(kind, wants_person, account, detect_language(message))


#: What a bare request for a person is made of besides the request itself: politeness and
#: complaints about the chat, never a topic ("can I talk to a human about my refund?" is not).
_ASKING = re.compile(
    r"(?<!\w)(?:can|could|may|i|please|pls|plz|want|wanna|need|would|like|i'?d|just|now|to"
    r"|speak|talk|chat|with|a|an|the|some(?:one|body)|from|your|this|that|it|is|isn'?t|not|no"
    r"|bot|chatbot|robot|helping|help|useful|working|team|actual|real|live|human|person|agent"
    r"|instead|rather|than|really|honestly|me|get|connect|at all|of|here|there)(?!\w)"
)


def _only_person(text: str) -> bool:
    rest = _PERSON.sub(" ", text)
    for rx in (*_SOCIAL.values(), _FILLER_RX, _ASKING):
        rest = rx.sub(" ", rest)
    return not re.search(r"[a-z0-9]{2,}", rest)


def _kind(text: str) -> IntentKind:
    """Small talk only when nothing but greetings, thanks, goodbyes and fillers remain."""
    found = [kind for kind, rx in _SOCIAL.items() if rx.search(text)]
    if not found:
        return "question"
    rest = text
    for rx in (*_SOCIAL.values(), _FILLER_RX):
        rest = rx.sub(" ", rest)
    if re.search(r"[a-z0-9]{2,}", rest):  # anything left is a question or a statement
        return "question"
    for kind in ("goodbye", "thanks", "greeting"):  # "thanks, bye" ends the conversation
        if kind in found:
            return kind  # type: ignore[return-value]
    return "question"


_IDENTIFIER: list[Any] = []  # the process's identifier, once loaded
_IDENTIFIER_LOCK = threading.Lock()


def load_identifier(cache_dir: Path | None = None) -> Any:
    """The language identifier, made once per process by the first caller: from the decoded
    copy of py3langid's model under ``cache_dir`` (``<data dir>/models``: the server's warm-up
    passes it; :mod:`assistant.langid_model`), else by decoding py3langid's own file. The
    identifier is the same either way; only the start-up cost differs."""
    with _IDENTIFIER_LOCK:
        if not _IDENTIFIER:
            from assistant.langid_model import make_identifier

            _IDENTIFIER.append(make_identifier(cache_dir, list(LANGUAGES)))
        return _IDENTIFIER[0]


def detect_language(message: str) -> str:
    """ISO 639-1 code of the message's language; "en" unless another one is clear."""
    words = re.findall(r"[^\W\d_]+", message.lower())
    letters = sum(len(w) for w in words)
    unspaced = bool(re.search(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]", message))
    if not words or (len(words) < MIN_WORDS and not (unspaced and letters >= 4)):
        return "en"
    language, probability = load_identifier().classify(message)
    if language == "en" or probability < MIN_PROBABILITY:
        return "en"
    if not unspaced and _english_share(words, str(language)) >= MAX_ENGLISH_SHARE:
        return "en"
    return str(language)


def _english_share(words: Sequence[str], language: str) -> float:
    """Share of the words that are common English words, and commoner in English than in
    ``language`` (wordfreq's frequency lists)."""
    from assistant.confidence import zipf, zipf_in

    def english(word: str) -> bool:
        en = zipf(word)
        return en >= 3.0 and en > zipf_in(word, language)

    return sum(english(w) for w in words) / len(words)


# --- reply texts ------------------------------------------------------------------------------
_PERSON_CHOICE = 'choose "Talk to a person"'


def welcome_text(topics: Sequence[str]) -> str:
    """Short welcome naming what the help articles cover (the knowledge base's collections)."""
    names = list(dict.fromkeys(t.strip() for t in topics if t and t.strip()))
    if not names:
        covered = "questions our help articles answer"
    elif len(names) == 1:
        covered = f"questions about {names[0]}"
    else:
        covered = f"questions about {', '.join(names[:-1])} and {names[-1]}"
    return (f"Hi! I can help with {covered}, with links to the articles I use. Ask in your own "
            f"words; if you'd rather talk to someone, {_PERSON_CHOICE}.")


def thanks_text() -> str:
    return "You're welcome! Ask me anything else whenever you like."


def goodbye_text() -> str:
    return "Thanks for stopping by. Come back any time you have a question."


def person_text() -> str:
    return (f"Of course. A person from our support team can help with that: {_PERSON_CHOICE} "
            "and they'll pick it up from here.")


def language_text(language: str) -> str:
    """Says the articles are in English only and offers a person (the reply stays in English)."""
    name = LANGUAGES.get(language)
    where = f" in {name}" if name and language != "en" else " in your language"
    return (f"Sorry, our help articles are only available in English, so I can't answer{where} "
            f"reliably. You can ask again in English, or {_PERSON_CHOICE} to reach our support "
            "team.")
