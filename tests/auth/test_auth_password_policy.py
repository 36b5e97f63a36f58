"""Password policy: at least 12 characters, not on the shipped common-password list (also
with digits appended), not mostly repetition, not the address, its local part or the
name; applied by registration, password change, reset and the command line."""
import pytest
from conftest import PASSWORD

from exchange.auth.services import (MIN_PASSWORD_LENGTH, PasswordPolicyError, common_passwords,
                                    create_user, password_problem, set_password)


def test_the_shipped_list_is_loaded_lower_cased(app):
    passwords = common_passwords()
    assert len(passwords) > 19_000
    assert {"123456", "password", "passwort", "qwerty123456"} <= passwords
    assert all(entry == entry.lower() for entry in passwords)


@pytest.mark.parametrize("password, reason", [
    ("kurz", "mindestens 12 Zeichen"),
    ("x" * 201, "höchstens 200 Zeichen"),
    ("QWERTY123456", "Liste häufig benutzter"),     # on the list, other letter case
    ("1q2w3e4r5t6y", "Liste häufig benutzter"),
    ("Passwort2024!", "Liste häufig benutzter"),    # "passwort" with digits appended
    ("aaaaaaaaaaaa", "Wiederholungen"),             # the example, now 12 long
    ("121212121212", "Wiederholungen"),
    ("Anna.Schmid@Stuttgart.example", "E-Mail-Adresse oder Ihr Name"),
    ("anna.schmidxx", None),
    ("Anna Schmid Stuttgart", None),
])
def test_password_problem(app, password, reason):
    problem = password_problem(password, "anna.schmid@stuttgart.example", "Anna Schmid")
    if reason is None:
        assert problem is None
    else:
        assert reason in problem


def test_local_part_and_display_name_are_refused(app):
    assert password_problem("lena.vogel.bonn", "lena.vogel.bonn@bonn.example", "Lena")
    assert password_problem("Lena Maria Vogel", "lv@bonn.example", "lena maria vogel")
    assert password_problem("lenamariavogel", "lv@bonn.example", "Lena Maria Vogel")


def test_set_password_applies_the_policy(app, anna):
    old = anna.password_hash
    with pytest.raises(PasswordPolicyError):
        set_password(anna, "anna@stuttgart.example")
    assert anna.password_hash == old


def test_create_user_applies_the_policy(app, stuttgart):
    with pytest.raises(PasswordPolicyError):
        create_user("neu@stuttgart.example", "Neu", city=stuttgart, password="qwertyqwerty")


def test_password_change_refuses_a_common_password(client, auth, anna):
    auth.login()
    old = anna.password_hash
    page = client.post("/profil/passwort", data={
        "current_password": PASSWORD, "new_password": "qwerty123456",
        "new_password_confirm": "qwerty123456"}).get_data(as_text=True)
    assert "Liste häufig benutzter Passwörter" in page
    assert anna.password_hash == old


def test_cli_set_password_refuses_the_name(runner, anna):
    old = anna.password_hash
    result = runner.invoke(args=["users", "set-password", "anna@stuttgart.example"],
                           input="Anna@Stuttgart.example\n")
    assert result.exit_code != 0
    assert "nicht Ihre E-Mail-Adresse oder Ihr Name" in result.output
    assert anna.password_hash == old


def test_cli_create_refuses_a_common_password(runner, stuttgart):
    result = runner.invoke(args=["users", "create", "neu@stuttgart.example", "--city",
                                 "stuttgart", "--password-stdin"], input="1qaz2wsx3edc\n")
    assert result.exit_code != 0
    assert "Liste häufig benutzter" in result.output


def test_demo_password_meets_the_policy(app):
    """Seeding goes through create_user, so the demo password must pass the policy."""
    from exchange.demo import DEMO_PASSWORD

    assert len(DEMO_PASSWORD) >= MIN_PASSWORD_LENGTH
    assert password_problem(DEMO_PASSWORD, "anna@stuttgart.example", "Anna Schmid") is None
