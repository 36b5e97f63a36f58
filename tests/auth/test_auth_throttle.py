"""Login throttling: five wrong passwords within 15 minutes lock the address for the rest
of the window, thirty from one client address lock that address; the counters are shared
by every app instance (the database by default, Redis when configured)."""
import os
import socket
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from conftest import PASSWORD

from exchange import create_app
from exchange.auth import throttle as throttle_module
from exchange.auth.models import RateLimitCounter
from exchange.auth.throttle import DatabaseStorage, Throttle, login_throttle
from exchange.extensions import db

LOCKED = "Zu viele fehlgeschlagene Anmeldeversuche für diese E-Mail-Adresse"
LOCKED_ADDRESS = "Zu viele fehlgeschlagene Anmeldeversuche von Ihrer Netzwerkadresse"
WRONG = "E-Mail-Adresse oder Passwort ist falsch."


class Clock:
    """A clock the test moves forward by hand (seconds since the epoch when called)."""

    def __init__(self):
        self.now = datetime(2026, 11, 25, 9, 0)

    def __call__(self):
        return self.now.replace(tzinfo=timezone.utc).timestamp()

    def advance(self, **delta):
        self.now += timedelta(**delta)


@pytest.fixture
def clock(app):
    """The app's throttle on the database storage, driven by a hand-moved clock."""
    clock = Clock()
    app.extensions["login_throttle"] = Throttle(DatabaseStorage(db.engine, clock=clock))
    return clock


def fail(auth, email="anna@stuttgart.example", times=1):
    """Post `times` wrong passwords; returns the last response."""
    for _ in range(times):
        response = auth.login(email, "wrong password!")
    return response


def logged_in(client) -> bool:
    return client.get("/").status_code == 200


def test_fifth_failure_locks_the_address(anna, client, auth, clock):
    response = fail(auth, times=4)
    assert response.status_code == 200
    assert WRONG in response.get_data(as_text=True)

    response = fail(auth)
    page = response.get_data(as_text=True)
    assert response.status_code == 429
    assert LOCKED in page
    assert "für 15 Minuten gesperrt" in page


def test_locked_address_refuses_even_the_right_password(anna, client, auth, clock):
    fail(auth, times=5)
    clock.advance(minutes=5)
    response = auth.login("anna@stuttgart.example", PASSWORD)
    assert response.status_code == 429
    assert "für 10 Minuten gesperrt" in response.get_data(as_text=True)
    assert not logged_in(client)


def test_lock_ends_after_fifteen_minutes(anna, client, auth, clock):
    fail(auth, times=5)
    clock.advance(minutes=14, seconds=59)
    response = auth.login("anna@stuttgart.example", PASSWORD)
    assert response.status_code == 429
    assert "für 1 Minute gesperrt" in response.get_data(as_text=True)

    clock.advance(seconds=1)
    assert auth.login("anna@stuttgart.example", PASSWORD).status_code == 302
    assert logged_in(client)


def test_lock_is_per_address_and_ignores_letter_case(anna, cdo_stuttgart, client, auth, clock):
    fail(auth, "Anna@Stuttgart.example", times=3)
    fail(auth, " anna@stuttgart.EXAMPLE", times=2)
    assert auth.login("anna@stuttgart.example", PASSWORD).status_code == 429

    assert auth.login("cdo@stuttgart.example", PASSWORD).status_code == 302
    assert logged_in(client)


def test_failures_older_than_the_window_do_not_count(anna, client, auth, clock):
    fail(auth, times=4)
    clock.advance(minutes=15)
    response = fail(auth, times=4)
    assert response.status_code == 200
    assert WRONG in response.get_data(as_text=True)
    assert auth.login("anna@stuttgart.example", PASSWORD).status_code == 302


def test_a_successful_login_clears_earlier_failures(anna, client, auth, clock):
    fail(auth, times=4)
    assert auth.login("anna@stuttgart.example", PASSWORD).status_code == 302
    auth.logout()
    assert fail(auth, times=4).status_code == 200
    assert auth.login("anna@stuttgart.example", PASSWORD).status_code == 302


def test_unknown_addresses_lock_the_same_way(app, client, auth, clock):
    """Otherwise the lockout would tell an attacker which addresses exist."""
    response = fail(auth, "nobody@stuttgart.example", times=5)
    assert response.status_code == 429
    assert LOCKED in response.get_data(as_text=True)


def test_lockout_message_in_english(anna, client, auth, clock):
    client.get("/lang/en")
    response = fail(auth, times=5)
    assert response.status_code == 429
    # The English catalogue may not be compiled yet; either way the message is there.
    page = response.get_data(as_text=True)
    assert LOCKED in page or "failed" in page.lower()


def test_the_database_is_the_default_storage(app):
    assert isinstance(login_throttle().storage, DatabaseStorage)


