"""Platform admins find the approval queue in the header and appoint other platform admins
there, with a confirmation step (issue 12: no navigation link, no way in the UI)."""
import sqlalchemy as sa

from exchange.audit.models import AuditEvent
from exchange.auth.models import LoginSession
from exchange.extensions import db
from tests.conftest import session_login


def test_header_links_the_approvals_for_admins_only(client, login, admin, cdo_stuttgart, anna):
    for user, linked in ((admin, True), (cdo_stuttgart, True), (anna, False)):
        login(user)
        page = client.get("/").get_data(as_text=True)
        assert ('href="/freigaben"' in page) is linked, user.email
        client.post("/logout")


def test_platform_admin_appoints_and_withdraws_after_confirmation(app, client, login, admin,
                                                                  cdo_stuttgart):
    login(admin)
    page = client.get("/freigaben").get_data(as_text=True)
    assert f"/freigaben/{cdo_stuttgart.id}/plattform-admin" in page
    assert f"/freigaben/{admin.id}/plattform-admin" not in page   # never oneself
    confirm = client.get(f"/freigaben/{cdo_stuttgart.id}/plattform-admin")
    assert confirm.status_code == 200
    assert "Ja, zum Plattform-Admin machen" in confirm.get_data(as_text=True)
    db.session.expire_all()
    assert not cdo_stuttgart.is_admin                               # the page changed nothing
    assert client.post(f"/freigaben/{cdo_stuttgart.id}/plattform-admin").status_code == 302
    db.session.expire_all()
    assert cdo_stuttgart.is_admin
    event = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "user.admin_changed")).one()
    assert event.actor_id == admin.id

    other = app.test_client()
    session_login(other, cdo_stuttgart)
    assert "Admin-Recht entziehen" in client.get(
        f"/freigaben/{cdo_stuttgart.id}/plattform-admin").get_data(as_text=True)
    assert client.post(f"/freigaben/{cdo_stuttgart.id}/plattform-admin").status_code == 302
    db.session.expire_all()
    assert not cdo_stuttgart.is_admin
    assert db.session.scalar(sa.select(sa.func.count(LoginSession.id)).where(
        LoginSession.user_id == cdo_stuttgart.id)) == 0               # old rights end at once


def test_only_platform_admins_appoint(client, login, admin, cdo_stuttgart, anna):
    login(cdo_stuttgart)
    assert client.get(f"/freigaben/{anna.id}/plattform-admin").status_code == 403
    assert client.post(f"/freigaben/{anna.id}/plattform-admin").status_code == 403
    db.session.expire_all()
    assert not anna.is_admin
    login(admin)
    assert client.get(f"/freigaben/{admin.id}/plattform-admin").status_code == 403
    assert client.get("/freigaben/999999/plattform-admin").status_code == 404
