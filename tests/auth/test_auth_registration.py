"""Self-registration, approval by the city admin, rejection and role changes."""
import pytest
import sqlalchemy as sa
from conftest import PASSWORD

from exchange.auth.models import User
from exchange.extensions import db

NEW_PASSWORD = "ein langes Passwort"


def _register(client, environ_base=None, **overrides):
    data = {"email": "lena@stuttgart.example", "display_name": "Lena Vogel",
            "city": "stuttgart", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    data.update(overrides)
    return client.post("/registrieren", data=data, environ_base=environ_base or {})


def _user(email):
    return db.session.scalar(sa.select(User).where(User.email == email))


def _count_users():
    return db.session.scalar(sa.select(sa.func.count()).select_from(User))


def test_register_page_lists_cities(client, stuttgart, muenchen):
    page = client.get("/registrieren").get_data(as_text=True)
    assert "Passwort wiederholen" in page
    assert '<option value="stuttgart">Stuttgart</option>' in page
    assert '<option value="muenchen">München</option>' in page


def test_registration_creates_unapproved_staff_with_hashed_password(client, auth, stuttgart):
    response = _register(client, email="Lena@Stuttgart.EXAMPLE")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Der Admin von Stuttgart muss Ihr Konto noch freigeben" in page

    user = _user("lena@stuttgart.example")
    assert user is not None
    assert (user.role, user.is_approved, user.is_admin) == ("staff", False, False)
    assert user.city == stuttgart
    assert NEW_PASSWORD not in user.password_hash
    assert user.password_hash.startswith("pbkdf2:")  # the test config's fast hash

    page = auth.login("lena@stuttgart.example", NEW_PASSWORD).get_data(as_text=True)
    assert "wartet noch auf die Freigabe" in page


@pytest.mark.parametrize("overrides, message", [
    ({"email": "kein-at-zeichen"}, "gültige E-Mail-Adresse"),
    ({"email": "x" * 250 + "@stuttgart.example"}, "Höchstens 254 Zeichen"),
    ({"display_name": ""}, "Bitte geben Sie Ihren Namen ein."),
    ({"display_name": "L" * 121}, "Höchstens 120 Zeichen"),
    ({"city": "atlantis"}, "Diese Stadt gibt es nicht."),
    ({"city": ""}, "Bitte wählen Sie Ihre Stadt."),
    ({"password": "kurz", "password_confirm": "kurz"}, "12 bis 200 Zeichen"),
    ({"password_confirm": "etwas anderes!"}, "Die Passwörter stimmen nicht überein."),
])
def test_bad_registration_is_a_form_error(client, stuttgart, overrides, message):
    response = _register(client, **overrides)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _count_users() == 0


def test_taken_address_is_answered_as_a_new_one_and_its_owner_mailed(client, anna):
    """The page must not say the address exists (issue 9): same redirect, same message;
    no second account; the owner of the address gets a mail with login and reset links."""
    from exchange.projects.models import OutgoingMail

    new = _register(client, email="lena@stuttgart.example")
    taken = _register(client, email="ANNA@stuttgart.example")
    assert taken.status_code == new.status_code == 302
    assert taken.headers["Location"] == new.headers["Location"]
    page = client.get(taken.headers["Location"]).get_data(as_text=True)
    assert "Danke, Lena Vogel! Der Admin von Stuttgart muss Ihr Konto noch freigeben" in page
    assert "registriert" not in page
    assert _count_users() == 2  # anna and the new lena, no second anna
    assert anna.display_name == "Anna Schmid" and anna.is_approved
    mails = db.session.scalars(sa.select(OutgoingMail).where(
        OutgoingMail.recipient == "anna@stuttgart.example")).all()
    assert len(mails) == 1
    assert "versucht, sich mit Ihrer E-Mail-Adresse" in mails[0].body
    assert "http://127.0.0.1:5000/passwort-vergessen" in mails[0].body


def test_taken_address_with_a_weak_password_gets_the_same_error(client, anna, stuttgart):
    for email in ("anna@stuttgart.example", "lena@stuttgart.example"):
        page = _register(client, email=email, password="Passwort2024!",
                         password_confirm="Passwort2024!").get_data(as_text=True)
        assert "Liste häufig benutzter Passwörter" in page


def test_registrations_are_throttled_per_address(client, stuttgart):
    for number in range(10):
        assert _register(client, email=f"p{number}@stuttgart.example").status_code == 302
    response = _register(client, email="p10@stuttgart.example")
    assert response.status_code == 429
    assert "Zu viele Anfragen" in response.get_data(as_text=True)
    assert _user("p10@stuttgart.example") is None


def test_registrations_are_throttled_per_account(client, stuttgart):
    for number in range(3):
        _register(client, environ_base={"REMOTE_ADDR": f"192.0.2.{number}"})
    response = _register(client, environ_base={"REMOTE_ADDR": "192.0.2.99"})
    assert response.status_code == 429


def test_city_admin_approves_and_user_can_log_in(client, auth, stuttgart, cdo_stuttgart):
    _register(client)
    auth.login("cdo@stuttgart.example")
    page = client.get("/freigaben").get_data(as_text=True)
    assert "Offene Registrierungen" in page and "lena@stuttgart.example" in page

    lena = _user("lena@stuttgart.example")
    response = client.post(f"/freigaben/{lena.id}/freigeben")
    assert response.status_code == 302
    assert "Lena Vogel wurde freigegeben." in client.get("/freigaben").get_data(as_text=True)
    assert lena.is_approved

    auth.logout()
    assert auth.login("lena@stuttgart.example", NEW_PASSWORD).status_code == 302
    assert client.get("/profil").status_code == 200


def test_reject_deletes_pending_registration(client, auth, stuttgart, cdo_stuttgart):
    _register(client)
    lena_id = _user("lena@stuttgart.example").id
    auth.login("cdo@stuttgart.example")
    client.post(f"/freigaben/{lena_id}/ablehnen")
    assert _user("lena@stuttgart.example") is None
    assert _register(client).status_code == 302  # the address is free again


def test_reject_refuses_approved_user(client, auth, anna, cdo_stuttgart):
    auth.login("cdo@stuttgart.example")
    client.post(f"/freigaben/{anna.id}/ablehnen")
    assert _user("anna@stuttgart.example") is not None


def test_staff_may_not_see_approvals(client, auth, anna):
    auth.login()
    assert client.get("/freigaben").status_code == 403


def test_other_city_admin_cannot_approve(client, auth, make_user, stuttgart, muenchen):
    make_user("cdo@muenchen.example", city=muenchen, role="city_admin")
    pending = make_user("neu@stuttgart.example", city=stuttgart, is_approved=False)
    auth.login("cdo@muenchen.example")
    assert "neu@stuttgart.example" not in client.get("/freigaben").get_data(as_text=True)
    assert client.post(f"/freigaben/{pending.id}/freigeben").status_code == 403
    assert client.post(f"/freigaben/{pending.id}/ablehnen").status_code == 403
    db.session.expire_all()
    assert pending.is_approved is False


def test_platform_admin_sees_all_pending(client, auth, admin, make_user, stuttgart, muenchen):
    make_user("neu@stuttgart.example", city=stuttgart, is_approved=False)
    make_user("neu@muenchen.example", city=muenchen, is_approved=False)
    auth.login(admin.email)
    page = client.get("/freigaben").get_data(as_text=True)
    assert "neu@stuttgart.example" in page and "neu@muenchen.example" in page


def test_unknown_user_is_404(client, auth, cdo_stuttgart):
    auth.login("cdo@stuttgart.example")
    assert client.post("/freigaben/9999/freigeben").status_code == 404


def test_city_admin_changes_role(client, auth, anna, cdo_stuttgart):
    auth.login("cdo@stuttgart.example")
    response = client.post(f"/freigaben/{anna.id}/rolle", data={"role": "visit_planner"})
    assert response.status_code == 302
    assert anna.role == "visit_planner"
    page = client.get("/freigaben").get_data(as_text=True)
    assert "Anna Schmid hat jetzt die Rolle „Besuchsplanung“." in page


def test_unknown_role_changes_nothing(client, auth, anna, cdo_stuttgart):
    auth.login("cdo@stuttgart.example")
    client.post(f"/freigaben/{anna.id}/rolle", data={"role": "kaiser"})
    assert "Unbekannte Rolle." in client.get("/freigaben").get_data(as_text=True)
    assert anna.role == "staff"


def test_city_admin_cannot_change_own_role(client, auth, cdo_stuttgart):
    auth.login("cdo@stuttgart.example")
    assert client.post(f"/freigaben/{cdo_stuttgart.id}/rolle",
                       data={"role": "staff"}).status_code == 403
    assert cdo_stuttgart.role == "city_admin"


def test_role_change_needs_own_city(client, auth, anna, make_user, muenchen):
    make_user("cdo@muenchen.example", city=muenchen, role="city_admin")
    auth.login("cdo@muenchen.example")
    assert client.post(f"/freigaben/{anna.id}/rolle",
                       data={"role": "city_admin"}).status_code == 403
    assert anna.role == "staff"


def test_staff_cannot_change_roles(client, auth, anna, cdo_stuttgart):
    auth.login()
    assert client.post(f"/freigaben/{cdo_stuttgart.id}/rolle",
                       data={"role": "staff"}).status_code == 403
    assert cdo_stuttgart.role == "city_admin"


def test_logged_in_user_is_sent_away_from_register(client, auth, anna):
    auth.login()
    assert client.get("/registrieren").status_code == 302
    assert auth.login().status_code == 302  # already logged in
    assert PASSWORD


def test_registration_and_approval_notify(client, auth, app, stuttgart, cdo_stuttgart,
                                          make_user, muenchen):
    from pathlib import Path

    from exchange.projects.models import Notification

    make_user("cdo@muenchen.example", city=muenchen, role="city_admin")
    _register(client)
    notes = db.session.scalars(sa.select(Notification)).all()
    assert [(n.user, n.kind, n.link) for n in notes] == [
        (cdo_stuttgart, "registration", "/freigaben")]
    assert "Lena Vogel (lena@stuttgart.example) möchte" in notes[0].title
    from exchange.projects.mail import send_due

    send_due()  # the worker's mail round
    assert "To: cdo@stuttgart.example" in Path(app.config["MAIL_LOG"]).read_text()

    lena = _user("lena@stuttgart.example")
    auth.login("cdo@stuttgart.example")
    client.post(f"/freigaben/{lena.id}/freigeben")
    note = db.session.scalar(sa.select(Notification).where(Notification.user_id == lena.id))
    assert note.kind == "account_approved" and "ist freigegeben" in note.title


def test_dashboard_shows_pending_registrations_to_admins(client, auth, anna, cdo_stuttgart,
                                                         make_user, stuttgart, monkeypatch):
    from exchange.auth.views import pending_registrations
    from exchange.core import hooks

    # Only this provider: other domains' dashboard sections are tested by their owners.
    monkeypatch.setattr(hooks, "_PROVIDERS", {"dashboard": [
        entry for entry in hooks._PROVIDERS["dashboard"] if entry[1] == "approvals"]})
    assert pending_registrations(cdo_stuttgart) is None  # nothing pending: no section
    make_user("neu@stuttgart.example", city=stuttgart, is_approved=False,
              display_name="Nora Neu")
    auth.login("cdo@stuttgart.example")
    page = client.get("/").get_data(as_text=True)
    assert "1 Person wartet auf Ihre Freigabe." in page and "Nora Neu" in page
    auth.logout()
    auth.login()
    assert "wartet auf Ihre Freigabe" not in client.get("/").get_data(as_text=True)
    assert pending_registrations(anna) is None
