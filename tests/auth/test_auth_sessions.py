"""Server-side sessions: logout, a password change and deactivation end sessions everywhere.

A copied session cookie is what an attacker has who read it from a shared computer, a
proxy log or a backup; before, it stayed valid for 31 days whatever its owner did.
"""
from datetime import timedelta

import pytest
import sqlalchemy as sa
from conftest import PASSWORD, session_login

from exchange.auth.models import LoginSession, User
from exchange.auth.services import deactivate_user, reactivate_user
from exchange.auth.sessions import SESSION_KEY, open_login, user_for_login
from exchange.extensions import db
from exchange.util import utcnow

NEW_PASSWORD = "ein ganz neues Passwort"


def logged_in(client) -> bool:
    """Whether `client` sees its profile (a login page redirect otherwise)."""
    return client.get("/profil").status_code == 200


def copy_of(client, app):
    """A second browser holding a copy of `client`'s session cookie."""
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    other = app.test_client()
    other.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie.value)
    return other


def login_count(user) -> int:
    return db.session.scalar(sa.select(sa.func.count(LoginSession.id))
                             .where(LoginSession.user_id == user.id))


def change_password(client, new=NEW_PASSWORD, current=PASSWORD):
    return client.post("/profil/passwort", data={
        "current_password": current, "new_password": new, "new_password_confirm": new})


def test_a_copied_cookie_stops_working_after_logout(app, client, auth, anna):
    auth.login()
    thief = copy_of(client, app)
    assert logged_in(thief)  # the copy works while the session lives
    auth.logout()
    assert not logged_in(client)
    assert not logged_in(thief)
    assert login_count(anna) == 0


def test_a_cookie_saved_before_logout_is_refused_when_replayed_later(app, client, auth, anna):
    auth.login()
    saved = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    auth.logout()
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], saved)
    assert not logged_in(client)
    assert client.get("/api/v1/cities").status_code == 401  # the API ignores it too


def test_logout_ends_only_this_browser(app, client, auth, anna):
    auth.login()
    laptop = app.test_client()
    laptop.post("/login", data={"email": anna.email, "password": PASSWORD})
    assert logged_in(laptop)
    auth.logout()
    assert not logged_in(client)
    assert logged_in(laptop)


def test_password_change_ends_the_other_sessions_only(app, client, auth, anna):
    auth.login()
    laptop = app.test_client()
    laptop.post("/login", data={"email": anna.email, "password": PASSWORD})
    thief = copy_of(laptop, app)
    response = change_password(client)
    assert response.status_code == 302
    assert logged_in(client)  # the browser that changed it stays logged in
    assert not logged_in(laptop)
    assert not logged_in(thief)
    assert login_count(anna) == 1
    laptop.post("/login", data={"email": anna.email, "password": NEW_PASSWORD})
    assert logged_in(laptop)


def test_a_refused_password_change_ends_nothing(app, client, auth, anna):
    auth.login()
    laptop = app.test_client()
    laptop.post("/login", data={"email": anna.email, "password": PASSWORD})
    change_password(client, current="falsches Passwort")
    assert logged_in(laptop) and logged_in(client)


def test_bearer_tokens_survive_logout_and_password_change(client, auth, anna, token_for):
    token = token_for(anna)
    headers = {"Authorization": f"Bearer {token}"}
    auth.login()
    change_password(client)
    auth.logout()
    assert client.get("/api/v1/cities", headers=headers).status_code == 200


