"""Visit services: validation with German messages, nothing stored half-way, sessions, overlaps."""
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from exchange.extensions import db
from exchange.visits import services
from exchange.visits.models import AgendaSession, Visit, VisitMember
from exchange.visits.services import VisitError, VisitPermissionDenied

APRIL_20 = datetime(2027, 4, 20, 9, 30)
APRIL_21_END = datetime(2027, 4, 21, 16, 0)


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _create(actor, host, guest, **overrides):
    fields = dict(title="Gegenbesuch in München", host_city=host, visiting_city=guest,
                  starts_at=APRIL_20, ends_at=APRIL_21_END)
    fields.update(overrides)
    return services.create_visit(actor, **fields)


def test_create_visit_with_members_and_goals(planer_stuttgart, stuttgart, muenchen, anna,
                                             make_topic):
    eakte = make_topic("eakte", "eAkte")
    visit = _create(planer_stuttgart, muenchen, stuttgart, place="Rathaus München",
                    topics=["eakte"], members=[
                        {"user": "ANNA@stuttgart.example", "role": "Projektleitung eAkte"},
                        {"user": planer_stuttgart.id},
                        {"guest_name": "Prof. Dr. Jana Roth", "role": "Beraterin",
                         "organisation": "Hochschule der Medien"},
                        {"guest_name": "Frau Gastgeberin", "side": "host"}])
    db.session.commit()
    assert visit.id and visit.created_by == planer_stuttgart
    assert visit.topics == [eakte]
    names = {member.name: member for member in visit.members}
    assert names["Anna Schmid"].user == anna
    assert names["Prof. Dr. Jana Roth"].user is None
    assert names["Prof. Dr. Jana Roth"].city == stuttgart
    assert names["Frau Gastgeberin"].city == muenchen


@pytest.mark.parametrize("overrides, field, message", [
    ({"ends_at": APRIL_20 - timedelta(hours=1)}, "ends_at", "Das Ende muss nach dem Beginn liegen"),
    ({"ends_at": APRIL_20}, "ends_at", "Das Ende muss nach dem Beginn liegen"),
    ({"title": " "}, "title", "Bitte geben Sie einen Titel ein"),
    ({"title": "x" * 201}, "title", "höchstens 200 Zeichen"),
    ({"place": "x" * 201}, "place", "höchstens 200 Zeichen"),
    ({"address": "x" * 301}, "address", "höchstens 300 Zeichen"),
    ({"notes": "x" * 20_001}, "notes", "höchstens 20000 Zeichen"),
    ({"status": "vielleicht"}, "status", "Ungültiger Wert"),
    ({"starts_at": "gestern"}, "starts_at", "kein gültiges Datum"),
    ({"topics": ["gibt-es-nicht"]}, "topics", "Unbekannte Themen"),
    ({"host_city": "atlantis"}, "host_city", "Unbekannte Stadt"),
    ({"members": [{"user": "niemand@example.org"}]}, "members-0",
     "Unbekanntes Delegationsmitglied „niemand@example.org“"),
    ({"members": [{"user": 999999}]}, "members-0", "Unbekanntes Delegationsmitglied"),
    ({"members": [{"role": "ohne Namen"}]}, "members-0", "Namen eines externen Gastes"),
    ({"members": [{"guest_name": "x" * 121}]}, "members-0", "höchstens 120 Zeichen"),
])
def test_bad_visit_input_is_rejected_and_nothing_is_stored(planer_stuttgart, stuttgart,
                                                           muenchen, overrides, field, message):
    # A valid member first: the bad one must not leave the good one stored either.
    overrides["members"] = [{"guest_name": "Gültiger Gast"}] + overrides.get("members", [])
    with pytest.raises(VisitError) as caught:
        _create(planer_stuttgart, muenchen, stuttgart, **overrides)
    field = "members-1" if field == "members-0" else field
    assert message in str(caught.value.errors[field])
    db.session.rollback()
    assert _count(Visit) == 0 and _count(VisitMember) == 0


def test_city_cannot_visit_itself(planer_stuttgart, stuttgart):
    with pytest.raises(VisitError) as caught:
        _create(planer_stuttgart, stuttgart, stuttgart)
    assert "Eine Stadt kann sich nicht selbst besuchen" in caught.value.errors["visiting_city"]
    assert _count(Visit) == 0


