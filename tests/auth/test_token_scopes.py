"""Token scopes and expiry: the profile form, the CLI, the German-time last day, the audit."""
import re
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from exchange.audit.models import AuditEvent
from exchange.auth.models import (ApiToken, local_today, token_expires_at, token_last_day)
from exchange.auth.services import (DEFAULT_TOKEN_DAYS, MAX_TOKEN_DAYS, AccountError,
                                    create_token, token_check)
from exchange.extensions import db
from exchange.util import utcnow

TOKEN_RE = re.compile(r'<code class="token">(cx_[A-Za-z0-9_-]+)</code>')


def _today() -> date:
    return local_today(utcnow())


def _tokens() -> list[ApiToken]:
    return db.session.scalars(sa.select(ApiToken).order_by(ApiToken.id)).all()


def test_the_form_offers_read_only_and_the_default_expiry(client, auth, anna):
    auth.login()
    page = client.get("/profil").text
    default = (_today() + timedelta(days=DEFAULT_TOKEN_DAYS)).isoformat()
    latest = (_today() + timedelta(days=MAX_TOKEN_DAYS)).isoformat()
    assert re.search(r'<input checked id="scope_read" name="scope_read" type="checkbox"', page)
    assert ('<input aria-describedby="scope_write-hilfe" id="scope_write" name="scope_write" '
            'type="checkbox"') in page
    field = re.search(r'<input[^>]*name="last_day"[^>]*>', page).group(0)
    assert f'value="{default}"' in field and f'max="{latest}"' in field
    assert f'min="{_today().isoformat()}"' in field and 'type="date"' in field


def test_a_read_token_from_the_form(client, auth, anna):
    auth.login()
    last_day = _today() + timedelta(days=30)
    response = client.post("/profil/tokens", data={
        "name": "Auswertung", "scope_read": "y", "last_day": last_day.isoformat()})
    assert TOKEN_RE.search(response.text)
    token, = _tokens()
    assert token.scopes == "read" and token.last_day == last_day
    assert token.expires_at == token_expires_at(last_day)
    page = client.get("/profil").text
    assert "nur lesen" in page and "abgelaufen" not in page
    assert f'<time datetime="{last_day.isoformat()}">' in page


def test_write_implies_read_and_german_dates_are_accepted(client, auth, anna):
    auth.login()
    last_day = _today() + timedelta(days=7)
    response = client.post("/profil/tokens", data={
        "name": "Intranet", "scope_write": "y", "last_day": last_day.strftime("%d.%m.%Y")})
    assert TOKEN_RE.search(response.text)
    token, = _tokens()
    assert token.scopes == "read write" and token.last_day == last_day
    assert "lesen und schreiben" in client.get("/profil").text


@pytest.mark.parametrize("data, message", [
    ({"last_day": "PAST"}, "Das Datum liegt in der Vergangenheit"),
    ({"last_day": "TOO_LATE"}, "Ein Token gilt höchstens ein Jahr, also bis spätestens"),
    ({"last_day": "morgen"}, "Bitte geben Sie ein gültiges Datum an"),
    ({"last_day": "2027-02-30"}, "Bitte geben Sie ein gültiges Datum an"),
    ({"last_day": "99999-01-01"}, "Bitte geben Sie ein gültiges Datum an"),
    ({"last_day": ""}, "Bitte geben Sie an, bis wann der Token gilt."),
    ({"scope_read": None}, "Bitte wählen Sie, was der Token darf"),
])
def test_bad_scopes_and_days_are_form_errors(client, auth, anna, data, message):
    auth.login()
    form = {"name": "Skript", "scope_read": "y",
            "last_day": (_today() + timedelta(days=10)).isoformat()}
    form.update(data)
    replace = {"PAST": (_today() - timedelta(days=1)).isoformat(),
               "TOO_LATE": (_today() + timedelta(days=MAX_TOKEN_DAYS + 1)).isoformat()}
    form = {key: replace.get(value, value) for key, value in form.items() if value is not None}
    response = client.post("/profil/tokens", data=form)
    assert response.status_code == 200
    assert message in response.text and "Fehler: " in response.text
    assert TOKEN_RE.search(response.text) is None and _tokens() == []


