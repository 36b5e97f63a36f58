"""Numbers beyond the database's integers in query strings and form values: never a 500.

PostgreSQL's INTEGER ends at 2**31-1 and SQLite's at 2**63-1; a bigger Python int handed
to the database makes it raise (OverflowError, "out of range"). Ids in URLs are bounded
by the route converter (tests/core/test_crawl.py); these tests cover page numbers,
version numbers and ids sent as form values. The generic check over every form the
crawl reaches is in test_crawl.py.
"""
from datetime import datetime

import pytest

from conftest import PASSWORD
from exchange.extensions import db
from exchange.util import MAX_ID, page_argument, parse_id

HUGE = str(10**20)


@pytest.mark.parametrize("value, expected", [
    (1, 1), ("42", 42), (" 7 ", 7), (MAX_ID, MAX_ID), (str(MAX_ID), MAX_ID),
    (MAX_ID + 1, None), (HUGE, None), (10**20, None), (0, None), ("0", None), ("-3", None),
    (-3, None), ("", None), ("abc", None), ("4.5", None), ("²", None), ("١٢", None),
    (None, None), (True, None), (4.0, None),
])
def test_parse_id(value, expected):
    assert parse_id(value) == expected


@pytest.mark.parametrize("query, expected", [
    ("", 1), ("?page=3", 3), ("?page=0", 1), ("?page=-2", 1), ("?page=abc", 1),
    ("?page=", 1), (f"?page={HUGE}", MAX_ID), ("?page=%C2%B2", 1), ("?page=2.5", 1),
])
def test_page_argument(app, query, expected):
    with app.test_request_context("/erfahrungen" + query):
        assert page_argument() == expected


# --- web pages: page and version numbers -------------------------------------------------

@pytest.mark.parametrize("url", ["/erfahrungen", "/aenderungen", "/suche?q=eAkte", "/besuche",
                                 "/projekte"])
@pytest.mark.parametrize("page", [HUGE, str(2**31), "-1", "abc"])
def test_web_pages_take_any_page_number(client, auth, anna, make_experience, url, page):
    make_experience(anna, title="Die eAkte im Bürgerbüro", body="Erfahrungen mit der eAkte.")
    auth.login(anna.email, PASSWORD)
    separator = "&" if "?" in url else "?"
    response = client.get(f"{url}{separator}page={page}")
    assert response.status_code == 200, response.text[:300]


def test_wiki_list_past_the_last_page_shows_no_entries(client, auth, anna, make_experience):
    make_experience(anna, title="Die eAkte im Bürgerbüro")
    auth.login(anna.email, PASSWORD)
    assert "Die eAkte im Bürgerbüro" in client.get("/erfahrungen?page=1").text
    assert "Die eAkte im Bürgerbüro" not in client.get(f"/erfahrungen?page={HUGE}").text
    assert "Die eAkte im Bürgerbüro" in client.get("/erfahrungen?page=-5").text


@pytest.mark.parametrize("argument", ["von", "bis"])
def test_compare_with_a_huge_version_number_is_not_found(client, auth, anna, make_experience,
                                                         argument):
    slug = make_experience(anna).slug
    auth.login(anna.email, PASSWORD)
    response = client.get(f"/erfahrungen/{slug}/vergleich?{argument}={HUGE}")
    assert response.status_code == 404


def test_edit_with_a_huge_base_revision_keeps_the_text(client, auth, anna, make_experience):
    experience = make_experience(anna, body="Der alte Text.")
    auth.login(anna.email, PASSWORD)
    response = client.post(f"/erfahrungen/{experience.slug}/bearbeiten",
                           data={"title": experience.title, "body": "Neuer Text.",
                                 "kind": experience.kind, "base_revision": HUGE})
    assert response.status_code < 500
    db.session.expire_all()
    assert experience.body == "Der alte Text."


# --- API: page numbers are 400 beyond INTEGER --------------------------------------------

@pytest.mark.parametrize("url", ["/api/v1/experiences", "/api/v1/cities", "/api/v1/topics",
                                 "/api/v1/interests", "/api/v1/projects", "/api/v1/visits",
                                 "/api/v1/search?q=eAkte"])
@pytest.mark.parametrize("argument", ["page", "per_page"])
def test_api_refuses_huge_page_numbers(client, auth, anna, url, argument):
    auth.login(anna.email, PASSWORD)
    separator = "&" if "?" in url else "?"
    response = client.get(f"{url}{separator}{argument}={HUGE}")
    assert response.status_code == 400
    body = response.get_json()
    # Named in the message, or (problem documents, issue 11) as a field error.
    assert argument in body["error"]["message"] or argument in body.get("errors", {})


@pytest.mark.parametrize("url, key", [
    ("/api/v1/experiences", "items"), ("/api/v1/cities", "items"), ("/api/v1/topics", "items"),
    ("/api/v1/interests", "items"), ("/api/v1/projects", "projects"),
    ("/api/v1/visits", "visits"),
])
def test_api_page_past_the_end_is_empty(client, auth, anna, make_experience, url, key):
    make_experience(anna)
    auth.login(anna.email, PASSWORD)
    response = client.get(f"{url}?page={MAX_ID}&per_page=50")
    assert response.status_code == 200
    body = response.get_json()
    assert body[key] == [] and body["page"] == MAX_ID and body["per_page"] == 50


# --- ids in form values ------------------------------------------------------------------

@pytest.fixture
def eakte(make_topic):
    return make_topic("eakte", "eAkte")


@pytest.mark.parametrize("field", ["topics", "invited_cities"])
def test_propose_project_with_a_huge_id_is_a_form_error(client, auth, cdo_stuttgart,
                                                         muenchen, eakte, field):
    from exchange.projects.models import Project

    auth.login(cdo_stuttgart.email, PASSWORD)
    data = {"title": "Gemeinsame eAkte", "description": "", "topics": "eakte",
            "invited_cities": "muenchen", "propose": "1", field: HUGE}
    response = client.post("/projekte/neu", data=data)
    assert response.status_code < 500
    assert HUGE in response.text  # "Unbekannte Stadt/Unbekanntes Thema: <value>"
    assert db.session.query(Project).count() == 0


def test_invite_a_huge_city_id_is_refused(client, auth, cdo_stuttgart, muenchen, eakte):
    from exchange.projects.services import propose_project

    project = propose_project(cdo_stuttgart, "Gemeinsame eAkte", "", [eakte], [muenchen])
    db.session.commit()
    auth.login(cdo_stuttgart.email, PASSWORD)
    response = client.post(f"/projekte/{project.id}/einladen", data={"city": HUGE},
                           follow_redirects=True)
    assert response.status_code == 200
    assert f"Unbekannte Stadt: {HUGE}" in response.text
    assert len(project.participants) == 2


def test_project_from_visit_with_a_huge_topic_id_asks_for_a_topic(client, auth, make_user,
                                                                  cdo_stuttgart, stuttgart,
                                                                  muenchen):
    from exchange.visits.services import create_visit

    planner = make_user("planer@stuttgart.example", city=stuttgart, role="visit_planner")
    visit = create_visit(planner, title="Gegenbesuch", host_city=muenchen,
                         visiting_city=stuttgart, starts_at=datetime(2027, 4, 20, 9, 30),
                         ends_at=datetime(2027, 4, 20, 16, 0))
    db.session.commit()
    auth.login(cdo_stuttgart.email, PASSWORD)
    response = client.post(f"/besuche/{visit.id}/projekt", data={"topic": HUGE},
                           follow_redirects=True)
    assert response.status_code == 200
    assert "Bitte wählen Sie ein Thema." in response.text
