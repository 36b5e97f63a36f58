"""JSON API for experiences: list, get, create, update with conflicts, revisions, errors."""
import pytest
import sqlalchemy as sa

from conftest import session_login

from exchange.extensions import db
from exchange.search.models import IndexTask
from exchange.wiki import services
from exchange.wiki.models import Experience

REPRESENTATION = {"slug", "title", "body", "city", "topics", "kind", "status", "revision",
                  "html_url", "contact_name", "contact_email", "created_at", "updated_at",
                  "published_at", "revision_number"}


@pytest.fixture
def topics(make_topic):
    return {slug: make_topic(slug, name) for slug, name in
            (("eakte", "eAkte"), ("dms", "Dokumentenmanagement"), ("mobilitaet", "Mobilität"))}


def test_unauthenticated_is_401(client, anna, make_experience):
    experience = make_experience(anna)
    assert client.get("/api/v1/experiences").status_code == 401
    assert client.get(f"/api/v1/experiences/{experience.slug}").status_code == 401
    response = client.post("/api/v1/experiences", json={"title": "x"})
    assert response.status_code == 401 and "error" in response.json
    bad = client.get("/api/v1/experiences", headers={"Authorization": "Bearer cx_falsch"})
    assert bad.status_code == 401


def test_create_returns_201_location_and_representation(api, anna, topics):
    response = api(anna).post("/api/v1/experiences", json={
        "title": "Einführung der E-Akte im Bürgerbüro", "body": "## Ausgangslage\n\nPapier.",
        "topics": ["eakte", "dms"], "kind": "project_report", "status": "published",
        "contact_name": "Anna Schmid", "contact_email": "anna@stuttgart.example",
        "summary": "Erste Fassung aus dem Projektbericht"})
    assert response.status_code == 201, response.json
    data = response.json
    assert set(data) == REPRESENTATION
    assert data["slug"] == "einfuehrung-der-e-akte-im-buergerbuero"
    assert response.headers["Location"] == f"http://localhost/api/v1/experiences/{data['slug']}"
    assert data["html_url"] == f"http://localhost/erfahrungen/{data['slug']}"
    assert (data["city"], data["kind"], data["status"]) == ("stuttgart", "project_report",
                                                            "published")
    assert sorted(data["topics"]) == ["dms", "eakte"]
    experience = services.get_experience(data["slug"])
    assert data["revision"] == experience.current_revision_id
    assert data["revision_number"] == 1 and data["published_at"].endswith("Z")
    assert db.session.scalar(sa.select(IndexTask.experience_id)) == experience.id


def test_session_login_works_for_reading(client, anna, make_experience):
    experience = make_experience(anna)
    session_login(client, anna)
    response = client.get(f"/api/v1/experiences/{experience.slug}")
    assert response.status_code == 200 and response.json["title"] == experience.title


def test_get_list_with_filters_and_pagination(api, anna, max_muenchen, topics, make_experience):
    make_experience(anna, title="E-Akte Stuttgart", topics=[topics["eakte"]])
    make_experience(max_muenchen, title="DMS München", topics=[topics["dms"]], kind="practice")
    make_experience(anna, title="Entwurf Stuttgart", status="draft")
    caller = api(max_muenchen)
    listing = caller.get("/api/v1/experiences").json
    assert listing["total"] == 2 and listing["page"] == 1 and listing["per_page"] == 20
    assert {item["title"] for item in listing["items"]} == {"E-Akte Stuttgart", "DMS München"}
    assert [i["title"] for i in caller.get("/api/v1/experiences?city=stuttgart").json["items"]] \
        == ["E-Akte Stuttgart"]
    assert [i["title"] for i in caller.get("/api/v1/experiences?topic=dms").json["items"]] \
        == ["DMS München"]
    assert [i["title"] for i in caller.get("/api/v1/experiences?kind=practice").json["items"]] \
        == ["DMS München"]
    page = caller.get("/api/v1/experiences?per_page=1&page=2").json
    assert page["total"] == 2 and len(page["items"]) == 1 and page["per_page"] == 1
    unknown = caller.get("/api/v1/experiences?city=atlantis")
    assert unknown.status_code == 400 and "city" in unknown.json["error"]["fields"]
    assert caller.get("/api/v1/experiences?kind=klatsch").status_code == 400
    assert caller.get("/api/v1/experiences?topic=gibt-es-nicht").status_code == 400
    assert caller.get("/api/v1/experiences?page=0").status_code == 400
    assert caller.get("/api/v1/experiences?per_page=1000").status_code == 400
    # Anna sees her city's draft too.
    assert api(anna).get("/api/v1/experiences").json["total"] == 3


