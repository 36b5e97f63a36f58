"""API writes with a write token obey the same permission rules (auth/permissions.py) as
the pages: a token can never do more than its owner in the browser."""
import pytest

from exchange.auth import permissions
from exchange.extensions import db
from exchange.projects.models import Notification


@pytest.fixture
def writer(client, token_for):
    """Headers with a read-and-write token of `user` (token_for: the service default)."""
    def make(user):
        return {"Authorization": f"Bearer {token_for(user)}"}

    return make


def test_staff_may_not_propose_a_project_through_the_api(client, writer, anna, muenchen):
    """can_propose_project: city admins only, in the UI as in the API."""
    response = client.post("/api/v1/projects", headers=writer(anna), json={
        "title": "Gemeinsame eAkte", "invited_cities": ["muenchen"]})
    assert response.status_code == 403
    assert not permissions.can_propose_project(anna, anna.city)


def test_a_city_may_not_edit_another_citys_experience(client, writer, make_experience,
                                                      anna, max_muenchen):
    """can_edit_experience: the experience's own city writes it."""
    experience = make_experience(max_muenchen, title="Münchner Bericht")
    response = client.put(f"/api/v1/experiences/{experience.slug}", headers=writer(anna),
                          json={"body": "Überschrieben",
                                "base_revision": experience.current_revision_id})
    assert response.status_code == 403
    assert not permissions.can_edit_experience(anna, experience)


def test_staff_may_not_plan_a_visit(client, writer, anna, muenchen):
    """can_plan_visits: visit planners and city admins."""
    response = client.post("/api/v1/visits", headers=writer(anna), json={
        "title": "Besuch", "host_city": "muenchen", "visiting_city": "stuttgart",
        "starts_at": "2027-04-20T09:00", "ends_at": "2027-04-20T17:00"})
    assert response.status_code == 403


def test_notifications_are_their_recipients_alone(client, writer, anna, max_muenchen):
    """can_read_notification is the rule of the inbox page and of the API (it was an own
    check in the service before)."""
    note = Notification(user=max_muenchen, kind="update", title="Neu", link="/")
    db.session.add(note)
    db.session.commit()
    assert permissions.can_read_notification(max_muenchen, note)
    assert not permissions.can_read_notification(anna, note)
    assert not permissions.can_read_notification(None, note)

    response = client.post(f"/api/v1/notifications/{note.id}/read", headers=writer(anna))
    assert response.status_code == 404
    db.session.refresh(note)
    assert note.read_at is None
    response = client.post(f"/api/v1/notifications/{note.id}/read",
                           headers=writer(max_muenchen))
    assert response.status_code == 200 and response.get_json()["read_at"]
