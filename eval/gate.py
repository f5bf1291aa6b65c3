"""The evaluation gate: floors per knowledge base on the test split, regressions against
``eval/baseline.json``, and critical cases.

The floors live in ``eval/datasets/floors.yml`` (:func:`load_floors`); the baseline is written
by ``help-assistant eval --update-baseline`` (:func:`baseline_from`).

Example::

    result = check(run.config("hybrid"), load_baseline(path), load_floors(), run.dataset["sha256"])
    print("\\n".join(result.lines())); result.passed
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from eval.headline import LOWER_IS_BETTER, Headline
from eval.runner import ConfigResult, EvalRun, GroupResult

EVAL_DIR = Path(__file__).parent
DEFAULT_FLOORS_FILE = EVAL_DIR / "datasets" / "floors.yml"
#: A headline metric may fall this many cases' worth (1/n each) below the baseline. The system
#: is deterministic, so an unchanged build reproduces the baseline exactly; one case of slack
#: absorbs a single borderline flip (CPU float differences between machines, an accepted
#: trade-off) while any two-case regression fails. The bootstrap interval is not used: at n=40
#: its half-width (about 0.05-0.10) would let three or four broken cases through.
TOLERANCE_CASES = 1
EPS = 1e-9
BASELINE_SCHEMAS = (1, 2)


@dataclass(frozen=True)
class Floors:
    """Targets per metric on one split: ``floors`` (>=), ``ceilings`` (<=), and the metrics
    whose miss is only reported (``advisory``)."""

    split: str = "test"
    floors: dict[str, float] = field(default_factory=dict)
    ceilings: dict[str, float] = field(default_factory=dict)
    advisory: frozenset[str] = frozenset()

    def bound(self, metric: str) -> tuple[str, float] | None:
        if metric in self.floors:
            return ">=", self.floors[metric]
        if metric in self.ceilings:
            return "<=", self.ceilings[metric]
        return None


def load_floors(path: Path = DEFAULT_FLOORS_FILE) -> Floors:
    """Read a floors YAML; a metric that is lower-is-better must be a ceiling."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    floors = {str(k): float(v) for k, v in (data.get("floors") or {}).items()}
    ceilings = {str(k): float(v) for k, v in (data.get("ceilings") or {}).items()}
    if wrong := sorted(LOWER_IS_BETTER & floors.keys()):
        raise ValueError(f"{path}: {', '.join(wrong)} are lower-is-better: list under ceilings")
    return Floors(str(data.get("split", "test")), floors, ceilings,
                  frozenset(data.get("advisory") or ()))  # fmt: skip


@dataclass(frozen=True)
class FloorCheck:
    """One target on one slice: ``status`` is pass, fail or n/a (no cases to measure)."""

    slice: str
    metric: str
    op: str
    bound: float
    value: float | None
    n: int
    advisory: bool

    @property
    def status(self) -> str:
        if self.value is None:
            return "n/a"
        ok = self.value >= self.bound - EPS if self.op == ">=" else self.value <= self.bound + EPS
        return "pass" if ok else "fail"

    def line(self) -> str:
        value = "–" if self.value is None else f"{self.value:.3f}"
        note = " (advisory)" if self.advisory else ""
        return (f"{self.status.upper():>4} {self.slice:<22} {self.metric:<40} {value:>6} "
                f"{self.op} {self.bound:.3f} n={self.n}{note}")  # fmt: skip


@dataclass
class GateResult:
    """Why the gate failed (empty: passed), every target checked, and which cases changed."""

    checks: list[FloorCheck] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    broke: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def lines(self) -> list[str]:
        out = [f"note: {n}" for n in self.notes]
        out += [f"floor {c.line()}" for c in self.checks]
        out += [f"pass -> fail: {b}" for b in self.broke]
        out += [f"fail -> pass: {f}" for f in self.fixed]
        out += [f"GATE FAILED: {f}" for f in self.failures]
        return out + ([] if self.failures else ["gate passed"])


def check_floors(result: ConfigResult, floors: Floors) -> list[FloorCheck]:
    """Every target on the floors' split of every knowledge base."""
    checks = []
    for group in (g for g in result.groups if g.split == floors.split):
        for metric, (op, bound) in {
            **{m: (">=", v) for m, v in floors.floors.items()},
            **{m: ("<=", v) for m, v in floors.ceilings.items()},
        }.items():
            h = group.headline.get(metric, Headline(value=None))
            checks.append(FloorCheck(group.key, metric, op, bound, h.value, h.n,
                                     metric in floors.advisory))  # fmt: skip
    return checks


