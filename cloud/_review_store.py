"""Users, their sites, API tokens, acknowledgements, comments and the audit trail.

The review side of the store (migration step 3), on both backends: a
:class:`ReviewStore` wraps an opened alert store (:class:`cloud._sql_store.SqlStore`)
and runs its SQL on the same connection, under the same lock and transactions.

Scoping: a user is assigned sites; everything a user may read is filtered by
those sites (the API answers 404 for anything else). Every change that matters
to a clinician (acknowledge, comment) and to an administrator (user created,
sites changed, token issued, login) lands in ``audit_log`` in the same
transaction as the change itself: who, what, when, on which alert.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cloud._auth import (
    check_password_strength,
    dummy_password_hash,
    hash_password,
    hash_token,
    new_token,
    verify_password,
)
from cloud._exceptions import AuthConfigError
from cloud._records import AlertRecord
from cloud._store import now_ms

#: What a user may be. Every role is scoped by its sites; only the CLI manages users.
ROLES = ("admin", "cardiologist", "staff")
#: Longest comment accepted, characters.
MAX_COMMENT_CHARS = 2000

_NAME_RE = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
_SITE_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_LABEL_RE = re.compile(r"[^\x00-\x1f\x7f]{0,64}")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class User:
    """A dashboard / API user and the sites whose alerts it may see."""

    name: str
    role: str
    sites: tuple[str, ...]
    created_ms: int
    disabled: bool = False


@dataclass(frozen=True)
class Acknowledgement:
    """Who acknowledged an alert, and when (UTC epoch ms)."""

    alert_id: str
    user: str
    acked_ms: int


@dataclass(frozen=True)
class Comment:
    """A clinician's note on an alert."""

    id: int
    alert_id: str
    user: str
    created_ms: int
    body: str


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit trail: who did what, when, on which site and alert."""

    id: int
    at_ms: int
    actor: str
    action: str
    site: str | None
    alert_id: str | None
    detail: str


def check_user_name(name: object) -> str:
    """``name`` if it is a valid user name (1-64 of ``A-Za-z0-9_.@-``)."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise AuthConfigError(f"user name must be 1-64 characters of A-Za-z0-9_.@-, got {name!r:.80}")
    return name


def check_sites(sites: Iterable[str] | str) -> tuple[str, ...]:
    """Sites as a sorted tuple of valid site ids; a comma-separated string is split."""
    if isinstance(sites, str):
        sites = [s.strip() for s in sites.split(",") if s.strip()]
    out = tuple(sorted(set(sites)))
    for site in out:
        if not isinstance(site, str) or not _SITE_RE.fullmatch(site):
            raise AuthConfigError(f"site must be 1-64 characters of A-Za-z0-9_.:-, got {site!r:.80}")
    return out


def check_comment(body: object) -> str:
    """A comment's text, stripped: 1-2000 characters, no control characters but newlines."""
    if not isinstance(body, str) or not body.strip():
        raise AuthConfigError("comment must be non-empty text")
    body = body.strip()
    if len(body) > MAX_COMMENT_CHARS:
        raise AuthConfigError(f"comment must be at most {MAX_COMMENT_CHARS} characters, got {len(body)}")
    if _CONTROL_RE.search(body):
        raise AuthConfigError("comment must not contain control characters (newlines and tabs are fine)")
    return body


