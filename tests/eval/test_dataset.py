"""Integrity checks for the evaluation dataset eval/datasets/dev.jsonl.

The checks read the real dataset and the real knowledge bases of eval/kbs.py (a case's ``kb``:
``runners`` is knowledge/articles/*.md), so a case that points at a missing article, a fact its
knowledge base does not contain, a question copied from an article, or a split chosen by hand
fails here before it can distort an evaluation run. The schema is documented in
eval/datasets/README.md.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

from eval.dataset import load_dataset, split_for
from eval.kbs import KBS

ROOT = Path(__file__).resolve().parents[2]
DATASET = ROOT / "eval" / "datasets" / "dev.jsonl"
ARTICLES_DIR = ROOT / "knowledge" / "articles"
INTENTS = ("greeting", "thanks", "goodbye", "human", "language")

KINDS = ("answerable", "no_answer", "refer_to_professional")
MIN_PER_KIND = {"answerable": 75, "no_answer": 28, "refer_to_professional": 22}
MIN_MULTI_TURN = 16
MIN_INJECTION = 8
MIN_CRITICAL_INJECTION = 3
MIN_BENIGN_LOOKALIKE = 6
MIN_CRITICAL_ANSWERABLE = 8
MAX_HISTORY_TURNS = 20  # the answer contract accepts at most 20 history turns
MAX_QUESTION_CHARS = 2000  # the answer contract rejects longer questions
SHARED_RUN = 8  # a question may not share this many consecutive words with an article

REQUIRED_KEYS = {"id", "kind", "split", "question", "gold_articles", "required_facts", "tags",
                 "critical"}  # fmt: skip
OPTIONAL_KEYS = {"history", "gold_sections", "kb", "first_sentence_facts", "expect_handoff",
                 "intent"}  # fmt: skip
ID_RE = re.compile(r"^q\d{3,}$")
TAG_RE = re.compile(r"^[a-z][a-z0-9_]*(:[a-z][a-z0-9_]*)?$")
TOKEN_RE = re.compile(r"[a-z0-9']+")
LINK_RE = re.compile(r"\[([^\]]*)\]\([^)]*\)")

Case = dict[str, Any]


# ----------------------------------------------------------------------------- loading


@cache
def raw_lines() -> tuple[str, ...]:
    return tuple(DATASET.read_text(encoding="utf-8").split("\n"))


@cache
def cases() -> tuple[Case, ...]:
    return tuple(json.loads(line) for line in raw_lines() if line.strip())


def kb_of(case: Case) -> str:
    return str(case.get("kb", "runners"))


@cache
def articles(kb: str = "runners") -> dict[str, dict[str, Any]]:
    """Article id -> {"title", "summary", "body", "text", "headings"} of one knowledge base."""
    out: dict[str, dict[str, Any]] = {}
    for folder in KBS[kb].present():
        out.update(_read_articles(folder))
    return out


@cache
def own_articles(kb: str) -> frozenset[str]:
    """The ids of the articles in the KB's first folder (its own, not ones it indexes with)."""
    folders = KBS[kb].present()
    return frozenset(_read_articles(folders[0])) if folders else frozenset()


@cache
def _read_articles(folder: Path) -> dict[str, dict[str, Any]]:
    """Every article of a folder as the product's loaders read it (Markdown and .txt pages)."""
    from knowledge.loaders import load_paths

    out: dict[str, dict[str, Any]] = {}
    for doc in load_paths(folder).documents:
        art_id = str(doc.metadata["article_id"])
        body = doc.page_content
        plain = LINK_RE.sub(r"\1", body).replace("**", "").replace("`", "")
        title = str(doc.metadata.get("title", ""))
        summary = str(doc.metadata.get("summary", ""))
        out[art_id] = {
            "title": title,
            "summary": summary,
            "text": " ".join(f"{title}\n{plain}".split()),
            "headings": [m.strip() for m in re.findall(r"^##\s+(.+)$", body, re.MULTILINE)],
            "for_overlap": f"{title}\n{summary}\n{plain}",
        }
    return out


def tokens(text: str) -> list[str]:
    return TOKEN_RE.findall(text.lower().replace("\u2019", "'"))


def runs(words: list[str], n: int = SHARED_RUN) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


