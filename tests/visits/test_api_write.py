"""The visits write API: create, edit, propose the agenda, sessions and members.

Every refused request is checked for its status, its German field message and for
storing nothing (row counts and stored values unchanged).
"""
from datetime import datetime

import pytest
import sqlalchemy as sa

from conftest import PASSWORD
from exchange.extensions import db
from exchange.visits import services
from exchange.visits.models import AgendaSession, Visit, VisitMember

TABLES = (Visit, VisitMember, AgendaSession)
#: A request without a body that still says JSON (session-authenticated writes must).
JSON = {"Content-Type": "application/json"}


def counts():
    return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(model))
                 for model in TABLES)


def _body(**fields):
    body = {"title": "Gegenbesuch in München", "host_city": "muenchen",
            "visiting_city": "stuttgart", "starts_at": "2027-04-20T09:30:00+02:00",
            "ends_at": "2027-04-21T15:00", "place": "Rathaus München", "status": "planned",
            "topics": ["innovation-center"], "notes": "Ziele",
            "members": [{"user": "anna@stuttgart.example", "role": "Projektleitung"},
                        {"guest_name": "Jürgen Weiß", "role": "Bürgermeister",
                         "organisation": "Landeshauptstadt Stuttgart"}]}
    body.update(fields)
    return {key: value for key, value in body.items() if value is not ...}


@pytest.fixture
def topics(make_topic):
    return make_topic("innovation-center", "Innovation-Center"), make_topic("eakte", "eAkte")


@pytest.fixture
def planner(client, auth, planer_stuttgart, anna, topics):
    """Stuttgart's planner, logged in."""
    auth.login("planer@stuttgart.example", PASSWORD)
    return planer_stuttgart


def test_create_gives_201_with_location(client, planner, muenchen):
    response = client.post("/api/v1/visits", json=_body())
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/visits/{data['id']}")
    assert client.get(response.headers["Location"]).get_json() == data
    assert data["starts_at"] == "2027-04-20T09:30:00+02:00"
    assert data["ends_at"] == "2027-04-21T15:00:00+02:00"
    assert (data["host_city"]["slug"], data["visiting_city"]["slug"]) == ("muenchen",
                                                                          "stuttgart")
    assert [t["slug"] for t in data["topics"]] == ["innovation-center"]
    assert {(m["name"], m["external"]) for m in data["members"]} == {
        ("Anna Schmid", False), ("Jürgen Weiß", True)}
    visit = db.session.get(Visit, data["id"])
    assert visit.created_by == planner and visit.starts_at == datetime(2027, 4, 20, 9, 30)


@pytest.mark.parametrize("fields, field, message", [
    ({"title": ""}, "title", "Bitte geben Sie einen Titel ein"),
    ({"title": ...}, "title", "Bitte geben Sie einen Titel ein"),
    ({"title": 42}, "title", "muss ein Text sein"),
    ({"title": "T" * 201}, "title", "höchstens 200 Zeichen"),
    ({"host_city": "stuttgart"}, "visiting_city", "nicht selbst besuchen"),
    ({"host_city": "atlantis"}, "host_city", "Unbekannte Stadt „atlantis“"),
    ({"host_city": 2**40}, "host_city", "Unbekannte Stadt"),
    ({"starts_at": "morgen"}, "starts_at", "kein gültiges Datum"),
    ({"ends_at": "2027-04-20T09:00"}, "ends_at", "Ende muss nach dem Beginn"),
    ({"ends_at": None}, "ends_at", "Bitte geben Sie Datum und Uhrzeit an"),
    ({"status": "vielleicht"}, "status", "Ungültiger Wert „vielleicht“"),
    ({"topics": ["innovation-center", "gibt-es-nicht"]}, "topics", "gibt-es-nicht"),
    ({"topics": "eakte"}, "topics", "Liste"),
    ({"members": "anna@stuttgart.example"}, "members", "Liste"),
    ({"members": [{"guest_name": "Gast"}, {"user": "niemand@stuttgart.example"}]},
     "members-1", "Unbekanntes Delegationsmitglied „niemand@stuttgart.example“"),
    ({"members": [{"role": "ohne Namen"}]}, "members-0", "externen Gastes"),
    ({"members": [{"guest_name": "Gast", "side": "beide"}]}, "members-0", "Ungültige Seite"),
    ({"members": [{"guest_name": "Gast", "telefon": "0711"}]}, "members-0", "telefon"),
    ({"members": ["Gast"]}, "members-0", "guest_name"),
    ({"members": [{"user": "anna@stuttgart.example"}, {"user": "ANNA@stuttgart.example"}]},
     "members-1", "gehört schon zur Delegation"),
    ({"delegation": "anna@stuttgart.example"}, "delegation", "unbekanntes Feld"),
])
def test_create_rejects_bad_input_with_field_messages(client, planner, muenchen, fields, field,
                                                      message):
    before = counts()
    response = client.post("/api/v1/visits", json=_body(**fields))
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert message in error["errors"][field], error
    assert counts() == before


