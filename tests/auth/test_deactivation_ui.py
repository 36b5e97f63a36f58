"""Admins deactivate and reactivate accounts on /freigaben, with a confirmation step
(issue 9): platform admins anyone, city admins their own city's users, nobody themself."""
import sqlalchemy as sa

from exchange.auth.models import LoginSession
from exchange.extensions import db
from tests.conftest import session_login


def test_city_admin_deactivates_after_confirmation(app, client, login, cdo_stuttgart, anna):
    other = app.test_client()
    session_login(other, anna)
    assert other.get("/profil").status_code == 200
    login(cdo_stuttgart)
    page = client.get("/freigaben").get_data(as_text=True)
    assert f"/freigaben/{anna.id}/deaktivieren" in page
    # The link opens a confirmation page; nothing changes yet.
    confirm = client.get(f"/freigaben/{anna.id}/deaktivieren")
    assert confirm.status_code == 200 and "Ja, deaktivieren" in confirm.get_data(as_text=True)
    db.session.expire_all()
    assert anna.deactivated_at is None
    response = client.post(f"/freigaben/{anna.id}/deaktivieren")
    assert response.status_code == 302
    db.session.expire_all()
    assert anna.deactivated_at is not None
    assert db.session.scalar(sa.select(sa.func.count(LoginSession.id)).where(
        LoginSession.user_id == anna.id)) == 0
    assert other.get("/profil").status_code == 302  # her session ended
    assert "deaktiviert seit" in client.get("/freigaben").get_data(as_text=True)
    assert client.get(f"/freigaben/{anna.id}/reaktivieren").status_code == 200
    assert client.post(f"/freigaben/{anna.id}/reaktivieren").status_code == 302
    db.session.expire_all()
    assert anna.deactivated_at is None


def test_who_may_deactivate_whom(client, login, cdo_stuttgart, cdo_muenchen, anna, admin,
                                 max_muenchen):
    login(cdo_stuttgart)
    for user in (max_muenchen, cdo_muenchen):  # another city
        assert client.get(f"/freigaben/{user.id}/deaktivieren").status_code == 403
        assert client.post(f"/freigaben/{user.id}/deaktivieren").status_code == 403
    assert client.post(f"/freigaben/{cdo_stuttgart.id}/deaktivieren").status_code == 403
    assert client.post(f"/freigaben/{admin.id}/deaktivieren").status_code in (403, 404)
    assert client.post("/freigaben/99999/deaktivieren").status_code == 404
    login(anna)
    assert client.post(f"/freigaben/{cdo_stuttgart.id}/deaktivieren").status_code == 403
    login(admin)
    assert client.post(f"/freigaben/{max_muenchen.id}/deaktivieren").status_code == 302
    assert client.post(f"/freigaben/{admin.id}/deaktivieren").status_code == 403
    db.session.expire_all()
    assert max_muenchen.deactivated_at is not None and cdo_stuttgart.deactivated_at is None
    assert admin.deactivated_at is None