@cache
def article_runs(kb: str = "runners") -> dict[tuple[str, ...], str]:
    """Every run of SHARED_RUN consecutive words in any article of a KB -> the article id."""
    index: dict[tuple[str, ...], str] = {}
    for art_id, art in articles(kb).items():
        for run in runs(tokens(art["for_overlap"])):
            index.setdefault(run, art_id)
    return index


def by_kind(kind: str) -> list[Case]:
    return [c for c in cases() if c["kind"] == kind]


def report(problems: list[str]) -> str:
    return f"{len(problems)} problem(s):\n" + "\n".join(problems)


# ----------------------------------------------------------------------------- structure


def test_dataset_and_articles_exist() -> None:
    assert DATASET.is_file(), f"missing {DATASET}"
    assert len(articles()) >= 1, f"no articles found in {ARTICLES_DIR}"


def test_every_line_is_a_json_object() -> None:
    problems = []
    lines = list(raw_lines())
    if lines and lines[-1] == "":
        lines.pop()  # the file ends with a newline
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            problems.append(f"line {n}: blank line")
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {n}: invalid JSON ({exc})")
            continue
        if not isinstance(obj, dict):
            problems.append(f"line {n}: not a JSON object")
    assert not problems, report(problems)


def test_ids_are_unique_and_well_formed() -> None:
    ids = [c.get("id") for c in cases()]
    bad = [i for i in ids if not isinstance(i, str) or not ID_RE.match(i)]
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    assert not bad, f"ids must look like q001: {bad}"
    assert not dupes, f"duplicate ids: {dupes}"


def test_fields_and_types() -> None:
    problems = []
    for c in cases():
        cid = c.get("id", "?")
        keys = set(c)
        if missing := REQUIRED_KEYS - keys:
            problems.append(f"{cid}: missing fields {sorted(missing)}")
        if unknown := keys - REQUIRED_KEYS - OPTIONAL_KEYS:
            problems.append(f"{cid}: unknown fields {sorted(unknown)}")
        if c.get("kind") not in KINDS:
            problems.append(f"{cid}: kind {c.get('kind')!r} not in {KINDS}")
        q = c.get("question")
        if not isinstance(q, str) or not q.strip():
            problems.append(f"{cid}: question must be a non-empty string")
        elif len(q.strip()) > MAX_QUESTION_CHARS:
            problems.append(f"{cid}: question longer than {MAX_QUESTION_CHARS} characters")
        for field in ("gold_articles", "required_facts", "tags", "gold_sections"):
            value = c.get(field, [])
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                problems.append(f"{cid}: {field} must be a list of non-empty strings")
            elif len(set(value)) != len(value):
                problems.append(f"{cid}: {field} has duplicates")
        if not isinstance(c.get("critical"), bool):
            problems.append(f"{cid}: critical must be true or false")
        bad_tags = [t for t in c.get("tags", []) if isinstance(t, str) and not TAG_RE.match(t)]
        if bad_tags:
            problems.append(f"{cid}: malformed tags {bad_tags}")
    assert not problems, report(problems)


def test_fields_by_kind() -> None:
    problems = []
    for c in cases():
        cid, kind = c["id"], c["kind"]
        gold, facts = c["gold_articles"], c["required_facts"]
        red_flags = [t for t in c["tags"] if t.startswith("red_flag:")]
        if kind == "answerable":
            if not gold:
                problems.append(f"{cid}: answerable case needs gold_articles")
            if not 1 <= len(facts) <= 3:
                problems.append(f"{cid}: answerable case needs 1 to 3 required_facts")
        elif kind == "no_answer":
            if gold or facts or c.get("gold_sections"):
                problems.append(f"{cid}: no_answer case must have no gold and no required_facts")
        elif kind == "refer_to_professional":
            if len(facts) > 3:
                problems.append(f"{cid}: at most 3 required_facts")
            if facts and not gold:
                problems.append(f"{cid}: required_facts need gold_articles to be checked against")
            if not red_flags:
                problems.append(f"{cid}: refer_to_professional needs a red_flag:<category> tag")
            if c["critical"] is not True:
                problems.append(f"{cid}: every refer_to_professional case must be critical")
        if red_flags and kind != "refer_to_professional":
            problems.append(f"{cid}: red_flag tags belong only on refer_to_professional cases")
        if "injection" in c["tags"] and kind != "no_answer":
            problems.append(f"{cid}: injection cases must expect no_answer")
        if "benign_lookalike" in c["tags"] and kind != "answerable":
            problems.append(f"{cid}: benign_lookalike cases must be answerable")
        if ("multi_turn" in c["tags"]) != bool(c.get("history")):
            problems.append(f"{cid}: tag multi_turn must be present exactly when history is")
    assert not problems, report(problems)


