"""Shared API plumbing: the one timestamp format every API module uses."""
from datetime import datetime

from exchange.api.common import utc_iso
from exchange.extensions import db


def test_utc_iso_is_seconds_with_z():
    assert utc_iso(datetime(2026, 6, 30, 23, 30, 5, 123456)) == "2026-06-30T23:30:05Z"
    assert utc_iso(datetime(2026, 12, 1, 8, 0)) == "2026-12-01T08:00:00Z"
    assert utc_iso(None) is None


def test_experience_times_in_the_api_use_it(client, auth, anna, make_experience):
    experience = make_experience(anna)
    experience.created_at = datetime(2026, 6, 30, 23, 30, 5, 999)
    experience.current_revision.created_at = datetime(2026, 6, 30, 23, 31)
    db.session.commit()
    auth.login(anna.email)
    data = client.get(f"/api/v1/experiences/{experience.slug}").get_json()
    assert data["created_at"] == "2026-06-30T23:30:05Z"
    revisions = client.get(f"/api/v1/experiences/{experience.slug}/revisions").get_json()
    assert revisions["items"][0]["created_at"] == "2026-06-30T23:31:00Z"