def test_create_needs_a_planner_of_one_of_the_cities(client, auth, anna, stuttgart, muenchen,
                                                     make_city, make_user, topics):
    ulm = make_city("ulm", "Ulm")
    make_user("planer@ulm.example", city=ulm, role="visit_planner")
    for email in ("anna@stuttgart.example", "planer@ulm.example"):
        auth.login(email, PASSWORD)
        response = client.post("/api/v1/visits", json=_body(members=[]))
        assert response.status_code == 403, email
        assert "Besuchsplaner" in response.get_json()["error"]["message"]
        # Staff learn nothing from validation either: 403 before 422.
        assert client.post("/api/v1/visits", json={}).status_code == (
            403 if email.startswith("anna") else 422)
        auth.logout()
    assert counts() == (0, 0, 0)


def test_create_needs_json_and_login(client, auth, planner, muenchen):
    assert client.post("/api/v1/visits", data={"title": "x"}).status_code == 415
    assert client.post("/api/v1/visits", json=["x"]).status_code == 400
    auth.logout()
    assert client.post("/api/v1/visits", json=_body()).status_code == 401
    assert counts() == (0, 0, 0)


def test_token_clients_write_too(client, planer_stuttgart, muenchen, anna, topics):
    from exchange.auth.services import create_token

    _token, clear = create_token(planer_stuttgart, "Skript")
    db.session.commit()
    response = client.post("/api/v1/visits", json=_body(),
                           headers={"Authorization": f"Bearer {clear}"})
    assert response.status_code == 201


@pytest.fixture
def april(planer_stuttgart, muenchen, stuttgart, make_visit):
    visit = make_visit(planer_stuttgart, muenchen, stuttgart, notes="Bleibt",
                       members=[{"user": "planer@stuttgart.example"}])
    services.add_session(planer_stuttgart, visit, title="Begrüßung",
                         starts_at=datetime(2027, 4, 20, 9, 30),
                         ends_at=datetime(2027, 4, 20, 10, 0), kind="welcome")
    db.session.commit()
    return visit


def _stored(visit_id):
    db.session.expire_all()
    visit = db.session.get(Visit, visit_id)
    return (visit.title, visit.status, visit.starts_at, visit.ends_at, visit.notes,
            visit.outcomes, [t.slug for t in visit.topics], visit.host_city.slug)


