"""A person downloads everything City Exchange stores about them (GDPR Art. 15/20) and
deletes their account (Art. 17)."""
import json

from conftest import PASSWORD, session_login

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


# --- deleting the own account ----------------------------------------------------------

def test_deleting_the_account_keeps_the_writing_and_removes_the_person(
        app, client, auth, anna, cdo_stuttgart, max_muenchen, make_experience):
    import sqlalchemy as sa

    from exchange.audit.models import AuditEvent
    from exchange.auth.models import ApiToken, User
    from exchange.auth.privacy import FORMER_MEMBER_EMAIL
    from exchange.auth.services import create_token
    from exchange.wiki.models import Experience

    experience = make_experience(anna, title="E-Akte im Bürgerbüro",
                                 contact_name="Anna Schmid",
                                 contact_email="anna@stuttgart.example")
    create_token(anna, "Intranet")
    db.session.commit()
    anna_id, experience_id = anna.id, experience.id
    auth.login("anna@stuttgart.example")
    other = session_login(app.test_client(), anna)  # a second browser of the same person
    page = client.get("/profil/loeschen").get_data(as_text=True)
    assert "ehemaliges Mitglied" in page and 'name="password"' in page

    wrong = client.post("/profil/loeschen", data={"password": "nicht mein Passwort"})
    assert wrong.status_code == 200 and "Das Passwort stimmt nicht." in wrong.text
    assert db.session.get(User, anna_id) is not None

    done = client.post("/profil/loeschen", data={"password": PASSWORD})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, anna_id) is None
    assert not db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == anna_id)).all()
    kept = db.session.get(Experience, experience_id)
    former = db.session.scalar(sa.select(User).where(User.email == FORMER_MEMBER_EMAIL))
    assert kept.current_revision.author_id == former.id and not former.is_active
    assert kept.contact_name is None and kept.contact_email is None
    events = db.session.scalars(sa.select(AuditEvent)).all()
    assert all(event.actor_id != anna_id for event in events)
    assert not any("Anna" in event.label for event in events)
    assert events[-1].action == "user.deleted" and events[-1].actor_id is None
    assert client.get("/profil").status_code == 302  # logged out
    assert other.get("/profil").status_code == 302


def test_the_last_admins_may_not_leave_their_city_or_platform_unattended(
        client, auth, anna, cdo_stuttgart, admin):
    auth.login("cdo@stuttgart.example")
    page = client.get("/profil/loeschen").get_data(as_text=True)
    assert "letzte Admin Ihrer Stadt" in page and 'name="password"' not in page
    answer = client.post("/profil/loeschen", data={"password": PASSWORD})
    assert answer.status_code == 200 and db.session.get(type(cdo_stuttgart), cdo_stuttgart.id)
    client.post("/logout")
    auth.login("admin@city-exchange.example")
    assert "letzte Plattform-Administration" in client.get("/profil/loeschen").text
