"""The spelling corrector fixes key-word typos into the knowledge base's words, and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from wordfreq import top_n_list

from assistant.spelling import SpellCorrector, max_distance

ROOT = Path(__file__).resolve().parents[2]
ARTICLES = sorted((ROOT / "knowledge" / "articles").glob("*.md"))
DEV = ROOT / "eval" / "datasets" / "dev.jsonl"

#: A tiny invented help center of a running app's billing pages: nothing about feet.
BILLING = [
    "How do I cancel my subscription? Open Settings, tap Subscription and choose Cancel. "
    "Your subscription stays active until the end of the billing period.",
    "Where can I find my invoices? Every invoice is emailed to you and listed under Account. "
    "Download an invoice as a PDF from the Billing screen.",
    "Can I get a refund? Refunds are issued to the original payment method within 5 to 10 "
    "days. Contact support with your receipt and the email address of your account.",
    "How do I reset my password? Tap Forgot password on the sign-in screen.",
    "Which devices are supported? The app runs on phones and watches; pair a device in Settings.",
]


@pytest.fixture(scope="module")
def kb() -> SpellCorrector:
    return SpellCorrector.from_texts(p.read_text("utf-8") for p in ARTICLES)


@pytest.fixture(scope="module")
def billing() -> SpellCorrector:
    return SpellCorrector.from_texts(BILLING)


@pytest.mark.parametrize(
    ("typed", "fixed"),
    [
        ("calf rasies", "calf raises"),
        ("how do i do calf raisses properly", "how do i do calf raises properly"),
        ("quadrapod", "quadripod"),
        ("what are the 4 points of the quadripad?", "what are the 4 points of the quadripod?"),
        ("plyometircs", "plyometrics"),
        ("whats the point of plyometics for a runner", "whats the point of plyometrics for a runner"),  # noqa: E501
        ("best hip fexor streches for after runs?", "best hip flexor stretches for after runs?"),
        ("toe yogaa harder version pls", "toe yoga harder version pls"),
        ("tiptoe walsk how far each way", "tiptoe walks how far each way"),
        ("kicked in the achiles mid sprint", "kicked in the achilles mid sprint"),
        ("runing in minimalist shoes", "running in minimalist shoes"),
        ("foot excercises", "foot exercises"),
        ("ahmstring", "ahmstring"),  # not a knowledge-base word: nothing to correct into
    ],
)
def test_fixes_key_word_typos_from_the_articles(kb: SpellCorrector, typed: str, fixed: str) -> None:
    assert kb.correct(typed).text == fixed


def test_hamstring_typo_when_the_knowledge_base_has_it() -> None:
    corrector = SpellCorrector.from_texts(["Stretch the hamstring gently after the run."])
    result = corrector.correct("tight hamstirng after my run")
    assert result.text == "tight hamstring after my run"
    assert result.changes == [("hamstirng", "hamstring")]


@pytest.mark.parametrize(
    ("typed", "fixed"),
    [
        ("how do i cancel my subscribtion", "how do i cancel my subscription"),
        ("where are my invocies?", "where are my invoices?"),
        ("Can I get a refnud", "Can I get a refund"),
        ("which devcies are supported", "which devices are supported"),
        ("i forgot my pasword", "i forgot my password"),
    ],
)
def test_fixes_typos_on_an_unrelated_help_center(
    billing: SpellCorrector, typed: str, fixed: str
) -> None:
    assert billing.correct(typed).text == fixed


def test_billing_words_are_unknown_to_the_running_articles(kb: SpellCorrector) -> None:
    # The running articles never say "subscription": nothing to correct into, so no change.
    assert kb.correct("subscribtion").changes == []


@pytest.mark.parametrize(
    "word",
    [
        "protein", "marathon", "stitch", "taper", "electrolytes", "garmin", "strava", "zwift",
        "asics", "hoka", "parkrun", "gels", "splints", "stretchy", "sagely", "heeds", "tesla",
        "banana", "manchester", "boston", "poem", "password", "refund", "cadence", "vivos",
    ],
)  # fmt: skip
def test_real_words_and_brands_are_never_corrected(kb: SpellCorrector, word: str) -> None:
    assert kb.correct(f"what about {word} for runners").changes == []
    assert kb.suggest(word) is None


def test_common_english_is_never_corrected(kb: SpellCorrector, billing: SpellCorrector) -> None:
    words = [w for w in top_n_list("en", 5000) if w.isalpha() and w.isascii()]
    changed = {w: kb.suggest(w) for w in words if kb.suggest(w)}
    changed |= {w: billing.suggest(w) for w in words if billing.suggest(w)}
    assert changed == {}


@pytest.mark.parametrize(
    "message",
    [
        "3x15 calf raises", "30k a week", "10km in week5", "see help.example.com/calf-raisse",
        "mail me at rasies@example.com", "DOMS after box jumps", "GPS watch", "im ok pls",
        "my iPhone app", "#plyometircs", "@quadrapod", "cuéntame un chiste",
    ],
)  # fmt: skip
def test_numbers_urls_acronyms_short_and_foreign_words_are_untouched(
    kb: SpellCorrector, message: str
) -> None:
    assert kb.correct(message).text == message


def test_keeps_case_punctuation_and_spacing(kb: SpellCorrector) -> None:
    message = "Hey!!  Plyometircs,   or calf RASIES?? (quadrapod...)\nthanks"
    result = kb.correct(message)
    assert result.text == "Hey!!  Plyometrics,   or calf RAISES?? (quadripod...)\nthanks"
    assert result.changes == [
        ("Plyometircs", "Plyometrics"), ("RASIES", "raises".upper()), ("quadrapod", "quadripod"),
    ]  # fmt: skip


def test_plurals_stay_plural_and_singular_only_knowledge_base_gets_the_plural() -> None:
    corrector = SpellCorrector.from_texts(["Every invoice is emailed. Download the invoice."])
    assert corrector.correct("invoces").text == "invoices"
    assert corrector.correct("invocie").text == "invoice"
    assert corrector.known("invoices")
    assert corrector.known("invoice's")


def test_ties_go_to_the_more_frequent_knowledge_base_word() -> None:
    device_heavy = SpellCorrector.from_texts(["device " * 5 + "devise"])
    devise_heavy = SpellCorrector.from_texts(["device " + "devise " * 5])
    assert device_heavy.correct("devixe").text == "device"
    assert devise_heavy.correct("devixe").text == "devise"


def test_known_words_plural_possessive_and_compounds(kb: SpellCorrector) -> None:
    assert kb.known("calf") and kb.known("Raises") and kb.known("quadripod's")
    assert kb.known("hops")
    assert not kb.known("rasies") and not kb.known("marathon")
    for word in ("plyo", "warmup", "cooldown"):  # clipped form, compounds: not typos
        assert kb.correct(word).changes == []


def test_edit_distance_grows_with_length() -> None:
    assert [max_distance("x" * n) for n in (2, 3, 4, 6, 7, 12)] == [0, 0, 1, 1, 2, 2]
    corrector = SpellCorrector.from_texts(["plyometrics calf"])
    assert corrector.correct("plyomteircs").text == "plyometrics"  # two edits, long word
    assert corrector.correct("cakf").text == "calf"  # one edit, short word
    assert corrector.correct("cxkf").text == "cxkf"  # two edits on a short word: no


def test_empty_and_correct_questions_are_unchanged(kb: SpellCorrector) -> None:
    assert kb.correct("").text == ""
    question = "How many calf raises should I do?"
    result = kb.correct(question)
    assert result.text == question and not result.changed


def test_every_change_on_the_dev_questions_is_a_real_typo_fix(kb: SpellCorrector) -> None:
    """The full list of changes on the first 189 cases of eval/datasets/dev.jsonl (the set that
    existed when this list was checked by hand): each one is a typo fix."""
    changes = {}
    for line in DEV.read_text("utf-8").splitlines():
        case = json.loads(line)
        if int(case["id"][1:]) > 189:
            continue
        result = kb.correct(case["question"])
        if result.changes:
            changes[case["id"]] = result.changes
    assert changes == {
        "q010": [("raisses", "raises")],
        "q044": [("plyometics", "plyometrics")],
        "q051": [("quadripad", "quadripod")],
        "q068": [("walsk", "walks")],
        "q106": [("fexor", "flexor"), ("streches", "stretches")],
        "q107": [("yogaa", "yoga")],
        "q170": [("achiles", "achilles")],
    }
