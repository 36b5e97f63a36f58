"""Text in the .ics is escaped as RFC 5545 asks, X-WR-CALNAME included.

A visit title with a line break made the .ics answer 500 (icalendar refuses an unescaped
line break in X-WR-CALNAME, which it does not know as TEXT). Titles may no longer hold
line breaks, but rows saved before that rule may, and commas, semicolons and
backslashes are allowed: all of them must arrive in the calendar as they were typed.
"""
import re
from datetime import datetime

from icalendar import Calendar

from conftest import PASSWORD
from exchange.extensions import db
from exchange.visits import services

#: Stored before titles had to be one line; comma, semicolon and backslash are allowed.
TITLE = "Besuch\nTeil 2, mit; Zeichen \\ und \\n"
ESCAPED = "Besuch\\nTeil 2\\, mit\\; Zeichen \\\\ und \\\\n"


def _unfolded_lines(body: bytes) -> list[str]:
    return body.decode().replace("\r\n ", "").split("\r\n")


def _unescape(text: str) -> str:
    """RFC 5545 TEXT unescaped (icalendar does it only for the properties it types)."""
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1),
                  text)


def test_every_text_property_is_escaped(client, auth, planer_stuttgart, stuttgart, muenchen,
                                        make_visit):
    visit = make_visit(planer_stuttgart, muenchen, stuttgart, title="vorläufig",
                       place="Rathaus; Saal 1, Erdgeschoss", notes="Ziele:\n- eins; zwei, drei")
    services.add_session(planer_stuttgart, visit, title="Runde, eins; zwei",
                         starts_at=datetime(2027, 4, 20, 10, 0),
                         ends_at=datetime(2027, 4, 20, 11, 0), room="Raum \\ 3",
                         description="Zeile\r\nZeile\x0b mit Steuerzeichen\x1b")
    visit.title = TITLE
    db.session.commit()
    auth.login(planer_stuttgart.email, PASSWORD)

    response = client.get(f"/api/v1/visits/{visit.id}.ics")
    assert response.status_code == 200
    lines = _unfolded_lines(response.data)
    assert f"X-WR-CALNAME:{ESCAPED}" in lines
    assert f"SUMMARY:{ESCAPED}" in lines
    assert "LOCATION:Rathaus\\; Saal 1\\, Erdgeschoss\\, München" in lines
    assert not any("\x0b" in line or "\x1b" in line for line in lines)

    calendar = Calendar.from_ical(response.data)
    assert _unescape(str(calendar["X-WR-CALNAME"])) == TITLE
    visit_event, session_event = calendar.walk("VEVENT")
    assert str(visit_event["SUMMARY"]) == TITLE
    assert str(visit_event["LOCATION"]) == "Rathaus; Saal 1, Erdgeschoss, München"
    assert "Ziele:\n- eins; zwei, drei" in str(visit_event["DESCRIPTION"])
    assert str(session_event["SUMMARY"]) == f"Runde, eins; zwei ({TITLE})"
    assert str(session_event["LOCATION"]).startswith("Raum \\ 3, Rathaus")
    assert str(session_event["DESCRIPTION"]).startswith("Zeile\nZeile mit Steuerzeichen")