def test_get_unknown_or_foreign_draft_is_404(api, anna, max_muenchen, make_experience):
    draft = make_experience(anna, status="draft")
    assert api(max_muenchen).get(f"/api/v1/experiences/{draft.slug}").status_code == 404
    assert api(anna).get(f"/api/v1/experiences/{draft.slug}").status_code == 200
    response = api(anna).get("/api/v1/experiences/gibt-es-nicht")
    assert response.status_code == 404 and response.json["error"]["status"] == 404


def test_put_updates_and_creates_a_revision(api, anna, topics, make_experience):
    experience = make_experience(anna, body="Alt")
    base = experience.current_revision_id
    response = api(anna).put(f"/api/v1/experiences/{experience.slug}", json={
        "base_revision": base, "body": "Neu", "topics": ["mobilitaet"], "summary": "API"})
    assert response.status_code == 200, response.json
    data = response.json
    assert data["body"] == "Neu" and data["topics"] == ["mobilitaet"]
    assert data["revision"] != base and data["revision_number"] == 2
    # Unchanged text: no new revision.
    again = api(anna).put(f"/api/v1/experiences/{experience.slug}", json={
        "base_revision": data["revision"], "body": "Neu"})
    assert again.status_code == 200 and again.json["revision"] == data["revision"]


def test_put_with_stale_base_is_409_with_current_state(api, anna, cdo_stuttgart,
                                                       make_experience):
    experience = make_experience(anna, body="Alt")
    base = experience.current_revision_id
    first = api(cdo_stuttgart).put(f"/api/v1/experiences/{experience.slug}",
                                   json={"base_revision": base, "body": "Vom CDO"})
    assert first.status_code == 200
    response = api(anna).put(f"/api/v1/experiences/{experience.slug}",
                             json={"base_revision": base, "body": "Von Anna"})
    assert response.status_code == 409
    data = response.json
    assert data["error"]["status"] == 409
    assert data["current_revision"] == first.json["revision"]
    assert data["experience"]["body"] == "Vom CDO"
    assert set(data["experience"]) == REPRESENTATION
    db.session.expire_all()
    assert experience.body == "Vom CDO" and len(experience.revisions) == 2


@pytest.mark.parametrize("body, field", [
    ({"body": "x"}, "base_revision"),
    ({"base_revision": "eins", "body": "x"}, "base_revision"),
    ({"base_revision": True, "body": "x"}, "base_revision"),
])
def test_put_without_usable_base_revision_is_422(api, anna, make_experience, body, field):
    experience = make_experience(anna)
    response = api(anna).put(f"/api/v1/experiences/{experience.slug}", json=body)
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]


@pytest.mark.parametrize("body, field", [
    ({"title": ""}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"title": "T", "body": "b" * 200_001}, "body"),
    ({"title": "T", "kind": "klatsch"}, "kind"),
    ({"title": "T", "status": "archiviert"}, "status"),
    ({"title": "T", "topics": ["gibt-es-nicht"]}, "topics"),
    ({"title": "T", "topics": "eakte"}, "topics"),
    ({"title": "T", "city": "atlantis"}, "city"),
    ({"title": "T", "contact_email": "kaputt"}, "contact_email"),
    ({"title": 42}, "title"),
    ({"title": "T", "slug": "Mit Leerzeichen"}, "slug"),
])
def test_create_validation_errors_are_422_with_field_map(api, anna, topics, body, field):
    response = api(anna).post("/api/v1/experiences", json=body)
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"]
    assert db.session.scalar(sa.select(sa.func.count(Experience.id))) == 0


