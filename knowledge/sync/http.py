"""The HTTP edge of sync: JSON GETs with bounded retries, and one-line errors.

HTTP 429 waits for ``Retry-After`` (seconds or an HTTP date; capped), 5xx answers and network
errors are retried with exponential backoff up to ``attempts`` tries; any other error status
is a :class:`SyncError` whose message names the service and the HTTP status, e.g.
``zendesk: HTTP 401 Unauthorized from GET https://acme.zendesk.com/api/v2/... (check
ASSISTANT_ZENDESK_EMAIL and ASSISTANT_ZENDESK_TOKEN)``.

Example::

    with JsonClient("intercom", {"Authorization": "Bearer t"}) as client:
        page = client.get("https://api.intercom.io/articles", {"page": 1})
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import httpx


class SyncError(ValueError):
    """A sync could not fetch its help center; the message is one line for the user."""


def retry_after_seconds(value: str | None, default: float) -> float:
    """``Retry-After`` as seconds: a number, or an HTTP date; ``default`` when unusable."""
    if not value:
        return default
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class JsonClient:
    """GET JSON from one service, retrying what is worth retrying and nothing else."""

    def __init__(
        self,
        service: str,
        headers: Mapping[str, str],
        *,
        auth_hint: str = "",
        attempts: int = 5,
        backoff: float = 0.5,
        max_wait: float = 60.0,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.service, self.auth_hint = service, auth_hint
        self.attempts, self.backoff, self.max_wait = attempts, backoff, max_wait
        self.sleep = sleep
        self.client = httpx.Client(
            headers={"Accept": "application/json", **headers},
            timeout=timeout,
            follow_redirects=True,
        )

    def __enter__(self) -> JsonClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def _fail(self, response: httpx.Response, url: str) -> SyncError:
        status = response.status_code
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = response.reason_phrase or "error"
        hint = f" ({self.auth_hint})" if status in (401, 403) and self.auth_hint else ""
        return SyncError(f"{self.service}: HTTP {status} {reason} from GET {url}{hint}")

    def get(self, url: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The JSON object at ``url``; :class:`SyncError` once retries are exhausted."""
        for attempt in range(1, self.attempts + 1):
            last = attempt == self.attempts
            try:
                response = self.client.get(url, params=params)
            except httpx.TransportError as exc:
                if last:
                    raise SyncError(
                        f"{self.service}: network error after {attempt} attempts on GET "
                        f"{url}: {exc or type(exc).__name__}"
                    ) from None
                self.sleep(self.backoff * 2 ** (attempt - 1))
                continue
            if response.status_code == 429 or response.status_code >= 500:
                if last:
                    raise self._fail(response, url)
                wait = self.backoff * 2 ** (attempt - 1)
                if response.status_code == 429:
                    wait = retry_after_seconds(response.headers.get("Retry-After"), wait)
                self.sleep(min(wait, self.max_wait))
                continue
            if response.status_code >= 400:
                raise self._fail(response, url)
            try:
                data = response.json()
            except ValueError:
                raise SyncError(f"{self.service}: GET {url} did not return JSON") from None
            if not isinstance(data, dict):
                raise SyncError(f"{self.service}: GET {url} returned JSON that is not an object")
            return data
        raise AssertionError("unreachable")  # pragma: no cover
