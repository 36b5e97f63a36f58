"""A person downloads everything City Exchange stores about them (GDPR Art. 15/20)."""
import json

from exchange.extensions import db


def test_the_download_holds_the_persons_data_and_no_secrets(client, login, anna,
                                                            max_muenchen, make_experience):
    from exchange.auth.services import create_token

    make_experience(anna, title="E-Akte im Bürgerbüro")
    make_experience(max_muenchen, title="Münchner Bericht")
    token, clear = create_token(anna, "Intranet")
    db.session.commit()
    login(anna)
    answer = client.get("/profil/daten.json")
    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"].startswith("attachment; filename=")
    assert answer.headers["Cache-Control"] == "no-store"
    data = json.loads(answer.data)
    assert data["account"]["email"] == "anna@stuttgart.example"
    assert data["account"]["city"] == "stuttgart"
    assert [revision["title"] for revision in data["revisions"]] == ["E-Akte im Bürgerbüro"]
    assert [t["name"] for t in data["api_tokens"]] == ["Intranet"]
    assert data["login_sessions"]  # this browser's login
    assert "user.registered" in [event["action"] for event in data["audit_events"]]
    text = answer.get_data(as_text=True)
    assert clear not in text and token.token_hash not in text
    assert anna.password_hash not in text and "Münchner Bericht" not in text
    assert "profil/daten.json" in client.get("/profil").get_data(as_text=True)


def test_the_download_needs_a_login(client):
    assert client.get("/profil/daten.json").status_code == 302