def test_unknown_member_among_good_ones_stores_nothing(planer_stuttgart, stuttgart, muenchen,
                                                       anna):
    with pytest.raises(VisitError) as caught:
        _create(planer_stuttgart, muenchen, stuttgart,
                members=[{"user": anna.email}, {"guest_name": "Gast"},
                         {"user": "tippfehler@stuttgart.example"}])
    assert "tippfehler@stuttgart.example" in caught.value.message
    db.session.rollback()
    assert _count(Visit) == 0 and _count(VisitMember) == 0


def test_aware_datetimes_are_converted_to_berlin_wall_clock(planer_stuttgart, stuttgart,
                                                            muenchen):
    visit = _create(planer_stuttgart, muenchen, stuttgart,
                    starts_at=datetime(2027, 4, 20, 7, 30, tzinfo=timezone.utc),
                    ends_at="2027-04-20T17:00:00+02:00")
    assert visit.starts_at == datetime(2027, 4, 20, 9, 30)
    assert visit.ends_at == datetime(2027, 4, 20, 17, 0)


def test_permissions(stuttgart, muenchen, make_city, make_user, planer_stuttgart,
                     cdo_stuttgart, max_muenchen, anna, admin):
    from exchange.auth import permissions

    ulm = make_city("ulm", "Ulm")
    with pytest.raises(VisitPermissionDenied):
        _create(anna, muenchen, stuttgart)              # staff may not plan
    with pytest.raises(VisitPermissionDenied):
        _create(planer_stuttgart, muenchen, ulm)        # neither city is the planner's
    visit = _create(cdo_stuttgart, muenchen, stuttgart)  # city admins plan too
    assert permissions.can_edit_visit(planer_stuttgart, visit)
    assert permissions.can_edit_visit(admin, visit)
    assert not permissions.can_edit_visit(max_muenchen, visit)
    assert permissions.can_read_visit(max_muenchen, visit)
    planer_muenchen = make_user("planer@muenchen.example", city=muenchen, role="visit_planner")
    assert permissions.can_edit_visit(planer_muenchen, visit)
    with pytest.raises(VisitPermissionDenied):
        services.update_visit(max_muenchen, visit, title="Umbenannt")
    with pytest.raises(VisitPermissionDenied):
        services.add_session(max_muenchen, visit, title="X", starts_at=APRIL_20,
                             ends_at=APRIL_20 + timedelta(hours=1))


def test_sessions_must_lie_within_the_visit(planer_stuttgart, stuttgart, muenchen):
    visit = _create(planer_stuttgart, muenchen, stuttgart)
    db.session.commit()
    for start, end in ((datetime(2027, 4, 19, 10), datetime(2027, 4, 19, 11)),
                       (datetime(2027, 4, 20, 8, 30), datetime(2027, 4, 20, 9, 30)),
                       (datetime(2027, 4, 21, 15, 30), datetime(2027, 4, 21, 16, 30))):
        with pytest.raises(VisitError) as caught:
            services.add_session(planer_stuttgart, visit, title="Zu früh oder zu spät",
                                 starts_at=start, ends_at=end)
        assert "außerhalb des Besuchs (20.04.2027, 09:30 – 21.04.2027, 16:00)" in \
            caught.value.errors["starts_at"]
    with pytest.raises(VisitError) as caught:
        services.add_session(planer_stuttgart, visit, title="Rückwärts",
                             starts_at=datetime(2027, 4, 20, 11), ends_at=datetime(2027, 4, 20, 10))
    assert "Das Ende muss nach dem Beginn liegen" in caught.value.errors["ends_at"]
    with pytest.raises(VisitError):
        services.add_session(planer_stuttgart, visit, title="y" * 201,
                             starts_at=datetime(2027, 4, 20, 10), ends_at=datetime(2027, 4, 20, 11))
    db.session.rollback()
    assert _count(AgendaSession) == 0


def test_moving_the_visit_away_from_its_sessions_is_refused(planer_stuttgart, stuttgart,
                                                           muenchen):
    visit = _create(planer_stuttgart, muenchen, stuttgart)
    services.add_session(planer_stuttgart, visit, title="Innovation-Center",
                         starts_at=datetime(2027, 4, 21, 14), ends_at=datetime(2027, 4, 21, 15))
    db.session.commit()
    with pytest.raises(VisitError) as caught:
        services.update_visit(planer_stuttgart, visit, ends_at=datetime(2027, 4, 20, 17))
    assert "„Innovation-Center“ läge außerhalb" in caught.value.message
    db.session.rollback()
    assert db.session.get(Visit, visit.id).ends_at == APRIL_21_END
    with pytest.raises(VisitError) as caught:
        services.update_visit(planer_stuttgart, visit, visiting_city=muenchen)
    assert "nicht selbst besuchen" in caught.value.message


