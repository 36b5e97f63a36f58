"""Done when: a new user searching the demo data finds the right experiences first."""
import pytest

from exchange.extensions import db
from exchange.search import services

FIRST = {
    "Lotsen": "digitalisierungslotsen-in-jedem-amt",
    "E-Akte": "einfuehrung-der-e-akte-im-buergerbuero",
    "Buergerbuero": "einfuehrung-der-e-akte-im-buergerbuero",
    "Mobilitaet": "mobilitaetsdaten-auf-einer-plattform-buendeln",
    "OZG Erfahrungen": "ozg-umsetzung-erfahrungen-mit-den-ersten-50-online-diensten",
}
#: Other experiences that must be among the first five.
ALSO = {
    "E-Akte": {"dokumenten-management-systeme-im-vergleich"},
    "Buergerbuero": {"online-termine-fuer-das-buergerbuero"},
}


@pytest.fixture
def demo(app):
    from exchange.demo import load_demo

    load_demo()
    db.session.commit()


@pytest.mark.parametrize("query", list(FIRST))
def test_demo_queries_find_the_right_experience_first(demo, query):
    slugs = [hit.slug for hit in services.search(query).hits]
    assert slugs[0] == FIRST[query]
    assert ALSO.get(query, set()) <= set(slugs[:5])


def test_a_new_user_finds_them_through_the_api(demo, client, auth):
    auth.login("max@muenchen.example", "exchange-demo")
    for query, slug in FIRST.items():
        data = client.get("/api/v1/search", query_string={"q": query}).get_json()
        assert data["results"][0]["slug"] == slug, query


def test_demo_facets_and_misspellings(demo):
    results = services.search("Digitalisierng")
    assert results.suggestion == "Digitalisierung" and results.total > 0
    assert services.search("Mobilitat").suggestion == "Mobilität"
    everything = services.search("Verwaltung")
    assert sum(everything.facets["city"].values()) >= everything.total