def test_put_changes_the_given_fields_and_keeps_the_others(client, planner, april):
    response = client.put(f"/api/v1/visits/{april.id}", json={
        "title": "Gegenbesuch", "status": "confirmed", "topics": ["eakte"],
        "outcomes": "- Workshop im Mai"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "confirmed"
    assert _stored(april.id) == ("Gegenbesuch", "confirmed", datetime(2027, 4, 20, 9, 30),
                                 datetime(2027, 4, 21, 16, 0), "Bleibt", "- Workshop im Mai",
                                 ["eakte"], "muenchen")


@pytest.mark.parametrize("fields, field, message", [
    ({"starts_at": "2027-04-20T10:00"}, "starts_at", "Begrüßung"),
    ({"visiting_city": "muenchen"}, "visiting_city", "nicht selbst besuchen"),
    ({"title": "Neu", "ends_at": "2027-04-19T10:00"}, "ends_at", "Ende muss nach dem Beginn"),
    ({"title": "Neu", "notes": ["x"]}, "notes", "muss ein Text sein"),
    ({"title": "Neu", "members": []}, "members", "unbekanntes Feld"),
])
def test_put_rejects_bad_input_and_keeps_the_visit(client, planner, april, fields, field,
                                                   message):
    before, stored = counts(), _stored(april.id)
    response = client.put(f"/api/v1/visits/{april.id}", json=fields)
    assert response.status_code == 422, response.get_json()
    assert message in response.get_json()["error"]["errors"][field]
    assert counts() == before and _stored(april.id) == stored


def test_writes_refused_for_people_who_may_not_plan_the_visit(client, auth, april, anna,
                                                               make_city, make_user):
    ulm = make_city("ulm", "Ulm")
    make_user("planer@ulm.example", city=ulm, role="visit_planner")
    session = april.sessions[0]
    base = f"/api/v1/visits/{april.id}"
    for email in ("anna@stuttgart.example", "planer@ulm.example"):
        auth.login(email, PASSWORD)
        before, stored = counts(), _stored(april.id)
        for method, url, body in (
                ("put", base, {"title": "Übernommen"}),
                ("put", base, {"title": ""}),
                ("post", f"{base}/agenda/propose", {"replace": True}),
                ("post", f"{base}/sessions", {"title": "Extra", "starts_at": "2027-04-20T11:00",
                                              "ends_at": "2027-04-20T12:00"}),
                ("put", f"{base}/sessions/{session.id}", {"title": "Weg"}),
                ("delete", f"{base}/sessions/{session.id}", None),
                ("post", f"{base}/members", {"guest_name": "Eindringling"})):
            response = getattr(client, method)(url, json=body, headers=JSON)
            assert response.status_code == 403, (email, method, url)
        assert counts() == before and _stored(april.id) == stored
        auth.logout()


def test_missing_visits_and_sessions_are_404(client, planner, april, make_visit, muenchen,
                                             stuttgart):
    other = make_visit(planner, stuttgart, muenchen, title="Anderer Besuch")
    session = april.sessions[0]
    for method, url in (("put", "/api/v1/visits/999999"),
                        ("put", f"/api/v1/visits/{other.id}/sessions/{session.id}"),
                        ("delete", f"/api/v1/visits/{other.id}/sessions/{session.id}"),
                        ("put", f"/api/v1/visits/{april.id}/sessions/999999"),
                        ("post", "/api/v1/visits/999999/members"),
                        ("post", "/api/v1/visits/999999/agenda/propose")):
        assert getattr(client, method)(url, json={"title": "x"}).status_code == 404, url
    assert len(db.session.get(Visit, april.id).sessions) == 1


def test_sessions_add_edit_delete(client, planner, april, topics):
    base = f"/api/v1/visits/{april.id}"
    response = client.post(f"{base}/sessions", json={
        "title": "Innovation-Center", "starts_at": "2027-04-20T10:00+02:00",
        "ends_at": "2027-04-20T11:00", "room": "Labor", "kind": "transfer_host_offers",
        "topics": ["innovation-center"], "open_questions": "Wie fangen wir an?"})
    assert response.status_code == 201, response.get_json()
    assert response.headers["Location"].endswith(base)
    data = response.get_json()
    assert (data["position"], data["starts_at"], data["room"]) == (
        2, "2027-04-20T10:00:00+02:00", "Labor")
    session_id = data["id"]

    response = client.put(f"{base}/sessions/{session_id}",
                          json={"room": "Saal 2", "kind": "joint"})
    assert response.status_code == 200
    assert (response.get_json()["room"], response.get_json()["title"]) == (
        "Saal 2", "Innovation-Center")

    response = client.delete(f"{base}/sessions/{april.sessions[0].id}", headers=JSON)
    assert response.status_code == 204
    agenda = client.get(base).get_json()["agenda"]
    assert [(s["id"], s["position"]) for s in agenda] == [(session_id, 1)]


@pytest.mark.parametrize("fields, field, message", [
    ({"starts_at": "2027-04-22T10:00", "ends_at": "2027-04-22T11:00"}, "starts_at",
     "außerhalb des Besuchs"),
    ({"ends_at": "2027-04-20T09:00"}, "ends_at", "Ende muss nach dem Beginn"),
    ({"kind": "party"}, "kind", "Ungültiger Wert „party“"),
    ({"experiences": ["gibt-es-nicht"]}, "experiences", "gibt-es-nicht"),
    ({"experiences": "gibt-es-nicht"}, "experiences", "Liste"),
    ({"title": None}, "title", "Bitte geben Sie einen Titel ein"),
    ({"position": 3}, "position", "unbekanntes Feld"),
])
def test_session_bad_input_stores_nothing(client, planner, april, fields, field, message):
    base = f"/api/v1/visits/{april.id}"
    session = april.sessions[0]
    good = {"title": "Neu", "starts_at": "2027-04-20T10:00", "ends_at": "2027-04-20T11:00"}

    def stored():
        db.session.expire_all()
        return [(s.id, s.title, s.starts_at, s.ends_at, s.kind, s.position)
                for s in db.session.get(Visit, april.id).sessions]

    before, agenda = counts(), stored()
    response = client.post(f"{base}/sessions", json={**good, **fields})
    assert response.status_code == 422
    assert message in response.get_json()["error"]["errors"][field]
    response = client.put(f"{base}/sessions/{session.id}", json=fields)
    assert response.status_code == 422
    assert message in response.get_json()["error"]["errors"][field]
    assert counts() == before and stored() == agenda


def test_members(client, planner, april, max_muenchen):
    url = f"/api/v1/visits/{april.id}/members"
    response = client.post(url, json={"user": "max@muenchen.example", "role": "Gastgeber",
                                      "side": "host"})
    assert response.status_code == 201, response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/visits/{april.id}")
    assert (response.get_json()["city"], response.get_json()["external"]) == ("muenchen", False)
    response = client.post(url, json={"guest_name": "Jürgen Weiß", "role": "Bürgermeister"})
    assert response.status_code == 201 and response.get_json()["external"] is True
    before = counts()
    for body, message in (({"user": "max@muenchen.example"}, "gehört schon zur Delegation"),
                          ({"user": "keiner@example.org"}, "Unbekanntes Delegationsmitglied"),
                          ({"role": "ohne Namen"}, "externen Gastes"),
                          ({"guest_name": "X" * 121}, "höchstens 120 Zeichen"),
                          ({"guest_name": "Gast", "email": "x@y"}, "email")):
        response = client.post(url, json=body)
        assert response.status_code == 422, body
        assert message in response.get_json()["error"]["errors"]["member"], body
    assert counts() == before


def test_propose_agenda_replaces_only_when_asked(client, auth, demo):
    auth.login("planer@stuttgart.example", "exchange-demo")
    response = client.post("/api/v1/visits", json=_body(members=[]))
    assert response.status_code == 201
    base = response.headers["Location"]

    response = client.post(f"{base}/agenda/propose", json={})
    assert response.status_code == 200, response.get_json()
    agenda = response.get_json()["agenda"]
    titles = [s["title"] for s in agenda]
    assert "Innovation-Center: Erfahrungen aus München" in titles
    assert agenda[0]["kind"] == "welcome" and agenda[-1]["kind"] == "wrap_up"

    # The planner changes it; a second proposal without "replace" keeps that work.
    first = agenda[1]["id"]
    client.put(f"{base}/sessions/{first}", json={"room": "Eigener Raum"})
    before = counts()
    for body in ({}, {"replace": False}, None):
        response = client.post(f"{base}/agenda/propose", json=body, headers=JSON)
        assert response.status_code == 409, body
        assert "ersetzen" in response.get_json()["error"]["message"]
    response = client.post(f"{base}/agenda/propose", json={"replace": "ja"})
    assert response.status_code == 422
    assert counts() == before
    assert client.get(base).get_json()["agenda"] == [
        {**s, "room": "Eigener Raum"} if s["id"] == first else s for s in agenda]

    response = client.post(f"{base}/agenda/propose", json={"replace": True})
    assert response.status_code == 200
    replaced = response.get_json()["agenda"]
    assert [s["title"] for s in replaced] == titles
    assert "Eigener Raum" not in {s["room"] for s in replaced}
