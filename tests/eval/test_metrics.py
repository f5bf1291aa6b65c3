"""The metrics on small hand-made inputs whose right answers are worked out by hand."""

from __future__ import annotations

import math

import pytest

from assistant.answering import snippet, with_marker
from assistant.types import Citation, Passage
from eval.aggregates import CalibrationError, Latency, OutcomeAccuracy, bootstrap_ci
from eval.metrics import (
    NDCG,
    AnsweredWithFacts,
    CitationPrecision,
    FactRecall,
    FalseReferral,
    FirstSentence,
    HandoffOffered,
    HitAtK,
    IntentMatch,
    Invariance,
    NoAnswerPrecision,
    NoAnswerRecall,
    OutcomeMatch,
    ReciprocalRank,
    Support,
    article_ranking,
    first_sentence,
)


def passage(article: str, section: str, text: str) -> Passage:
    return Passage(chunk_id=f"{article}#{section}", article_id=article, title=article,
                   section=section, url="https://example.com", text=text, score=0.8)  # fmt: skip


def citation(n: int, p: Passage) -> Citation:
    return Citation(n=n, article_id=p.article_id, title=p.title, url=p.url, section=p.section,
                    snippet=snippet(p.text), score=p.score)  # fmt: skip


def test_article_ranking_removes_duplicates_keeping_the_first_rank() -> None:
    assert article_ranking(["a", "b", "a", "c", "b"]) == ["a", "b", "c"]


@pytest.mark.parametrize(("k", "expected"), [(1, 0.0), (2, 0.0), (3, 1.0), (5, 1.0)])
def test_hit_at_k_counts_a_gold_article_within_the_first_k(k: int, expected: float) -> None:
    assert HitAtK(k).score(["x", "y", "gold", "z"], {"gold"}).value == expected


def test_hit_at_k_does_not_apply_without_gold_articles() -> None:
    assert HitAtK(3).score(["x"], set()).value is None


def test_a_miss_says_why() -> None:
    miss = HitAtK(3).score(["x", "y", "z", "gold"], {"gold"})
    assert miss.detail == "no gold article in the top 3"


def test_reciprocal_rank_uses_the_first_gold_article_within_k() -> None:
    rr = ReciprocalRank(10)
    assert rr.score(["x", "gold", "other-gold"], {"gold", "other-gold"}).value == 0.5
    assert rr.score([*"abcdefghij", "gold"], {"gold"}).value == 0.0  # rank 11 is beyond @10
    assert rr.name == "mrr@10"


def test_ndcg_is_one_for_an_ideal_ranking_and_discounts_lower_ranks() -> None:
    ndcg = NDCG(10)
    assert ndcg.score(["g1", "g2", "x"], {"g1", "g2"}).value == pytest.approx(1.0)
    assert ndcg.score(["x", "g1"], {"g1"}).value == pytest.approx(1 / math.log2(3))
    # one of two gold articles found at rank 1: DCG 1, ideal DCG 1 + 1/log2(3)
    assert ndcg.score(["g1", "x"], {"g1", "g2"}).value == pytest.approx(1 / (1 + 1 / math.log2(3)))
    assert ndcg.score(["x", "y"], {"g1"}).value == 0.0


def test_fact_recall_ignores_citation_markers_and_names_what_is_missing() -> None:
    answer = "Do 2 to 3 sets [1] of 15. Rest a minute [2]."
    score = FactRecall().score(answer, [r"3 sets of 15", r"rest (a|one) minute", r"soleus"])
    assert score.value == pytest.approx(2 / 3)
    assert score.detail == "missing /soleus/"
    assert FactRecall().score("THREE sets", ["three sets"]).value == 1.0  # case-insensitive
    assert FactRecall().score("anything", []).value is None


def test_citation_precision_counts_distinct_cited_articles() -> None:
    gold = passage("calf-raises", "s", "text")
    other = passage("box-jumps", "s", "text")
    cites = [citation(1, gold), citation(2, gold), citation(3, other)]
    score = CitationPrecision().score(cites, {"calf-raises"})
    assert score.value == 0.5
    assert "box-jumps" in score.detail
    assert CitationPrecision().score([], {"calf-raises"}).value is None


def test_outcome_match() -> None:
    assert OutcomeMatch().score("answered", "answered").value == 1.0
    wrong = OutcomeMatch().score("refer_to_professional", "answered")
    assert wrong.value == 0.0 and wrong.detail == "expected refer_to_professional, got answered"


