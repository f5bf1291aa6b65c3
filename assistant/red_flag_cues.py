"""The lexical side of the safety gate (:mod:`assistant.safety`): generic cues of grammar,
never topics of one knowledge base.

- :func:`rule_match`: the few high-precision rules for red flags that must never be missed,
  first person or symptom first, current, not negated in their clause, not framed as past,
  healed or prevention, and not someone else's ("my running buddy heard a pop");
- :func:`lexical_features` / :func:`features`: what the red-flag classifier reads besides the
  message's embedding (:data:`LEXICAL_FEATURES`, stored in order in the model file);
- :data:`INJECTION`: attempts to override the rules, adopt a persona or reveal the prompt;
- :data:`MEDICAL_NOTE`: what keeps a note about the asker in the message the classifier judges.

Example::

    rule_match("my ankle is swollen and I can't walk")  # ("swelling_or_bruising", False)
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


# --- generic lexical cues (grammar, not topics), shared by the rules and the classifier ---------
_I = r"i|i'm|im|i've|ive|i'd|my|me|mine|myself"
_FIRST_PERSON = _rx(rf"\b(?:{_I})\b")
#: parts of the body (anatomy, not one knowledge base's topics)
_BODY_PART = (r"(?:foot|feet|toes?|heels?|arch(?:es)?|ankles?|achilles|shins?|calf|calves|knees?"
              r"|hips?|legs?|hamstrings?|quads?|thighs?|groin|glutes?|bones?|tendons?|muscles?"
              r"|joints?|nerves?)")
_NEGATION = _rx(r"\b(?:no|not|never|without|none|nor|zero|nothing|free of|isn't|aren't|wasn't"
                r"|weren't|don't|doesn't|didn't|haven't|hasn't|hadn't|(?:is|are|was|do|does|did"
                r"|have|has) not)\b")
_CLAUSE_BREAK = _rx(r"[,.;:!?()]|\b(?:but|though|although|however|until|then|now|since|yet)\b")
_PAST = _rx(r"\b(?:heal(?:ed|s)|recovered|recovering from|got over|cleared|all clear|signed off"
            r"|used to|years? ago|as a (?:kid|child|teenager)|long gone|(?:has|have|is|are|it's)"
            r" (?:completely |fully |all )?(?:gone|sorted|better)|went away|no longer|back from"
            r"|in the past|once)\b")
_CURRENT = _rx(r"\b(?:now|today|currently|still|since|lately|right now|at the moment|this"
               r" (?:morning|week)|every (?:run|time|step|day)|each (?:run|time|week)|keeps?"
               r"|getting|yesterday|last night)\b")
_TOPIC_START = _rx(r"^\s*(?:what|whats|why|how|when|which|who|is|are|does|do|can|could|should"
                   r"|define|explain|signs?|symptoms?)\b")
_PREVENTION = _rx(r"\b(?:avoid\w*|prevent\w*|(?:reduc|lower)\w* (?:the |my )?(?:risk|chance)s?"
                  r"|risk of|how (?:do|can) i stop|(?:so|to) (?:that )?(?:i )?(?:don't|do not"
                  r"|won't|not) get|protect\w*|keep \w+ (?:healthy|safe))\b")
_SENTENCE = _rx(r"[^.?!;\n]+")
#: someone other than the asker, named as such: "my running buddy", "our coach", or a body part
#: that is hers or his ("in her calf"); their symptom is not the runner's own red flag
_PERSON = (r"(?:friend|buddy|mate|partner|wife|husband|boyfriend|girlfriend|son|daughter|kids?"
           r"|child(?:ren)?|mum|mom|mother|dad|father|brother|sister|client|athlete|runner|coach"
           r"|teammate|colleague|group|club|team|members?)s?")
_THEIR_PERSON = _rx(rf"\b(?:my|our) (?:[\w-]+ ){{0,2}}?{_PERSON}\b")  # "my running buddy"
_THEIR_BODY = _rx(rf"\b(?:her|his|their) (?:[\w-]+ )?(?:{_BODY_PART}|back|chest|heart)\b")
_SELF = _rx(rf"\b(?:{_I}|our|we|us)\b")
#: a sentence that names some complaint keeps a later general question personal
_COMPLAINT = _rx(r"\b(?:pain\w*|hurt\w*|ach(?:e|es|ing|y)|sore\w*|tender\w*|bother\w*|niggl\w*"
                 r"|twing\w*|injur\w*|problem\w*|issues?|strain\w*|sprain\w*|numb\w*|tingl\w*"
                 r"|swell\w*|swol+en|bruis\w*)\b")

#: Names of the lexical features appended to the embedding, in order (stored in the model file).
LEXICAL_FEATURES: tuple[str, ...] = (
    "first_person", "current", "negation", "past_or_healed", "topic_question", "prevention",
    "question_mark", "log_words", "pain_mentioned", "symptom_set_aside",
)


#: what keeps a note about the asker in the message the classifier judges (see
#: assistant.safety.judged_text): a medical word ("I'm back from a stress fracture."), pushing
#: on ("I'm pushing through it."), a sensation, or a part of the body ("I'm getting a weird
#: clicking in my ankle.": anatomy, not one knowledge base's topics)
MEDICAL_NOTE = _rx(
    r"\b(?:fractur\w*|broke\w*|break|surgery|operation|op|diabet\w*|neuropath\w*|pregnan\w*"
    r"|injur\w*|physio\w*|doctor|gp|through it|through the|recover\w*|heal\w*|rehab\w*"
    r"|condition|medication|medicine|blood|heart|chest|breath\w*|faint\w*|dizz\w*|limp\w*"
    r"|click\w*|pop\w*|lump\w*|weird|odd|funny|strange|feel\w*|felt|weak\w*|cold|hot|warm"
    rf"|red|pale|{_BODY_PART})\b"
)


def normalise(question: str) -> str:
    return re.sub(r"\s+", " ", question.lower().replace("\u2019", "'")).strip()


def _topic_question(text: str) -> bool:
    """The whole message is a general question: "why do runners get numb toes?"."""
    return bool(_TOPIC_START.search(text)) and not _FIRST_PERSON.search(text)


def _topic_sentence(text: str, at: int) -> bool:
    """The sentence at ``at`` is a general question, and the other sentences (notes about the
    asker such as "I'm 58 and new to running.") name no complaint."""
    others = (m.group() for m in _SENTENCE.finditer(text) if not m.start() <= at < m.end())
    return _topic_question(_sentence_at(text, at).strip()) and not any(
        _COMPLAINT.search(o) for o in others)


def lexical_features(question: str) -> np.ndarray:
    """The generic cues of :data:`LEXICAL_FEATURES` for one message, as floats."""
    text = normalise(question)
    return np.array([
        bool(_FIRST_PERSON.search(text)), bool(_CURRENT.search(text)),
        bool(_NEGATION.search(text)), bool(_PAST.search(text)), _topic_question(text),
        bool(_PREVENTION.search(text)), "?" in text, np.log1p(len(text.split())) / 4.0,
        any(not _negated(text, m.start()) for m in _PAIN_RX.finditer(text)),
        _rule_evidence(text)[1],
    ], dtype=np.float64)


def features(question: str, vector: Sequence[float]) -> np.ndarray:
    """Classifier input: the unit-length embedding followed by the lexical features."""
    v = np.asarray(vector, dtype=np.float64)
    return np.concatenate([v / (float(np.linalg.norm(v)) or 1.0), lexical_features(question)])


# --- rules: only what must never be missed; first person or symptom-first, current ------------
_PAIN = r"(?:pain\w*|pian\w*|hurt\w*|ach(?:e|es|ing|y)|sore|tender\w*|throb\w*)"
_CANT = r"(?:can'?t|cannot|can not|unable to|couldn'?t)"
_RULES: tuple[tuple[str, bool, tuple[str, ...]], ...] = (
    # (category, severe, alternatives); the most urgent category first
    ("other_medical", True, (
        rf"chest\W+(?:\w+\W+){{0,3}}?(?:{_PAIN}|tight\w*|pressure|heavy|crush\w*)",
        r"(?:pain|pressure|tightness|crushing|heaviness)[^.?!,;]{0,25}\bchest", r"faint(?:ed|ing)",
        r"(?:feel|felt|feeling|go|went|nearly|almost) faint", r"pass(?:ed|ing) out",
        r"black(?:ed|ing) out", r"collaps(?:ed|ing)", r"dizz\w*", r"light-? ?headed",
        r"palpitations?", r"heart (?:is |keeps )?(?:racing|pounding|skipp\w+|flutter\w*)",
    )),
    ("other_medical", False, (  # a recent operation: cleared first (months, not years ago)
        r"(?:surgery|operation|(?:tendon|ligament|joint|hip|knee|ankle|acl|meniscus|cartilage)"
        r" (?:repair|replacement))\b[^.?!]{0,30}?\b(?:\d+|an?|one|two|three"
        r"|four|five|six|a few|few|a couple of) (?:days?|weeks?|months?) ago",
        r"(?:had|have had|just had) (?:a |an |my )?(?:[\w-]+ ){0,2}(?:surgery|operation)"
        r"\b[^.?!]{0,30}?\b(?:last|this) (?:week|month)",
        r"(?:just|recently) had (?:a |an |my )?(?:[\w-]+ ){0,2}(?:surgery|operation)",
    )),
    ("diabetes_or_neuropathy", False, (
        r"(?:i'm|im|i am) (?:a )?(?:type (?:1|2|one|two) |pre-?)?diabetic",
        r"i(?:'ve| have)? (?:got |been diagnosed with )?(?:type (?:1|2|one|two) )?(?:diabetes"
        r"|diabetic|(?:peripheral )?neuropathy|poor circulation)",
        r"my (?:diabetes|neuropathy)", r"(?:diabetic|diabetes) here", r"as a diabetic",
        r"diabetic for",
        # the same said after some context: "I'm 61 and diabetic", "I'm 63 and have neuropathy"
        r"(?:i'm|im|i am) (?:[\w-]+ ){1,4}?and (?:a )?(?:type (?:1|2|one|two) |pre-?)?diabetic",
        r"(?:i'm|im|i am|i) (?:[\w-]+ ){1,4}?and (?:i )?(?:have|got|live with|suffer from)"
        r" (?:type (?:1|2|one|two) )?(?:diabetes|(?:peripheral )?neuropathy|poor circulation)",
    )),
    ("pop_or_tear", True, (
        r"(?:heard|felt|hear|feel) (?:a |an |some |something )?(?:\w+ ){0,2}?(?:pop|snap|crack"
        r"|rip|tear|crunch)\w*", r"(?:something|it|my \w+) (?:popped|snapped|tore|ripped"
        r"|went pop)", r"(?:a|loud) (?:pop|snap|crunch)",
        r"i (?:think i )?(?:tore|ruptured|snapped) (?:my|something)",
    )),
    ("suspected_fracture", True, (
        r"(?:i (?:think|reckon|suspect|guess|fear)|pretty sure|worried|afraid|might|could|may)"
        r"[^.?!]{0,40}\b(?:stress )?(?:fractur\w*|broken|broke|cracked)",
        r"i(?:'ve| have)? (?:got )?(?:a )?(?:stress )?fracture",
        rf"{_CANT} (?:put|bear|take) (?:any |much )?weight", rf"{_CANT} walk on",
        r"(?:one|a|single|specific|exact|tiny|small|little|certain) (?:\w+ )?(?:spot|point|place)"
        rf"\b[^.?!]{{0,60}}\b(?:{_PAIN}|painful)", r"pinpoint",
        rf"(?:{_PAIN}|painful)[^.?!]{{0,20}}\b(?:in|at|on) (?:one|a single|a specific|one exact)"
        r" (?:\w+ )?(?:spot|point|place)",
        rf"\bbones?\b[^.?!]{{0,40}}\b(?:{_PAIN}|painful)", rf"(?:{_PAIN}|painful)[^.?!]{{0,40}}"
        r"\bbones?\b", r"deform\w*|bent (?:the wrong way|out of shape)",
    )),
    ("numbness_or_tingling", False, (
        r"numb(?:ness|ed|ing|s)?", r"tingl\w*", r"pins (?:and|&|n) needles",  # not "numbers"
        r"lost (?:the )?feeling", r"lose feeling", rf"{_CANT} feel (?:my|the)",
    )),
    ("swelling_or_bruising", False, (
        r"swell?(?:ed|ing|s)?", r"swol+en", r"puff(?:y|ed up)", r"bruis\w*", r"ballooned",
    )),
    ("sharp_or_worsening_pain", False, (
        rf"(?:sharp|stabbing|shooting|searing|severe)\W+(?:\w+\W+)?(?:{_PAIN}|twinge)",
        r"limp\w*", r"hobbl\w*",
        rf"(?:run\w*|push\w*|train\w*|keep going|carr(?:y|ied) on)[^.?!]{{0,12}}\b(?:through|thru"
        rf"|on|despite)\b[^.?!]{{0,12}}\b{_PAIN}", rf"{_PAIN}[^.?!]{{0,60}}\b(?:worse|more and more"
        r"|more (?:every|each|after every|with every))", rf"{_PAIN}[^.?!]{{0,40}}\b(?:at night"
        r"|wakes? me|woke me|waking me|at rest)",
    )),
)
_PAIN_RX = re.compile(rf"(?<!\w){_PAIN}(?!\w)|painful")
_RULE_PATTERNS = tuple((c, s, re.compile(r"(?<!\w)(?:" + "|".join(a) + r")(?!\w)"))
                       for c, s, a in _RULES)
_EXCEPTIONS = {"pop_or_tear": _rx(r"\bblisters?\b")}  # "my blister popped" is not a tendon

_RULEBOOK = (r"(?:instructions?|rules?|guidelines?|prompts?|directives?|programming|constraints?"
             r"|restrictions?|guardrails?|polic(?:y|ies)|system message|filters?)")
INJECTION = re.compile(r"(?<!\w)(?:" + "|".join((
    rf"(?:ignore|disregard|forget|override|bypass|abandon|discard|set aside) (?:\w+ ){{0,4}}?"
    rf"{_RULEBOOK}", r"(?:ignore|disregard|forget) (?:everything|all|anything|what)\b[^.?!]{0,40}"
    r"\b(?:told|said|above|before|earlier|previously|instructed)", r"from now on,? you",
    rf"(?:stop|don't|do not|no longer) (?:follow|obey)\w* (?:\w+ ){{0,2}}?{_RULEBOOK}",
    r"your new (?:role|task|instructions|persona)", r"you(?: are|'re) no longer",
    r"(?:system|initial|hidden|original|developer|secret|internal) (?:prompt|message|instructions)",
    r"(?:api|secret|private|admin) ?(?:keys?|password|tokens?)", r"\.env|environment variables?",
    r"(?:rules|instructions) (?:were |have )?you (?:been )?(?:given|told)",
    r"(?:i'm|i am) (?:your|the) (?:\w+ )?(?:developer|creator|admin\w*|owner)",
    r"i authori[sz]e you", r"(?:print|show|reveal|repeat|display|output|leak|dump|list)\b"
    r"[^.?!]{0,30}\b(?:your (?:instructions|rules|prompt|settings|config\w*|source code)"
    r"|everything above|the (?:text|words) above|initiali[sz]ation)",
    r"you are (?:now )?(?:dan|an? (?:unrestricted|uncensored|unfiltered|jailbroken))",
    r"do anything now", r"(?:developer|god|debug|sudo|dan|unrestricted) mode", r"jailbr[eo]\w*",
    r"(?:pretend|act|imagine|roleplay|behave|answer|you are|you have)\b[^.?!]{0,40}\b(?:no"
    r"|without(?: any)?) (?:rules|restrictions|limits|filters|guidelines|guardrails)",
    r"(?:^|\n|[.?!]\s)\s*(?:system|assistant)\s*:", r"<\|?/?(?:system|im_start|im_end)\|?>",
    r"</?(?:question|instructions?|prompt|rules?|context|user|assistant)\s*>",
    r"the user is (?:an? |the )?(?:admin\w*|developer|root|superuser|owner)",
    r"(?:print|show|reveal|repeat|display|output|leak|dump|give me)\b[^.?!]{0,30}\b(?:database"
    r" (?:url|password)|data director\w*|connection string|credentials)",
    r"(?:pretend|imagine|assume|say) (?:that )?(?:your|the) (?:articles?|sources?|docs) say",
    r"(?:from|with|use|using|on) (?:your|ur) own (?:knowledge|training|opinion|brain|memory)",
    # an order to drop its sources, as a clause of its own ("forget the help articles and tell
    # me..."), not "I forget which article said..."
    r"(?:^|(?<=[.?!,;:] )|(?<=[.?!,;:])|" + "|".join(
        rf"(?<=\b{w} )" for w in ("just", "please", "now", "and", "so", "ok", "okay")
    ) + r")(?:ignore|disregard|forget|skip"
    r"|bypass|set aside) (?:the |your |all |those |these |ur )*(?:help )?(?:articles?|sources?"
    r"|knowledge base|documentation|docs)\b",
)) + r")(?!\w)")


def rule_match(question: str) -> tuple[str, bool] | None:
    """The (category, severe) of the first red-flag rule that counts, or None."""
    return _rule_evidence(normalise(question))[0]


def _rule_evidence(text: str) -> tuple[tuple[str, bool] | None, bool]:
    """(the first rule that counts, whether some rule matched but was set aside as negated,
    past/healed, prevention or a topic question): the second is a classifier feature."""
    set_aside = False
    for category, severe, pattern in _RULE_PATTERNS:
        for match in pattern.finditer(text):
            sentence = _sentence_at(text, match.start())
            exception = _EXCEPTIONS.get(category)
            if (_topic_sentence(text, match.start()) or _negated(text, match.start())
                    or _someone_else(sentence)
                    or _PAST.search(sentence) or _PREVENTION.search(sentence)
                    or (exception is not None and exception.search(sentence))):
                set_aside = True
                continue
            return (category, severe), set_aside
    return None, set_aside


def _negated(text: str, start: int) -> bool:
    """True when a negation is among the four words before ``start`` in the same clause."""
    clause = _CLAUSE_BREAK.split(text[max(0, start - 80) : start])[-1]
    return bool(_NEGATION.search(" ".join(clause.split()[-4:])))


def _someone_else(sentence: str) -> bool:
    """The sentence is about someone else and never about the asker: it names
    another person ("my running buddy", "her calf") and has no "I", "me" or "my" of the
    asker's own. "My wife heard my achilles pop", "she says my ankle is swollen" and "the doctor
    said she thinks it might be a stress fracture" stay the runner's: whoever noticed or named
    it, only a sentence that says whose it is, and that it is not the asker's, is set aside."""
    if not (_THEIR_PERSON.search(sentence) or _THEIR_BODY.search(sentence)):
        return False
    return not _SELF.search(_THEIR_PERSON.sub(" ", sentence))


def _sentence_at(text: str, index: int) -> str:
    for m in _SENTENCE.finditer(text):
        if m.start() <= index < m.end():
            return m.group()
    return text