def test_history_turns_are_valid() -> None:
    problems = []
    for c in cases():
        if "history" not in c:
            continue
        cid, history = c["id"], c["history"]
        if not isinstance(history, list) or not history:
            problems.append(f"{cid}: history must be a non-empty list when present")
            continue
        if len(history) > MAX_HISTORY_TURNS:
            problems.append(f"{cid}: history longer than {MAX_HISTORY_TURNS} turns")
        for i, turn in enumerate(history):
            expected = "user" if i % 2 == 0 else "assistant"
            if not isinstance(turn, dict) or set(turn) != {"role", "content"}:
                problems.append(f"{cid}: turn {i} must have exactly role and content")
                continue
            if turn["role"] != expected:
                problems.append(f"{cid}: turn {i} should be {expected}, got {turn['role']!r}")
            if not isinstance(turn["content"], str) or not turn["content"].strip():
                problems.append(f"{cid}: turn {i} has empty content")
        if isinstance(history[-1], dict) and history[-1].get("role") != "assistant":
            problems.append(f"{cid}: history must end with an assistant turn")
    assert not problems, report(problems)


# ----------------------------------------------------------------------------- regexes and gold


def test_required_facts_compile_and_are_not_trivial() -> None:
    problems = []
    for c in cases():
        for pattern in [*c["required_facts"], *c.get("first_sentence_facts", [])]:
            try:
                rx = re.compile(pattern, re.IGNORECASE)
            except re.error as exc:
                problems.append(f"{c['id']}: {pattern!r} does not compile ({exc})")
                continue
            if rx.search("") or rx.search(" "):
                problems.append(f"{c['id']}: {pattern!r} matches empty text, so it proves nothing")
    assert not problems, report(problems)


def test_gold_articles_exist_in_the_cases_knowledge_base() -> None:
    problems = [
        f"{c['id']}: unknown article id {a!r} in kb {kb_of(c)}"
        for c in cases()
        for a in c["gold_articles"]
        if a not in articles(kb_of(c))
    ]
    assert not problems, report(problems)


def test_gold_sections_are_headings_of_gold_articles() -> None:
    problems = []
    for c in cases():
        known = articles(kb_of(c))
        headings = {h for a in c["gold_articles"] if a in known for h in known[a]["headings"]}
        for section in c.get("gold_sections", []):
            if section not in headings:
                problems.append(f"{c['id']}: section {section!r} is not a ## heading of its gold")
    assert not problems, report(problems)


def test_facts_are_in_a_gold_article() -> None:
    """Each required_facts and first_sentence_facts regex must match the text of at least one
    of the case's gold articles in its knowledge base."""
    problems = []
    for c in cases():
        known = articles(kb_of(c))
        texts = [known[a]["text"] for a in c["gold_articles"] if a in known]
        for pattern in [*c["required_facts"], *c.get("first_sentence_facts", [])]:
            try:
                rx = re.compile(pattern, re.IGNORECASE)
            except re.error:
                continue  # reported by test_required_facts_compile_and_are_not_trivial
            if not any(rx.search(t) for t in texts):
                problems.append(f"{c['id']}: {pattern!r} matches none of {c['gold_articles']}")
    assert not problems, report(problems)


def test_every_article_is_gold_for_an_answerable_case() -> None:
    """Every article a knowledge base brings (its own folder) is gold for an answerable case of
    that knowledge base, once the dataset has cases for it."""
    missing = []
    for kb in dict.fromkeys(kb_of(c) for c in cases()):
        covered = {a for c in by_kind("answerable") if kb_of(c) == kb for a in c["gold_articles"]}
        missing += [f"{kb}: {a}" for a in sorted(own_articles(kb) - covered)]
    assert not missing, f"articles never gold for an answerable case: {missing}"


