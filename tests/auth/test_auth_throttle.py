"""Login throttling: five wrong passwords within 15 minutes lock the address for 15 minutes."""
from datetime import datetime, timedelta

import pytest
from conftest import PASSWORD

from exchange.auth import throttle as throttle_module
from exchange.auth.throttle import LoginThrottle

LOCKED = "Zu viele fehlgeschlagene Anmeldeversuche für diese E-Mail-Adresse"
WRONG = "E-Mail-Adresse oder Passwort ist falsch."


class Clock:
    """A clock the test moves forward by hand."""

    def __init__(self):
        self.now = datetime(2026, 11, 25, 9, 0)

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += timedelta(**delta)


@pytest.fixture
def clock(app):
    """The app's login throttle, driven by a hand-moved clock."""
    clock = Clock()
    app.extensions["login_throttle"] = LoginThrottle(clock=clock)
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


def test_throttle_forgets_stale_addresses_when_full(monkeypatch):
    monkeypatch.setattr(throttle_module, "MAX_TRACKED", 10)
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    for number in range(10):
        throttle.record_failure(f"old{number}@example.org")
    clock.advance(minutes=20)
    for number in range(3):
        throttle.record_failure(f"new{number}@example.org")
    assert set(throttle._failures) == {f"new{number}@example.org" for number in range(3)}


def test_throttle_keeps_the_newest_addresses_under_a_flood(monkeypatch):
    monkeypatch.setattr(throttle_module, "MAX_TRACKED", 10)
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    for number in range(30):
        clock.advance(seconds=1)
        throttle.record_failure(f"flood{number}@example.org")
    assert len(throttle._failures) <= 10
    assert "flood29@example.org" in throttle._failures
    assert "flood0@example.org" not in throttle._failures
