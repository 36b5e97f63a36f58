"""iCalendar export parsed back with icalendar, and the JSON API of visits."""
from datetime import datetime, timedelta, timezone

import pytest
from icalendar import Calendar

from exchange.extensions import db
from exchange.visits import services
from exchange.visits.calendar import visit_calendar

UTC = timezone.utc


def _session(planer, visit, title, start, minutes=45, **fields):
    return services.add_session(planer, visit, title=title, starts_at=start,
                                ends_at=start + timedelta(minutes=minutes), **fields)


@pytest.fixture
def two_visits(planer_stuttgart, stuttgart, muenchen, make_visit):
    """December in Stuttgart (CET, +01:00) and April in Munich (CEST, +02:00)."""
    december = make_visit(planer_stuttgart, stuttgart, muenchen, title="Münchens CDO in Stuttgart",
                          starts_at=datetime(2026, 12, 3, 9, 30),
                          ends_at=datetime(2026, 12, 3, 17, 0), place="Rathaus Stuttgart",
                          address="Marktplatz 1, 70173 Stuttgart",
                          members=[{"guest_name": "Dr. Laura Hofmann", "role": "CDO"}])
    april = make_visit(planer_stuttgart, muenchen, stuttgart)
    _session(planer_stuttgart, december, "Begrüßung", datetime(2026, 12, 3, 9, 30), 30,
             room="Großer Sitzungssaal")
    _session(planer_stuttgart, april, "Begrüßung", datetime(2027, 4, 20, 9, 30), 30)
    _session(planer_stuttgart, april, "Innovation-Center", datetime(2027, 4, 20, 10, 0),
             description="Rundgang – mit „Labor“")
    db.session.commit()
    return december, april


def test_ics_parses_with_berlin_times(two_visits):
    december, april = two_visits
    for visit, welcome_utc in ((december, datetime(2026, 12, 3, 8, 30, tzinfo=UTC)),
                               (april, datetime(2027, 4, 20, 7, 30, tzinfo=UTC))):
        calendar = Calendar.from_ical(visit_calendar(visit))
        assert calendar["VERSION"] == "2.0"
        assert "City Exchange" in str(calendar["PRODID"])
        timezones = calendar.walk("VTIMEZONE")
        assert [str(tz["TZID"]) for tz in timezones] == ["Europe/Berlin"]
        events = calendar.walk("VEVENT")
        assert len(events) == 1 + len(visit.sessions)
        visit_event = events[0]
        assert str(visit_event["UID"]) == f"visit-{visit.id}@city-exchange.example"
        assert visit_event["DTSTAMP"].dt.tzinfo is not None
        assert visit_event["DTSTART"].params["TZID"] == "Europe/Berlin"
        welcome = next(e for e in events if str(e["SUMMARY"]).startswith("Begrüßung"))
        start = welcome["DTSTART"].dt
        assert (start.hour, start.minute) == (9, 30)
        assert start.astimezone(UTC) == welcome_utc   # 09:30 Berlin = 08:30 / 07:30 UTC
        uids = [str(event["UID"]) for event in events]
        assert len(set(uids)) == len(uids)
    calendar = Calendar.from_ical(visit_calendar(december))
    event = calendar.walk("VEVENT")[0]
    assert "Marktplatz 1, 70173 Stuttgart" in str(event["LOCATION"])
    assert "Dr. Laura Hofmann" in str(event["DESCRIPTION"])
    session_event = calendar.walk("VEVENT")[1]
    assert "Großer Sitzungssaal" in str(session_event["LOCATION"])


def test_ics_uids_are_stable(two_visits):
    _december, april = two_visits
    first = [str(e["UID"]) for e in Calendar.from_ical(visit_calendar(april)).walk("VEVENT")]
    second = [str(e["UID"]) for e in Calendar.from_ical(visit_calendar(april)).walk("VEVENT")]
    assert first == second


def test_api_visit_detail_and_ics(client, auth, anna, two_visits):
    _december, april = two_visits
    auth.login("anna@stuttgart.example")
    data = client.get(f"/api/v1/visits/{april.id}").get_json()
    assert data["title"] == "Gegenbesuch in München"
    assert data["host_city"] == {"slug": "muenchen", "name": "München"}
    assert data["visiting_city"]["slug"] == "stuttgart"
    assert data["starts_at"] == "2027-04-20T09:30:00+02:00"
    assert data["timezone"] == "Europe/Berlin"
    assert [s["title"] for s in data["agenda"]] == ["Begrüßung", "Innovation-Center"]
    assert data["agenda"][1]["starts_at"] == "2027-04-20T10:00:00+02:00"
    assert data["agenda"][1]["ends_at"] == "2027-04-20T10:45:00+02:00"
    assert data["agenda"][1]["overlaps"] is False and data["has_overlaps"] is False
    response = client.get(f"/api/v1/visits/{april.id}.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert len(Calendar.from_ical(response.data).walk("VEVENT")) == 3
    december = client.get(f"/api/v1/visits/{_december.id}").get_json()
    assert december["starts_at"] == "2026-12-03T09:30:00+01:00"


def test_api_overlaps_and_list_filters(client, auth, anna, planer_stuttgart, two_visits):
    december, april = two_visits
    _session(planer_stuttgart, april, "Parallel", datetime(2027, 4, 20, 10, 15))
    db.session.commit()
    auth.login("anna@stuttgart.example")
    agenda = client.get(f"/api/v1/visits/{april.id}").get_json()["agenda"]
    flagged = {s["title"]: s for s in agenda}
    assert flagged["Parallel"]["overlaps"] and flagged["Innovation-Center"]["overlaps"]
    assert flagged["Parallel"]["overlaps_with"] == [flagged["Innovation-Center"]["id"]]
    assert not flagged["Begrüßung"]["overlaps"]

    listing = client.get("/api/v1/visits").get_json()
    assert listing["total"] == 2
    listing = client.get("/api/v1/visits?city=stuttgart&status=idea").get_json()
    assert listing["total"] == 2
    assert client.get("/api/v1/visits?city=atlantis").status_code == 400
    assert client.get("/api/v1/visits?status=vielleicht").status_code == 400
    assert client.get("/api/v1/visits?when=morgen").status_code == 400
    assert client.get("/api/v1/visits?per_page=0").status_code == 400
    assert client.get("/api/v1/visits/999999").status_code == 404
    assert client.get("/api/v1/visits/999999.ics").status_code == 404


def test_api_needs_login(client, two_visits):
    _december, april = two_visits
    assert client.get(f"/api/v1/visits/{april.id}").status_code == 401
    assert client.get(f"/api/v1/visits/{april.id}.ics").status_code == 401
    assert client.get("/api/v1/visits").status_code == 401
