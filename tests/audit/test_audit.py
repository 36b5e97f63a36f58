"""The audit log records who changed what, when and from where, and shows it to admins."""
import pytest
import sqlalchemy as sa

from exchange.audit.models import AuditEvent
from exchange.extensions import db


def events(**filters):
    query = sa.select(AuditEvent).order_by(AuditEvent.id)
    for name, value in filters.items():
        query = query.where(getattr(AuditEvent, name) == value)
    return db.session.scalars(query).all()


@pytest.fixture
def eakte(make_topic):
    return make_topic("eakte", "eAkte")


def test_web_and_api_changes_are_recorded_with_actor_origin_and_city(
        client, login, api, anna, cdo_stuttgart, stuttgart, eakte):
    login(cdo_stuttgart)
    response = client.post("/staedte/stuttgart/interessen",
                           data={"topic": "eakte", "stance": "offers", "maturity": 4, "note": ""})
    assert response.status_code == 302
    client.post("/staedte/stuttgart/interessen",
                data={"topic": "eakte", "stance": "working_on", "maturity": 3, "note": "x"})
    client.post("/staedte/stuttgart/interessen/eakte/entfernen")
    added, changed, removed = events(object_type="interest")
    assert (added.action, changed.action, removed.action) == (
        "interest.added", "interest.changed", "interest.removed")
    assert added.actor_id == cdo_stuttgart.id and added.via == "web"
    assert added.address == "127.0.0.1" and added.city_id == stuttgart.id
    assert added.label == "eAkte"
    assert changed.changes == {"stance": ["offers", "working_on"], "maturity": [4, 3],
                               "note": True}

    with client.session_transaction() as session:
        session.clear()  # an API client carries a token, no session cookie
    caller = api(anna)
    created = caller.post("/api/v1/experiences", json={
        "title": "E-Akte im Bürgerbüro", "body": "Erste Fassung", "status": "draft"})
    assert created.status_code == 201
    slug = created.get_json()["slug"]
    revision = created.get_json()["revision"]
    caller.put(f"/api/v1/experiences/{slug}",
               json={"body": "Zweite Fassung", "status": "published",
                     "base_revision": revision})
    token, experience_events = events(object_type="token"), events(object_type="experience")
    assert [event.action for event in token] == ["token.created"]
    assert [event.action for event in experience_events][:1] == ["experience.created"]
    assert {"experience.edited", "experience.published"} <= {
        event.action for event in experience_events}
    assert all(event.via == "api" and event.actor_id == anna.id
               and event.label == "E-Akte im Bürgerbüro" for event in experience_events)


def test_roles_approvals_and_tokens_outside_a_request_say_cli(app, make_user, stuttgart):
    from exchange.auth.services import create_token, revoke_token

    user = make_user("neu@stuttgart.example", city=stuttgart, is_approved=False)
    user.is_approved = True
    user.role = "city_admin"
    token, _clear = create_token(user, "Intranet")
    db.session.commit()
    revoke_token(token)
    db.session.commit()
    actions = [(event.action, event.changes) for event in events(city_id=stuttgart.id)]
    assert actions[0][0] == "user.registered"
    assert ("user.approval_changed", {"is_approved": [False, True]}) in actions
    assert ("user.role_changed", {"role": ["staff", "city_admin"]}) in actions
    assert [action for action, _ in actions][-2:] == ["token.created", "token.revoked"]
    assert all(event.via == "cli" and event.actor_id is None and event.address is None
               for event in events())


def test_a_rolled_back_change_leaves_no_event(app, cdo_stuttgart, stuttgart, eakte):
    from exchange.cities.services import set_interest

    before = len(events())
    set_interest(cdo_stuttgart, stuttgart, eakte, "offers", 4)
    db.session.flush()
    assert len(events()) == before + 1  # written with the change, in its transaction
    db.session.rollback()
    assert len(events()) == before


def test_city_admins_see_their_city_platform_admins_all_staff_nothing(
        client, login, anna, max_muenchen, cdo_stuttgart, admin, make_experience):
    make_experience(anna, title="Stuttgarter Bericht")
    make_experience(max_muenchen, title="Münchner Bericht")

    login(anna)
    assert client.get("/protokoll").status_code == 403
    login(cdo_stuttgart)
    page = client.get("/protokoll").text
    assert "Stuttgarter Bericht" in page and "Münchner Bericht" not in page
    assert "Anna Schmid" in page and "127.0.0.1" not in page
    assert client.get("/protokoll?stadt=muenchen").status_code == 404
    assert "Stuttgarter Bericht" in client.get("/").text  # the dashboard section

    login(admin)
    page = client.get("/protokoll").text
    assert "Stuttgarter Bericht" in page and "Münchner Bericht" in page
    page = client.get("/protokoll?stadt=muenchen&art=experience").text
    assert "Münchner Bericht" in page and "Stuttgarter Bericht" not in page
    assert client.get("/protokoll?art=unsinn&page=99999999999").status_code == 200
