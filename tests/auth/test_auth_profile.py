"""Profile page: name, language, password change and personal API tokens."""
import re

import sqlalchemy as sa
from conftest import PASSWORD

from exchange.auth.models import ApiToken
from exchange.auth.services import authenticate, hash_token, user_for_token
from exchange.extensions import db

TOKEN_RE = re.compile(r'<code class="token">(cx_[A-Za-z0-9_-]+)</code>')


def _token_form(name: str) -> dict:
    """The new-token form as the browser sends it: a read token for 30 days."""
    from datetime import timedelta

    from exchange.auth.models import local_today
    from exchange.util import utcnow

    last_day = local_today(utcnow()) + timedelta(days=30)
    return {"name": name, "scope_read": "y", "last_day": last_day.isoformat()}


def test_profile_shows_account(client, auth, anna):
    auth.login()
    page = client.get("/profil").get_data(as_text=True)
    assert "Mein Profil" in page and "anna@stuttgart.example" in page
    assert "Persönliche API-Tokens" in page
    assert "Freigaben und Rollen verwalten" not in page  # staff have no approval queue
    # The placeholder is text, not a tag the browser would swallow.
    assert "Authorization: Bearer &lt;Token&gt;" in page


def test_change_name_and_language(client, auth, anna):
    auth.login()
    response = client.post("/profil", data={"display_name": "Anna S.", "locale": "en"})
    assert response.status_code == 302
    assert (anna.display_name, anna.locale) == ("Anna S.", "en")
    assert '<html lang="en">' in client.get("/profil").get_data(as_text=True)

    auth.logout()
    auth.login()  # the saved preference applies at the next login
    assert '<html lang="en">' in client.get("/profil").get_data(as_text=True)


def test_bad_profile_input_changes_nothing(client, auth, anna):
    auth.login()
    page = client.post("/profil", data={"display_name": "x" * 121, "locale": "de"}
                       ).get_data(as_text=True)
    assert "Höchstens 120 Zeichen" in page
    page = client.post("/profil", data={"display_name": "Anna", "locale": "fr"}
                       ).get_data(as_text=True)
    assert "Keine gültige Auswahl." in page
    assert (anna.display_name, anna.locale) == ("Anna Schmid", None)


def test_change_password_needs_current_password(client, auth, anna):
    auth.login()
    old_hash = anna.password_hash
    page = client.post("/profil/passwort", data={
        "current_password": "falsches passwort", "new_password": "neues Passwort 2026",
        "new_password_confirm": "neues Passwort 2026"}).get_data(as_text=True)
    assert "Das aktuelle Passwort ist falsch." in page
    assert anna.password_hash == old_hash

    page = client.post("/profil/passwort", data={
        "current_password": PASSWORD, "new_password": "kurz",
        "new_password_confirm": "kurz"}).get_data(as_text=True)
    assert "12 bis 200 Zeichen" in page
    assert anna.password_hash == old_hash

    response = client.post("/profil/passwort", data={
        "current_password": PASSWORD, "new_password": "neues Passwort 2026",
        "new_password_confirm": "neues Passwort 2026"})
    assert response.status_code == 302
    assert "neues Passwort 2026" not in anna.password_hash
    assert authenticate("anna@stuttgart.example", "neues Passwort 2026") is anna
    assert authenticate("anna@stuttgart.example", PASSWORD) is None


def test_token_is_shown_once_and_stored_hashed(client, auth, anna):
    auth.login()
    response = client.post("/profil/tokens", data=_token_form("Auswertung"))
    assert response.status_code == 200
    clear = TOKEN_RE.search(response.get_data(as_text=True)).group(1)

    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == anna.id))
    assert token.name == "Auswertung"
    assert token.token_hash == hash_token(clear) and clear not in token.token_hash
    assert clear.startswith(token.prefix)

    page = client.get("/profil").get_data(as_text=True)
    assert clear not in page  # only once
    assert token.prefix in page and "Auswertung" in page and "nie" in page


def test_token_authenticates_until_revoked(client, auth, anna):
    auth.login()
    clear = TOKEN_RE.search(client.post("/profil/tokens", data=_token_form("Skript"))
                            .get_data(as_text=True)).group(1)
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.name == "Skript"))
    auth.logout()

    bearer = {"Authorization": f"Bearer {clear}"}
    assert client.get("/profil", headers=bearer).status_code == 200
    assert user_for_token(clear) is anna
    assert token.last_used_at is not None
    assert client.get("/profil").status_code == 302  # the header is needed each time

    auth.login()
    assert client.post(f"/profil/tokens/{token.id}/widerrufen").status_code == 302
    assert token.revoked_at is not None
    assert "widerrufen am" in client.get("/profil").get_data(as_text=True)
    auth.logout()

    assert user_for_token(clear) is None
    assert client.get("/profil", headers=bearer).status_code == 302
    assert client.get("/profil", headers={"Authorization": "Bearer cx_erfunden"}
                      ).status_code == 302


def test_bad_token_names_are_form_errors(client, auth, anna):
    auth.login()
    assert "Bitte geben Sie dem Token einen Namen." in client.post(
        "/profil/tokens", data={"name": "  "}).get_data(as_text=True)
    assert "Höchstens 80 Zeichen" in client.post(
        "/profil/tokens", data={"name": "t" * 81}).get_data(as_text=True)
    client.post("/profil/tokens", data=_token_form("Skript"))
    page = client.post("/profil/tokens", data=_token_form("Skript")).get_data(as_text=True)
    assert "Sie haben schon einen Token mit diesem Namen." in page
    assert TOKEN_RE.search(page) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 1


def test_cannot_revoke_someone_elses_token(client, auth, anna, max_muenchen):
    from exchange.auth.services import create_token

    token, _clear = create_token(max_muenchen, "Max' Token")
    db.session.commit()
    auth.login()
    assert client.post(f"/profil/tokens/{token.id}/widerrufen").status_code == 404
    assert token.revoked_at is None


def test_profile_needs_login(client):
    assert client.get("/profil").status_code == 302
    assert client.post("/profil/tokens", data={"name": "x"}).status_code == 302


def test_huge_ids_in_urls_are_404(client, auth, anna, cdo_stuttgart):
    """An id beyond the database's integer range is an unknown row, not a server error."""
    auth.login("cdo@stuttgart.example")
    huge = "99999999999999999999"
    assert client.post(f"/profil/tokens/{huge}/widerrufen").status_code == 404
    for action in ("freigeben", "ablehnen", "rolle"):
        assert client.post(f"/freigaben/{huge}/{action}").status_code == 404


def test_token_use_is_recorded_once_a_minute_not_on_every_request(app, client, anna,
                                                                  token_for):
    """An API read must not be a database write: the use is recorded to the minute."""
    from datetime import timedelta

    from exchange.auth.services import TOKEN_USE_RESOLUTION

    clear = token_for(anna)
    bearer = {"Authorization": f"Bearer {clear}"}
    statements = []

    def count(_connection, _cursor, statement, *_args):
        statements.append(statement.split(None, 1)[0].upper())

    assert client.get("/api/v1/cities", headers=bearer).status_code == 200
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == anna.id))
    first_use = token.last_used_at
    assert first_use is not None
    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get("/api/v1/cities", headers=bearer).status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert "UPDATE" not in statements and "INSERT" not in statements
    db.session.refresh(token)
    assert token.last_used_at == first_use

    token.last_used_at = first_use - TOKEN_USE_RESOLUTION - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/api/v1/cities", headers=bearer).status_code == 200
    db.session.refresh(token)
    assert token.last_used_at > first_use - timedelta(seconds=1)