# ----- support ------------------------------------------------------------------------------------
STEPS = "## How\n\n1. Stand tall with your feet **hip-width** apart.\n2. Rise slowly.\n"
ADVICE = "Calf raises build the calf. Rest one minute between sets."


def test_copied_sentences_and_list_items_are_supported_verbatim() -> None:
    steps, advice = passage("calf-raises", "How", STEPS), passage("calf-raises", "Why", ADVICE)
    answer = (
        "1. " + with_marker("Stand tall with your feet hip-width apart.", 1) + "\n"
        "2. " + with_marker("Rise slowly.", 1) + "\n\n"
        + with_marker("Rest one minute between sets.", 2)
    )
    result = Support().score(answer, [citation(1, steps), citation(2, advice)], [steps, advice])
    assert result.value == 1.0
    assert [c.how for c in result.checks] == ["verbatim"] * 3


def test_a_sentence_its_cited_passage_does_not_back_is_unsupported() -> None:
    advice = passage("calf-raises", "Why", ADVICE)
    answer = "Calf raises build the calf [1]. Ice baths cure every injury overnight [1]."
    result = Support().score(answer, [citation(1, advice)], [advice])
    assert result.value == 0.5
    assert "Ice baths" in result.detail


def test_a_paraphrase_with_enough_shared_content_words_is_supported_by_overlap() -> None:
    advice = passage("calf-raises", "Why", ADVICE)
    answer = "Rest between sets for one minute [1]."
    result = Support().score(answer, [citation(1, advice)], [advice])
    assert result.checks[0].how == "overlap" and result.value == 1.0


def test_markers_without_citation_or_retrieved_passage_fail() -> None:
    advice = passage("calf-raises", "Why", ADVICE)
    missing = Support().score("Rest one minute between sets [2].", [citation(1, advice)], [advice])
    assert missing.value == 0.0 and "no citation" in missing.detail
    unretrieved = Support().score("Rest one minute between sets [1].", [citation(1, advice)], [])
    assert unretrieved.value == 0.0 and "not retrieved" in unretrieved.detail


def test_sentences_without_markers_are_not_checked() -> None:
    assert Support().score("Please see a physiotherapist.", [], []).value is None


# ----- aggregates ------------------------------------------------------------------------------
def test_outcome_accuracy_has_per_kind_accuracy_and_the_full_confusion_matrix() -> None:
    pairs = [
        ("answered", "answered"), ("answered", "no_answer"),
        ("no_answer", "no_answer"),
        ("refer_to_professional", "refer_to_professional"), ("refer_to_professional", "answered"),
        ("answered", None),
    ]  # fmt: skip
    report = OutcomeAccuracy().score(pairs)
    assert report.accuracy == {"answered": 1 / 3, "no_answer": 1.0, "refer_to_professional": 0.5}
    assert report.confusion["answered"] == {
        "answered": 1, "no_answer": 1, "refer_to_professional": 0, "error": 1
    }  # fmt: skip
    assert report.confusion["refer_to_professional"]["answered"] == 1
    assert report.red_flag_recall == 0.5 and report.red_flag_precision == 1.0
    assert report.overall == pytest.approx(3 / 6)


def test_latency_percentiles_per_stage_skip_stages_a_case_never_reached() -> None:
    timings = [{"embed": float(v), "total": float(v) * 2} for v in range(1, 101)]
    timings.append({"total": 1.0})  # stopped early: no embed stage
    result = Latency().score(timings)
    assert result["embed"].n == 100
    assert result["embed"].p50 == pytest.approx(50.5)
    assert result["embed"].p95 == pytest.approx(95.05)
    assert result["total"].n == 101
    assert "answer" not in result


def test_bootstrap_interval_is_seeded_and_brackets_the_mean() -> None:
    values = [1.0] * 30 + [0.0] * 10
    first = bootstrap_ci(values, resamples=1000, seed=7)
    assert first == bootstrap_ci(values, resamples=1000, seed=7)
    assert first is not None and first[0] < 0.75 < first[1]
    assert first[1] - first[0] < 0.4
    assert bootstrap_ci([1.0, 1.0, 1.0]) == (1.0, 1.0)
    assert bootstrap_ci([]) is None


# ----- answer-level rates ---------------------------------------------------------------------
def test_answered_with_facts_needs_the_outcome_and_every_fact() -> None:
    metric = AnsweredWithFacts()
    assert metric.score("answered", "answered", "Do 3 sets [1].", ["3 sets"]).value == 1.0
    missing = metric.score("answered", "answered", "Do some [1].", ["3 sets", "some"])
    assert missing.value == 0.0 and missing.detail == "missing /3 sets/"
    refused = metric.score("answered", "no_answer", "Do 3 sets.", ["3 sets"])
    assert refused.value == 0.0 and "not answered" in refused.detail
    assert metric.score("no_answer", "no_answer", "", []).value is None


