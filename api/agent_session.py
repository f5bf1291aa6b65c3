"""Sessions of the agent console: a signed, expiring cookie and a CSRF token bound to it.

Logging in with the admin key sets ``agent_session``: ``base64url(json) "." hmac``, signed with
HMAC-SHA256 under a key derived from the admin key (so rotating the key ends every session).
The cookie is httpOnly (no script reads it), SameSite=Strict (no other site's page or link
makes the browser send it) and expires after :data:`SESSION_SECONDS`; Secure over HTTPS.

Writes also need ``X-CSRF-Token``: a value derived from the session (double submit, the page
reads it from ``GET /agent/api/session``). A cross-site page can neither read it nor send a
custom header without a CORS preflight, which the app never grants. Example::

    token = issue("Sam", key="secret", now=time.time())
    session = verify(token, key="secret", now=time.time())  # None when forged or expired
    session.csrf
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

COOKIE = "agent_session"
CSRF_HEADER = "X-CSRF-Token"
#: A working day: long enough for a shift, short enough that a forgotten browser logs out.
SESSION_SECONDS = 8 * 3600
MAX_NAME = 80


@dataclass(frozen=True)
class AgentSession:
    name: str
    expires_at: int
    nonce: str
    csrf: str


def _signing_key(admin_key: str) -> bytes:
    return hmac.new(admin_key.encode(), b"agent-console-session-v1", hashlib.sha256).digest()


def _mac(key: bytes, payload: bytes) -> str:
    return base64.urlsafe_b64encode(hmac.new(key, payload, hashlib.sha256).digest()).decode()


def _csrf(key: bytes, nonce: str) -> str:
    return _mac(key, b"csrf:" + nonce.encode()).rstrip("=")


def issue(name: str, *, key: str, now: float | None = None, seconds: int = SESSION_SECONDS) -> str:
    """A signed session token for the agent ``name``."""
    expires = int((time.time() if now is None else now) + seconds)
    body = {"n": name[:MAX_NAME], "e": expires, "r": secrets.token_urlsafe(16)}
    payload = base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode())
    return payload.decode() + "." + _mac(_signing_key(key), payload)


def verify(token: str | None, *, key: str, now: float | None = None) -> AgentSession | None:
    """The session in ``token``, or None when it is missing, forged, malformed or expired."""
    if not token or token.count(".") != 1:
        return None
    payload, mac = token.split(".")
    signing = _signing_key(key)
    if not hmac.compare_digest(mac.encode(), _mac(signing, payload.encode()).encode()):
        return None
    try:
        body = json.loads(base64.urlsafe_b64decode(payload.encode()))
        name, expires, nonce = str(body["n"]), int(body["e"]), str(body["r"])
    except (ValueError, KeyError, TypeError):
        return None
    if expires <= (time.time() if now is None else now):
        return None
    return AgentSession(name, expires, nonce, _csrf(signing, nonce))


def csrf_ok(session: AgentSession, supplied: str | None) -> bool:
    return bool(supplied) and hmac.compare_digest(session.csrf.encode(), (supplied or "").encode())
