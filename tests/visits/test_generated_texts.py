"""The agenda proposal's texts are message ids with parameters, shown in the reader's
language on the visit page, in the dossier, the .ics and the API (issue 10)."""
from datetime import datetime

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from exchange.extensions import db
from exchange.visits import services
from exchange.visits.models import AgendaSession

DEMO_PASSWORD = "exchange-demo"
GERMAN = {"welcome": "Begrüßung und Vorstellung der Delegationen", "break": "Mittagspause",
          "wrap_up": "Abschluss: Vereinbarungen und nächste Schritte",
          "web": "Digitaler Webauftritt: Erfahrungen aus München"}
ENGLISH = {"welcome": "Welcome and introduction of the delegations", "break": "Lunch break",
           "wrap_up": "Closing: agreements and next steps",
           # The topic is named in English too (Topic.name_en "Web presence").
           "web": "Web presence: experience from München"}


@pytest.fixture
def german_agenda(demo, april_visit, client, auth):
    """Stuttgart's planner, reading German, has the agenda proposed on the visit page."""
    planer = demo.user("planer@stuttgart.example")
    assert planer.locale in (None, "de")
    auth.login("planer@stuttgart.example", DEMO_PASSWORD)
    client.get("/lang/de")
    response = client.post(f"/besuche/{april_visit.id}/agenda/vorschlag", data={})
    assert response.status_code == 302
    auth.logout()
    db.session.expire_all()
    return april_visit


@pytest.fixture
def english_reader(demo, client, auth):
    """Munich's CDO, who reads English (the profile setting), logged in."""
    reader = demo.user("cdo@muenchen.example")
    reader.locale = "en"
    db.session.commit()
    auth.login("cdo@muenchen.example", DEMO_PASSWORD)
    return reader


def _session(visit, kind, topic=None) -> AgendaSession:
    return next(session for session in visit.sessions if session.kind == kind
                and (topic is None or [t.slug for t in session.topics] == [topic]))


def test_stored_as_message_ids_with_a_german_rendering(german_agenda):
    welcome = _session(german_agenda, "welcome")
    assert welcome.title == GERMAN["welcome"]
    assert welcome.generated["title"] == {"msgid": GERMAN["welcome"]}
    assert welcome.generated["description"] == [{
        "msgid": "%(host)s begrüßt die Delegation aus %(guest)s; Ziele des Besuchs.",
        "params": {"host": "München", "guest": "Stuttgart"}}]
    web = _session(german_agenda, "transfer_host_offers", "webauftritt")
    assert web.title == GERMAN["web"]
    # The topic is a reference, so its name follows the reader's language.
    topic = web.topics[0]
    assert web.generated["title"]["params"]["topic"] == {
        "topic": {"id": topic.id, "slug": "webauftritt", "name_de": "Digitaler Webauftritt"}}
    assert web.text("title", "en") == ENGLISH["web"]
    assert "Web presence" in web.text("description", "en")
    assert "Digitaler Webauftritt" in web.description
    assert _session(german_agenda, "break").text("title", "en") == ENGLISH["break"]


def test_visit_page_in_the_readers_language(german_agenda, english_reader, client, auth):
    page = client.get(f"/besuche/{german_agenda.id}").get_data(as_text=True)
    for text in ENGLISH.values():
        assert text in page
    assert "München welcomes the delegation from Stuttgart; goals of the visit." in page
    for text in GERMAN.values():
        assert text not in page
    # The same agenda in German for a German reader.
    auth.logout()
    auth.login("planer@stuttgart.example", DEMO_PASSWORD)
    client.get("/lang/de")
    page = client.get(f"/besuche/{german_agenda.id}").get_data(as_text=True)
    for text in GERMAN.values():
        assert text in page
    assert ENGLISH["break"] not in page


def test_dossier_in_the_readers_language(german_agenda, english_reader, client):
    page = client.get(f"/besuche/{german_agenda.id}/dossier").get_data(as_text=True)
    for text in ENGLISH.values():
        assert text in page
    assert "What do we take home?" in page
    for text in GERMAN.values():
        assert text not in page


def test_ics_in_the_readers_language(german_agenda, english_reader, client):
    response = client.get(f"/besuche/{german_agenda.id}.ics")
    assert response.status_code == 200
    events = Calendar.from_ical(response.data).walk("VEVENT")
    summaries = {str(event["SUMMARY"]): event for event in events}
    for text in ENGLISH.values():
        assert f"{text} (Gegenbesuch in München)" in summaries
    assert not any(text in summary for summary in summaries for text in GERMAN.values())
    web = summaries[f"{ENGLISH['web']} (Gegenbesuch in München)"]
    description = str(web["DESCRIPTION"])
    assert "Topics: Web presence" in description
    assert "Digitaler Webauftritt" not in description


