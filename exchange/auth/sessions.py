"""Server-side login sessions: a row per login, checked on every request; no request state.

The Flask session cookie is signed, not stored, so by itself it cannot be withdrawn: a
copy stays valid until it expires. Each login therefore gets a random key, kept in the
cookie (under SESSION_KEY) and stored here only as its SHA-256. A request is logged in
while that row exists, belongs to the user named in the cookie, is younger than the
session lifetime and the user is active. Deleting rows ends sessions everywhere.
"""
import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..util import utcnow
from .models import LoginSession, User

#: Key of the login key in the Flask session (next to Flask-Login's `_user_id`).
SESSION_KEY = "_login"


def _hash(clear: str) -> str:
    """Login keys are long random strings, so a plain SHA-256 is a safe lookup key."""
    return hashlib.sha256(clear.encode("utf-8")).hexdigest()


def session_lifetime() -> timedelta:
    """How long a login lasts at most: the session cookie's lifetime
    (PERMANENT_SESSION_LIFETIME, 31 days unless configured)."""
    return current_app.permanent_session_lifetime


def open_login(user: User) -> str:
    """Record a new login of `user`; returns the clear key for the session cookie.

    The user's expired logins are removed at the same time, so the table holds only
    live sessions and abandoned ones of at most one lifetime."""
    db.session.execute(sa.delete(LoginSession).where(
        LoginSession.user_id == user.id,
        LoginSession.created_at < utcnow() - session_lifetime()))
    clear = secrets.token_urlsafe(32)
    db.session.add(LoginSession(user_id=user.id, key_hash=_hash(clear)))
    db.session.flush()
    return clear


def user_for_login(user_id: int, clear: str) -> User | None:
    """The active user of this live login, or None (logged out, ended, expired, another
    user's key, deactivated or unapproved user). One SELECT."""
    if not isinstance(clear, str) or not clear:
        return None
    user = db.session.scalar(
        sa.select(User).join(LoginSession, LoginSession.user_id == User.id).where(
            LoginSession.key_hash == _hash(clear), User.id == user_id,
            LoginSession.created_at >= utcnow() - session_lifetime()))
    if user is None or not user.is_active:
        return None
    return user


def close_login(clear: str) -> None:
    """End one login (logout): every copy of its cookie stops working."""
    if isinstance(clear, str) and clear:
        db.session.execute(sa.delete(LoginSession).where(LoginSession.key_hash == _hash(clear)))


def close_logins(user: User, keep: str | None = None) -> int:
    """End all logins of `user` except the one with the clear key `keep` (the current
    browser after a password change); returns how many were ended."""
    statement = sa.delete(LoginSession).where(LoginSession.user_id == user.id)
    if keep:
        statement = statement.where(LoginSession.key_hash != _hash(keep))
    ended = db.session.execute(statement).rowcount
    db.session.expire(user, ["logins"])
    return ended
