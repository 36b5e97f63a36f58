"""Flask-Login wiring: session users and `Authorization: Bearer` tokens."""
from flask import g

from ..extensions import db, login_manager
from .models import User
from .services import user_for_token


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Session login: the user id stored in the signed session cookie."""
    if not user_id.isdigit():
        return None
    return db.session.get(User, int(user_id))


@login_manager.request_loader
def load_user_from_token(request) -> User | None:
    """API login: a personal token in the Authorization header."""
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    user = user_for_token(credentials.strip())
    if user is not None:
        g.token_auth = True
        if db.session.dirty:  # the token's use, recorded at most once a minute
            db.session.commit()
    return user