def _regressions(
    where: str, now: dict[str, Headline], before: dict[str, Any], slack: int
) -> list[str]:
    out = []
    for metric, base in before.items():
        h = now.get(metric)
        if h is None or h.value is None or base.get("value") is None or not h.n:
            continue
        worse = base["value"] - h.value
        if metric in LOWER_IS_BETTER:
            worse = -worse
        if worse > slack / h.n + EPS:
            out.append(f"{where}{metric} = {h.value:.3f} moved from the baseline "
                       f"{base['value']:.3f} by more than {slack} case(s) of {h.n} "
                       f"({slack / h.n:.3f})")  # fmt: skip
    return out


def check_regressions(result: ConfigResult, baseline: dict[str, Any], gate: GateResult) -> None:
    """Headline metrics (overall and per slice) beyond the tolerance, and changed cases."""
    slack = baseline.get("tolerance_cases", TOLERANCE_CASES)
    gate.failures += _regressions("", result.headline, baseline.get("metrics", {}), slack)
    groups: dict[str, GroupResult] = {g.key: g for g in result.groups}
    for key, before in baseline.get("groups", {}).items():
        if key in groups:
            gate.failures += _regressions(f"{key} ", groups[key].headline, before, slack)
    cases = baseline.get("cases", {})
    for r in result.cases:
        was = cases.get(r.id)
        if was is not None and was["passed"] and not r.passed:
            gate.broke.append(f"{r.id}: {'; '.join(r.failures)}")
        elif was is not None and not was["passed"] and r.passed:
            gate.fixed.append(r.id)


def check(
    result: ConfigResult,
    baseline: dict[str, Any] | None,
    floors: Floors,
    dataset_sha: str,
    code: str | None = None,
) -> GateResult:
    """Floors on the test split, regressions beyond the tolerance, and critical cases."""
    gate = GateResult(checks=check_floors(result, floors))
    for c in gate.checks:
        if c.status == "fail" and not c.advisory:
            gate.failures.append(f"{c.slice} {c.metric} = {c.value:.3f}, target {c.op} "
                                 f"{c.bound:.3f}")  # fmt: skip
    if baseline is None:
        gate.notes.append("no baseline: regressions not checked")
    else:
        if baseline.get("dataset_sha256") != dataset_sha:
            gate.notes.append("the dataset changed since the baseline; comparing cases by id")
        if code and baseline.get("product_code") not in (None, code):
            gate.notes.append("the product code changed since the baseline")
        check_regressions(result, baseline, gate)
    # A ratchet: a critical case that fails fails the gate, unless the baseline recorded it
    # failing already (a known gap, listed in the notes and in the closing note of the issue
    # that leaves it open); fixing it and updating the baseline tightens the ratchet.
    known = {
        case_id
        for case_id, case in ((baseline or {}).get("cases") or {}).items()
        if not case.get("passed", True)
    }
    for r in result.cases:
        if r.critical and not r.passed:
            message = f"critical case {r.id} failed: {'; '.join(r.failures)}"
            if r.id in known:
                gate.notes.append("known " + message)
            else:
                gate.failures.append(message)
    return gate


def load_baseline(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if data.get("schema_version") not in BASELINE_SCHEMAS:
        version = data.get("schema_version")
        raise ValueError(f"{path}: unsupported baseline schema_version {version}")
    return data


def _relative(path: str) -> str:
    try:
        return Path(path).resolve().relative_to(EVAL_DIR.parent).as_posix()
    except ValueError:
        return path


def baseline_from(run: EvalRun, old: dict[str, Any] | None, config: str) -> dict[str, Any]:
    """The baseline of one configuration; the tolerance survives an update."""
    result = run.config(config)
    return {
        "schema_version": 2,
        "created": run.created,
        "config": result.name,
        "dataset": _relative(run.dataset["path"]),
        "dataset_sha256": run.dataset["sha256"],
        "knowledge_base": run.knowledge_base,
        "product_code": run.versions.get("product_code"),
        "tolerance_cases": (old or {}).get("tolerance_cases", TOLERANCE_CASES),
        "metrics": {m: h.model_dump() for m, h in result.headline.items()},
        "groups": {g.key: {m: h.model_dump() for m, h in g.headline.items()}
                   for g in result.groups},  # fmt: skip
        "cases": {
            r.id: {"kind": r.kind, "kb": r.kb, "split": r.split, "critical": r.critical,
                   "passed": r.passed, "failures": r.failures}  # fmt: skip
            for r in result.cases
        },
    }
