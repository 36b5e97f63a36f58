"""Deactivated accounts get no notifications and no mail (issue 9): an admin stopped the
account, or its person left; only approval was checked before."""
import sqlalchemy as sa

from exchange.auth.models import User
from exchange.auth.services import deactivate_user
from exchange.extensions import db
from exchange.projects import services
from exchange.projects.models import Notification, OutgoingMail


def _inbox(user):
    return db.session.scalars(sa.select(Notification).where(Notification.user_id == user.id)).all()


def _mails_to(user):
    return db.session.scalars(sa.select(OutgoingMail).where(
        OutgoingMail.recipient == user.email)).all()


def test_invitation_skips_deactivated_city_admin(cdo_stuttgart, cdo_muenchen, make_user,
                                                 muenchen, topics):
    second = make_user("cio@muenchen.example", city=muenchen, role="city_admin")
    deactivate_user(cdo_muenchen)
    db.session.commit()
    services.propose_project(cdo_stuttgart, "Gemeinsame eAkte", "Text", [topics["eakte"]],
                             [muenchen])
    db.session.commit()
    assert _inbox(cdo_muenchen) == [] and _mails_to(cdo_muenchen) == []
    assert len(_inbox(second)) == 1 and len(_mails_to(second)) == 1
    assert cdo_muenchen not in services.city_admins([muenchen])


def test_notify_returns_none_for_a_deactivated_user(anna):
    deactivate_user(anna)
    assert services.notify(anna, "state", "Titel", "/") is None
    db.session.flush()
    assert _inbox(anna) == [] and _mails_to(anna) == []


def test_registration_does_not_notify_deactivated_admin(client, stuttgart, cdo_stuttgart):
    deactivate_user(cdo_stuttgart)
    db.session.commit()
    password = "Zwetschgendatschi mit Sahne 1987"
    response = client.post("/registrieren", data={
        "email": "lena@stuttgart.example", "display_name": "Lena Vogel", "city": "stuttgart",
        "password": password, "password_confirm": password})
    assert response.status_code == 302
    assert db.session.scalar(sa.select(User).where(User.email == "lena@stuttgart.example"))
    assert _inbox(cdo_stuttgart) == [] and _mails_to(cdo_stuttgart) == []
