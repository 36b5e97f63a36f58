"""NUL characters in any input are refused with a 400 (PostgreSQL cannot store them)."""
import pytest

MESSAGE = "Die Anfrage enthält ein unzulässiges Steuerzeichen (NUL)."


@pytest.mark.parametrize("url", [
    "/staedte?q=%00", "/staedte?land=a%00", "/staedte/a%00b", "/themen/a%00b",
    "/staedte/stuttgart/interessen?thema=%00", "/erfahrungen?topic=%00",
])
def test_nul_in_url_is_400(client, auth, cdo_stuttgart, url):
    auth.login("cdo@stuttgart.example")
    response = client.get(url)
    assert response.status_code == 400
    assert MESSAGE in response.get_data(as_text=True)


def test_nul_in_form_is_400_and_changes_nothing(client, auth, anna):
    auth.login()
    response = client.post("/profil", data={"display_name": "Anna\x00", "locale": "de"})
    assert response.status_code == 400
    assert MESSAGE in response.get_data(as_text=True)
    assert anna.display_name == "Anna Schmid"


def test_nul_in_login_is_400(client, anna):
    response = client.post("/login", data={"email": "anna@stuttgart.example\x00",
                                           "password": "x"})
    assert response.status_code == 400


def test_nul_in_api_path_and_json_is_json_400(client, anna):
    from exchange.auth.services import create_token
    from exchange.extensions import db

    _token, clear = create_token(anna, "test")
    db.session.commit()
    headers = {"Authorization": f"Bearer {clear}"}
    response = client.get("/api/v1/cities/a%00b", headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == MESSAGE

    response = client.post("/api/v1/experiences", headers=headers,
                           json={"title": "Titel\u0000", "body": "Text"})
    assert response.status_code == 400
    assert response.get_json()["error"]["status"] == 400


def test_ordinary_input_passes(client, auth, anna):
    auth.login()
    assert client.get("/staedte?q=Stutt%C3%A4rt").status_code == 200
    response = client.post("/profil", data={"display_name": "Anna Schmid-Ö", "locale": "de"})
    assert response.status_code == 302
