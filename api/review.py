"""The agent console's review: thumbs-down and unanswered questions, grouped into content gaps,
with a 30-day trend, exported as CSV or as article briefs for the content team.

Synchronous (embedding and search): call it from a worker thread. Example::

    report = build_review(storage, assistant)
    csv_text = review_csv(report)
    markdown = article_briefs(report)
"""

from __future__ import annotations

import csv
import io

from api.agent_schemas import NearestArticle, ReviewGroup, ReviewItem, ReviewReport
from api.articles import safe_url
from api.gaps import group_gaps
from api.storage import Storage
from assistant.core import Assistant

TREND_DAYS = 30
MAX_ITEMS = 200
#: Groups shown and exported; each costs one search for its nearest article.
MAX_GROUPS = 50
#: A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def build_review(storage: Storage, assistant: Assistant, limit: int = 2000) -> ReviewReport:
    questions = storage.gap_questions(limit)
    items = [
        ReviewItem(
            answer_id=q.answer_id,
            question=q.question,
            answer=q.answer,
            no_answer=q.no_answer,
            thumbs_down=q.thumbs_down,
            created_at=q.created_at,
        )  # fmt: skip
        for q in questions[:MAX_ITEMS]
    ]
    groups = []
    for group in group_gaps(questions, assistant.embeddings)[:MAX_GROUPS]:
        groups.append(
            ReviewGroup(
                representative=group.representative,
                count=group.count,
                no_answer=group.no_answer,
                thumbs_down=group.thumbs_down,
                examples=group.examples,
                last_seen=group.last_seen,
                trend=group.trend(TREND_DAYS),
                nearest_article=_nearest(assistant, group.representative),
            )
        )
    return ReviewReport(questions=len(questions), days=TREND_DAYS, items=items, groups=groups)


def _nearest(assistant: Assistant, question: str) -> NearestArticle | None:
    passages = assistant.search(question, 1, None)
    if not passages:
        return None
    p = passages[0]
    return NearestArticle(
        article_id=p.article_id, title=p.title, url=safe_url(p.url), section=p.section,
        score=round(p.score, 3),
    )  # fmt: skip


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def review_csv(report: ReviewReport) -> str:
    """One row per content gap: its questions, counts, trend total and nearest article."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([
        "gap", "count", "no_answer", "thumbs_down", f"last_{report.days}_days", "last_seen",
        "example_questions", "nearest_article", "nearest_article_url",
    ])  # fmt: skip
    for g in report.groups:
        near = g.nearest_article
        writer.writerow([_cell(v) for v in (
            g.representative, g.count, g.no_answer, g.thumbs_down, sum(g.trend),
            g.last_seen.isoformat() if g.last_seen else "", " | ".join(g.examples),
            near.article_id if near else "", near.url if near else "",
        )])  # fmt: skip
    return out.getvalue()


def questions_csv(report: ReviewReport) -> str:
    """One row per reviewed question, with the answer that was given."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["asked_at", "question", "answer_given", "no_answer", "thumbs_down", "id"])
    for i in report.items:
        writer.writerow([_cell(v) for v in (
            i.created_at.isoformat(), i.question, i.answer, i.no_answer, i.thumbs_down, i.answer_id,
        )])  # fmt: skip
    return out.getvalue()


def article_briefs(report: ReviewReport) -> str:
    """Markdown briefs, one per gap: the question cluster, examples, the nearest article."""
    lines = [
        "# Article briefs from the agent console",
        "",
        f"{len(report.groups)} content gaps from {report.questions} questions that got no answer "
        "or a thumbs down.",
    ]
    for n, g in enumerate(report.groups, start=1):
        near = g.nearest_article
        lines += [
            "",
            f"## {n}. {g.representative}",
            "",
            f"- Asked {g.count} times ({g.no_answer} without an answer, {g.thumbs_down} rated "
            f"unhelpful); {sum(g.trend)} in the last {report.days} days.",
            "- Example questions:",
            *[f"  - {example}" for example in g.examples],
        ]
        if near is None:
            lines.append("- Nearest existing article: none; write a new one.")
        else:
            where = f'{near.title} ({near.article_id}), section "{near.section}"'
            lines.append(
                f"- Nearest existing article: {where}, similarity {near.score:.2f}: "
                f"extend it, or write a new article if it covers another need. {near.url}"
            )
    return "\n".join(lines) + "\n"
