"""User accounts, passwords (policy, constant-time checks, reset links) and API tokens;
no request state is read here."""
import functools
import gzip
import hashlib
import secrets
import string
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

from ..errors import DomainError
from ..extensions import db
from ..util import is_single_line, utcnow
from .models import (ROLES, TOKEN_SCOPES, ApiToken, PasswordReset, User, local_today,
                     token_expires_at)
from .sessions import close_logins

#: Tokens start with this marker so they are easy to recognise in leaked text.
TOKEN_PREFIX = "cx_"
#: Shorter passwords are refused (NIST SP 800-63B asks for at least 8; 12 leaves room
#: for the phrases people remember, and rules out most of the common-password list).
MIN_PASSWORD_LENGTH = 12
#: Longer passwords are refused: hashing megabytes of input is a denial-of-service vector.
MAX_PASSWORD_LENGTH = 200
#: Fewer different characters are refused: "aaaaaaaaaaaa" or "121212121212".
MIN_DISTINCT_CHARACTERS = 4
#: 19,640 common passwords, lower-cased (data/SOURCES.md: Django's list, BSD licence).
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt.gz"


class AccountError(DomainError, ValueError):
    """An account operation was refused; the message is shown to the user."""

    status = 422


class PasswordPolicyError(AccountError):
    """A password was refused by the policy; the message (translated) says why."""


class ResetLinkError(AccountError):
    """A password-reset link is unknown, used or expired; the message says which."""


def normalise_email(email: str) -> str:
    """E-mail addresses compare case-insensitively: store them lower-cased."""
    return (email or "").strip().lower()


