"""User accounts, passwords and API tokens; no request state is read here."""
import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..util import is_single_line, utcnow
from .models import ROLES, ApiToken, User
from .sessions import close_logins

#: Tokens start with this marker so they are easy to recognise in leaked text.
TOKEN_PREFIX = "cx_"
MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    """An account operation was refused; the message is shown to the user."""


def normalise_email(email: str) -> str:
    """E-mail addresses compare case-insensitively: store them lower-cased."""
    return (email or "").strip().lower()


def find_user_by_email(email: str) -> User | None:
    """The user with this address, in any letter case."""
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def set_password(user: User, password: str) -> None:
    """Hash and store a new password (length checked)."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = generate_password_hash(
        password, method=current_app.config["PASSWORD_HASH_METHOD"]
    )


def change_password(user: User, password: str, keep_login: str | None = None) -> None:
    """Set a new password and end every other session of the user: all of them (an
    operator's reset) or all but the login `keep_login` (the user's own browser)."""
    set_password(user, password)
    close_logins(user, keep=keep_login)


def deactivate_user(user: User) -> None:
    """Deactivate an account: its sessions end at once, logins and its API tokens are
    refused until reactivate_user(); what the user wrote stays as it is."""
    if user.deactivated_at is None:
        user.deactivated_at = utcnow()
    close_logins(user)


def reactivate_user(user: User) -> None:
    """Let a deactivated user log in again (their unrevoked tokens work again too)."""
    user.deactivated_at = None


def check_password(user: User, password: str) -> bool:
    """True when `password` matches the stored hash."""
    return bool(user.password_hash) and check_password_hash(user.password_hash, password or "")


def create_user(email: str, display_name: str, city=None, role: str = "staff",
                password: str | None = None, is_admin: bool = False,
                is_approved: bool = True) -> User:
    """Create a user; raises AccountError for a taken address or unknown role."""
    email = normalise_email(email)
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}")
    if find_user_by_email(email) is not None:
        raise AccountError(f"e-mail address {email} is already registered")
    if not is_single_line(display_name):
        raise AccountError("the display name must be one line without control characters")
    user = User(email=email, display_name=display_name.strip() or email, city=city, role=role,
                is_admin=is_admin, is_approved=is_approved)
    if password is not None:
        set_password(user, password)
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The user for these credentials, or None (unknown address or wrong password)."""
    user = find_user_by_email(email)
    if user is None or not check_password(user, password):
        return None
    return user


def hash_token(token: str) -> str:
    """Tokens are long random strings, so a plain SHA-256 is a safe lookup key."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Create a named token; returns the row and the clear token, shown exactly once."""
    name = (name or "").strip()
    if not name or len(name) > 80 or not is_single_line(name):
        raise AccountError("token name must have 1 to 80 characters on one line")
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name, token_hash=hash_token(clear), prefix=clear[:10])
    db.session.add(token)
    db.session.flush()
    return token, clear


def revoke_token(token: ApiToken) -> None:
    """Revoke a token; it stops working at once and stays listed as revoked."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()


#: A token's use is recorded to the minute: recording every request made each API read,
#: a search too, a database write and a commit.
TOKEN_USE_RESOLUTION = timedelta(minutes=1)


def user_for_token(clear: str) -> User | None:
    """The active user owning this unrevoked token, recording its use (to the minute)."""
    if not clear or not clear.startswith(TOKEN_PREFIX):
        return None
    token = db.session.scalar(
        sa.select(ApiToken).where(ApiToken.token_hash == hash_token(clear),
                                  ApiToken.revoked_at.is_(None))
    )
    if token is None or not token.user.is_active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= TOKEN_USE_RESOLUTION:
        token.last_used_at = now
    return token.user