def test_counters_are_stored_hashed(anna, client, auth, clock):
    """Keys name e-mail and client addresses; the table holds only their SHA-256."""
    fail(auth, times=2)
    rows = db.session.scalars(sa.select(RateLimitCounter)).all()
    assert len(rows) == 2  # this account, this client address
    assert all(len(row.key_hash) == 64 and "@" not in row.key_hash for row in rows)
    assert sorted(row.hits for row in rows) == [2, 2]


def test_spraying_from_one_address_locks_that_address(make_user, stuttgart, client, auth, clock):
    """One password tried against many accounts: the per-address rule stops it."""
    for number in range(30):
        response = fail(auth, f"person{number}@stuttgart.example")
    assert response.status_code == 429
    assert LOCKED_ADDRESS in response.get_data(as_text=True)
    make_user("last@stuttgart.example", city=stuttgart)
    assert auth.login("last@stuttgart.example", PASSWORD).status_code == 429
    other = client.post("/login", data={"email": "last@stuttgart.example", "password": PASSWORD},
                        environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 302  # another address logs in


def test_ended_windows_are_purged(monkeypatch, app, clock):
    """A flood of made-up addresses leaves at most one window's worth of rows."""
    monkeypatch.setattr(throttle_module, "PURGE_EVERY", 10)
    throttle = login_throttle()
    for number in range(9):
        throttle.hit("login_account", f"old{number}@example.org")
    clock.advance(minutes=16)
    throttle.hit("login_account", "new@example.org")  # the 10th counted attempt purges
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RateLimitCounter)) == 1


def test_two_app_instances_share_the_counter(anna, app, app_config, client, auth):
    """Two create_app() on one database, like two gunicorn workers: five wrong passwords
    in all lock the account, not five in each."""
    other = create_app(app_config)
    fail(auth, times=3)
    with other.app_context():
        other_client = other.test_client()
        for _ in range(2):
            response = other_client.post("/login", data={"email": "anna@stuttgart.example",
                                                         "password": "wrong password!"})
        assert response.status_code == 429
        assert LOCKED in response.get_data(as_text=True)
        db.engine.dispose()
    assert auth.login("anna@stuttgart.example", PASSWORD).status_code == 429


def _redis_url() -> str | None:
    url = os.environ.get("EXCHANGE_TEST_REDIS_URL", "redis://127.0.0.1:6379")
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        return None
    return url


def test_redis_storage_when_configured(anna, app_config, make_user):
    """RATELIMIT_STORAGE_URI names Redis: both app instances count there."""
    url = _redis_url()
    if url is None:
        pytest.skip("no Redis server on 127.0.0.1:6379")
    config = dict(app_config, RATELIMIT_STORAGE_URI=url,
                  RATELIMIT_STORAGE_OPTIONS={"key_prefix": f"exchange-test-{uuid.uuid4().hex}"})
    first, second = create_app(config), create_app(config)
    try:
        for number, instance in enumerate((first, second, first, second, first)):
            with instance.app_context():
                response = instance.test_client().post(
                    "/login", data={"email": "anna@stuttgart.example",
                                    "password": "wrong password!"})
                assert type(login_throttle().storage).__name__ == "RedisStorage"
        assert response.status_code == 429
        assert LOCKED in response.get_data(as_text=True)
    finally:
        with first.app_context():
            login_throttle().storage.reset()  # this test's keys (its own prefix)
            db.engine.dispose()
        with second.app_context():
            db.engine.dispose()


def test_wrong_tokens_lock_the_address(anna, client, token_for, clock):
    good = token_for(anna)
    for _ in range(20):
        response = client.get("/api/v1/cities", headers={"Authorization": "Bearer cx_wrong"})
        assert response.status_code == 401
    response = client.get("/api/v1/cities", headers={"Authorization": f"Bearer {good}"})
    assert response.status_code == 429
    assert "Zu viele ungültige API-Tokens" in response.get_json()["error"]["message"]
    other = client.get("/api/v1/cities", headers={"Authorization": f"Bearer {good}"},
                       environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200
    clock.advance(minutes=15)
    assert client.get("/api/v1/cities",
                      headers={"Authorization": f"Bearer {good}"}).status_code == 200


def test_right_tokens_are_not_counted(anna, client, token_for, clock):
    good = token_for(anna)
    for _ in range(25):
        assert client.get("/api/v1/cities",
                          headers={"Authorization": f"Bearer {good}"}).status_code == 200


def test_a_failing_storage_lets_attempts_through(anna, app, client, auth):
    """A broken counter must not lock everybody out (the failure is logged)."""
    broken = sa.create_engine("sqlite:////nonexistent-dir/nowhere.db")
    app.extensions["login_throttle"] = Throttle(DatabaseStorage(broken))
    assert fail(auth).status_code == 200
    assert auth.login("anna@stuttgart.example", PASSWORD).status_code == 302
