"""iCalendar (RFC 5545) export of a visit and its agenda sessions, via `icalendar`.

Times carry TZID=Europe/Berlin with a VTIMEZONE generated from the zoneinfo database,
so calendar programs show 09:30 as 09:30 local time in winter and in summer. UIDs are
derived from the database ids and a fixed domain: importing the file again updates the
same events instead of duplicating them.

Every text property goes through `_text`: icalendar's vText escapes backslash, comma,
semicolon and line breaks as RFC 5545 (3.3.11) asks; control characters, which TEXT may
not contain at all, are dropped first. X-WR-CALNAME has no type of its own in icalendar,
which wrote it unescaped (a line break in a visit title ended the line and the library
refused the whole file).
"""
import re
from datetime import timedelta, timezone

from flask_babel import gettext as _
from icalendar import Calendar, Event, Timezone
from icalendar.prop import vText

from ..formatting import current_locale
from ..util import utcnow
from .models import AgendaSession, Visit
from .timeutil import BERLIN, clamp_day

#: PRODID names our product, as RFC 5545 asks.
PRODID = "-//City Exchange//Delegationsbesuche//DE"
#: Domain part of our stable UIDs.
UID_DOMAIN = "city-exchange.example"
#: Visit statuses mapped to VEVENT STATUS values.
EVENT_STATUS = {"idea": "TENTATIVE", "planned": "TENTATIVE", "confirmed": "CONFIRMED",
                "done": "CONFIRMED", "cancelled": "CANCELLED"}
#: RFC 5545 CONTROL characters other than tab and the line breaks vText escapes.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _text(value: str) -> vText:
    """A TEXT value, escaped by icalendar, without the control characters TEXT forbids."""
    return vText(_CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n")))


def visit_uid(visit: Visit) -> str:
    """Stable UID of the visit's event."""
    return f"visit-{visit.id}@{UID_DOMAIN}"


def session_uid(session: AgendaSession) -> str:
    """Stable UID of an agenda session's event."""
    return f"visit-{session.visit_id}-session-{session.id}@{UID_DOMAIN}"


def _location(visit: Visit, room: str = "") -> str:
    parts = [room, visit.place, visit.address or visit.host_city.name]
    return ", ".join(part for part in parts if part)


def _event(uid: str, summary: str, starts_at, ends_at, location: str, description: str,
           status: str, stamp, url: str | None = None) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", starts_at.replace(tzinfo=BERLIN))
    event.add("dtend", ends_at.replace(tzinfo=BERLIN))
    event.add("summary", _text(summary))
    if location:
        event.add("location", _text(location))
    if description:
        event.add("description", _text(description))
    event.add("status", status)
    if url:
        event.add("url", url)
    return event


def visit_calendar(visit: Visit, url: str | None = None) -> bytes:
    """The visit as a VCALENDAR: one VEVENT for the visit and one per agenda session, in
    the reader's language (generated session texts and topic names translated)."""
    stamp = utcnow().replace(tzinfo=timezone.utc)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", _text(visit.title))
    calendar.add("x-wr-timezone", "Europe/Berlin")
    status = EVENT_STATUS.get(visit.status, "TENTATIVE")
    members = "\n".join(f"- {member.name} ({member.city.name})" for member in visit.members)
    description = "\n\n".join(part for part in (
        _("%(guest)s besucht %(host)s.", guest=visit.visiting_city.name,
          host=visit.host_city.name),
        visit.notes, (_("Delegation:") + "\n" + members) if members else "") if part)
    calendar.add_component(_event(visit_uid(visit), visit.title, visit.starts_at,
                                  visit.ends_at, _location(visit), description, status, stamp,
                                  url))
    language = current_locale()
    for session in visit.sessions:
        parts = [session.display_description]
        if session.topics:
            parts.append(_("Themen:") + " " + ", ".join(topic.name(language)
                                                       for topic in session.topics))
        if session.experiences:
            parts.append(_("Erfahrungen:") + "\n" + "\n".join(f"- {experience.title}"
                                                       for experience in session.experiences))
        if session.contacts:
            parts.append(_("Ansprechpersonen:") + "\n" + "\n".join(
                f"- {person['name']} ({person['city']}"
                + (f", {person['email']}" if person["email"] else "") + ")"
                for person in session.contacts))
        if session.open_questions:
            parts.append(_("Offene Fragen:") + "\n" + session.open_questions)
        calendar.add_component(_event(
            session_uid(session), f"{session.display_title} ({visit.title})",
            session.starts_at, session.ends_at, _location(visit, session.room),
            "\n\n".join(part for part in parts if part), status, stamp))
    # A VTIMEZONE covering a year either side of the visit keeps the file small; the
    # days are clamped to the years visits may have, so no date arithmetic overflows.
    year = timedelta(days=366)
    calendar.add_component(Timezone.from_tzinfo(
        BERLIN, tzid="Europe/Berlin", first_date=clamp_day(visit.starts_at.date()) - year,
        last_date=clamp_day(visit.ends_at.date()) + year))
    return calendar.to_ical()