def test_questions_do_not_copy_articles() -> None:
    """No question or user history turn shares 8 consecutive words with an article of its
    knowledge base."""
    problems = []
    for c in cases():
        index = article_runs(kb_of(c))
        texts = [("question", c["question"])]
        texts += [
            (f"history[{i}]", t["content"])
            for i, t in enumerate(c.get("history", []))
            if isinstance(t, dict) and t.get("role") == "user"
        ]
        for where, text in texts:
            for run in sorted(runs(tokens(text))):
                if run in index:
                    problems.append(f"{c['id']} {where}: {' '.join(run)!r} is in {index[run]}")
                    break
    assert not problems, report(problems)


def test_every_case_is_in_the_split_its_id_hashes_to() -> None:
    wrong = [f"{c['id']}: {c.get('split')!r}, rule says {split_for(c['id'])!r}"
             for c in cases() if c.get("split") != split_for(c["id"])]  # fmt: skip
    assert not wrong, report(wrong)
    splits = Counter(c["split"] for c in cases())
    assert splits["test"] >= 0.2 * len(cases()) and splits["tune"] >= 0.5 * len(cases())


def test_knowledge_bases_intents_and_handoffs_are_valid() -> None:
    problems = []
    for c in cases():
        cid = c["id"]
        if kb_of(c) not in KBS:
            problems.append(f"{cid}: unknown kb {kb_of(c)!r}; known: {sorted(KBS)}")
        if "intent" in c and (c["intent"] not in INTENTS or c["kind"] != "no_answer"):
            problems.append(f"{cid}: intent must be one of {INTENTS} on a no_answer case")
        if "expect_handoff" in c and not isinstance(c["expect_handoff"], bool):
            problems.append(f"{cid}: expect_handoff must be true or false")
        facts = c.get("first_sentence_facts", [])
        if not isinstance(facts, list) or not all(isinstance(f, str) and f for f in facts):
            problems.append(f"{cid}: first_sentence_facts must be a list of non-empty strings")
        elif facts and c["kind"] != "answerable":
            problems.append(f"{cid}: first_sentence_facts belong on answerable cases")
    assert not problems, report(problems)


def test_the_evaluation_loader_accepts_the_dataset() -> None:
    dataset = load_dataset(DATASET)
    assert [c.id for c in dataset.cases] == [c["id"] for c in cases()]


def test_questions_are_unique() -> None:
    seen = Counter(" ".join(tokens(c["question"])) for c in cases() if "history" not in c)
    dupes = [q for q, n in seen.items() if n > 1]
    assert not dupes, f"duplicate single-turn questions: {dupes}"


# ----------------------------------------------------------------------------- mix


def test_counts_per_kind() -> None:
    counts = Counter(c["kind"] for c in cases())
    short = {k: (counts[k], n) for k, n in MIN_PER_KIND.items() if counts[k] < n}
    assert not short, f"kind: (have, need) {short}"


def test_counts_per_tag() -> None:
    tags = Counter(t for c in cases() for t in c["tags"])
    crit_injection = sum(1 for c in cases() if "injection" in c["tags"] and c["critical"])
    crit_answerable = sum(1 for c in by_kind("answerable") if c["critical"])
    benign = [c for c in by_kind("answerable") if "benign_lookalike" in c["tags"]]
    checks = {
        "multi_turn": (tags["multi_turn"], MIN_MULTI_TURN),
        "injection": (tags["injection"], MIN_INJECTION),
        "critical injection": (crit_injection, MIN_CRITICAL_INJECTION),
        "benign_lookalike": (len(benign), MIN_BENIGN_LOOKALIKE),
        "critical answerable": (crit_answerable, MIN_CRITICAL_ANSWERABLE),
        "off_topic": (tags["off_topic"], 1),
        "billing": (tags["billing"], 1),
        "critical benign_lookalike": (sum(1 for c in benign if c["critical"]), 1),
    }
    short = {k: v for k, v in checks.items() if v[0] < v[1]}
    assert not short, f"tag: (have, need) {short}"


def test_red_flags_span_categories() -> None:
    categories = {
        t.split(":", 1)[1]
        for c in by_kind("refer_to_professional")
        for t in c["tags"]
        if t.startswith("red_flag:")
    }
    needed = {
        "sharp_pain",
        "worsening_pain",
        "swelling",
        "numbness",
        "pop",
        "stress_fracture",
        "diabetes_neuropathy",
        "other_medical",
    }
    assert needed <= categories, f"missing red_flag categories: {sorted(needed - categories)}"
