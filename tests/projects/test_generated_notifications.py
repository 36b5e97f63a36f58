"""Notifications are stored as message ids with parameters: the inbox and the API show
them in the reader's language of the day; the e-mail stays in the recipient's (issue 10)."""
import pytest
import sqlalchemy as sa

from exchange.extensions import db
from exchange.projects import services
from exchange.projects.models import Notification, OutgoingMail

INVITATION_DE = "Einladung zum gemeinsamen Projekt „Gemeinsame eAkte-Einführung“"
INVITATION_EN = "Invitation to the joint project “Gemeinsame eAkte-Einführung”"


@pytest.fixture
def german_admin(cdo_muenchen):
    """Munich's CDO reads German (the profile setting) when the invitation comes."""
    cdo_muenchen.locale = "de"
    db.session.commit()
    return cdo_muenchen


def _inbox(client) -> str:
    response = client.get("/postfach")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_inbox_follows_the_readers_language(german_admin, proposal, client, login):
    note = db.session.scalar(sa.select(Notification).where(
        Notification.user_id == german_admin.id, Notification.kind == "invitation"))
    assert note.title == INVITATION_DE  # the German rendering, for search and export
    assert note.generated["title"] == {
        "msgid": "Einladung zum gemeinsamen Projekt „%(title)s“",
        "params": {"title": "Gemeinsame eAkte-Einführung"}}
    login(german_admin)
    assert INVITATION_DE in _inbox(client)

    # The person switches to English in the profile: the same notification is English.
    response = client.post("/profil", data={"display_name": german_admin.display_name,
                                            "locale": "en", "submit": "Speichern"})
    assert response.status_code in (200, 302, 303)
    db.session.expire_all()
    assert db.session.get(type(german_admin), german_admin.id).locale == "en"
    inbox = _inbox(client)
    assert INVITATION_EN in inbox and INVITATION_DE not in inbox
    assert "Stuttgart invites München to the joint project" in inbox
    # The e-mail was written once, when it was sent, in the language of that day.
    mail = db.session.scalar(sa.select(OutgoingMail).where(
        OutgoingMail.recipient == german_admin.email))
    assert mail.subject == f"[City Exchange] {INVITATION_DE}"
    assert "lädt München zum gemeinsamen Projekt" in mail.body


def test_state_labels_are_translated_and_answers_stay_as_written(
        proposal, cdo_stuttgart, cdo_muenchen, app, client, login, token_for):
    services.respond(cdo_muenchen, proposal, True, "Gerne, ab Januar.")
    db.session.commit()
    titles = set(db.session.scalars(sa.select(Notification.title).where(
        Notification.user_id == cdo_stuttgart.id)))
    assert "Projekt „Gemeinsame eAkte-Einführung“ ist jetzt im Zustand „Aktiv“" in titles
    login(cdo_stuttgart)
    client.get("/lang/en")
    inbox = _inbox(client)
    assert "Project “Gemeinsame eAkte-Einführung” is now in the state “Active”" in inbox
    assert "München has accepted the invitation to “Gemeinsame eAkte-Einführung”" in inbox
    assert "Gerne, ab Januar." in inbox  # the answer is the person's own text

    token = token_for(cdo_stuttgart)
    api = app.test_client()  # no browser session: Accept-Language decides
    for language, state in (("en", "now in the state “Active”"), ("de", "jetzt im Zustand „Aktiv“")):
        notes = api.get("/api/v1/notifications", headers={
            "Authorization": f"Bearer {token}", "Accept-Language": language}).get_json()
        by_kind = {note["kind"]: note for note in notes["notifications"]}
        assert by_kind["state"]["title"].endswith(state)
        assert by_kind["answer"]["body"] == "Gerne, ab Januar."


def test_plain_text_notifications_are_shown_as_written(cdo_stuttgart, client, login):
    note = services.notify(cdo_stuttgart, "state", "Wartung am Sonntag", "/", body="Kurz.")
    db.session.commit()
    assert note.generated is None
    login(cdo_stuttgart)
    client.get("/lang/en")
    inbox = _inbox(client)
    assert "Wartung am Sonntag" in inbox and "Kurz." in inbox
