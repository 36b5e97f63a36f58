"""JSON API for cities, topics and interests, on the demo data."""
import pytest

from exchange.auth.services import find_user_by_email
from exchange.demo import DEMO_PASSWORD, load_demo
from exchange.extensions import db

ENDPOINTS = ("/api/v1/cities", "/api/v1/cities/stuttgart", "/api/v1/topics",
             "/api/v1/topics/eakte", "/api/v1/interests")


@pytest.fixture
def demo(app):
    load_demo()
    db.session.commit()


@pytest.fixture
def api(client, auth, demo):
    """A client logged in as Anna (Stuttgart staff) through the login form."""
    auth.login("anna@stuttgart.example", DEMO_PASSWORD)
    return client


def get(api, url, status=200):
    response = api.get(url)
    assert response.status_code == status, response.get_json()
    assert response.is_json
    return response.get_json()


@pytest.mark.parametrize("url", ENDPOINTS)
def test_login_is_required(client, demo, url):
    response = client.get(url)
    assert response.status_code == 401
    assert response.get_json()["error"]["status"] == 401


def test_a_token_works_instead_of_a_session(client, demo, token_for):
    clear = token_for(find_user_by_email("max@muenchen.example"), "Skript")
    response = client.get("/api/v1/cities", headers={"Authorization": f"Bearer {clear}"})
    assert response.status_code == 200
    assert response.get_json()["total"] == 6
    response = client.get("/api/v1/cities", headers={"Authorization": "Bearer cx_falsch"})
    assert response.status_code == 401


def test_list_cities(api):
    data = get(api, "/api/v1/cities")
    assert data["total"] == 6 and data["page"] == 1
    assert [c["slug"] for c in data["items"]] == [
        "karlsruhe", "koeln", "muenchen", "nuernberg", "stuttgart", "ulm"]
    stuttgart = data["items"][4]
    assert stuttgart == {
        "slug": "stuttgart", "name": "Stuttgart", "state": "Baden-Württemberg",
        "ags": "08111000", "population": 613392, "website": "https://www.stuttgart.de",
        "html_url": "http://localhost/staedte/stuttgart",
    }


def test_filter_cities_by_state_and_text(api):
    assert [c["slug"] for c in get(api, "/api/v1/cities?state=Bayern")["items"]] == [
        "muenchen", "nuernberg"]
    assert [c["slug"] for c in get(api, "/api/v1/cities?state=bayern")["items"]] == [
        "muenchen", "nuernberg"]
    assert [c["slug"] for c in get(api, "/api/v1/cities?q=MÜN")["items"]] == ["muenchen"]
    assert [c["slug"] for c in get(api, "/api/v1/cities?q=koeln")["items"]] == ["koeln"]
    assert [c["slug"] for c in get(api, "/api/v1/cities?q=KÖLN")["items"]] == ["koeln"]
    assert [c["slug"] for c in get(api, "/api/v1/cities?q=Nürnberg")["items"]] == ["nuernberg"]
    assert get(api, "/api/v1/cities?q=100%25")["total"] == 0
    data = get(api, "/api/v1/cities?per_page=2&page=2")
    assert [c["slug"] for c in data["items"]] == ["muenchen", "nuernberg"]
    assert data["total"] == 6 and data["per_page"] == 2


@pytest.mark.parametrize("query", ["per_page=0", "per_page=201", "page=abc", "q=" + "x" * 201])
def test_bad_city_list_arguments(api, query):
    error = get(api, f"/api/v1/cities?{query}", status=400)["error"]
    assert error["status"] == 400 and error["message"]


def test_get_city_with_profile_and_interests(api):
    data = get(api, "/api/v1/cities/stuttgart")
    assert data["name"] == "Stuttgart" and "Digital MoveS" in data["profile"]
    interests = {(i["topic"], i["stance"], i["maturity"]) for i in data["interests"]}
    assert len(interests) == 12
    assert ("mobilitaet", "offers", 5) in interests and ("dms", "seeks", 1) in interests
    first = data["interests"][0]
    assert first["city"] == "stuttgart" and first["topic_name"]
    assert "updated_at" in first and first["updated_at"].endswith("Z")