def find_user_by_email(email: str) -> User | None:
    """The user with this address, in any letter case."""
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower-cased, read once per process."""
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip().lower() for line in lines if line.strip())


def _folded(text: str) -> str:
    """Lower-cased without spaces: how the policy compares a password with other text."""
    return "".join((text or "").lower().split())


def password_problem(password: str, email: str = "", display_name: str = "") -> str | None:
    """Why `password` is refused (a translated sentence), or None when it may be used:
    too short or too long, on the common-password list, or the account's own address,
    the address's local part or the display name (compared lower-cased)."""
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("Das Passwort muss mindestens %(min)d Zeichen lang sein.",
                 min=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        return _("Das Passwort darf höchstens %(max)d Zeichen lang sein.",
                 max=MAX_PASSWORD_LENGTH)
    folded = _folded(password)
    # The list's entries also with digits or signs appended ("passwort2024!"), the
    # usual way people stretch a common password to the minimum length.
    stem = folded.rstrip(string.digits + string.punctuation)
    if common_passwords() & {password.strip().lower(), folded, stem}:
        return _("Dieses Passwort steht auf einer Liste häufig benutzter Passwörter. Bitte "
                 "wählen Sie ein anderes.")
    if len(set(folded)) < MIN_DISTINCT_CHARACTERS:
        return _("Das Passwort besteht fast nur aus Wiederholungen. Bitte wählen Sie ein "
                 "anderes.")
    email = normalise_email(email)
    personal = {_folded(email), _folded(email.partition("@")[0]), _folded(display_name)}
    if folded in personal - {""}:
        return _("Das Passwort darf nicht Ihre E-Mail-Adresse oder Ihr Name sein.")
    return None


def set_password(user: User, password: str) -> None:
    """Hash and store a new password; PasswordPolicyError when the policy refuses it."""
    problem = password_problem(password, user.email, user.display_name)
    if problem:
        raise PasswordPolicyError(problem)
    user.password_hash = generate_password_hash(
        password, method=current_app.config["PASSWORD_HASH_METHOD"]
    )


def change_password(user: User, password: str, keep_login: str | None = None) -> None:
    """Set a new password and end every other session of the user: all of them (an
    operator's reset) or all but the login `keep_login` (the user's own browser)."""
    set_password(user, password)
    close_logins(user, keep=keep_login)
    withdraw_password_resets(user)


def deactivate_user(user: User) -> None:
    """Deactivate an account: its sessions end at once, logins and its API tokens are
    refused until reactivate_user(); what the user wrote stays as it is."""
    if user.deactivated_at is None:
        user.deactivated_at = utcnow()
    close_logins(user)


def reactivate_user(user: User) -> None:
    """Let a deactivated user log in again (their unrevoked tokens work again too)."""
    user.deactivated_at = None


def set_platform_admin(user: User, value: bool) -> None:
    """Grant or withdraw the platform admin right (the audit log records the change).
    Withdrawing it ends the user's sessions, so no page keeps the old rights open."""
    if bool(user.is_admin) == value:
        return
    user.is_admin = value
    if not value:
        close_logins(user)


def dummy_password_hash() -> str:
    """A hash of a random password with the configured method, made once per process
    and method: checked instead of a missing one, so an unknown address or an account
    without a password costs the same time as a wrong password."""
    method = current_app.config["PASSWORD_HASH_METHOD"]
    hashes = current_app.extensions.setdefault("dummy_password_hashes", {})
    if method not in hashes:
        hashes[method] = generate_password_hash(secrets.token_urlsafe(16), method=method)
    return hashes[method]


def check_password(user: User | None, password: str) -> bool:
    """True when `password` matches the user's stored hash. Exactly one hash check in
    every case: against the dummy hash when there is no user or no stored hash."""
    stored = user.password_hash if user is not None else None
    matches = check_password_hash(stored or dummy_password_hash(), password or "")
    return bool(stored) and matches


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
    """The user for these credentials, or None (unknown address or wrong password).

    Known and unknown addresses take the same time: one password hash is checked in
    either case (check_password), so the answer's timing tells nobody which exist."""
    user = find_user_by_email(email)
    if not check_password(user, password):
        return None
    return user


# --- password reset by e-mail --------------------------------------------------------

def request_password_reset(email: str) -> tuple[User, str] | None:
    """A new single-use reset link for the active account with this address: the row
    (only the token's SHA-256 stored) and the clear token for the mail. None for an
    unknown, unapproved or deactivated address; the caller answers the same either way."""
    user = find_user_by_email(email)
    if user is None or not user.is_active:
        return None
    clear = secrets.token_urlsafe(32)
    now = utcnow()
    max_age = timedelta(seconds=current_app.config["PASSWORD_RESET_MAX_AGE"])
    db.session.add(PasswordReset(user=user, token_hash=hash_token(clear), created_at=now,
                                 expires_at=now + max_age))
    db.session.flush()
    return user, clear


def queue_reset_mail(user: User, link: str) -> None:
    """Put the reset mail for `user` into the outbox; `link` is a site path, made
    absolute on PUBLIC_URL (never the request's host)."""
    from ..projects.mail import queue_mail
    from ..projects.services import _absolute, _locale_of

    minutes = current_app.config["PASSWORD_RESET_MAX_AGE"] // 60
    with force_locale(_locale_of(user)):
        subject = _("[City Exchange] Passwort zurücksetzen")
        body = "\n\n".join((
            _("Guten Tag %(name)s,", name=user.display_name),
            _("jemand (hoffentlich Sie) möchte das Passwort Ihres Kontos bei City Exchange "
              "zurücksetzen. Über diesen Link setzen Sie ein neues Passwort; er gilt "
              "%(minutes)d Minuten und nur einmal:", minutes=minutes),
            _absolute(link),
            _("Wenn Sie das nicht waren, ignorieren Sie diese Nachricht; Ihr Passwort "
              "bleibt, wie es ist."),
        ))
    queue_mail(db.session, user.email, subject, body + "\n")


def register_taken_address(user: User, password: str) -> None:
    """A registration for an address that has an account: nothing is stored, but the
    password is hashed as for a new account, so the answer takes the same time."""
    generate_password_hash(password or "", method=current_app.config["PASSWORD_HASH_METHOD"])


def queue_taken_address_mail(user: User, login_link: str, reset_link: str) -> None:
    """Tell the owner of an address that someone tried to register with it (the
    registration page answers as for a new address, so it reveals nothing)."""
    from ..projects.mail import queue_mail
    from ..projects.services import _absolute, _locale_of

    with force_locale(_locale_of(user)):
        subject = _("[City Exchange] Registrierung mit Ihrer E-Mail-Adresse")
        body = "\n\n".join((
            _("Guten Tag %(name)s,", name=user.display_name),
            _("jemand hat versucht, sich mit Ihrer E-Mail-Adresse bei City Exchange zu "
              "registrieren. Sie haben bereits ein Konto; ein zweites ist nicht möglich."),
            _("Anmelden: %(url)s", url=_absolute(login_link)),
            _("Passwort vergessen? %(url)s", url=_absolute(reset_link)),
            _("Wenn Sie das nicht waren, können Sie diese Nachricht ignorieren."),
        ))
    queue_mail(db.session, user.email, subject, body + "\n")


def password_reset_for(clear: str) -> PasswordReset:
    """The usable reset row for this clear token; ResetLinkError (translated) when the
    token is unknown, already used or withdrawn, expired, or its account inactive."""
    reset = db.session.scalar(sa.select(PasswordReset).where(
        PasswordReset.token_hash == hash_token(clear or "")))
    if reset is None or not reset.user.is_active:
        raise ResetLinkError(_("Dieser Link zum Zurücksetzen des Passworts ist ungültig."))
    if reset.used_at is not None:
        raise ResetLinkError(_("Dieser Link wurde bereits benutzt oder durch einen neueren "
                               "ersetzt. Bitte fordern Sie bei Bedarf einen neuen an."))
    if reset.expires_at <= utcnow():
        raise ResetLinkError(_("Dieser Link ist abgelaufen. Bitte fordern Sie einen neuen "
                               "an."))
    return reset


def reset_password(clear: str, password: str) -> User:
    """Set a new password with a reset link: the policy is checked first, the link is
    used up (one compare-and-set UPDATE, so two tabs cannot both use it), every
    session of the user ends and their other outstanding links stop working."""
    reset = password_reset_for(clear)
    user = reset.user
    problem = password_problem(password, user.email, user.display_name)
    if problem:
        raise PasswordPolicyError(problem)
    claimed = db.session.execute(
        sa.update(PasswordReset).where(PasswordReset.id == reset.id,
                                       PasswordReset.used_at.is_(None))
        .values(used_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        raise ResetLinkError(_("Dieser Link wurde bereits benutzt oder durch einen neueren "
                               "ersetzt. Bitte fordern Sie bei Bedarf einen neuen an."))
    change_password(user, password)
    return user


def withdraw_password_resets(user: User) -> None:
    """Make every outstanding reset link of `user` unusable (after a new password)."""
    db.session.execute(
        sa.update(PasswordReset).where(PasswordReset.user_id == user.id,
                                       PasswordReset.used_at.is_(None))
        .values(used_at=utcnow()).execution_options(synchronize_session=False))


def hash_token(token: str) -> str:
    """Tokens are long random strings, so a plain SHA-256 is a safe lookup key."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


#: A new token works this many days unless its owner picks another last day.
DEFAULT_TOKEN_DAYS = 90
#: No token works longer than this from its creation: a forgotten token in a script or a
#: leaked one stops by itself. Renewing is creating a new token.
MAX_TOKEN_DAYS = 365


def token_scopes(chosen) -> str:
    """The stored form of the chosen scopes ("read" or "read write"): write implies read;
    AccountError for none or an unknown one."""
    chosen = set(chosen or ())
    unknown = chosen - set(TOKEN_SCOPES)
    if unknown or not chosen:
        raise AccountError(_("Bitte wählen Sie, was der Token darf: lesen, oder lesen und "
                             "schreiben."))
    if "write" in chosen:
        chosen.add("read")
    return " ".join(scope for scope in TOKEN_SCOPES if scope in chosen)


def default_token_last_day(today: date) -> date:
    """The last day a new token gets unless another is chosen."""
    return today + timedelta(days=DEFAULT_TOKEN_DAYS)


def latest_token_last_day(today: date) -> date:
    """The latest last day a token created on `today` may have."""
    return today + timedelta(days=MAX_TOKEN_DAYS)


def token_expiry_problem(last_day: date, today: date) -> str | None:
    """Why `last_day` cannot be a new token's last day (German time), or None: it may be
    today, never in the past nor more than MAX_TOKEN_DAYS ahead."""
    if last_day < today:
        return _("Das Datum liegt in der Vergangenheit; ein Token muss mindestens bis "
                 "heute gelten.")
    latest = latest_token_last_day(today)
    if last_day > latest:
        from ..formatting import format_local_date

        return _("Ein Token gilt höchstens ein Jahr, also bis spätestens %(date)s.",
                 date=format_local_date(latest))
    return None


def create_token(user: User, name: str, scopes=TOKEN_SCOPES, last_day: date | None = None,
                 now: datetime | None = None) -> tuple[ApiToken, str]:
    """Create a named token with `scopes` (write implies read) that works through
    `last_day` (German time; default DEFAULT_TOKEN_DAYS from `now`); returns the row and
    the clear token, shown exactly once. AccountError for a bad name, scope or day."""
    name = (name or "").strip()
    if not name or len(name) > 80 or not is_single_line(name):
        raise AccountError("token name must have 1 to 80 characters on one line")
    stored_scopes = token_scopes(scopes)
    now = now or utcnow()
    today = local_today(now)
    last_day = last_day or default_token_last_day(today)
    problem = token_expiry_problem(last_day, today)
    if problem:
        raise AccountError(problem)
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name, token_hash=hash_token(clear), prefix=clear[:10],
                     scopes=stored_scopes, expires_at=token_expires_at(last_day), created_at=now)
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


#: Why a token was refused (TokenCheck.refusal): "unknown" (no such token, a guess),
#: "inactive" (the owner is deactivated or not approved), "revoked", "expired", and
#: "read_only" (a read token on a request that writes).
TOKEN_REFUSALS = ("unknown", "inactive", "revoked", "expired", "read_only")


@dataclass(frozen=True)
class TokenCheck:
    """The outcome of token_check: the user when the token may make this request, else
    the refusal (one of TOKEN_REFUSALS)."""

    user: User | None
    refusal: str | None = None


def token_check(clear: str, writes: bool, now: datetime | None = None) -> TokenCheck:
    """Check a clear token for a request (`writes`: a method other than GET, HEAD,
    OPTIONS) at `now`; an accepted token's use is recorded (to the minute)."""
    token = None
    if clear and clear.startswith(TOKEN_PREFIX):
        token = db.session.scalar(sa.select(ApiToken).where(
            ApiToken.token_hash == hash_token(clear)))
    if token is None:
        return TokenCheck(None, "unknown")
    now = now or utcnow()
    if token.revoked_at is not None:
        return TokenCheck(None, "revoked")
    if token.is_expired(now):
        return TokenCheck(None, "expired")
    if not token.user.is_active:
        return TokenCheck(None, "inactive")
    if writes and not token.allows("write"):
        return TokenCheck(None, "read_only")
    if token.last_used_at is None or now - token.last_used_at >= TOKEN_USE_RESOLUTION:
        token.last_used_at = now
    return TokenCheck(token.user)


def user_for_token(clear: str, writes: bool = False) -> User | None:
    """The active user owning this unrevoked, unexpired token, recording its use (to the
    minute); None when token_check refuses it."""
    return token_check(clear, writes).user
