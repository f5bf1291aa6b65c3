"""Fuzz every operation of the HTTP API from its own OpenAPI schema (schemathesis + hypothesis).

For each operation, ``examples`` generated requests that fit the schema (positive) and as many
that break it (negative) are sent to the app in-process, with the admin key so the admin routes
are exercised too. A run fails on any 5xx, any response whose status code, content type, headers
or body the schema does not document, and any schema-breaking request the API accepted. ::

    python -m eval.bench.fuzz --examples 200      # ingests knowledge/articles into a temp dir
    python -m eval.bench.fuzz --examples 50 --data-dir .data --json /tmp/fuzz.json

``tests/reliability/test_fuzz.py`` runs the same with a few examples per operation.
"""

from __future__ import annotations

import argparse
import json
import logging
import secrets
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

#: What every response is checked for (see schemathesis' checks reference).
CHECK_NAMES = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
MODES = ("positive", "negative")
#: Rejections a schema-breaking request may get: schemathesis' defaults plus 413 (our body limit).
#: An operation without parameters or body (health, metrics, reindex) gets the same request every
#: time: a few are enough (a reindex costs seconds).
FIXED_REQUEST_EXAMPLES = 5
REJECTIONS = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]


@dataclass
class OperationResult:
    """What the fuzzer sent to one operation in one mode, and what came back."""

    operation: str
    mode: str
    examples: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


@dataclass
class FuzzReport:
    examples_per_operation: int
    operations: list[OperationResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return sum(o.examples for o in self.operations)

    @property
    def server_errors(self) -> int:
        return sum(n for o in self.operations for s, n in o.statuses.items() if s.startswith("5"))

    @property
    def failures(self) -> list[str]:
        return [f"{o.operation} [{o.mode}]: {f}" for o in self.operations for f in o.failures]

    @property
    def ok(self) -> bool:
        return not self.failures and self.server_errors == 0

    def summary(self) -> dict[str, Any]:
        labels = sorted({o.operation for o in self.operations})
        return {
            "operations": len(labels),
            "examples_per_operation_and_mode": self.examples_per_operation,
            "requests": self.requests,
            "server_errors": self.server_errors,
            "failures": len(self.failures),
            "seconds": round(self.seconds, 1),
            "statuses": dict(
                sum((Counter(o.statuses) for o in self.operations), Counter()).most_common()
            ),
        }


def _checks(mode: str) -> list[Any]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi import checks

    found = [not_a_server_error] + [getattr(checks, name) for name in CHECK_NAMES[1:]]
    if mode == "negative":
        found.append(checks.negative_data_rejection)
    return found


def _describe(exc: BaseException) -> str:
    nested = getattr(exc, "exceptions", None)
    if nested:
        return "; ".join(_describe(e) for e in nested)
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:400]}"


def fuzz_app(
    app: Any,
    *,
    examples: int,
    headers: dict[str, str] | None = None,
    modes: Sequence[str] = MODES,
    seed: int | None = 0,
    progress: bool = False,
) -> FuzzReport:
    """Fuzz every operation of ``app`` (an ASGI app serving ``/openapi.json``)."""
    import schemathesis
    from schemathesis.config import SchemathesisConfig
    from schemathesis.core.result import Ok

    started = time.perf_counter()
    report = FuzzReport(examples)
    # An explicit config: no schemathesis.toml from the working directory changes the run.
    config = SchemathesisConfig.from_dict(
        {"checks": {"negative_data_rejection": {"expected-statuses": REJECTIONS}}}
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):  # an operation the schema describes wrongly
            report.operations.append(
                OperationResult("<invalid operation>", "-", failures=[_describe(result.err())])
            )
            continue
        operation = result.ok()
        for mode in modes:
            outcome = _fuzz_operation(operation, mode, examples, headers, seed)
            report.operations.append(outcome)
            if progress:
                print(f"{outcome.operation} [{mode}]: {outcome.examples} requests, "
                      f"{outcome.statuses}, {len(outcome.failures)} failures",
                      file=sys.stderr, flush=True)  # fmt: skip
    report.seconds = time.perf_counter() - started
    return report


def _fuzz_operation(
    operation: Any, mode: str, examples: int, headers: dict[str, str] | None, seed: int | None
) -> OperationResult:
    import hypothesis
    from hypothesis import HealthCheck, Phase
    from schemathesis import GenerationMode

    outcome = OperationResult(operation.label, mode)
    checks = _checks(mode)
    statuses: Counter[str] = Counter()
    try:
        strategy = operation.as_strategy(generation_mode=GenerationMode(mode))
    except Exception as exc:  # noqa: BLE001 - a schema the generator cannot use is a finding
        outcome.failures.append(f"cannot generate: {_describe(exc)}")
        return outcome

    # What the schema lets vary (security headers, sent by us, do not count).
    raw = operation.definition.raw
    varies = bool(raw.get("parameters") or raw.get("requestBody"))

    @hypothesis.settings(
        max_examples=examples if varies else min(examples, FIXED_REQUEST_EXAMPLES),
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @hypothesis.given(case=strategy)
    def run(case: Any) -> None:
        request = f"{case.method} {case.formatted_path}"
        outcome.examples += 1
        try:
            response = case.call(headers=headers)
        except Exception as exc:  # noqa: BLE001 - the in-process client re-raises 500s
            statuses["500"] += 1
            outcome.failures.append(f"{request} -> raised {_describe(exc)}")
            return
        statuses[str(response.status_code)] += 1
        try:
            case.validate_response(response, checks=checks)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - record it, go on
            outcome.failures.append(f"{request} -> {response.status_code}: {_describe(exc)}")

    if seed is not None:
        run = hypothesis.seed(seed)(run)
    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        pass  # negative mode of an operation without parameters: nothing to break
    except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - a finding too
        outcome.failures.append(f"fuzzer error: {_describe(exc)}")
    outcome.statuses = dict(statuses)
    return outcome


def _app(data_dir: Path, admin_key: str) -> Any:
    from api.main import create_app
    from assistant.factory import build_assistant
    from assistant.settings import Settings
    from knowledge.ingest import run_ingest

    settings = Settings(data_dir=data_dir, admin_api_key=admin_key, rate_limit="off")
    from assistant.embeddings import make_embeddings

    embeddings = make_embeddings(settings)
    ingest = run_ingest(settings, embeddings)
    if not ingest.ok:
        raise SystemExit(f"ingest rejected files: {ingest.rejected}")
    return create_app(settings, assistant=build_assistant(settings, embeddings=embeddings))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m eval.bench.fuzz", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--examples", type=int, default=100,
                        help="generated requests per operation and mode (default 100)")  # fmt: skip
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="index to use (ingested incrementally); default: temp")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="-1 for a random run")
    parser.add_argument("--json", type=Path, default=None, help="write the report here")
    args = parser.parse_args(argv)
    if args.examples < 1:
        parser.error("--examples must be at least 1")

    # The app logs every answer at INFO; the report is what matters here.
    logging.basicConfig(level=logging.WARNING)
    admin_key = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        data_dir = args.data_dir or Path(tmp) / "data"
        app = _app(data_dir, admin_key)
        report = fuzz_app(
            app,
            examples=args.examples,
            headers={"Authorization": f"Bearer {admin_key}"},
            seed=None if args.seed < 0 else args.seed,
            progress=True,
        )
    summary = report.summary()
    print(json.dumps(summary, indent=2))
    for failure in report.failures[:50]:
        print("FAIL", failure, file=sys.stderr)
    if args.json:
        args.json.write_text(
            json.dumps({**summary, "detail": [asdict(o) for o in report.operations]}, indent=2)
        )
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