def test_reorder_edit_remove_and_overlaps(planer_stuttgart, stuttgart, muenchen):
    visit = _create(planer_stuttgart, muenchen, stuttgart)
    day = datetime(2027, 4, 20)
    first = services.add_session(planer_stuttgart, visit, title="Erste",
                                 starts_at=day.replace(hour=10), ends_at=day.replace(hour=11))
    second = services.add_session(planer_stuttgart, visit, title="Zweite",
                                  starts_at=day.replace(hour=11), ends_at=day.replace(hour=12))
    third = services.add_session(planer_stuttgart, visit, title="Dritte",
                                 starts_at=day.replace(hour=13), ends_at=day.replace(hour=14))
    db.session.commit()
    assert services.overlaps(visit) == {}          # touching is not overlapping
    services.move_session(planer_stuttgart, third, -1)
    assert [s.title for s in visit.sessions] == ["Erste", "Dritte", "Zweite"]
    services.move_session(planer_stuttgart, first, -1)   # already first: stays
    assert [s.position for s in sorted(visit.sessions, key=lambda s: s.position)] == [1, 2, 3]
    # "Zweite" now runs 13:00-14:00 (see test_moving_a_session_reflows_the_times).
    services.update_session(planer_stuttgart, third, starts_at=day.replace(hour=12, minute=30),
                            ends_at=day.replace(hour=13, minute=30), room="Raum 4.12")
    found = services.overlaps(visit)
    assert [s.id for s in found[third.id]] == [second.id]
    assert [s.id for s in found[second.id]] == [third.id]
    assert first.id not in found
    services.remove_session(planer_stuttgart, second)
    db.session.commit()
    assert [s.title for s in visit.sessions] == ["Erste", "Dritte"]
    assert [s.position for s in visit.sessions] == [1, 2]
    assert services.overlaps(visit) == {}


def test_moving_a_session_reflows_the_times(planer_stuttgart, stuttgart, muenchen):
    """Moving a session swaps it with its neighbour in the programme, times included: each
    keeps its length, the gap between them stays, nothing else moves (issue 12: the
    programme read 09:30, 10:00, 13:00, 11:00 after a move)."""
    visit = _create(planer_stuttgart, muenchen, stuttgart)
    day = datetime(2027, 4, 20)

    def add(title, start, end):
        return services.add_session(planer_stuttgart, visit, title=title,
                                    starts_at=day.replace(hour=start[0], minute=start[1]),
                                    ends_at=day.replace(hour=end[0], minute=end[1]))

    add("Begrüßung", (9, 30), (10, 0))
    add("eAkte", (10, 0), (11, 0))
    lunch = add("Mittagspause", (12, 0), (13, 0))
    add("Mobilität", (13, 0), (15, 0))
    db.session.commit()
    services.move_session(planer_stuttgart, lunch, -1)
    db.session.commit()

    def programme():
        db.session.expire_all()
        return [(s.title, f"{s.starts_at:%H:%M}-{s.ends_at:%H:%M}")
                for s in db.session.get(Visit, visit.id).sessions]

    assert programme() == [("Begrüßung", "09:30-10:00"), ("Mittagspause", "10:00-11:00"),
                           ("eAkte", "12:00-13:00"), ("Mobilität", "13:00-15:00")]
    services.move_session(planer_stuttgart, db.session.get(Visit, visit.id).sessions[3], -1)
    db.session.commit()
    assert programme() == [("Begrüßung", "09:30-10:00"), ("Mittagspause", "10:00-11:00"),
                           ("Mobilität", "12:00-14:00"), ("eAkte", "14:00-15:00")]
    starts = [s.starts_at for s in db.session.get(Visit, visit.id).sessions]
    assert starts == sorted(starts)


