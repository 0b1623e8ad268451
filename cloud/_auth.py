"""Secrets of the dashboard and the API: password hashes, API tokens, signed sessions.

Pure functions on strings and bytes (no database, no web framework), so each is
testable on its own.

Passwords: ``hashlib.scrypt`` (standard library) with a random 16-byte salt per
password and OWASP's minimum cost (N=2**17, r=8, p=1: 128 MiB and a few hundred
milliseconds per guess). scrypt rather than argon2id: it is memory-hard too,
needs no compiled wheel on the gateway-class machines the cloud part also runs
on, and the parameters are stored in the hash, so they can be raised later
without invalidating stored passwords.

API tokens: 32 random bytes (``secrets.token_urlsafe``) with a ``hol_`` prefix,
shown once; only their SHA-256 is stored. A slow hash buys nothing for 256 bits
of entropy, and SHA-256 lets a request find its token by an indexed equality.

Sessions (dashboard): a cookie ``user|expiry|csrf`` signed with HMAC-SHA-256
under the key in ``HOLTER_CLOUD_SESSION_KEY`` (no default: the server refuses
to start without one). The CSRF token inside it is echoed by the pages' fetch
calls in a header; the cookie is HttpOnly and SameSite=Strict.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass

from cloud._exceptions import AuthConfigError

#: Environment variable holding the session signing key (at least 32 characters).
SESSION_KEY_ENV = "HOLTER_CLOUD_SESSION_KEY"
#: Shortest session key accepted, characters.
MIN_SESSION_KEY_CHARS = 32
#: How long a dashboard session lasts, seconds.
SESSION_TTL_S = 8 * 3600
#: Prefix of every API token (lets secret scanners recognise a leaked one).
TOKEN_PREFIX = "hol_"
#: scrypt cost of new password hashes (OWASP minimum: N=2**17, r=8, p=1).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
#: Shortest password accepted, characters.
MIN_PASSWORD_CHARS = 12

_SALT_BYTES = 16
_HASH_BYTES = 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
        maxmem=2 * 128 * r * n + 2**20, dklen=_HASH_BYTES,
    )  # fmt: skip


def check_password_strength(password: str) -> str:
    """``password`` if it is acceptable; :class:`AuthConfigError` (a ValueError) if not."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
        raise AuthConfigError(
            f"password must be at least {MIN_PASSWORD_CHARS} characters, "
            f"got {len(password) if isinstance(password, str) else type(password).__name__}"
        )
    return password


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """A salted scrypt hash of ``password``: ``scrypt$N$r$p$salt$hash`` (base64url).

    Examples
    --------
    >>> h = hash_password("correct horse battery", n=2**10)
    >>> verify_password("correct horse battery", h), verify_password("wrong", h)
    (True, False)
    """
    salt = os.urandom(_SALT_BYTES)
    digest = _scrypt(password, salt, n, r, p)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        actual = _scrypt(password, _unb64(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


@functools.cache
def dummy_password_hash() -> str:
    """A hash no password matches: verified against when a user does not exist, so a
    login takes as long for an unknown name as for a wrong password."""
    return hash_password(secrets.token_urlsafe(16))


def new_token() -> str:
    """A new random API token (``hol_`` + 43 characters); show it once, store its hash."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The SHA-256 (hex) of an API token, the only form the store keeps."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def session_key_from_env(environ: dict[str, str] | None = None) -> bytes:
    """The session signing key from ``HOLTER_CLOUD_SESSION_KEY``; refuses a missing or short one."""
    env = os.environ if environ is None else environ
    key = env.get(SESSION_KEY_ENV, "")
    if len(key) < MIN_SESSION_KEY_CHARS:
        raise AuthConfigError(
            f"{SESSION_KEY_ENV} must hold a secret of at least {MIN_SESSION_KEY_CHARS} characters "
            f"(got {len(key)}); e.g. export {SESSION_KEY_ENV}=$(python3 -c "
            "'import secrets; print(secrets.token_urlsafe(48))')"
        )
    return key.encode("utf-8")


@dataclass(frozen=True)
class Session:
    """A verified dashboard session: who, until when (epoch s), and its CSRF token."""

    user: str
    expires_s: int
    csrf: str


def sign_session(key: bytes, user: str, *, ttl_s: int = SESSION_TTL_S, now_s: float | None = None) -> tuple[str, Session]:
    """A signed cookie value for ``user`` and the session it carries."""
    now = time.time() if now_s is None else now_s
    session = Session(user=user, expires_s=int(now) + ttl_s, csrf=secrets.token_urlsafe(24))
    body = _b64(f"{session.user}|{session.expires_s}|{session.csrf}".encode())
    mac = _b64(hmac.new(key, body.encode("ascii"), hashlib.sha256).digest())
    return f"{body}.{mac}", session


def verify_session(key: bytes, cookie: str, *, now_s: float | None = None) -> Session | None:
    """The session in a cookie value if its signature is good and it has not expired."""
    try:
        body, mac = cookie.split(".")
        expected = _b64(hmac.new(key, body.encode("ascii"), hashlib.sha256).digest())
        if not hmac.compare_digest(mac, expected):
            return None
        user, expires, csrf = _unb64(body).decode("utf-8").split("|")
        session = Session(user=user, expires_s=int(expires), csrf=csrf)
    except (ValueError, UnicodeError):
        return None
    now = time.time() if now_s is None else now_s
    return session if session.expires_s > now else None
