"""Password reset by e-mail: "Passwort vergessen?" → a single-use link (only its hash
stored, valid PASSWORD_RESET_MAX_AGE) mailed through the outbox on PUBLIC_URL → a new
password that meets the policy; every session ends, other links stop working."""
import re
from datetime import timedelta

import sqlalchemy as sa
from conftest import PASSWORD

from exchange.auth.models import PasswordReset
from exchange.auth.services import authenticate, hash_token
from exchange.extensions import db
from exchange.projects.models import OutgoingMail
from exchange.util import utcnow

NEW = "ein ganz neues Passwort"
LINK = re.compile(r"https://exchange\.example/passwort-zuruecksetzen/(\S+)")


def _request_link(client, email="anna@stuttgart.example") -> str:
    """Ask for a reset link and return the token from the newest mail."""
    client.post("/passwort-vergessen", data={"email": email})
    mail = db.session.scalars(sa.select(OutgoingMail).order_by(OutgoingMail.id.desc())).first()
    return LINK.search(mail.body).group(1)


def _set(client, token, password=NEW, confirm=None):
    return client.post(f"/passwort-zuruecksetzen/{token}",
                       data={"password": password, "password_confirm": confirm or password})


def test_login_page_links_to_the_reset_form(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/passwort-vergessen"' in page and "Passwort vergessen?" in page
    assert "E-Mail-Adresse" in client.get("/passwort-vergessen").get_data(as_text=True)


def test_reset_mail_has_a_link_on_public_url_and_only_the_hash_is_stored(app, client, anna):
    app.config["PUBLIC_URL"] = "https://exchange.example"
    token = _request_link(client)
    mail = db.session.scalars(sa.select(OutgoingMail)).one()
    assert mail.recipient == "anna@stuttgart.example"
    assert "Passwort zurücksetzen" in mail.subject
    assert "60 Minuten" in mail.body
    row = db.session.scalars(sa.select(PasswordReset)).one()
    assert row.token_hash == hash_token(token) and token not in row.token_hash
    assert row.expires_at - row.created_at == timedelta(hours=1)


def test_reset_sets_the_password_and_ends_every_session(app, client, anna, login):
    app.config["PUBLIC_URL"] = "https://exchange.example"
    other = app.test_client()
    login(anna)  # `client` is logged in, as in another browser
    token = _request_link(other)
    assert "Neues Passwort setzen" in other.get(f"/passwort-zuruecksetzen/{token}").text
    response = _set(other, token)
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert authenticate("anna@stuttgart.example", NEW) is anna
    assert authenticate("anna@stuttgart.example", PASSWORD) is None
    assert client.get("/").status_code == 302  # the other browser is logged out
    assert anna.logins == []


def test_link_works_only_once(app, client, anna):
    app.config["PUBLIC_URL"] = "https://exchange.example"
    token = _request_link(client)
    assert _set(client, token).status_code == 302
    again = _set(client, token, "noch ein anderes Passwort")
    assert again.status_code == 410
    assert "bereits benutzt" in again.text
    assert authenticate("anna@stuttgart.example", NEW) is anna


def test_using_one_link_withdraws_the_others(app, client, anna):
    app.config["PUBLIC_URL"] = "https://exchange.example"
    first = _request_link(client)
    second = _request_link(client)
    assert _set(client, second).status_code == 302
    response = client.get(f"/passwort-zuruecksetzen/{first}")
    assert response.status_code == 410 and "bereits benutzt" in response.text


def test_expired_link_is_refused(app, client, anna):
    app.config["PUBLIC_URL"] = "https://exchange.example"
    app.config["PASSWORD_RESET_MAX_AGE"] = 600
    token = _request_link(client)
    row = db.session.scalars(sa.select(PasswordReset)).one()
    assert row.expires_at - row.created_at == timedelta(minutes=10)
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = _set(client, token)
    assert response.status_code == 410 and "abgelaufen" in response.text
    assert authenticate("anna@stuttgart.example", PASSWORD) is anna


def test_unknown_link_is_refused(client, anna):
    response = client.get("/passwort-zuruecksetzen/cx-made-up")
    assert response.status_code == 410 and "ungültig" in response.text


def test_new_password_must_meet_the_policy_and_the_link_stays_usable(app, client, anna):
    app.config["PUBLIC_URL"] = "https://exchange.example"
    token = _request_link(client)
    response = _set(client, token, "qwerty123456")
    assert response.status_code == 200 and "Liste häufig benutzter" in response.text
    response = _set(client, token, "anna@stuttgart.example")
    assert "nicht Ihre E-Mail-Adresse" in response.text
    assert _set(client, token, NEW, "anders").status_code == 200
    assert authenticate("anna@stuttgart.example", PASSWORD) is anna
    assert _set(client, token).status_code == 302


def test_password_change_withdraws_outstanding_links(app, client, auth, anna):
    app.config["PUBLIC_URL"] = "https://exchange.example"
    token = _request_link(client)
    auth.login()
    client.post("/profil/passwort", data={"current_password": PASSWORD, "new_password": NEW,
                                          "new_password_confirm": NEW})
    assert client.get(f"/passwort-zuruecksetzen/{token}").status_code == 410


def test_reset_requests_are_throttled(client, anna):
    for _ in range(3):
        assert client.post("/passwort-vergessen",
                           data={"email": "anna@stuttgart.example"}).status_code == 302
    response = client.post("/passwort-vergessen", data={"email": "anna@stuttgart.example"})
    assert response.status_code == 429 and "Zu viele Anfragen" in response.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutgoingMail)) == 3


def test_a_reset_ends_the_login_lockout(app, client, auth, anna):
    app.config["PUBLIC_URL"] = "https://exchange.example"
    for _ in range(5):
        auth.login(password="wrong password!")
    assert auth.login(password=PASSWORD).status_code == 429
    token = _request_link(client)
    _set(client, token)
    assert auth.login(password=NEW).status_code == 302