def test_the_programme_is_always_in_time_order(planer_stuttgart, stuttgart, muenchen):
    """A session whose time is changed moves to its place in the programme."""
    visit = _create(planer_stuttgart, muenchen, stuttgart)
    day = datetime(2027, 4, 20)
    early = services.add_session(planer_stuttgart, visit, title="Früh",
                                 starts_at=day.replace(hour=10), ends_at=day.replace(hour=11))
    services.add_session(planer_stuttgart, visit, title="Spät",
                         starts_at=day.replace(hour=14), ends_at=day.replace(hour=15))
    services.add_session(planer_stuttgart, visit, title="Mittag",
                         starts_at=day.replace(hour=12), ends_at=day.replace(hour=13))
    db.session.commit()
    assert [s.title for s in visit.sessions] == ["Früh", "Mittag", "Spät"]
    services.update_session(planer_stuttgart, early, starts_at=day.replace(hour=16),
                            ends_at=day.replace(hour=17))
    db.session.commit()
    db.session.expire_all()
    reloaded = db.session.get(Visit, visit.id).sessions
    assert [s.title for s in reloaded] == ["Mittag", "Spät", "Früh"]
    assert [s.position for s in reloaded] == [1, 2, 3]


def test_add_and_remove_members(planer_stuttgart, stuttgart, muenchen, anna, max_muenchen):
    visit = _create(planer_stuttgart, muenchen, stuttgart)
    member = services.add_member(planer_stuttgart, visit,
                                 services.MemberSpec(user="max@muenchen.example", side="host",
                                                     role="Fachbereich Web"))
    assert member.city == muenchen
    with pytest.raises(VisitError) as caught:
        services.add_member(planer_stuttgart, visit, services.MemberSpec(user=max_muenchen.id))
    assert "gehört schon zur Delegation" in caught.value.message
    with pytest.raises(VisitError) as caught:
        services.add_member(planer_stuttgart, visit,
                            services.MemberSpec(user="unbekannt@muenchen.example"))
    assert "Unbekanntes Delegationsmitglied" in caught.value.message
    services.remove_member(planer_stuttgart, visit, member)
    db.session.commit()
    assert visit.members == []


def test_parse_member_lines():
    specs = services.parse_member_lines(
        "anna@stuttgart.example; Projektleitung\n\n  Jana Roth; Beraterin; HdM; Stuttgart \n")
    assert specs[0].user == "anna@stuttgart.example" and specs[0].role == "Projektleitung"
    assert specs[1].guest_name == "Jana Roth" and specs[1].organisation == "HdM; Stuttgart"


def test_upcoming_and_filters(planer_stuttgart, stuttgart, muenchen, make_city):
    past = _create(planer_stuttgart, stuttgart, muenchen, title="Besuch aus München",
                   starts_at=datetime(2020, 12, 3, 10), ends_at=datetime(2020, 12, 3, 16),
                   status="done")
    future = _create(planer_stuttgart, muenchen, stuttgart)
    cancelled = _create(planer_stuttgart, muenchen, stuttgart, title="Abgesagt",
                        status="cancelled")
    db.session.commit()
    assert services.upcoming_visits(stuttgart) == [future]
    assert list(db.session.scalars(services.visits_query(when="past"))) == [past]
    assert list(db.session.scalars(services.visits_query(status="cancelled"))) == [cancelled]
    assert list(db.session.scalars(services.visits_query(city=make_city("ulm", "Ulm")))) == []


def test_session_experiences_are_chosen_and_ordered(planer_stuttgart, stuttgart, muenchen,
                                                    max_muenchen, make_experience):
    first = make_experience(max_muenchen, title="Erste Erfahrung")
    second = make_experience(max_muenchen, title="Zweite Erfahrung")
    draft = make_experience(max_muenchen, title="Entwurf", status="draft")
    visit = _create(planer_stuttgart, muenchen, stuttgart)
    session = services.add_session(planer_stuttgart, visit, title="Austausch",
                                   starts_at=datetime(2027, 4, 20, 10),
                                   ends_at=datetime(2027, 4, 20, 11),
                                   experiences=[first.slug, second])
    db.session.commit()
    assert session.experiences == [first, second]
    services.update_session(planer_stuttgart, session, experiences=[second.slug, first.slug])
    db.session.commit()
    db.session.expire_all()
    assert session.experiences == [second, first]
    with pytest.raises(VisitError) as caught:
        services.update_session(planer_stuttgart, session, experiences=[draft.slug, "weg"])
    assert f"{draft.slug}, weg" in caught.value.errors["experiences"]
    db.session.rollback()
    assert session.experiences == [second, first]
