"""API tokens: read tokens read, write tokens write, expired and revoked tokens are refused."""
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from exchange.auth.models import ApiToken
from exchange.auth.services import create_token, revoke_token
from exchange.extensions import db
from exchange.util import utcnow
from exchange.wiki.models import Experience

NEW_EXPERIENCE = {"title": "E-Akte im Bürgerbüro", "body": "Erste Fassung", "status": "draft"}


@pytest.fixture
def bearer(app):
    """Authorization headers for a new token of `user` with `scopes`."""
    def make(user, scopes=("read",), name="Skript"):
        _token, clear = create_token(user, name, scopes=scopes)
        db.session.commit()
        return {"Authorization": f"Bearer {clear}"}

    return make


def _experiences() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Experience))


def test_a_read_token_reads_but_may_not_write(client, bearer, anna):
    headers = bearer(anna, ("read",))
    assert client.get("/api/v1/cities", headers=headers).status_code == 200
    assert client.head("/api/v1/experiences", headers=headers).status_code == 200

    response = client.post("/api/v1/experiences", json=NEW_EXPERIENCE, headers=headers)
    assert response.status_code == 403
    # A problem document (api/problems.py) keeping the older `error` member, with a
    # message that says why.
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["error"] == {"status": 403, "message": "Dieser Token darf nur lesen."}
    assert body["type"] == "/api/v1/problems/token-read-only" and body["status"] == 403
    assert body["detail"] == "Dieser Token darf nur lesen."
    assert _experiences() == 0

    english = client.post("/api/v1/experiences", json=NEW_EXPERIENCE,
                          headers={**headers, "Accept-Language": "en"})
    assert english.get_json()["error"]["message"] == "This token may only read."
    assert english.get_json()["detail"] == "This token may only read."


def test_a_write_token_writes(client, bearer, anna):
    headers = bearer(anna, ("write",))
    token = db.session.scalar(sa.select(ApiToken))
    assert token.scopes == "read write"  # write implies read
    assert client.get("/api/v1/experiences", headers=headers).status_code == 200
    response = client.post("/api/v1/experiences", json=NEW_EXPERIENCE, headers=headers)
    assert response.status_code == 201, response.get_json()
    assert _experiences() == 1


def _write_routes(app):
    """Every (method, URL) under /api/v1 that writes, with made-up ids and slugs."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        url = re.sub(r"<[^>]+>", "x", re.sub(r"<int[^>]*>", "1", rule.rule))
        for method in sorted(rule.methods - {"GET", "HEAD", "OPTIONS"}):
            routes.append((method, url))
    return routes


def test_no_write_route_of_the_api_accepts_a_read_token(app, client, bearer, cdo_stuttgart):
    """Scopes are checked when the token is read, before any view: a new endpoint
    cannot forget it."""
    headers = bearer(cdo_stuttgart, ("read",))
    routes = _write_routes(app)
    assert ("POST", "/api/v1/experiences") in routes and ("DELETE",
            "/api/v1/visits/1/sessions/1") in routes
    for method, url in routes:
        response = client.open(url, method=method, json={}, headers=headers)
        assert response.status_code == 403, (method, url, response.get_data(as_text=True))
        assert response.get_json()["error"]["message"] == "Dieser Token darf nur lesen."


def test_a_read_token_writes_through_no_form_either(client, bearer, anna):
    """The token logs nobody in for a write anywhere, so the HTML forms are closed too."""
    headers = bearer(anna, ("read",))
    assert client.get("/profil", headers=headers).status_code == 200
    response = client.post("/profil", data={"display_name": "Geändert", "locale": "de"},
                           headers=headers)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    db.session.expire_all()
    assert anna.display_name == "Anna Schmid"


def test_an_expired_token_gets_401(client, bearer, anna):
    headers = bearer(anna, ("read", "write"))
    token = db.session.scalar(sa.select(ApiToken))
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    for response in (client.get("/api/v1/cities", headers=headers),
                     client.post("/api/v1/experiences", json=NEW_EXPERIENCE, headers=headers)):
        assert response.status_code == 401
        assert response.get_json()["error"] == {
            "status": 401,
            "message": "Dieser Token ist abgelaufen. Bitte erstellen Sie im Profil einen neuen."}
        assert response.get_json()["type"] == "/api/v1/problems/token-expired"
    assert _experiences() == 0
    # Just before its expiry it still works.
    token.expires_at = utcnow() + timedelta(minutes=1)
    db.session.commit()
    assert client.get("/api/v1/cities", headers=headers).status_code == 200


def test_a_revoked_token_gets_401_and_an_unknown_one_the_general_answer(client, bearer, anna):
    headers = bearer(anna, ("read",))
    revoke_token(db.session.scalar(sa.select(ApiToken)))
    db.session.commit()
    response = client.get("/api/v1/cities", headers=headers)
    assert response.status_code == 401
    assert "widerrufen" in response.get_json()["error"]["message"]

    unknown = client.get("/api/v1/cities", headers={"Authorization": "Bearer cx_erfunden",
                                                     "Accept-Language": "en"})
    assert unknown.status_code == 401
    assert "authentication required" in unknown.get_json()["error"]["message"]
    assert unknown.get_json()["type"] == "/api/v1/problems/authentication-required"


def test_expired_and_read_only_refusals_do_not_lock_the_address(app, client, bearer, anna):
    """Only guesses count towards the token throttle; a script with an expired or a
    read-only token must not lock out everyone behind the same address."""
    from exchange.auth.throttle import login_throttle

    expired = bearer(anna, ("read",), name="alt")
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.name == "alt"))
    token.expires_at = utcnow() - timedelta(days=1)
    db.session.commit()
    reader = bearer(anna, ("read",), name="lesen")
    for _ in range(30):
        client.get("/api/v1/cities", headers=expired)
        client.post("/api/v1/experiences", json=NEW_EXPERIENCE, headers=reader)
    assert login_throttle().locked_until("token_address", "127.0.0.1") is None
    assert client.get("/api/v1/cities", headers=reader).status_code == 200


def test_browser_sessions_are_not_affected(client, auth, anna):
    auth.login()
    response = client.post("/api/v1/experiences", json=NEW_EXPERIENCE)
    assert response.status_code == 201