@pytest.mark.parametrize(
    ("answer", "lead"),
    [
        ("Close your eyes [1]. Then stand on a cushion [2].", "Close your eyes."),
        ("Three sets a day!\nMore below.", "Three sets a day!"),
        ("\n1. Stand tall [1].\n2. Rise slowly [1].", "Stand tall."),
        ("- Keep it easy for 2.5 km [1]. Then build up.", "Keep it easy for 2.5 km."),
        ("Barefoot Co. takes returns [1]. Unworn only.", "Barefoot Co. takes returns."),
        ("", ""),
    ],
)
def test_first_sentence_is_cut_at_the_first_sentence_end_or_line(answer: str, lead: str) -> None:
    assert first_sentence(answer) == lead


def test_first_sentence_rate_needs_every_pattern_in_the_lead() -> None:
    metric = FirstSentence()
    answer = "Yes, mild soreness is normal [1]. See a physio if it gets sharp [2]."
    assert metric.score(answer, ["normal", "mild"]).value == 1.0
    buried = metric.score(answer, ["physio"])
    assert buried.value == 0.0 and "misses /physio/" in buried.detail
    assert metric.score(answer, []).value is None


def test_no_answer_precision_and_recall_apply_to_different_cases() -> None:
    precision, recall = NoAnswerPrecision(), NoAnswerRecall()
    assert precision.score("answered", "no_answer").value == 0.0  # refused an answerable case
    assert precision.score("no_answer", "no_answer").value == 1.0
    assert precision.score("no_answer", "answered").value is None  # did not refuse
    assert recall.score("no_answer", "answered").value == 0.0
    assert recall.score("answered", "no_answer").value is None


def test_false_referrals_count_non_red_flag_cases_sent_to_a_professional() -> None:
    metric = FalseReferral()
    assert metric.score("answered", "refer_to_professional").value == 1.0
    assert metric.score("no_answer", "no_answer").value == 0.0
    assert metric.score("refer_to_professional", "answered").value is None


def test_handoff_and_intent() -> None:
    assert HandoffOffered().score(True, False).value == 0.0
    assert HandoffOffered().score(None, False).value is None
    intent = IntentMatch()
    assert intent.score("thanks", "thanks", "no_answer", False).value == 1.0
    assert intent.score("thanks", "greeting", "no_answer", False).value == 0.0
    # no intent reported: the outcome must be no_answer, and "human" must offer a person
    assert intent.score("human", None, "no_answer", True).value == 1.0
    assert intent.score("human", None, "no_answer", False).value == 0.0
    assert intent.score("greeting", None, "answered", False).value == 0.0
    assert intent.score(None, None, "answered", False).value is None


def test_invariance_keeps_the_outcome_and_a_gold_article_in_the_first_three_citations() -> None:
    gold, other = passage("calf-raises", "s", "t"), passage("box-jumps", "s", "t")
    cites = [citation(1, other), citation(2, other), citation(3, gold)]
    assert Invariance().score("answered", "answered", cites, {"calf-raises"}).value == 1.0
    late = [citation(n, p) for n, p in enumerate([other, passage("a", "s", "t"),
                                                  passage("b", "s", "t"), gold], start=1)]
    assert Invariance().score("answered", "answered", late, {"calf-raises"}).value == 0.0
    changed = Invariance().score("answered", "no_answer", [], {"calf-raises"})
    assert changed.value == 0.0 and "outcome no_answer" in changed.detail


def test_calibration_error_and_reliability_bins_worked_by_hand() -> None:
    # bin 0.9-1.0: confidences 0.9 and 0.95, one right -> gap |0.925 - 0.5| = 0.425, weight 2/4
    # bin 0.1-0.2: confidences 0.1 and 0.1, none right -> gap 0.1, weight 2/4
    report = CalibrationError(bins=10).score([0.9, 0.95, 0.1, 0.1], [True, False, False, False])
    assert report.ece == pytest.approx(0.5 * 0.425 + 0.5 * 0.1, abs=1e-4)
    assert [b.n for b in report.bins] == [0, 2, 0, 0, 0, 0, 0, 0, 0, 2]
    assert report.bins[9].accuracy == 0.5 and report.bins[9].confidence == pytest.approx(0.925)
    assert CalibrationError().score([1.0], [True]).bins[9].n == 1  # 1.0 is in the last bin
    assert CalibrationError().score([], []).ece is None