class ReviewStore:
    """Users, tokens, acknowledgements, comments and audit on an opened store.

    Parameters
    ----------
    store : cloud._sql_store.SqlStore
        An alert store migrated to schema step 3 or later (``open_store`` does it).
    """

    def __init__(self, store: Any) -> None:
        self.store = store

    # -- plumbing -------------------------------------------------------------
    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self.store._lock, self.store._transaction(write=False):
            return list(self.store._execute(sql, params).fetchall())

    def _audit(self, actor: str, action: str, *, site: str | None = None,
               alert_id: str | None = None, detail: str = "", at_ms: int | None = None) -> None:  # fmt: skip
        """Append one audit line (call inside a write transaction)."""
        self.store._execute(
            "INSERT INTO audit_log (at_ms, actor, action, site, alert_id, detail) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (now_ms() if at_ms is None else at_ms, actor, action, site, alert_id, detail),
        )

    def log(self, actor: str, action: str, *, site: str | None = None,
            alert_id: str | None = None, detail: str = "") -> None:  # fmt: skip
        """Append one audit line in its own transaction (logins, failed logins, exports)."""
        with self.store._lock, self.store._transaction():
            self._audit(actor, action, site=site, alert_id=alert_id, detail=detail)

    # -- users ----------------------------------------------------------------
    def create_user(self, name: str, password: str, sites: Iterable[str] | str, *,
                    role: str = "cardiologist", actor: str = "cli") -> User:  # fmt: skip
        """Create a user with a scrypt-hashed password and its sites.

        Raises :class:`AuthConfigError` for a bad name, role, site or weak
        password, or when the name is taken.
        """
        check_user_name(name)
        if role not in ROLES:
            raise AuthConfigError(f"role must be one of {', '.join(ROLES)}, got {role!r:.40}")
        site_tuple = check_sites(sites)
        if not site_tuple:
            raise AuthConfigError("a user needs at least one site (--sites A,B)")
        password_hash = hash_password(check_password_strength(password))
        created = now_ms()
        with self.store._lock, self.store._transaction():
            taken = self.store._execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone()
            if taken:
                raise AuthConfigError(f"user {name!r} exists already")
            self.store._execute(
                "INSERT INTO users (name, role, password_hash, created_ms, disabled) "
                "VALUES (?, ?, ?, ?, 0)",
                (name, role, password_hash, created),
            )
            for site in site_tuple:
                self.store._execute(
                    "INSERT INTO user_sites (user_name, site) VALUES (?, ?)", (name, site)
                )
            self._audit(actor, "user.create", detail=f"{name} ({role}) sites {','.join(site_tuple)}",
                        at_ms=created)  # fmt: skip
        return User(name, role, site_tuple, created)

    def set_sites(self, name: str, sites: Iterable[str] | str, *, actor: str = "cli") -> User:
        """Replace a user's sites."""
        site_tuple = check_sites(sites)
        with self.store._lock, self.store._transaction():
            if not self.store._execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise AuthConfigError(f"no user {name!r}")
            self.store._execute("DELETE FROM user_sites WHERE user_name = ?", (name,))
            for site in site_tuple:
                self.store._execute(
                    "INSERT INTO user_sites (user_name, site) VALUES (?, ?)", (name, site)
                )
            self._audit(actor, "user.sites", detail=f"{name} sites {','.join(site_tuple)}")
        user = self.get_user(name)
        assert user is not None
        return user

    def get_user(self, name: str) -> User | None:
        """The user with this name (with its sites), or ``None``."""
        rows = self._rows(
            "SELECT u.name, u.role, u.created_ms, u.disabled, s.site FROM users u "
            "LEFT JOIN user_sites s ON s.user_name = u.name WHERE u.name = ? ORDER BY s.site",
            (name,),
        )
        if not rows:
            return None
        sites = tuple(row[4] for row in rows if row[4] is not None)
        first = rows[0]
        return User(first[0], first[1], sites, int(first[2]), bool(first[3]))

    def authenticate(self, name: str, password: str) -> User | None:
        """The user if ``password`` is right and the user is enabled; ``None`` otherwise.

        An unknown name costs one scrypt too, so timing does not tell names apart.
        """
        rows = self._rows("SELECT password_hash FROM users WHERE name = ?", (name,))
        stored = rows[0][0] if rows else dummy_password_hash()
        good = verify_password(password, stored) if isinstance(password, str) else False
        if not rows or not good:
            return None
        user = self.get_user(name)
        return user if user is not None and not user.disabled else None

    # -- API tokens -------------------------------------------------------------
    def create_token(self, name: str, label: str = "", *, actor: str = "cli") -> str:
        """A new API token for user ``name``: returned once, only its SHA-256 is stored."""
        if not isinstance(label, str) or not _LABEL_RE.fullmatch(label):
            raise AuthConfigError(f"token label must be at most 64 printable characters, got {label!r:.80}")
        token = new_token()
        with self.store._lock, self.store._transaction():
            if not self.store._execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise AuthConfigError(f"no user {name!r}")
            self.store._execute(
                "INSERT INTO api_tokens (token_sha256, user_name, label, created_ms) VALUES (?, ?, ?, ?)",
                (hash_token(token), name, label, now_ms()),
            )
            self._audit(actor, "token.create", detail=f"{name} {label}".strip())
        return token

    def user_for_token(self, token: str) -> User | None:
        """The enabled user an unrevoked token belongs to, or ``None``."""
        if not isinstance(token, str) or not token:
            return None
        rows = self._rows(
            "SELECT user_name FROM api_tokens WHERE token_sha256 = ? AND revoked_ms IS NULL",
            (hash_token(token),),
        )
        if not rows:
            return None
        user = self.get_user(rows[0][0])
        return user if user is not None and not user.disabled else None

    def revoke_tokens(self, name: str, *, actor: str = "cli") -> int:
        """Revoke every token of user ``name``; returns how many were revoked."""
        with self.store._lock, self.store._transaction():
            count = self.store._execute(
                "UPDATE api_tokens SET revoked_ms = ? WHERE user_name = ? AND revoked_ms IS NULL",
                (now_ms(), name),
            ).rowcount
            self._audit(actor, "token.revoke", detail=f"{name} {count} token(s)")
        return int(count)

    # -- acknowledgements and comments -----------------------------------------
    def acknowledge(self, alert: AlertRecord, user: str) -> tuple[Acknowledgement, bool]:
        """Acknowledge ``alert`` as ``user``; returns the acknowledgement and whether it is new.

        An alert is acknowledged once: a second call returns the first
        acknowledgement unchanged and adds nothing to the audit trail.
        """
        at = now_ms()
        with self.store._lock, self.store._transaction():
            row = self.store._execute(
                "SELECT user_name, acked_ms FROM alert_acks WHERE alert_id = ?", (alert.id,)
            ).fetchone()
            if row is not None:
                return Acknowledgement(alert.id, row[0], int(row[1])), False
            self.store._execute(
                "INSERT INTO alert_acks (alert_id, user_name, acked_ms) VALUES (?, ?, ?)",
                (alert.id, user, at),
            )
            self._audit(user, "acknowledge", site=alert.site, alert_id=alert.id, at_ms=at,
                        detail=f"{alert.severity} {alert.type} of patient {alert.patient}")  # fmt: skip
        return Acknowledgement(alert.id, user, at), True

    def add_comment(self, alert: AlertRecord, user: str, body: str) -> Comment:
        """Add a comment to ``alert`` (and its line in the audit trail)."""
        body = check_comment(body)
        at = now_ms()
        with self.store._lock, self.store._transaction():
            row = self.store._execute(
                "INSERT INTO alert_comments (alert_id, user_name, created_ms, body) "
                "VALUES (?, ?, ?, ?) RETURNING id",
                (alert.id, user, at, body),
            ).fetchone()
            self._audit(user, "comment", site=alert.site, alert_id=alert.id, at_ms=at, detail=body)
        return Comment(int(row[0]), alert.id, user, at, body)

    def acknowledgements(self, alert_ids: Sequence[str]) -> Mapping[str, Acknowledgement]:
        """The acknowledgements of these alerts (one indexed lookup), by alert id."""
        if not alert_ids:
            return {}
        marks = ", ".join("?" * len(alert_ids))
        rows = self._rows(
            f"SELECT alert_id, user_name, acked_ms FROM alert_acks WHERE alert_id IN ({marks})",
            list(alert_ids),
        )
        return {r[0]: Acknowledgement(r[0], r[1], int(r[2])) for r in rows}

    def comments(self, alert_id: str) -> tuple[Comment, ...]:
        """An alert's comments, oldest first."""
        rows = self._rows(
            "SELECT id, alert_id, user_name, created_ms, body FROM alert_comments "
            "WHERE alert_id = ? ORDER BY id",
            (alert_id,),
        )
        return tuple(Comment(int(r[0]), r[1], r[2], int(r[3]), r[4]) for r in rows)

    # -- audit ----------------------------------------------------------------------
    _AUDIT_SELECT = "SELECT id, at_ms, actor, action, site, alert_id, detail FROM audit_log"

    @staticmethod
    def _entry(row: Sequence[Any]) -> AuditEntry:
        return AuditEntry(int(row[0]), int(row[1]), row[2], row[3], row[4], row[5], row[6])

    def alert_audit(self, alert_id: str) -> tuple[AuditEntry, ...]:
        """The audit trail of one alert, oldest first."""
        rows = self._rows(f"{self._AUDIT_SELECT} WHERE alert_id = ? ORDER BY id", (alert_id,))
        return tuple(self._entry(r) for r in rows)

    def site_audit(self, sites: Iterable[str], *, limit: int = 100,
                   before_id: int | None = None) -> tuple[AuditEntry, ...]:  # fmt: skip
        """The newest audit lines of these sites (newest first; page with ``before_id``)."""
        site_tuple = check_sites(list(sites))
        if not site_tuple:
            return ()
        marks = ", ".join("?" * len(site_tuple))
        sql = f"{self._AUDIT_SELECT} WHERE site IN ({marks})"
        params: list[Any] = list(site_tuple)
        if before_id is not None:
            sql += " AND id < ?"
            params.append(int(before_id))
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(int(limit))
        return tuple(self._entry(r) for r in self._rows(sql, params))
