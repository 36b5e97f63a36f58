"""Nothing tells whether an account exists: the login answers (and works) the same for
an unknown address and a wrong password, exactly one password hash is checked in every
case, and the reset request answers the same for known and unknown addresses."""
import pytest
import sqlalchemy as sa

from exchange.auth import services
from exchange.auth.services import authenticate, deactivate_user
from exchange.extensions import db
from exchange.projects.models import OutgoingMail

WRONG = "E-Mail-Adresse oder Passwort ist falsch."


@pytest.fixture
def hash_checks(monkeypatch):
    """Every call of werkzeug's check_password_hash from the auth services, passed through."""
    calls = []
    real = services.check_password_hash

    def counting(stored, password):
        calls.append(stored)
        return real(stored, password)

    monkeypatch.setattr(services, "check_password_hash", counting)
    return calls


def _method(stored: str) -> str:
    return stored.split("$", 1)[0]


def test_unknown_address_checks_one_hash_of_the_same_method(app, anna, hash_checks):
    assert authenticate("nobody@stuttgart.example", "wrong password!") is None
    assert authenticate("anna@stuttgart.example", "wrong password!") is None
    assert len(hash_checks) == 2
    unknown, known = hash_checks
    assert unknown != anna.password_hash and known == anna.password_hash
    assert _method(unknown) == _method(known) == app.config["PASSWORD_HASH_METHOD"]


def test_deactivated_and_passwordless_accounts_check_one_hash(app, anna, make_user,
                                                             hash_checks):
    deactivate_user(anna)
    imported = make_user("imported@stuttgart.example")
    imported.password_hash = None
    db.session.commit()
    assert authenticate("anna@stuttgart.example", "wrong password!") is None
    assert authenticate("imported@stuttgart.example", "") is None
    assert len(hash_checks) == 2
    assert _method(hash_checks[1]) == app.config["PASSWORD_HASH_METHOD"]


def test_login_page_is_the_same_for_unknown_and_wrong(client, anna, hash_checks):
    unknown = client.post("/login", data={"email": "nobody@stuttgart.example",
                                          "password": "wrong password!"})
    wrong = client.post("/login", data={"email": "anna@stuttgart.example",
                                        "password": "wrong password!"})
    assert unknown.status_code == wrong.status_code == 200
    assert WRONG in unknown.get_data(as_text=True) and WRONG in wrong.get_data(as_text=True)
    assert len(hash_checks) == 2


def _mails():
    return db.session.scalars(sa.select(OutgoingMail)).all()


def test_reset_request_answers_the_same_for_known_and_unknown(client, anna, make_user):
    deactivated = make_user("gone@stuttgart.example")
    deactivate_user(deactivated)
    db.session.commit()
    answers = []
    for email in ("anna@stuttgart.example", "nobody@stuttgart.example",
                  "gone@stuttgart.example"):
        response = client.post("/passwort-vergessen", data={"email": email})
        answers.append((response.status_code, response.headers["Location"],
                        client.get(response.headers["Location"]).get_data(as_text=True)))
    assert answers[0][:2] == answers[1][:2] == answers[2][:2] == (302, "/login")
    for _status, _location, page in answers:
        assert "Wenn zu dieser Adresse ein aktives Konto gehört" in page
    assert [mail.recipient for mail in _mails()] == ["anna@stuttgart.example"]