def test_api_answers_in_the_callers_language(german_agenda, demo, app, token_for):
    # Anna has no language of her own: Accept-Language decides (a client without the
    # browser session, whose language choice would come first).
    token = token_for(demo.user("anna@stuttgart.example"))
    client = app.test_client()

    def agenda(language):
        response = client.get(f"/api/v1/visits/{german_agenda.id}", headers={
            "Authorization": f"Bearer {token}", "Accept-Language": language})
        assert response.status_code == 200
        return response.get_json()["agenda"]

    english = agenda("en")
    titles = {session["title"] for session in english}
    assert set(ENGLISH.values()) <= titles
    assert not set(GERMAN.values()) & titles
    web = next(s for s in english if s["title"] == ENGLISH["web"])
    assert web["generated"] == ["description", "title"]
    assert "Web presence" in web["description"]
    assert [topic["slug"] for topic in web["topics"]] == ["webauftritt"]
    assert set(GERMAN.values()) <= {session["title"] for session in agenda("de")}


def test_an_edited_title_stays_as_typed_in_both_languages(german_agenda, english_reader,
                                                          client, auth):
    web = _session(german_agenda, "transfer_host_offers", "webauftritt")
    session_id = web.id
    url = f"/besuche/{german_agenda.id}/sitzungen/{session_id}/bearbeiten"
    # The English editor sees the English rendering in the form ...
    form = client.get(url).get_data(as_text=True)
    assert f'value="{ENGLISH["web"]}"' in form
    data = {"title": "Rundgang muenchen.digital", "starts_at": "2027-04-20T10:00",
            "ends_at": "2027-04-20T10:45", "room": "", "kind": "transfer_host_offers",
            "description": web.text("description", "en"), "open_questions": "",
            "experiences": ""}
    assert client.post(url, data=data).status_code == 302
    db.session.expire_all()
    web = db.session.get(AgendaSession, session_id)
    # ... the typed title is plain text now; the description, given back unchanged
    # (in English), stays generated and German in its column.
    assert web.title == "Rundgang muenchen.digital"
    assert web.generated_fields() == ["description"]
    assert "Digitaler Webauftritt" in web.description
    page = client.get(f"/besuche/{german_agenda.id}").get_data(as_text=True)
    assert "Rundgang muenchen.digital" in page and ENGLISH["web"] not in page
    auth.logout()
    auth.login("planer@stuttgart.example", DEMO_PASSWORD)
    client.get("/lang/de")
    page = client.get(f"/besuche/{german_agenda.id}").get_data(as_text=True)
    assert "Rundgang muenchen.digital" in page and GERMAN["web"] not in page
    ics = client.get(f"/besuche/{german_agenda.id}.ics").get_data(as_text=True)
    assert "Rundgang muenchen.digital (Gegenbesuch in München)" in ics


def test_an_edited_description_is_the_persons_own(german_agenda, demo):
    planer = demo.user("planer@stuttgart.example")
    wrap_up = _session(german_agenda, "wrap_up")
    services.update_session(planer, wrap_up, description="Wir essen gemeinsam zu Abend.")
    db.session.commit()
    assert wrap_up.generated_fields() == ["title"]
    for language in ("de", "en"):
        assert wrap_up.text("description", language) == "Wir essen gemeinsam zu Abend."
    assert wrap_up.text("title", "en") == ENGLISH["wrap_up"]
    # The German title given back as it was shown keeps it generated.
    services.update_session(planer, wrap_up, title=GERMAN["wrap_up"])
    assert wrap_up.generated_fields() == ["title"]


def test_a_deleted_topic_keeps_its_german_name(german_agenda, demo):
    """A topic reference that no longer names the topic shows the name it had."""
    web = _session(german_agenda, "transfer_host_offers", "webauftritt")
    stored = web.generated["title"]
    web.generated = {"title": {**stored, "params": {**stored["params"], "topic": {
        "topic": {"id": 2**31 - 1, "slug": "gone", "name_de": "Alter Name"}}}}}
    db.session.commit()
    assert web.text("title", "en") == "Alter Name: experience from München"


@pytest.mark.parametrize("damaged", [
    {"title": {"msgid": "%(topic)s: Erfahrungen aus %(city)s", "params": "kaputt"}},
    {"title": {"msgid": "%(topic)s: Erfahrungen aus %(city)s", "params": {"topic": 5}},
     "description": [["Text", {"msgid": 7}], {"topic": "x"}]},
    {"title": ["nicht", {"list": 3}], "description": {"params": {}}},
    {"title": None, "description": {"msgid": "Mittagspause", "params": {"x": {"topic": 4}}}},
])
def test_damaged_stored_texts_never_fail_a_page(german_agenda, english_reader, client,
                                                damaged):
    """Bad stored data (an import, a hand edit) shows what it can, never a 500."""
    session = _session(german_agenda, "break")
    db.session.execute(sa.update(AgendaSession).where(AgendaSession.id == session.id)
                       .values(generated=damaged))
    db.session.commit()
    for path in ("", "/dossier", ".ics"):
        assert client.get(f"/besuche/{german_agenda.id}{path}").status_code == 200
    assert client.get(f"/api/v1/visits/{german_agenda.id}").status_code == 200


def test_planners_own_sessions_are_shown_as_typed(demo, april_visit):
    planer = demo.user("planer@stuttgart.example")
    session = services.add_session(planer, april_visit, title="Mittagspause",
                                   starts_at=datetime(2027, 4, 20, 12),
                                   ends_at=datetime(2027, 4, 20, 13))
    db.session.commit()
    assert session.generated is None
    assert session.text("title", "en") == "Mittagspause"
