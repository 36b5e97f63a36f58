"""The search page /suche and the JSON API /api/v1/search."""
import re

import pytest


@pytest.fixture
def token(anna, token_for):
    return token_for(anna, "Suche")


# --- page ---------------------------------------------------------------------------------

def test_search_page_requires_login(client, corpus):
    response = client.get("/suche?q=Lotsen")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_search_page_shows_results_facets_and_snippets(client, auth, corpus):
    auth.login()
    page = client.get("/suche?q=eAkte").get_data(as_text=True)
    text = re.sub(r"<[^>]+>", "", page)
    assert "Einführung der E-Akte im Bürgerbüro" in text
    assert "Dokumenten-Management-Systeme im Vergleich" in text
    assert "<mark>E-Akte</mark>" in page
    assert "&lt;script&gt;" not in page and "<script>alert" not in page
    assert "2 Treffer" in page
    assert "München" in page and "Stuttgart" in page  # city facet with names
    assert "Dokumentenmanagement" in page  # topic facet label
    assert "city=muenchen" in page and "sort=date" in page


def test_search_page_filter_and_sort(client, auth, corpus):
    auth.login()
    page = client.get("/suche?q=eAkte&city=muenchen&sort=date").get_data(as_text=True)
    text = re.sub(r"<[^>]+>", "", page)
    assert "Dokumenten-Management-Systeme im Vergleich" in text
    assert "Einführung der E-Akte im Bürgerbüro" not in text
    assert "Filter entfernen" in page


def test_search_box_on_every_page(client, auth, corpus):
    auth.login()
    assert 'action="/suche"' in client.get("/").get_data(as_text=True)


def test_empty_query_gives_a_helpful_page(client, auth, corpus):
    auth.login()
    response = client.get("/suche")
    assert response.status_code == 200
    assert "Wonach suchen Sie?" in response.get_data(as_text=True)


@pytest.mark.parametrize("query", ['"', '((AND', "OR OR", "-", "der die das", "Zzyzxqwv"])
def test_odd_queries_give_a_no_results_page(client, auth, corpus, query):
    auth.login()
    response = client.get("/suche", query_string={"q": query, "page": "x"})
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "Keine Treffer" in text or "Wonach suchen Sie?" in text


def test_suggestion_link(client, auth, corpus):
    auth.login()
    page = client.get("/suche?q=Mobilitat").get_data(as_text=True)
    assert "Meinten Sie" in page and "q=Mobilit%C3%A4t" in page


def test_pagination_links(client, auth, anna, make_experience):
    for number in range(12):
        make_experience(anna, f"Schulung {number}", "Eine Schulung.")
    auth.login()
    page = client.get("/suche?q=Schulung").get_data(as_text=True)
    assert "Seite 1 von 2" in page and "page=2" in page
    second = client.get("/suche?q=Schulung&page=2").get_data(as_text=True)
    assert "Seite 2 von 2" in second
    beyond = client.get("/suche?q=Schulung&page=99").get_data(as_text=True)
    assert "Seite 2 von 2" in beyond


# --- API ----------------------------------------------------------------------------------

def test_api_requires_login(client, corpus):
    response = client.get("/api/v1/search?q=Lotsen")
    assert response.status_code == 401 and response.is_json


def test_api_returns_the_contract_fields_best_first(client, corpus, token):
    response = client.get("/api/v1/search?q=eAkte",
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    data = response.get_json()
    assert set(data) == {"query", "total", "page", "results", "facets", "suggestion",
                         "items", "per_page"}  # items: the same list as results (issue 11)
    assert data["items"] == data["results"]
    assert data["query"] == "eAkte" and data["total"] == 2 and data["page"] == 1
    assert data["suggestion"] is None
    for result in data["results"]:
        assert set(result) == {"slug", "title", "city", "topics", "kind", "score", "snippet"}
    scores = [result["score"] for result in data["results"]]
    assert scores == sorted(scores, reverse=True)
    first = data["results"][0]
    assert first["city"] in ("stuttgart", "muenchen") and "eakte" in first["topics"]
    assert set(data["facets"]) == {"city", "topic", "kind", "year"}
    assert data["facets"]["city"] == {"muenchen": 1, "stuttgart": 1}


def test_api_with_session_login_filters_and_paging(client, auth, corpus):
    auth.login()
    data = client.get("/api/v1/search?q=eAkte&city=stuttgart&kind=lesson_learned").get_json()
    assert [result["slug"] for result in data["results"]] == [corpus["eakte"].slug]
    data = client.get("/api/v1/search?q=eAkte&per_page=1&page=2").get_json()
    assert data["page"] == 2 and len(data["results"]) == 1 and data["total"] == 2
    data = client.get("/api/v1/search?q=Mobilitat").get_json()
    assert data["suggestion"] == "Mobilität"
    data = client.get("/api/v1/search?q=").get_json()
    assert data["total"] == 0 and data["results"] == []


@pytest.mark.parametrize("arguments", ["page=0", "page=x", "per_page=0", "per_page=101",
                                       "per_page=abc", "sort=title"])
def test_api_bad_arguments_are_400(client, auth, corpus, arguments):
    auth.login()
    response = client.get(f"/api/v1/search?q=Akte&{arguments}")
    assert response.status_code == 400
    assert response.get_json()["error"]["status"] == 400


def test_api_odd_query_is_not_an_error(client, auth, corpus):
    auth.login()
    response = client.get('/api/v1/search', query_string={"q": '"((AND OR -'})
    assert response.status_code == 200 and response.get_json()["total"] == 0
