"""GET /api/v1/cities/<slug>/matches: ranking, reasons, filters and errors."""
import pytest


@pytest.fixture
def bearer(anna, token_for):
    return {"Authorization": f"Bearer {token_for(anna, 'matching tests')}"}


def test_requires_authentication(client, world):
    response = client.get("/api/v1/cities/stuttgart/matches")
    assert response.status_code == 401
    assert response.get_json()["error"]["status"] == 401


def test_ranked_matches_with_reasons(client, bearer, world, make_user, make_experience):
    author = make_user("autorin@muenchen.example", city=world.muenchen)
    make_experience(author, title="Das Innovation-Center als Labor für die Verwaltung",
                    topics=[world.innovation])
    response = client.get("/api/v1/cities/stuttgart/matches", headers=bearer)
    assert response.status_code == 200
    data = response.get_json()
    assert data["city"] == "stuttgart"
    first = data["matches"][0]
    assert first["city"] == "muenchen" and first["name"] == "München"
    assert first["transfer_score"] > 0 and first["joint_score"] > 0
    scores = [m["score"] for m in data["matches"]]
    assert scores == sorted(scores, reverse=True)
    reasons = {(r["topic"], r["direction"]): r for r in first["reasons"]}
    innovation = reasons[("innovation", "they_offer")]
    assert innovation["topic_name"] == "Innovation-Center"
    assert (innovation["their_maturity"], innovation["our_maturity"]) == (5, 1)
    assert innovation["inferred_from_wiki"] is False
    assert innovation["weight"] > 0
    [evidence] = innovation["evidence"]
    assert evidence["title"] == "Das Innovation-Center als Labor für die Verwaltung"
    assert evidence["html_url"].endswith("/erfahrungen/" + evidence["slug"])
    assert innovation["text"].startswith("München bietet Erfahrung zu Innovation-Center")
    assert ("mobilitaet", "we_offer") in reasons and ("eakte", "joint_working") in reasons


def test_filters(client, bearer, world):
    def cities(query):
        response = client.get(f"/api/v1/cities/stuttgart/matches?{query}", headers=bearer)
        assert response.status_code == 200, response.get_json()
        return [m["city"] for m in response.get_json()["matches"]]

    assert cities("kind=joint") == ["muenchen", "karlsruhe"]
    assert set(cities("kind=transfer")) == {"muenchen", "ulm", "karlsruhe"}
    assert cities("topic=mobilitaet") == ["muenchen", "ulm"]
    assert cities("limit=1") == ["muenchen"]
    assert "muenchen" not in cities("state=Baden-W%C3%BCrttemberg")
    assert cities("size_band=metropole") == ["muenchen"]
    assert cities("include_active=true")[0] == "muenchen"


def test_session_login_works_too(client, auth, anna, world):
    auth.login()
    assert client.get("/api/v1/cities/muenchen/matches").status_code == 200


@pytest.mark.parametrize("query, status", [
    ("kind=friendship", 400),
    ("limit=0", 400),
    ("limit=abc", 400),
    ("limit=101", 400),
    ("size_band=riesig", 400),
    ("state=Atlantis", 400),
    ("include_active=vielleicht", 400),
    ("topic=gibt-es-nicht", 422),
])
def test_bad_input(client, bearer, world, query, status):
    response = client.get(f"/api/v1/cities/stuttgart/matches?{query}", headers=bearer)
    assert response.status_code == status
    assert response.get_json()["error"]["message"]


def test_unknown_city(client, bearer, world):
    response = client.get("/api/v1/cities/atlantis/matches", headers=bearer)
    assert response.status_code == 404
    assert response.get_json()["error"]["message"] == "city not found"
