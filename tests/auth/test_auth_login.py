"""Login, logout, redirects after login, language switch and CSRF on the login form."""
import re

import pytest
from conftest import PASSWORD


def test_login_page_is_german(client):
    response = client.get("/login")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="de">' in page
    assert "E-Mail-Adresse" in page and "Passwort" in page and "Anmelden" in page


def test_login_and_logout(client, auth, anna):
    response = auth.login()
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "anna@stuttgart.example" in client.get("/profil").get_data(as_text=True)

    response = auth.logout()
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert client.get("/profil").status_code == 302  # logged out: back to the login page


def test_logout_needs_post(client, auth, anna):
    auth.login()
    assert client.get("/logout").status_code == 405
    assert client.get("/profil").status_code == 200


@pytest.mark.parametrize("email, password", [
    ("anna@stuttgart.example", "wrong password!"),
    ("nobody@stuttgart.example", PASSWORD),
])
def test_wrong_credentials_get_one_generic_message(client, auth, anna, email, password):
    response = auth.login(email, password)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "E-Mail-Adresse oder Passwort ist falsch." in page
    assert client.get("/profil").status_code == 302


def test_email_is_case_insensitive(client, auth, anna):
    response = auth.login("  Anna@STUTTGART.example ", PASSWORD)
    assert response.status_code == 302
    assert client.get("/profil").status_code == 200


def test_unapproved_user_is_told_to_wait(client, auth, make_user, stuttgart):
    make_user("neu@stuttgart.example", city=stuttgart, is_approved=False)
    page = auth.login("neu@stuttgart.example", PASSWORD).get_data(as_text=True)
    assert "wartet noch auf die Freigabe" in page
    assert client.get("/profil").status_code == 302


def test_unapproved_user_with_wrong_password_gets_generic_message(auth, make_user, stuttgart):
    make_user("neu@stuttgart.example", city=stuttgart, is_approved=False)
    page = auth.login("neu@stuttgart.example", "falsches passwort").get_data(as_text=True)
    assert "E-Mail-Adresse oder Passwort ist falsch." in page
    assert "Freigabe" not in page


def test_login_redirects_to_local_next(client, anna):
    page = client.get("/login?next=/staedte").get_data(as_text=True)
    assert 'value="/staedte"' in page
    response = client.post("/login", data={"email": anna.email, "password": PASSWORD,
                                           "next": "/staedte?land=Bayern"})
    assert response.headers["Location"] == "/staedte?land=Bayern"


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)",
    "/\t/evil.example", "/\n/evil.example", "http:/evil.example",
])
def test_login_ignores_foreign_next(client, anna, target):
    response = client.post("/login", data={"email": anna.email, "password": PASSWORD,
                                           "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_protected_page_sends_anonymous_to_login(client):
    response = client.get("/staedte")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_over_long_login_input_is_a_form_error(client, anna):
    response = client.post("/login", data={"email": "a" * 300 + "@x.de", "password": "x"})
    assert response.status_code == 200
    assert client.get("/profil").status_code == 302


def test_english_after_language_switch(client, auth, anna, stuttgart, cdo_stuttgart):
    auth.login("cdo@stuttgart.example")
    page = client.post("/staedte/stuttgart/bearbeiten",
                       data={"population": "viele", "website": "", "profile": ""}
                       ).get_data(as_text=True)
    assert '<html lang="de">' in page
    assert "Keine gültige, ganze Zahl" in page

    response = client.get("/lang/en?next=/staedte")
    assert response.headers["Location"] == "/staedte"
    page = client.post("/staedte/stuttgart/bearbeiten",
                       data={"population": "viele", "website": "", "profile": ""}
                       ).get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Not a valid integer value" in page
    assert re.search(r"<strong>EN</strong>", page)


class TestCsrf:
    """With CSRF switched on (as in production) a form POST without token is refused."""

    @pytest.fixture
    def app_config(self, app_config):
        app_config["WTF_CSRF_ENABLED"] = True
        return app_config

    def test_post_without_token_is_refused(self, client, anna):
        response = client.post("/login", data={"email": anna.email, "password": PASSWORD})
        assert response.status_code == 400
        assert "CSRF" in response.get_data(as_text=True)
        assert client.get("/profil").status_code == 302

    def test_post_with_token_is_accepted(self, client, anna):
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        response = client.post("/login", data={"email": anna.email, "password": PASSWORD,
                                               "csrf_token": token})
        assert response.status_code == 302
        assert client.get("/profil").status_code == 200

    def test_city_edit_without_token_changes_nothing(self, client, stuttgart, cdo_stuttgart):
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        client.post("/login", data={"email": cdo_stuttgart.email, "password": PASSWORD,
                                    "csrf_token": token})
        response = client.post("/staedte/stuttgart/bearbeiten",
                               data={"profile": "Gekapert", "population": "1"})
        assert response.status_code == 400
        from exchange.extensions import db

        db.session.expire_all()
        assert stuttgart.profile != "Gekapert"
