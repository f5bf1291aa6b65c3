"""Safety gate run before answering: medical red flags and rule-override attempts.

Decisions (``SafetyDecision.kind``):

* ``red_flag`` -> outcome ``refer_to_professional``: the runner describes their *own, current*
  symptom, directly or indirectly. ``category`` is one of :data:`Category` (it appears in the
  handoff reason ``medical_red_flag:<category>``).
* ``injection`` -> outcome ``no_answer``: an attempt to override the rules, adopt a persona or
  reveal the prompt or keys. Nothing of the attempt is ever echoed.
* ``ok``: go on. Whether the knowledge base answers (billing, app or running questions alike) is
  decided later by retrieval, never here.

Red flags are found in two parts whose union decides:

1. A few high-precision rules for what must never be missed (chest pain, fainting, a pop, numb,
   swollen, "I think I have a stress fracture", a diabetic foot, bone tender in one spot...;
   :mod:`assistant.red_flag_cues`).
   A match does not count when it is negated in its clause ("no swelling"), when its sentence is
   framed as past or healed ("had a fracture years ago, fully healed") or as prevention ("how do
   I avoid numb toes?"), or when the message is a general topic question with no "I"/"my".
2. A logistic-regression classifier over the message's MiniLM embedding plus a few generic
   lexical features (:data:`assistant.red_flag_cues.LEXICAL_FEATURES`), trained and calibrated by
   ``python -m eval.train_safety`` on labelled messages. Its weights, threshold and figures are
   data (``assistant/models/red_flags.json``), loaded on the first check; at run time it is a
   dot product. Nothing here names a knowledge base's topics.
   The classifier judges the message without its side notes about the asker (:func:`judged_text`:
   "I'm 47 and have been running for three years." names no symptom): such a note neither refers
   a plain question nor dilutes a symptom told beside it. A note with a medical word in it stays.
   The rules always read the whole message.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.focus import is_note, split_sentences
from assistant.red_flag_cues import (
    INJECTION,
    LEXICAL_FEATURES,
    MEDICAL_NOTE,
    features,
    normalise,
    rule_match,
)

Category = Literal[
    "sharp_or_worsening_pain", "swelling_or_bruising", "numbness_or_tingling", "pop_or_tear",
    "suspected_fracture", "diabetes_or_neuropathy", "other_medical",
]
CATEGORIES: tuple[str, ...] = (
    "sharp_or_worsening_pain", "swelling_or_bruising", "numbness_or_tingling", "pop_or_tear",
    "suspected_fracture", "diabetes_or_neuropathy", "other_medical",
)
Kind = Literal["ok", "red_flag", "injection"]
MODEL_PATH = Path(__file__).resolve().parent / "models" / "red_flags.json"


# --- the trained part --------------------------------------------------------------------------
@dataclass(frozen=True)
class RedFlagModel:
    """Weights of ``red_flags.json``: binary logistic regression + Platt calibration, and a
    multinomial category model; both on :func:`features` (the scaler is folded in)."""

    weights: np.ndarray  # (d,)
    bias: float
    platt: tuple[float, float]  # p = sigmoid(a * logit + b)
    threshold: float
    category_weights: np.ndarray  # (len(categories), d)
    category_bias: np.ndarray
    categories: tuple[str, ...]
    dimensions: int  # embedding size

    @classmethod
    def load(cls, path: Path) -> RedFlagModel:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if tuple(data["features"]["lexical"]) != LEXICAL_FEATURES:
            raise ValueError(f"{path} was trained on other features; run python -m "
                             "eval.train_safety")
        binary, category = data["binary"], data["category"]
        return cls(np.asarray(binary["weights"]), float(binary["bias"]),
                   (float(binary["platt"][0]), float(binary["platt"][1])),
                   float(data["threshold"]), np.asarray(category["weights"]),
                   np.asarray(category["bias"]), tuple(category["classes"]),
                   int(data["features"]["embedding_dimensions"]))

    def probability(self, x: np.ndarray) -> float:
        a, b = self.platt
        return float(1.0 / (1.0 + np.exp(-(a * (x @ self.weights + self.bias) + b))))

    def category(self, x: np.ndarray) -> str:
        return self.categories[int(np.argmax(self.category_weights @ x + self.category_bias))]


@dataclass(frozen=True)
class SafetyDecision:
    """What the gate decided; ``reason`` is for logs and evaluation and never quotes the user."""

    kind: Kind
    category: str | None
    reason: str
    score: float  # 0..1: 1.0 for a rule, else the calibrated red-flag probability
    severe: bool = False  # a rule for an urgent sign fired (chest pain, fainting, a pop...)

    @property
    def outcome(self) -> Literal["no_answer", "refer_to_professional"] | None:
        """The contract outcome this decision forces, or None when answering may proceed."""
        if self.kind == "ok":
            return None
        return "refer_to_professional" if self.kind == "red_flag" else "no_answer"


def judged_text(message: str) -> str:
    """The message as the classifier judges it: without its side notes about the asker
    (:func:`assistant.focus.is_note`) unless a note has a medical word (:data:`MEDICAL_NOTE`);
    the message itself when it has no such note, or nothing besides."""
    sentences = split_sentences(message)
    kept = [s for s in sentences if not is_note(s) or MEDICAL_NOTE.search(normalise(s))]
    return message if len(kept) in (0, len(sentences)) else " ".join(kept)


class SafetyGate:
    """Decide before answering whether a message is a medical red flag or an injection attempt.

    Example::

        gate = SafetyGate(make_embeddings(settings))     # the model file loads on first use
        decision = gate.check(question, query_vector)    # the retriever's query embedding
        if decision.kind == "red_flag":                  # outcome refer_to_professional
            text = gate.referral_text(decision)
        elif decision.kind == "injection":               # outcome no_answer; never echo it
            ...
    """

    def __init__(self, embeddings: Embeddings | None = None, model_path: Path = MODEL_PATH) -> None:
        self._embeddings = embeddings
        self._model_path = model_path
        self._model: RedFlagModel | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> RedFlagModel:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = RedFlagModel.load(self._model_path)
        return self._model

    def check(
        self,
        question: str,
        query_vector: Sequence[float] | None = None,
        embed: Callable[[str], Sequence[float]] | None = None,
    ) -> SafetyDecision:
        """Classify one message; pass ``query_vector`` when the caller already embedded it, and
        ``embed`` (a cached embedder) for a message the classifier judges without its notes."""
        if not question.strip():
            return SafetyDecision("ok", None, "empty question", 0.0)
        rule = rule_match(question)
        if rule is not None:
            return SafetyDecision("red_flag", rule[0], f"rule:{rule[0]}", 1.0, severe=rule[1])
        model = self.model
        judged = judged_text(question)
        if query_vector is None or judged != question:  # a given vector is the whole message's
            query_vector = (embed or self._embed)(judged)
        if len(query_vector) != model.dimensions:
            raise ValueError(f"query_vector must have {model.dimensions} dimensions")
        x = features(judged, query_vector)
        p = round(model.probability(x), 4)
        if p >= model.threshold:
            category = model.category(x)
            return SafetyDecision("red_flag", category, f"classifier:{category} p={p:.2f}", p)
        if INJECTION.search(normalise(question)):
            return SafetyDecision("injection", "rule_override", "rule:injection", 1.0)
        return SafetyDecision("ok", None, f"classifier p={p:.2f}", p)

    def _embed(self, text: str) -> list[float]:
        if self._embeddings is None:
            raise ValueError("check needs query_vector (or embed) when the gate has no embeddings")
        return self._embeddings.embed_query(text)

    def referral_text(self, decision: SafetyDecision) -> str:
        """The user-facing referral for a red-flag decision (never repeats the message)."""
        if decision.kind != "red_flag":
            raise ValueError(f"referral_text needs a red_flag decision, got {decision.kind!r}")
        if decision.category == "other_medical" and decision.severe:
            return f"{_EMERGENCY} {_DISCLAIMER}"
        return f"{_REFERRALS.get(decision.category or '', _REFERRALS[''])} {_DISCLAIMER}"


_DISCLAIMER = "This is general information, not medical advice."
_SEE = "see a physiotherapist, podiatrist or doctor"
_URGENT = ("Go to urgent care if the pain is severe, the foot or leg looks deformed, or you "
           "cannot bear weight.")
_EMERGENCY = ("Please stop exercising now and get medical help: chest pain, fainting or severe "
              "dizziness during exercise need urgent care or an emergency department right away. "
              "Talk to a doctor before you run again.")
_REFERRALS: dict[str, str] = {
    "sharp_or_worsening_pain": "Please stop the running or exercise that brings this pain on, and "
    f"{_SEE} to find the cause before you continue; pain that grows or lingers is not something "
    f"to push through. {_URGENT}",
    "swelling_or_bruising": f"Please stop the activity that aggravates it and {_SEE} to have the "
    f"swelling or bruising checked. {_URGENT}",
    "numbness_or_tingling": "Please stop the activity or footwear that brings it on and "
    f"{_SEE}, since numbness or tingling can come from a nerve. Get seen promptly if it spreads, "
    "comes with weakness or does not settle.",
    "pop_or_tear": "A pop, a snap or sudden pain can mean a torn tendon, muscle or ligament: stop "
    f"running and jumping now and {_SEE} soon. {_URGENT}",
    "suspected_fracture": "Pain in one spot on a bone can mean a stress fracture: rest from "
    "running, jumping and other impact now, and do not tape it and carry on. Please "
    f"{_SEE} to have it examined, and imaged if needed, before you continue. {_URGENT}",
    "diabetes_or_neuropathy": "With diabetes, neuropathy or poor circulation, talk to your doctor "
    "or podiatrist before going barefoot, switching to minimalist shoes or starting foot "
    "exercises. Check your feet every day for cuts, blisters or redness, and have anything you "
    "find looked at.",
    "other_medical": "Please pause this training and check with your doctor or physiotherapist "
    "before you continue; after surgery, a recent fracture, during pregnancy or with an infection, "
    "get their clearance first. Seek urgent care if symptoms are severe or getting worse.",
    "": f"Please stop the activity that aggravates it and {_SEE}. {_URGENT}",
}