def test_operator_password_reset_ends_every_session(app, client, auth, anna, runner):
    auth.login()
    result = runner.invoke(args=["users", "set-password", anna.email],
                           input=NEW_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert not logged_in(client)
    assert login_count(anna) == 0


def test_deactivation_ends_sessions_and_refuses_login_and_tokens(app, client, auth, anna,
                                                                 token_for):
    token = token_for(anna)
    headers = {"Authorization": f"Bearer {token}"}
    auth.login()
    deactivate_user(anna)
    db.session.commit()
    assert not logged_in(client)
    assert client.get("/api/v1/cities", headers=headers).status_code == 401
    page = auth.login().get_data(as_text=True)
    assert "Ihr Konto ist deaktiviert" in page
    assert not logged_in(client)
    # A wrong password does not reveal that the account is deactivated.
    page = auth.login(password="falsches Passwort").get_data(as_text=True)
    assert "deaktiviert" not in page and "E-Mail-Adresse oder Passwort ist falsch." in page

    reactivate_user(anna)
    db.session.commit()
    assert auth.login().status_code == 302
    assert logged_in(client)
    assert client.get("/api/v1/cities", headers=headers).status_code == 200


def test_deactivated_user_is_not_active(anna):
    assert anna.is_active
    deactivate_user(anna)
    assert not anna.is_active and anna.deactivated_at is not None


def test_cli_deactivate_and_reactivate(runner, client, auth, anna):
    auth.login()
    result = runner.invoke(args=["users", "deactivate", anna.email])
    assert result.exit_code == 0, result.output
    assert "deaktiviert" in result.output
    assert not logged_in(client)
    assert "deaktiviert" in runner.invoke(args=["users", "list"]).output
    again = runner.invoke(args=["users", "deactivate", anna.email])
    assert again.exit_code == 1 and "bereits deaktiviert" in again.output

    result = runner.invoke(args=["users", "reactivate", anna.email])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(User, anna.id).deactivated_at is None
    assert auth.login().status_code == 302
    again = runner.invoke(args=["users", "reactivate", anna.email])
    assert again.exit_code == 1 and "nicht deaktiviert" in again.output
    unknown = runner.invoke(args=["users", "deactivate", "niemand@example.org"])
    assert unknown.exit_code == 1


def test_a_cookie_without_a_stored_login_is_not_logged_in(client, anna):
    """Cookies as they were before server-side sessions (only Flask-Login's user id),
    or with a made-up key, log nobody in; the stale keys are dropped from the cookie."""
    with client.session_transaction() as session:
        session["_user_id"] = str(anna.id)
        session["_fresh"] = True
    assert not logged_in(client)
    with client.session_transaction() as session:
        assert "_user_id" not in session
        session["_user_id"] = str(anna.id)
        session[SESSION_KEY] = "erfunden"
    assert not logged_in(client)


def test_a_login_key_names_only_its_own_user(client, anna, max_muenchen):
    session_login(client, anna)
    with client.session_transaction() as session:
        session["_user_id"] = str(max_muenchen.id)  # anna's key, another user's id
    assert not logged_in(client)


@pytest.mark.parametrize("user_id", ["", "x", "0", "-1", str(2**31), "9" * 40])
def test_odd_user_ids_in_the_cookie_are_no_login(client, anna, user_id):
    session_login(client, anna)
    with client.session_transaction() as session:
        session["_user_id"] = user_id
    assert not logged_in(client)


def test_logins_expire_with_the_session_lifetime(app, client, anna):
    session_login(client, anna)
    assert logged_in(client)
    row = db.session.scalar(sa.select(LoginSession).where(LoginSession.user_id == anna.id))
    row.created_at = utcnow() - app.permanent_session_lifetime - timedelta(minutes=1)
    db.session.commit()
    assert not logged_in(client)
    open_login(anna)  # the next login removes the expired row
    db.session.commit()
    assert login_count(anna) == 1


def test_login_stores_only_a_hash_of_the_key(app, client, auth, anna):
    auth.login()
    with client.session_transaction() as session:
        key = session[SESSION_KEY]
    stored = db.session.scalar(sa.select(LoginSession.key_hash))
    assert key not in stored and len(stored) == 64
    assert user_for_login(anna.id, key) == anna
    assert user_for_login(anna.id, stored) is None  # the stored hash is no key


def test_unapproved_user_has_no_session(anna, make_user, stuttgart):
    pending = make_user("neu@stuttgart.example", city=stuttgart, is_approved=False)
    key = open_login(pending)
    assert user_for_login(pending.id, key) is None


def test_language_survives_login_and_logout(client, auth, anna):
    client.get("/lang/en")
    auth.login()
    assert '<html lang="en">' in client.get("/profil").get_data(as_text=True)
    auth.logout()
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)


def test_deleting_a_user_deletes_their_logins(anna, make_user, stuttgart):
    pending = make_user("neu@stuttgart.example", city=stuttgart, is_approved=False)
    open_login(pending)
    db.session.commit()
    db.session.delete(pending)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(LoginSession.id))) == 0


def test_deactivation_and_reactivation_are_audited(runner, anna):
    from exchange.audit.models import AuditEvent

    runner.invoke(args=["users", "deactivate", anna.email])
    runner.invoke(args=["users", "reactivate", anna.email])
    events = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "user.activation_changed").order_by(AuditEvent.id)).all()
    assert [event.object_id for event in events] == [anna.id, anna.id]
    assert events[0].changes["deactivated_at"][0] is None
    assert events[1].changes["deactivated_at"][1] is None
