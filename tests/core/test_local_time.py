"""Stored times are naive UTC; every page shows them in Berlin time (BABEL_DEFAULT_TIMEZONE)."""
from datetime import datetime

import pytest

from exchange.auth.services import create_token
from exchange.extensions import db

#: 23:30 UTC on 30 June is 01:30 on 1 July in Berlin (summer time, UTC+2).
LATE_EVENING_UTC = datetime(2026, 6, 30, 23, 30)


@pytest.fixture
def late_experience(anna, make_topic, make_experience):
    """A published experience whose every timestamp is 23:30 UTC on 30 June."""
    experience = make_experience(anna, topics=[make_topic("eakte", "eAkte")])
    experience.created_at = experience.updated_at = LATE_EVENING_UTC
    experience.published_at = LATE_EVENING_UTC
    experience.current_revision.created_at = LATE_EVENING_UTC
    db.session.commit()
    return experience


def test_experience_page_shows_berlin_date_and_time(client, auth, anna, late_experience):
    auth.login(anna.email)
    page = client.get(f"/erfahrungen/{late_experience.slug}").text
    assert "01.07.2026" in page and "01:30" in page
    assert "30.06.2026" not in page and "23:30" not in page


@pytest.mark.parametrize("url", ["/staedte/stuttgart", "/themen/eakte", "/suche?q=eAkte"])
def test_experience_lists_show_the_berlin_day(client, auth, anna, late_experience, url):
    auth.login(anna.email)
    page = client.get(url).text
    assert f"/erfahrungen/{late_experience.slug}" in page
    assert "01.07.2026" in page and "30.06.2026" not in page


def test_profile_shows_token_times_in_berlin_time(client, auth, anna):
    token, _clear = create_token(anna, "Skript")
    token.created_at = token.last_used_at = token.revoked_at = LATE_EVENING_UTC
    db.session.commit()
    auth.login(anna.email)
    page = client.get("/profil").text
    assert "01.07.2026, 01:30" in page and "widerrufen am 01.07.2026" in page
    assert "30.06.2026" not in page


def test_approvals_show_the_registration_day_in_berlin_time(client, auth, cdo_stuttgart,
                                                            make_user, stuttgart):
    pending = make_user("neu@stuttgart.example", city=stuttgart, is_approved=False)
    pending.created_at = LATE_EVENING_UTC
    db.session.commit()
    auth.login(cdo_stuttgart.email)
    page = client.get("/freigaben").text
    assert pending.email in page
    assert "01.07.2026" in page and "30.06.2026" not in page


def test_english_interface_shows_the_same_local_times(client, auth, anna, late_experience):
    """The same Berlin moment, written the English way (CLDR "medium" date, short time)."""
    auth.login(anna.email)
    client.get("/lang/en")
    page = client.get(f"/erfahrungen/{late_experience.slug}").text
    assert 'lang="en"' in page
    assert "Jul 1, 2026, 1:30\u202fAM" in page or "Jul 1, 2026, 1:30 AM" in page
    assert "Jun 30, 2026" not in page and "30.06.2026" not in page