def test_the_last_possible_days_are_accepted(client, auth, anna):
    auth.login()
    for name, last_day in (("heute", _today()),
                           ("ein Jahr", _today() + timedelta(days=MAX_TOKEN_DAYS))):
        response = client.post("/profil/tokens", data={
            "name": name, "scope_read": "y", "last_day": last_day.isoformat()})
        assert TOKEN_RE.search(response.text), response.text
    assert [token.last_day for token in _tokens()] == [
        _today(), _today() + timedelta(days=MAX_TOKEN_DAYS)]


def test_an_expired_token_is_listed_as_expired(client, auth, anna):
    token, _clear = create_token(anna, "Alt", scopes=("read",))
    token.expires_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    auth.login()
    page = client.get("/profil").text
    assert "(abgelaufen)" in page


def test_the_last_day_is_a_german_day(app):
    """A token works through the end of its last day in German time, summer or winter."""
    assert token_expires_at(date(2027, 1, 31)) == datetime(2027, 1, 31, 23, 0)
    assert token_expires_at(date(2027, 7, 31)) == datetime(2027, 7, 31, 22, 0)
    for day in (date(2027, 1, 31), date(2027, 3, 27), date(2027, 3, 28), date(2027, 10, 31)):
        assert token_last_day(token_expires_at(day)) == day
    assert local_today(datetime(2027, 7, 31, 22, 30)) == date(2027, 8, 1)


def test_the_service_checks_what_the_form_checks(app, anna):
    now = datetime(2027, 5, 10, 12, 0)
    with pytest.raises(AccountError):
        create_token(anna, "x", scopes=(), now=now)
    with pytest.raises(AccountError):
        create_token(anna, "x", scopes=("admin",), now=now)
    with pytest.raises(AccountError):
        create_token(anna, "x", last_day=date(2027, 5, 9), now=now)
    with pytest.raises(AccountError):
        create_token(anna, "x", last_day=date(2028, 5, 10), now=now)
    token, clear = create_token(anna, "x", scopes=("read",), now=now)
    assert token.last_day == date(2027, 8, 8)  # 90 days
    assert token_check(clear, writes=False, now=now).user is anna
    assert token_check(clear, writes=True, now=now).refusal == "read_only"
    assert token_check(clear, writes=False, now=token.expires_at).refusal == "expired"
    assert token_check(clear, writes=False,
                       now=token.expires_at - timedelta(seconds=1)).user is anna


def test_the_audit_entry_of_a_new_token_names_scopes_and_expiry(client, auth, anna):
    auth.login()
    last_day = _today() + timedelta(days=14)
    client.post("/profil/tokens", data={"name": "Skript", "scope_read": "y",
                                        "last_day": last_day.isoformat()})
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "token.created"))
    assert event.changes == {"scopes": [None, "read"],
                             "expires_at": [None, token_expires_at(last_day).isoformat()]}
    assert event.actor_id == anna.id and event.via == "web"


def test_cli_creates_scoped_tokens_with_a_last_day(runner, anna):
    last_day = _today() + timedelta(days=20)
    result = runner.invoke(args=["tokens", "create", anna.email, "Lesen", "--scope", "read",
                                 "--until", last_day.isoformat()])
    assert result.exit_code == 0, result.output
    clear = result.stdout.strip()
    assert token_check(clear, writes=True).refusal == "read_only"
    result = runner.invoke(args=["tokens", "create", anna.email, "Alles"])
    assert result.exit_code == 0, result.output
    read, full = _tokens()
    assert (read.scopes, read.last_day) == ("read", last_day)
    assert (full.scopes, full.last_day) == ("read write",
                                            _today() + timedelta(days=DEFAULT_TOKEN_DAYS))

    full.expires_at = utcnow() - timedelta(days=1)
    db.session.commit()
    lines = runner.invoke(args=["tokens", "list", anna.email]).output.splitlines()
    assert lines[0].endswith(f"\tread\t{last_day.isoformat()}")
    assert lines[1].split("\t")[-2] == "read write" and lines[1].endswith(" abgelaufen")


@pytest.mark.parametrize("args, message", [
    (["--until", "2001-01-01"], "Vergangenheit"),
    (["--until", "9999-12-31"], "höchstens ein Jahr"),
    (["--until", "morgen"], "morgen"),
    (["--scope", "admin"], "admin"),
])
def test_cli_refuses_bad_scopes_and_days(runner, anna, args, message):
    result = runner.invoke(args=["tokens", "create", anna.email, "x", *args])
    assert result.exit_code != 0 and message in result.output
    assert _tokens() == []
