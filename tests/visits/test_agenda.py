"""Agenda proposal with the demo data and the real matching and search services."""
from datetime import datetime

import pytest

from exchange.extensions import db
from exchange.visits import services
from exchange.visits.agenda import _day_slots, propose_agenda
from exchange.visits.services import VisitError


def _topics(sessions) -> set[str]:
    return {topic.slug for session in sessions for topic in session.topics}


def test_april_visit_agenda_covers_the_story_topics(demo, april_visit):
    planer = demo.user("planer@stuttgart.example")
    sessions = propose_agenda(planer, april_visit)
    db.session.commit()
    covered = _topics(sessions)
    # Innovation-Center, muenchen.digital (webauftritt), OZG, eAkte and mobility.
    assert {"innovation-center", "webauftritt", "ozg-umsetzung", "eakte",
            "mobilitaet"} <= covered
    by_topic = {session.topics[0].slug: session for session in sessions if session.topics}
    assert by_topic["innovation-center"].kind == "transfer_host_offers"
    assert by_topic["webauftritt"].kind == "transfer_host_offers"
    assert by_topic["mobilitaet"].kind == "transfer_guest_offers"
    assert by_topic["ozg-umsetzung"].kind == "joint"
    assert by_topic["eakte"].kind == "joint"
    # The most relevant experiences, the presenting city's first, and who wrote them.
    web = by_topic["webauftritt"]
    assert web.experiences[0].title == "muenchen.digital: Relaunch des Stadtportals"
    assert web.contacts and web.contacts[0]["city"] == "München"
    innovation = by_topic["innovation-center"]
    assert innovation.experiences[0].title == \
        "Das Innovation-Center als Labor für die Verwaltung"
    assert by_topic["mobilitaet"].experiences[0].city.slug == "stuttgart"
    assert any(e.title == "Einführung der E-Akte im Bürgerbüro"
               for e in by_topic["eakte"].experiences)
    # Stuttgart's note on what it seeks becomes an open question.
    assert "Stuttgart:" in innovation.open_questions
    # Sensible times: 09:30 welcome, lunch, sessions of 45 minutes within the visit.
    assert sessions[0].kind == "welcome"
    assert sessions[0].starts_at == datetime(2027, 4, 20, 9, 30)
    assert any(s.kind == "break" and s.starts_at.hour == 12 for s in sessions)
    assert sessions[-1].kind == "wrap_up"
    for session in sessions:
        assert april_visit.starts_at <= session.starts_at < session.ends_at <= april_visit.ends_at
        if session.topics:
            assert session.minutes == 45
    assert services.overlaps(april_visit) == {}
    assert [s.position for s in april_visit.sessions] == list(range(1, len(sessions) + 1))


def test_proposal_does_not_silently_replace_an_agenda(demo, april_visit):
    planer = demo.user("planer@stuttgart.example")
    services.add_session(planer, april_visit, title="Stadtrundgang",
                         starts_at=datetime(2027, 4, 21, 13), ends_at=datetime(2027, 4, 21, 14))
    db.session.commit()
    with pytest.raises(VisitError) as caught:
        propose_agenda(planer, april_visit)
    assert "bereits Sitzungen" in caught.value.message
    assert [s.title for s in april_visit.sessions] == ["Stadtrundgang"]
    propose_agenda(planer, april_visit, replace=True)
    db.session.commit()
    assert "Stadtrundgang" not in [s.title for s in april_visit.sessions]


def test_goal_topics_are_chosen_first(demo, april_visit):
    planer = demo.user("planer@stuttgart.example")
    services.update_visit(planer, april_visit, topics=["it-sicherheit"],
                          ends_at=datetime(2027, 4, 20, 12, 30))
    db.session.commit()
    sessions = propose_agenda(planer, april_visit)
    topics = [s.topics[0].slug for s in sessions if s.topics]
    assert "it-sicherheit" in topics        # a goal without a match still gets a session
    assert len(topics) == 2                 # 10:00 and 11:00, then the wrap-up at 12:00
    wrap_up = sessions[-1]
    assert wrap_up.kind == "wrap_up" and "Weitere mögliche Themen" in wrap_up.description


def test_day_slots_follow_the_visit_hours(planer_stuttgart, stuttgart, muenchen, make_visit):
    visit = make_visit(planer_stuttgart, muenchen, stuttgart,
                       starts_at=datetime(2026, 12, 3, 13, 0), ends_at=datetime(2026, 12, 3, 17, 0))
    fixed, free = _day_slots(visit, 10)
    assert fixed[0].kind == "welcome" and fixed[0].starts_at == datetime(2026, 12, 3, 13, 0)
    assert [slot.starts_at.strftime("%H:%M") for slot in free] == ["13:30", "14:30", "15:30"]
    assert fixed[-1].kind == "wrap_up" and fixed[-1].ends_at <= visit.ends_at
    assert not any(slot.kind == "break" for slot in fixed)   # no lunch in the afternoon
