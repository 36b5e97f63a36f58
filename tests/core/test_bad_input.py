"""Bad input of each class the hardening review found: a clear 4xx, never a 5xx, and
nothing stored.

Classes: JSON nested deeper than the guard's limit or Python's recursion limit (on any
path, also anonymous), lone UTF-16 surrogates in JSON strings, form fields and query
arguments, JSON sent to HTML form pages, visit and session times at the edges of what
datetime can hold, `"topics": null`, and line breaks or control characters in one-line
fields (titles, names, places). The generated search over every endpoint is
tests/api/test_fuzz.py.
"""
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from conftest import PASSWORD
from exchange.core.guard import MAX_JSON_DEPTH, json_problem
from exchange.extensions import db
from exchange.projects.models import Project
from exchange.visits.models import AgendaSession, Visit
from exchange.visits.timeutil import days_between
from exchange.wiki.models import Experience

JSON = {"Content-Type": "application/json"}


def post_json(client, api, user, path: str, text: str):
    """POST the JSON text `text` as `user` (with a bearer token)."""
    return client.post(path, data=text, headers={**JSON, **api(user).headers})


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def deep(depth: int, kind: str = "list") -> str:
    """A JSON text nested `depth` levels (json.dumps would recurse on such a value)."""
    if kind == "list":
        return "[" * depth + "]" * depth
    return '{"a": ' * depth + "1" + "}" * depth


@pytest.fixture
def eakte(make_topic):
    return make_topic("eakte", "eAkte")


@pytest.fixture
def planner(make_user, stuttgart):
    return make_user("planer@stuttgart.example", city=stuttgart, role="visit_planner",
                     display_name="Petra Planer")


@pytest.fixture
def visit(planner, muenchen, stuttgart, eakte):
    from exchange.visits.services import add_session, create_visit

    visit = create_visit(planner, title="Gegenbesuch in München", host_city=muenchen,
                         visiting_city=stuttgart, starts_at=datetime(2027, 4, 20, 9, 30),
                         ends_at=datetime(2027, 4, 21, 16, 0), topics=[eakte])
    add_session(planner, visit, title="eAkte", starts_at=datetime(2027, 4, 20, 10, 0),
                ends_at=datetime(2027, 4, 20, 11, 0), topics=[eakte])
    db.session.commit()
    return visit


# --- JSON nested too deeply --------------------------------------------------------------

@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 999, 1_001, 100_000])
@pytest.mark.parametrize("kind", ["list", "object"])
@pytest.mark.parametrize("method, path", [
    ("POST", "/api/v1/experiences"), ("POST", "/api/v1/visits"), ("GET", "/api/v1/search"),
    ("POST", "/api/v1/projects/1/comments"), ("POST", "/api/v1/unknown"),
])
@pytest.mark.parametrize("caller", ["anonymous", "token"])
def test_deep_json_is_a_400_on_any_path(client, api, anna, method, path, kind, depth,
                                        caller):
    headers = dict(JSON)
    if caller == "token":
        headers.update(api(anna).headers)
    response = client.open(path, method=method, data=deep(depth, kind), headers=headers)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["status"] == 400
    assert f"zu tief verschachtelt (höchstens {MAX_JSON_DEPTH} Ebenen)" in error["message"]


def test_json_within_the_depth_limit_reaches_the_view(client, api, anna):
    """32 levels pass the guard; the view then refuses the wrong type with its own 422."""
    body = '{"title": ' + deep(MAX_JSON_DEPTH - 1) + ', "body": "x"}'
    response = post_json(client, api, anna, "/api/v1/experiences", body)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["title"] == "must be a string"


def test_the_json_check_does_not_recurse():
    value = []
    for _ in range(200_000):
        value = [value]
    assert json_problem(value) == "depth"
    assert json_problem({"a": [{"b": ["x\x00"]}]}) == "nul"
    assert json_problem({"a\ud800": 1}) == "surrogate"
    assert json_problem({"title": "Grüße 😀", "n": [1, 2.5, None, True]}) is None


# --- lone surrogates -----------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    '{"title": "a\\ud800b", "body": "x"}', '{"title": "T", "body": "\\udfff"}',
    '{"title": "T", "body": "x", "topics": ["\\ud83d"]}', '{"ti\\ud800tle": "T"}',
])
def test_surrogates_in_json_are_a_400_and_store_nothing(client, api, anna, text):
    response = post_json(client, api, anna, "/api/v1/experiences", text)
    assert response.status_code == 400
    assert "UTF-16-Ersatzzeichen" in response.get_json()["error"]["message"]
    assert count(Experience) == 0