def test_duplicate_slug_is_422(api, anna, make_experience):
    existing = make_experience(anna)
    response = api(anna).post("/api/v1/experiences", json={"title": "T", "slug": existing.slug})
    assert response.status_code == 422 and "slug" in response.json["error"]["fields"]


def test_not_a_json_object_is_400(api, anna):
    response = api(anna).post("/api/v1/experiences", data="kein json",
                              content_type="application/json")
    assert response.status_code == 400
    assert api(anna).post("/api/v1/experiences", json=[1, 2]).status_code == 400


def test_writing_for_another_city_is_403(api, anna, max_muenchen, muenchen, make_experience):
    experience = make_experience(anna)
    caller = api(max_muenchen)
    response = caller.post("/api/v1/experiences", json={"title": "T", "city": "stuttgart"})
    assert response.status_code == 403
    response = caller.put(f"/api/v1/experiences/{experience.slug}",
                          json={"base_revision": experience.current_revision_id, "body": "x"})
    assert response.status_code == 403
    db.session.expire_all()
    assert experience.body == "Text"


def test_moving_to_another_city_or_slug_is_refused(api, anna, muenchen, make_experience):
    experience = make_experience(anna)
    response = api(anna).put(f"/api/v1/experiences/{experience.slug}", json={
        "base_revision": experience.current_revision_id, "city": "muenchen"})
    assert response.status_code == 422 and "city" in response.json["error"]["fields"]
    response = api(anna).put(f"/api/v1/experiences/{experience.slug}", json={
        "base_revision": experience.current_revision_id, "slug": "neuer-name"})
    assert response.status_code == 422 and "slug" in response.json["error"]["fields"]
    same = api(anna).put(f"/api/v1/experiences/{experience.slug}", json={
        "base_revision": experience.current_revision_id, "slug": experience.slug,
        "city": "stuttgart", "title": "Neuer Titel"})
    assert same.status_code == 200 and same.json["title"] == "Neuer Titel"


def test_session_writes_must_be_json(client, anna):
    session_login(client, anna)
    response = client.post("/api/v1/experiences", data={"title": "T"})
    assert response.status_code == 415
    response = client.post("/api/v1/experiences", json={"title": "Per Sitzung"})
    assert response.status_code == 201


def test_revisions_list_and_detail(api, anna, make_experience):
    experience = make_experience(anna, body="Eins")
    services.update_experience(anna, experience, experience.current_revision_id, body="Zwei",
                               summary="zweite")
    services.restore_revision(anna, experience, experience.revisions[0])
    db.session.commit()
    caller = api(anna)
    listing = caller.get(f"/api/v1/experiences/{experience.slug}/revisions").json
    assert listing["total"] == 3
    assert [item["number"] for item in listing["items"]] == [1, 2, 3]
    assert listing["items"][1]["summary"] == "zweite" and "body" not in listing["items"][0]
    assert listing["items"][2]["restored_from"] == 1 and listing["items"][2]["current"]
    detail = caller.get(f"/api/v1/experiences/{experience.slug}/revisions/2").json
    assert detail["body"] == "Zwei" and detail["author"] == "Anna Schmid"
    assert caller.get(f"/api/v1/experiences/{experience.slug}/revisions/9").status_code == 404
    assert caller.get("/api/v1/experiences/nope/revisions").status_code == 404


def test_deleted_experiences_are_gone_from_the_api(api, anna, make_experience):
    experience = make_experience(anna)
    services.delete_experience(anna, experience)
    db.session.commit()
    caller = api(anna)
    assert caller.get(f"/api/v1/experiences/{experience.slug}").status_code == 404
    assert caller.get("/api/v1/experiences").json["total"] == 0
