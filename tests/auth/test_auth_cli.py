"""flask --app exchange users ... and tokens ... commands."""
import pytest
import sqlalchemy as sa

from exchange.auth.models import ApiToken, User
from exchange.auth.services import authenticate, find_user_by_email, user_for_token
from exchange.extensions import db

SECRET = "geheimes Passwort 1"


def _count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_users_create_with_password_from_stdin(runner, stuttgart):
    result = runner.invoke(args=["users", "create", "Planer@Stuttgart.example", "--city",
                                 "stuttgart", "--role", "visit_planner", "--password-stdin",
                                 "--name", "Petra Planer"], input=SECRET + "\n")
    assert result.exit_code == 0, result.output
    assert "planer@stuttgart.example" in result.output
    user = find_user_by_email("planer@stuttgart.example")
    assert (user.display_name, user.role, user.city, user.is_approved, user.is_admin) == (
        "Petra Planer", "visit_planner", stuttgart, True, False)
    assert SECRET not in user.password_hash
    assert authenticate("planer@stuttgart.example", SECRET) is user


def test_users_create_without_password_says_so(runner, stuttgart):
    result = runner.invoke(args=["users", "create", "ohne@stuttgart.example",
                                 "--city", "stuttgart", "--role", "staff"])
    assert result.exit_code == 0, result.output
    assert "kein Passwort gesetzt" in result.output
    assert find_user_by_email("ohne@stuttgart.example").password_hash is None

    result = runner.invoke(args=["users", "set-password", "ohne@stuttgart.example"],
                           input=SECRET + "\n")
    assert result.exit_code == 0, result.output
    assert authenticate("ohne@stuttgart.example", SECRET) is not None


def test_platform_admin_needs_no_city(runner):
    result = runner.invoke(args=["users", "create", "root@city-exchange.example", "--admin",
                                 "--role", "staff", "--password-stdin"], input=SECRET + "\n")
    assert result.exit_code == 0, result.output
    user = find_user_by_email("root@city-exchange.example")
    assert user.is_admin and user.city is None


@pytest.mark.parametrize("args, stdin, message", [
    (["neu@stuttgart.example", "--city", "atlantis", "--role", "staff"], None,
     "Unbekannte Stadt: atlantis"),
    (["neu@stuttgart.example", "--city", "stuttgart", "--role", "kaiser"], None,
     "Unbekannte Rolle kaiser"),
    (["ANNA@stuttgart.example", "--city", "stuttgart", "--role", "staff"], None,
     "bereits registriert"),
    (["kein-at-zeichen", "--city", "stuttgart", "--role", "staff"], None,
     "Ungültige E-Mail-Adresse"),
    (["neu@stuttgart.example", "--role", "staff"], None, "--city SLUG"),
    (["neu@stuttgart.example", "--city", "stuttgart", "--role", "staff", "--password-stdin"],
     "kurz\n", "12 bis 200 Zeichen"),
    (["neu@stuttgart.example", "--city", "stuttgart", "--role", "staff", "--password-stdin"],
     "", "12 bis 200 Zeichen"),
    (["neu@stuttgart.example", "--city", "stuttgart", "--role", "staff", "--name", "N" * 121],
     None, "höchstens 120 Zeichen"),
])
def test_users_create_refuses_bad_input_and_writes_nothing(runner, anna, args, stdin, message):
    result = runner.invoke(args=["users", "create", *args], input=stdin)
    assert result.exit_code == 1
    assert message in result.output
    assert _count(User) == 1
    db.session.expire_all()
    assert find_user_by_email("anna@stuttgart.example").role == "staff"


def test_users_list(runner, anna, admin, make_user, stuttgart):
    make_user("neu@stuttgart.example", city=stuttgart, is_approved=False)
    result = runner.invoke(args=["users", "list"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert [line.split("\t")[0] for line in lines] == [
        "admin@city-exchange.example", "anna@stuttgart.example", "neu@stuttgart.example"]
    assert "stuttgart\tstaff" in lines[1]
    assert "wartet auf Freigabe" in lines[2]
    assert "admin" in lines[0].split("\t")[-1]


def test_tokens_create_prints_only_the_token_and_revoke_stops_it(runner, anna):
    result = runner.invoke(args=["tokens", "create", "Anna@Stuttgart.example", "Export"])
    assert result.exit_code == 0, result.output
    clear = result.stdout.strip()
    assert result.stdout == clear + "\n"
    assert clear.startswith("cx_") and len(clear) > 30
    assert user_for_token(clear) is anna

    result = runner.invoke(args=["tokens", "list", anna.email])
    assert result.output.startswith("Export\t" + clear[:10])

    result = runner.invoke(args=["tokens", "revoke", anna.email, "Export"])
    assert result.exit_code == 0, result.output
    assert user_for_token(clear) is None

    result = runner.invoke(args=["tokens", "revoke", anna.email, "Export"])
    assert result.exit_code == 1
    assert "keinen aktiven Token namens „Export“" in result.output


def test_tokens_refuse_bad_input(runner, anna):
    result = runner.invoke(args=["tokens", "create", "niemand@stuttgart.example", "x"])
    assert result.exit_code == 1 and "Kein Benutzer" in result.output
    result = runner.invoke(args=["tokens", "create", anna.email, "n" * 81])
    assert result.exit_code == 1 and "1 bis 80 Zeichen" in result.output
    assert runner.invoke(args=["tokens", "create", anna.email, "Export"]).exit_code == 0
    result = runner.invoke(args=["tokens", "create", anna.email, "Export"])
    assert result.exit_code == 1 and "schon einen Token" in result.output
    assert _count(ApiToken) == 1
