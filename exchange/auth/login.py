"""Flask-Login wiring: session users (checked against their stored login on every
request) and `Authorization: Bearer` tokens; starting and ending a session."""
import math

from flask import abort, g, session
from flask_babel import ngettext
from flask_login import login_user, logout_user

from ..extensions import db, login_manager
from ..util import parse_id
from .models import User
from .services import token_check
from .sessions import SESSION_KEY, close_login, open_login, user_for_login
from .throttle import login_throttle

#: Methods a read-only token may use; every other method writes.
READ_METHODS = ("GET", "HEAD", "OPTIONS")
#: Flask-Login's keys in the session cookie, dropped when their login is gone.
LOGIN_KEYS = ("_user_id", "_fresh", "_id", SESSION_KEY)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Session login: the user id and login key in the signed session cookie, valid
    only while their row in login_sessions exists (no logout, password change or
    deactivation since)."""
    user_id = parse_id(user_id)
    user = user_for_login(user_id, session.get(SESSION_KEY)) if user_id else None
    if user is None:
        for key in LOGIN_KEYS:  # a stale cookie: forget it instead of asking again
            session.pop(key, None)
    return user


@login_manager.request_loader
def load_user_from_token(request) -> User | None:
    """API login: a personal token in the Authorization header. Wrong tokens count per
    client address (auth/throttle.py); a locked address gets 429 without a lookup.

    A revoked or expired token, and a read-only token on a request that writes (any
    method but GET, HEAD, OPTIONS, on every route, so no HTML form either), logs nobody
    in; `g.token_refusal` keeps the reason for the API's error (api/common.py). Those
    are real tokens, not guesses, so they do not count towards the throttle."""
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    throttle = login_throttle()
    address = request.remote_addr or "unknown"
    until = throttle.locked_until("token_address", address)
    if until is not None:
        minutes = max(1, math.ceil(throttle.seconds_left(until) / 60))
        abort(429, description=ngettext(
            "Zu viele ungültige API-Tokens von Ihrer Netzwerkadresse. Bitte versuchen Sie "
            "es in %(num)d Minute erneut.",
            "Zu viele ungültige API-Tokens von Ihrer Netzwerkadresse. Bitte versuchen Sie "
            "es in %(num)d Minuten erneut.", minutes))
    check = token_check(credentials.strip(), writes=request.method not in READ_METHODS)
    if check.user is None:
        g.token_refusal = check.refusal
        if check.refusal in ("unknown", "inactive"):
            throttle.hit("token_address", address)
        return None
    user = check.user
    g.token_auth = True
    if db.session.dirty:  # the token's use, recorded at most once a minute
        db.session.commit()
    return user


def _fresh_session() -> None:
    """Empty the session cookie but for the chosen language. This also drops the CSRF
    token, so a token from before a login or logout is refused after it."""
    language = session.get("lang")
    session.clear()
    g.pop("csrf_token", None)  # Flask-WTF's per-request copy of the signed token
    if language:
        session["lang"] = language


def start_session(user: User) -> None:
    """Log `user` in in this browser: a new stored login, a fresh cookie; commits."""
    _fresh_session()
    key = open_login(user)
    db.session.commit()
    login_user(user)
    session[SESSION_KEY] = key
    if user.locale:
        session["lang"] = user.locale


def end_session() -> None:
    """Log out: the stored login is deleted (every copy of the cookie stops working),
    the cookie emptied; commits."""
    close_login(session.get(SESSION_KEY))
    db.session.commit()
    logout_user()
    _fresh_session()


def current_login_key() -> str | None:
    """The clear key of this browser's login (kept when the password changes)."""
    return session.get(SESSION_KEY)