def test_unknown_city_is_a_json_404(api):
    error = get(api, "/api/v1/cities/atlantis", status=404)["error"]
    assert "atlantis" in error["message"]


def test_list_topics(api):
    data = get(api, "/api/v1/topics")
    assert data["total"] == 642 and len(data["items"]) == 100
    data = get(api, "/api/v1/topics?per_page=1000")
    topics = {t["slug"]: t for t in data["items"]}
    assert len(topics) == 642
    assert topics["eakte"]["parent"] == "verwaltungsdigitalisierung"
    assert topics["eakte"]["name_en"] == "Electronic files"
    assert set(topics["eakte"]["aliases"]) == {"E-Akte", "elektronische Akte", "e-file"}
    assert topics["verwaltungsdigitalisierung"]["parent"] is None
    assert topics["ozg-mobilitaet-reisen"]["parent"] == "ozg-umsetzung"
    assert topics["eakte"]["html_url"] == "http://localhost/themen/eakte"


def test_filter_topics_by_parent_and_text(api):
    data = get(api, "/api/v1/topics?parent=ozg-umsetzung")
    assert data["total"] == 14
    assert {t["parent"] for t in data["items"]} == {"ozg-umsetzung"}
    by_alias = [t["slug"] for t in get(api, "/api/v1/topics?q=Onlinezugangsgesetz")["items"]]
    assert by_alias == ["ozg-umsetzung"]
    assert "eakte" in [t["slug"] for t in get(api, "/api/v1/topics?q=elektronische akte")["items"]]
    assert "mobilitaet" in [t["slug"] for t in get(api, "/api/v1/topics?q=Mobility")["items"]]
    both = get(api, "/api/v1/topics?parent=verwaltungsdigitalisierung&q=mobil")["items"]
    assert [t["slug"] for t in both] == ["mobiles-arbeiten", "mobilitaet"]
    error = get(api, "/api/v1/topics?parent=gibt-es-nicht", status=400)["error"]
    assert "gibt-es-nicht" in error["message"]


def test_get_topic_with_children_and_interests(api):
    data = get(api, "/api/v1/topics/ozg-umsetzung")
    assert len(data["children"]) == 14
    assert data["ancestors"] == ["verwaltungsdigitalisierung"]
    assert "Onlinezugangsgesetz" in data["description"]
    assert {(i["city"], i["stance"], i["maturity"]) for i in data["interests"]} >= {
        ("stuttgart", "working_on", 3), ("muenchen", "working_on", 3)}
    dms = get(api, "/api/v1/topics/dms")
    assert dms["children"] == []
    assert {(i["city"], i["stance"]) for i in dms["interests"]} == {
        ("stuttgart", "seeks"), ("muenchen", "seeks")}
    get(api, "/api/v1/topics/blockchain", status=404)


def test_list_interests_with_filters(api):
    data = get(api, "/api/v1/interests")
    assert data["total"] == 33
    offers = get(api, "/api/v1/interests?city=stuttgart&stance=offers")["items"]
    assert [(i["topic"], i["maturity"]) for i in offers] == [
        ("mobilitaet", 5), ("digitalisierungslotsen", 4), ("fortbildung", 4)]
    eakte = get(api, "/api/v1/interests?topic=eakte")["items"]
    assert {(i["city"], i["stance"]) for i in eakte} == {
        ("stuttgart", "working_on"), ("muenchen", "working_on"), ("karlsruhe", "offers"),
        ("nuernberg", "seeks")}
    paged = get(api, "/api/v1/interests?per_page=5&page=7")
    assert paged["total"] == 33 and len(paged["items"]) == 3


@pytest.mark.parametrize("query, word", [("stance=loves", "stance"), ("city=atlantis", "atlantis"),
                                         ("topic=blockchain", "blockchain")])
def test_bad_interest_filters(api, query, word):
    error = get(api, f"/api/v1/interests?{query}", status=400)["error"]
    assert word in error["message"]
