"""CSRF tokens rotate at login and logout and expire (WTF_CSRF_TIME_LIMIT, 8 hours by
default); a stale form sends the person back to the page with a German message."""
import re
import time

import pytest
from conftest import PASSWORD
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from exchange.extensions import db

TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
HOUR = 3600


@pytest.fixture
def app_config(app_config):
    app_config["WTF_CSRF_ENABLED"] = True  # as in production
    return app_config


def token_of(client, url="/login") -> str:
    return TOKEN.search(client.get(url).get_data(as_text=True)).group(1)


def token_signed_at(app, client, seconds_ago: int) -> str:
    """A token for this client's session as a page shown `seconds_ago` would carry it
    (Flask-WTF's own serializer, with the signing time moved back)."""
    class EarlierSigner(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - seconds_ago

    token_of(client, "/profil")  # makes sure the session holds a raw token
    with client.session_transaction() as session:
        raw = session["csrf_token"]
    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="wtf-csrf-token",
                                        signer=EarlierSigner)
    return serializer.dumps(raw)


def log_in(client, user):
    response = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                           "csrf_token": token_of(client)})
    assert response.status_code == 302
    return response


def save_profile(client, token, name="Anna Neu", **headers):
    return client.post("/profil", data={"display_name": name, "locale": "de",
                                        "csrf_token": token},
                       headers={"Referer": "http://localhost/profil", **headers})


def flashes(client) -> str:
    with client.session_transaction() as session:
        return " ".join(message for _category, message in session.get("_flashes", []))


def test_default_time_limit_is_eight_hours(app):
    assert app.config["WTF_CSRF_TIME_LIMIT"] == 8 * HOUR


def test_a_token_from_before_login_is_refused_after_it(client, anna):
    before = token_of(client)
    log_in(client, anna)
    response = save_profile(client, before)
    assert response.status_code == 303
    assert response.headers["Location"] == "/profil"
    assert "an- oder abgemeldet" in flashes(client)
    db.session.expire_all()
    assert anna.display_name == "Anna Schmid"  # nothing changed
    page = client.get("/profil").get_data(as_text=True)
    assert "Sie haben sich an- oder abgemeldet" in page  # the message, on the form page
    assert save_profile(client, TOKEN.search(page).group(1)).status_code == 302
    db.session.expire_all()
    assert anna.display_name == "Anna Neu"


def test_a_token_from_before_logout_is_refused_after_it(client, anna):
    log_in(client, anna)
    old = token_of(client, "/profil")
    client.post("/logout", data={"csrf_token": old})
    response = client.post("/login", data={"email": anna.email, "password": PASSWORD,
                                           "csrf_token": old},
                           headers={"Referer": "http://localhost/login"})
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert client.get("/profil").status_code == 302  # not logged in


def test_an_expired_form_is_shown_again_with_a_message(app, client, anna):
    log_in(client, anna)
    response = save_profile(client, token_signed_at(app, client, 8 * HOUR + 60))
    assert response.status_code == 303
    assert response.headers["Location"] == "/profil"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Das Formular war zu lange geöffnet" in page
    assert 'name="display_name"' in page and TOKEN.search(page)
    db.session.expire_all()
    assert anna.display_name == "Anna Schmid"


def test_a_form_younger_than_the_limit_is_accepted(app, client, anna):
    log_in(client, anna)
    assert save_profile(client, token_signed_at(app, client, 7 * HOUR)).status_code == 302
    db.session.expire_all()
    assert anna.display_name == "Anna Neu"


def test_time_limit_is_configurable(app_config, anna):
    from exchange import create_app

    short = create_app({**app_config, "WTF_CSRF_TIME_LIMIT": HOUR})
    client = short.test_client()
    with short.app_context():
        log_in(client, anna)
        assert save_profile(client, token_signed_at(short, client, 2 * HOUR)).status_code == 303


def test_without_a_referrer_the_form_page_is_its_own_url_or_the_dashboard(app, client, anna):
    log_in(client, anna)
    old = token_signed_at(app, client, 9 * HOUR)
    response = client.post("/profil", data={"display_name": "X", "locale": "de",
                                            "csrf_token": old})
    assert response.headers["Location"] == "/profil"
    # /profil/passwort answers POST only: back to the dashboard.
    response = client.post("/profil/passwort", data={"csrf_token": old})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    # A referrer from another site is not followed.
    response = client.post("/profil/passwort", data={"csrf_token": old},
                           headers={"Referer": "https://evil.example/profil"})
    assert response.headers["Location"] == "/"


def test_a_form_without_token_is_a_400_with_a_german_message(client, anna):
    log_in(client, anna)
    response = client.post("/profil", data={"display_name": "X", "locale": "de"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Das Formular konnte nicht überprüft werden (CSRF-Schutz" in page
    response = client.post("/profil", data={"display_name": "X", "locale": "de",
                                            "csrf_token": "gefälscht"})
    assert response.status_code == 400


def test_json_clients_get_a_json_error(app, client, anna):
    log_in(client, anna)
    response = save_profile(client, token_signed_at(app, client, 9 * HOUR),
                            Accept="application/json")
    assert response.status_code == 400
    assert response.json["error"]["status"] == 400
    assert "zu lange geöffnet" in response.json["error"]["message"]


def test_message_in_english(app, client, anna):
    client.get("/lang/en")
    log_in(client, anna)
    response = save_profile(client, token_signed_at(app, client, 9 * HOUR))
    assert response.status_code == 303
    assert "open for too long" in client.get("/profil").get_data(as_text=True)