def test_a_surrogate_pair_is_a_character_and_stored(client, api, anna):
    response = post_json(client, api, anna, "/api/v1/experiences",
                         '{"title": "Gut \\ud83d\\ude00", "body": "x"}')
    assert response.status_code == 201
    assert response.get_json()["title"] == "Gut 😀"


@pytest.mark.parametrize("path, body", [
    ("/api/v1/visits", '{"title": "\\ud800", "host_city": "muenchen"}'),
    ("/api/v1/projects", '{"title": "Projekt \\udbff", "invited_cities": ["muenchen"]}'),
])
def test_surrogates_are_refused_on_every_json_endpoint(client, api, cdo_stuttgart, muenchen,
                                                       path, body):
    response = post_json(client, api, cdo_stuttgart, path, body)
    assert response.status_code == 400
    assert count(Visit) == count(Project) == 0


def test_surrogates_in_form_fields_and_query_arguments_never_reach_the_database(
        client, auth, anna, make_experience):
    """Werkzeug decodes the (invalid) UTF-8 of a surrogate as U+FFFD, so forms and query
    strings cannot carry one; the pages answer normally."""
    make_experience(anna)
    auth.login(anna.email, PASSWORD)
    response = client.post("/erfahrungen/neu", data=b"title=a%ED%A0%80b&body=x&kind=practice",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code < 500
    for url in ("/erfahrungen?city=%ED%A0%80", "/suche?q=%ED%A0%80", "/api/v1/cities?q=%ED%A0%80",
                "/api/v1/experiences?city=%ED%A0%80", "/erfahrungen/%ED%A0%80"):
        assert client.get(url).status_code < 500, url
    stored = db.session.scalars(sa.select(Experience.title)).all()
    assert all("\ud800" not in title for title in stored)


# --- JSON sent to HTML form pages ----------------------------------------------------------

@pytest.mark.parametrize("path", ["/login", "/registrieren", "/erfahrungen/neu", "/projekte/neu"])
@pytest.mark.parametrize("body", ['[["a"]]', '{"title": 5, "email": ["x"]}', deep(5_000)])
def test_json_to_a_form_page_is_a_415(client, auth, cdo_stuttgart, path, body):
    auth.login(cdo_stuttgart.email, PASSWORD)
    response = client.post(path, data=body, headers=JSON)
    assert response.status_code == 415
    assert "nimmt Formulardaten an, kein JSON" in response.get_data(as_text=True)


def test_json_to_an_unknown_page_is_still_a_404(client):
    assert client.post("/gibt-es-nicht", data="[1]", headers=JSON).status_code == 404


# --- visit and session times at the edges --------------------------------------------------

EDGE_TIMES = ["9999-12-31T23:59:00-12:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59",
              "0001-01-01T00:00", "1899-12-31T23:59", "2201-01-01T00:00"]


def _visit_body(**fields):
    body = {"title": "Besuch", "host_city": "muenchen", "visiting_city": "stuttgart",
            "starts_at": "2027-05-03T09:00", "ends_at": "2027-05-03T17:00"}
    body.update(fields)
    return body


@pytest.mark.parametrize("field", ["starts_at", "ends_at"])
@pytest.mark.parametrize("value", EDGE_TIMES)
def test_visit_times_at_the_edges_are_refused_on_create(client, api, planner, muenchen, field,
                                                        value):
    response = api(planner).post("/api/v1/visits", json=_visit_body(**{field: value}))
    assert response.status_code == 422
    assert response.get_json()["error"]["errors"][field] == (
        "Das Datum muss zwischen den Jahren 1900 und 2200 liegen.")
    assert count(Visit) == 0


@pytest.mark.parametrize("value", EDGE_TIMES[:2])
def test_visit_and_session_times_at_the_edges_are_refused_on_change(client, api, planner,
                                                                    visit, value):
    session = visit.sessions[0]
    caller = api(planner)
    for url, method in ((f"/api/v1/visits/{visit.id}", "PUT"),
                        (f"/api/v1/visits/{visit.id}/sessions", "POST"),
                        (f"/api/v1/visits/{visit.id}/sessions/{session.id}", "PUT")):
        body = {"starts_at": value} if method == "PUT" else {
            "title": "Runde", "starts_at": value, "ends_at": "2027-04-20T12:00"}
        response = caller.open(url, method, json=body)
        assert response.status_code == 422, url
        assert "starts_at" in response.get_json()["error"]["errors"]
    db.session.expire_all()
    assert visit.starts_at == datetime(2027, 4, 20, 9, 30)
    assert session.starts_at == datetime(2027, 4, 20, 10, 0)
    assert count(AgendaSession) == 1


def test_visit_form_with_a_time_at_the_edge_is_a_form_error(client, auth, planner, muenchen):
    auth.login(planner.email, PASSWORD)
    response = client.post("/besuche/neu", data={
        "title": "Besuch", "host_city": muenchen.id, "visiting_city": planner.city_id,
        "starts_at": "9999-12-31T23:59", "ends_at": "9999-12-31T23:59", "status": "planned"})
    assert response.status_code == 400
    assert "Das Datum muss zwischen den Jahren 1900 und 2200 liegen." in response.text
    assert count(Visit) == 0


def test_a_stored_visit_at_the_edge_of_time_still_gives_its_calendar(client, auth, api, planner,
                                                                     visit):
    """Rows stored before the rule keep working: the .ics, the page and the API answer."""
    visit.ends_at = datetime(9999, 12, 31, 23, 59)
    visit.sessions[0].starts_at = datetime(1, 1, 1, 0, 0)
    db.session.commit()
    caller = api(planner)
    response = caller.get(f"/api/v1/visits/{visit.id}.ics")
    assert response.status_code == 200
    assert b"DTEND;TZID=Europe/Berlin:99991231T235900" in response.data
    assert caller.get(f"/api/v1/visits/{visit.id}").status_code == 200
    auth.login(planner.email, PASSWORD)
    assert client.get(f"/besuche/{visit.id}").status_code == 200


def test_days_between_stops_at_the_last_day_datetime_has():
    assert days_between(datetime(9999, 12, 30, 10), datetime(9999, 12, 31, 23, 59)) == [
        date(9999, 12, 30), date(9999, 12, 31)]
    assert days_between(datetime(2027, 4, 21), datetime(2027, 4, 20)) == []


# --- "topics": null --------------------------------------------------------------------------

def test_topics_null_is_an_empty_list(client, api, planner, visit):
    """null means no topics, as for members and experiences (docs/visits.md)."""
    caller = api(planner)
    response = caller.post("/api/v1/visits", json=_visit_body(topics=None, members=None))
    assert response.status_code == 201
    assert response.get_json()["topics"] == []
    response = caller.put(f"/api/v1/visits/{visit.id}", json={"topics": None})
    assert response.status_code == 200 and response.get_json()["topics"] == []
    session = visit.sessions[0]
    response = caller.put(f"/api/v1/visits/{visit.id}/sessions/{session.id}",
                          json={"topics": None, "experiences": None})
    assert response.status_code == 200 and response.get_json()["topics"] == []
    response = caller.post(f"/api/v1/visits/{visit.id}/sessions", json={
        "title": "Runde", "starts_at": "2027-04-20T12:00", "ends_at": "2027-04-20T13:00",
        "topics": None})
    assert response.status_code == 201 and response.get_json()["topics"] == []


# --- line breaks and control characters in one-line fields ----------------------------------

BREAKS = ["Titel\nBcc: x@example.org", "Ti\rtel", "Ti\ttel", "Ti\x1b[31mtel", "Ti\x85tel",
          "Ti\u2028tel", "Ti\x7ftel"]


@pytest.mark.parametrize("value", BREAKS)
@pytest.mark.parametrize("field", ["title", "summary", "contact_name"])
def test_one_line_fields_of_experiences(client, api, anna, field, value):
    body = {"title": "Die eAkte", "body": "Text", field: value}
    response = api(anna).post("/api/v1/experiences", json=body)
    assert response.status_code == 422
    assert "keine Zeilenumbrüche oder Steuerzeichen" in response.get_json()["error"]["fields"][field]
    assert count(Experience) == 0


@pytest.mark.parametrize("value", BREAKS[:3])
def test_one_line_project_title(client, api, cdo_stuttgart, muenchen, eakte, value):
    caller = api(cdo_stuttgart)
    response = caller.post("/api/v1/projects", json={"title": value, "topics": ["eakte"],
                                                     "invited_cities": ["muenchen"]})
    assert response.status_code == 422
    assert "Der Titel darf keine Zeilenumbrüche" in response.get_json()["error"]["message"]
    assert count(Project) == 0
    created = caller.post("/api/v1/projects", json={"title": "Gemeinsame eAkte",
                                                    "invited_cities": ["muenchen"]})
    url = f"/api/v1/projects/{created.get_json()['id']}"
    assert caller.patch(url, json={"title": value}).status_code == 422
    assert caller.get(url).get_json()["title"] == "Gemeinsame eAkte"


@pytest.mark.parametrize("value", BREAKS[:3])
@pytest.mark.parametrize("field", ["title", "place", "address"])
def test_one_line_visit_fields(client, api, planner, muenchen, field, value):
    response = api(planner).post("/api/v1/visits", json=_visit_body(**{field: value}))
    assert response.status_code == 422
    assert "keine Zeilenumbrüche" in response.get_json()["error"]["errors"][field]
    assert count(Visit) == 0


@pytest.mark.parametrize("field", ["title", "room"])
def test_one_line_session_fields(client, api, planner, visit, field):
    session = visit.sessions[0]
    response = api(planner).put(f"/api/v1/visits/{visit.id}/sessions/{session.id}",
                                json={field: "Runde\nzwei"})
    assert response.status_code == 422
    assert "keine Zeilenumbrüche" in response.get_json()["error"]["errors"][field]


@pytest.mark.parametrize("field", ["guest_name", "role", "organisation"])
def test_one_line_member_fields(client, api, planner, visit, field):
    body = {"guest_name": "Jürgen Weiß", field: "Jürgen\nWeiß"}
    response = api(planner).post(f"/api/v1/visits/{visit.id}/members", json=body)
    assert response.status_code == 422
    assert "keine Zeilenumbrüche" in response.get_json()["error"]["errors"]["member"]
    db.session.expire_all()
    assert visit.members == []


def test_a_stored_title_with_a_line_break_can_still_be_edited(client, api, planner, visit):
    """A row saved before the rule is not locked: other fields change, the title stays."""
    visit.title = "Alt\nTitel"
    db.session.commit()
    response = api(planner).put(f"/api/v1/visits/{visit.id}",
                                json={"title": "Alt\nTitel", "place": "Rathaus"})
    assert response.status_code == 200
    assert response.get_json()["place"] == "Rathaus"


def test_one_line_fields_in_forms(client, auth, anna, stuttgart):
    from exchange.auth.models import ApiToken, User

    auth.login(anna.email, PASSWORD)
    response = client.post("/erfahrungen/neu", data={"title": "Die eAkte\nim Amt", "body": "x",
                                                     "kind": "practice", "status": "draft"})
    assert "Der Titel darf keine Zeilenumbrüche" in response.text
    assert count(Experience) == 0
    response = client.post("/profil", data={"display_name": "Anna\r\nBcc: x@example.org",
                                            "locale": "de"})
    assert "Bitte ohne Zeilenumbrüche und Steuerzeichen." in response.text
    response = client.post("/profil/tokens", data={"name": "Token\nzwei"})
    assert response.status_code < 500 and count(ApiToken) == 0
    db.session.expire_all()
    assert anna.display_name == "Anna Schmid"
    auth.logout()
    password = "ein langes Passwort für Tests"
    response = client.post("/registrieren", data={
        "email": "lena@stuttgart.example", "display_name": "Lena\nVogel", "city": "stuttgart",
        "password": password, "password_confirm": password})
    assert "Bitte ohne Zeilenumbrüche und Steuerzeichen." in response.text
    assert db.session.scalar(sa.select(User).where(User.email == "lena@stuttgart.example")) is None


def test_a_body_over_the_size_limit_is_refused_before_it_is_read(client, token_for, anna):
    huge = b'{"title": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    answer = client.post("/api/v1/experiences", data=huge, headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {token_for(anna)}"})
    assert answer.status_code == 413 and answer.get_json()["error"]["status"] == 413
    page = client.post("/login", data={"email": "a@b.example", "password": "x" * (5 << 20)})
    assert page.status_code == 413
