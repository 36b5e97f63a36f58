"""The export is a whole backup: projects, visits and notifications round-trip too (issue 11)."""
import json
from datetime import datetime

import pytest
import sqlalchemy as sa

from exchange.auth.models import User
from exchange.cities.models import City, Topic
from exchange.cities.services import POPULATION_MAX
from exchange.demo import demo_visit_query, load_demo
from exchange.extensions import db
from exchange.generated import topic_ids
from exchange.projects import services as projects
from exchange.projects.models import (Notification, Project, ProjectComment, ProjectEvent,
                                      ProjectParticipant)
from exchange.transfer import FIELDS, TransferError
from exchange.visits import services as visits
from exchange.visits.models import AgendaSession, AgendaSessionExperience, Visit, VisitMember
from exchange.visits.timeutil import MAX_YEAR, MIN_YEAR

TABLES = (Project, ProjectParticipant, ProjectComment, ProjectEvent, Notification, Visit,
          VisitMember, AgendaSession, AgendaSessionExperience)


def row_counts():
    return {model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in TABLES}


def user(email):
    return db.session.scalar(sa.select(User).where(User.email == email))


def records_of(text, kind):
    return [record for record in map(json.loads, text.splitlines()) if record["type"] == kind]


def lines(*records) -> str:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


@pytest.fixture
def everything(app):
    """Demo data (with its visit and proposed agenda) plus a project with an answer, a
    comment and notifications, a typed session, two more members and a read notification."""
    load_demo()
    stuttgart_admin, munich_admin = user("cdo@stuttgart.example"), user("cdo@muenchen.example")
    project = projects.propose_project(
        stuttgart_admin, "Gemeinsame E-Akte", "Wir führen die E-Akte gemeinsam ein.",
        ["eakte"], ["muenchen"])
    projects.respond(munich_admin, project, accept=True, message="Gerne, ab Januar.")
    projects.comment(user("anna@stuttgart.example"), project, "Termin im Januar?")
    visit = db.session.scalar(demo_visit_query({c.slug: c for c in (
        stuttgart_admin.city, munich_admin.city)}).limit(1))
    assert any(item.generated for item in visit.sessions)  # proposed by the agenda
    visits.add_session(None, visit, title="Stadtrundgang", room="Foyer",
                       starts_at=datetime(2026, 12, 9, 13, 0), ends_at=datetime(2026, 12, 9, 14, 0),
                       description="Zu Fuß zum Bürgerbüro.", topics=["eakte"],
                       experiences=["einfuehrung-der-e-akte-im-buergerbuero"])
    visits.add_member(None, visit, visits.MemberSpec(user="planer@stuttgart.example",
                                                     role="Planung", side="host"))
    visits.add_member(None, visit, visits.MemberSpec(guest_name="Dr. Gast", role="Beirat",
                                                     organisation="Hochschule"))
    inbox = projects.notifications_for(munich_admin)
    assert inbox
    projects.mark_read(munich_admin, inbox[-1])
    db.session.commit()
    return project


def test_the_export_holds_projects_visits_and_notifications(everything, transfer):
    text = transfer.export()
    types = [json.loads(line)["type"] for line in text.splitlines()]
    order = ["city", "user", "topic", "interest", "experience", "project", "visit",
             "notification"]
    assert types == sorted(types, key=order.index)
    (project,) = records_of(text, "project")
    assert project["key"] == everything.key and project["city"] == "stuttgart"
    assert project["state"] == "active"
    assert [(p["city"], p["role"], p["response"]) for p in project["participants"]] == [
        ("stuttgart", "initiator", "accepted"), ("muenchen", "invited", "accepted")]
    assert project["participants"][1]["message"] == "Gerne, ab Januar."
    assert project["comments"] == [{"number": 1, "author": "anna@stuttgart.example",
                                    "body": "Termin im Januar?",
                                    "created_at": project["comments"][0]["created_at"]}]
    kinds = [event["kind"] for event in project["events"]]
    assert kinds == ["created", "proposed", "accepted", "activated", "commented"]
    assert project["events"][-1]["comment"] == 1
    (visit,) = records_of(text, "visit")
    assert (visit["host_city"], visit["visiting_city"]) == ("stuttgart", "muenchen")
    assert {"user": None, "guest_name": "Dr. Gast", "role": "Beirat",
            "organisation": "Hochschule", "side": "guest"} in visit["members"]
    typed = next(s for s in visit["sessions"] if s["title"] == "Stadtrundgang")
    assert typed["generated"] is None and typed["topics"] == ["eakte"]
    assert typed["experiences"] == ["einfuehrung-der-e-akte-im-buergerbuero"]
    generated = [s for s in visit["sessions"] if s["generated"]]
    assert generated
    # Database ids are never exported: topics in generated texts are named by slug.
    assert '"id"' not in text
    notifications = records_of(text, "notification")
    assert notifications and all(n["project"] == everything.key for n in notifications)
    assert all(n["link"] == "/projekte/{project}" for n in notifications)
    assert any(n["read_at"] for n in notifications)


def test_round_trip_with_everything_is_byte_identical(everything, transfer):
    first = transfer.export()
    counts = row_counts()
    transfer.empty()
    assert row_counts()["Project"] == 0
    transfer.load(first)
    assert row_counts() == counts
    assert transfer.export() == first
    project = db.session.scalar(sa.select(Project))
    assert {n.link for n in db.session.scalars(sa.select(Notification))} == {
        f"/projekte/{project.id}"}
    # The generated texts name this database's topics again, so they still translate.
    named = [(item, topic_ids(item.generated))
             for item in db.session.scalars(sa.select(AgendaSession)) if item.generated]
    assert any(ids for _item, ids in named)
    for item, ids in named:
        for number in ids:
            assert db.session.get(Topic, number) is not None


def test_reimporting_the_same_file_changes_nothing(everything, transfer):
    text = transfer.export()
    before = row_counts()
    summary = transfer.load(text)
    assert "0 Projekte, 0 Besuche, 0 Benachrichtigungen neu; 0 geändert" in summary
    assert row_counts() == before
    assert transfer.export() == text
    # Into an empty database and then once more: still nothing new the second time.
    transfer.empty()
    transfer.load(text)
    assert "0 geändert; 0 neue Versionen" in transfer.load(text)
    assert transfer.export() == text


def test_a_later_state_of_a_project_is_taken_over(everything, transfer):
    old = transfer.export()
    projects.comment(user("max@muenchen.example"), everything, "Januar passt.")
    db.session.commit()
    newer = transfer.export()
    transfer.empty()
    transfer.load(old)
    summary = transfer.load(newer)
    assert "1 geändert" in summary
    assert transfer.export() == newer


def test_an_older_file_does_not_overwrite_a_stored_project(everything, transfer):
    old = transfer.export()
    projects.comment(user("max@muenchen.example"), everything, "Januar passt.")
    db.session.commit()
    newer = transfer.export()
    with pytest.raises(TransferError) as caught:
        transfer.load(old)
    db.session.rollback()
    line = next(number for number, text in enumerate(old.splitlines(), start=1)
                if '"type": "project"' in text)
    assert f"Zeile {line}: Das Projekt „{everything.key}“ wurde hier nach dem Stand" \
        in str(caught.value)
    assert transfer.export() == newer


@pytest.fixture
def base(app):
    """Two cities, a user and a topic to hang hand-written lines on."""
    return lines(
        {"type": "city", "slug": "freiburg", "name": "Freiburg", "state": "Baden-Württemberg"},
        {"type": "city", "slug": "ulm", "name": "Ulm", "state": "Baden-Württemberg"},
        {"type": "user", "email": "a@freiburg.example", "city": "freiburg"},
        {"type": "topic", "slug": "eakte", "name_de": "E-Akte"})


PROJECT = {"type": "project", "key": "e-akte-2027", "city": "freiburg", "title": "E-Akte"}
VISIT = {"type": "visit", "key": "ulm-in-freiburg", "title": "Ulm zu Gast",
         "host_city": "freiburg", "visiting_city": "ulm",
         "starts_at": "2027-04-20T09:30:00", "ends_at": "2027-04-20T17:00:00"}


def test_minimal_project_and_visit_lines(base, transfer):
    summary = transfer.load(base + lines(
        {**PROJECT, "topics": ["eakte"]},
        {**VISIT, "members": [{"guest_name": "Frau Gast"}],
         "sessions": [{"title": "Begrüßung", "starts_at": "2027-04-20T09:30:00",
                       "ends_at": "2027-04-20T10:00:00", "kind": "welcome"}]},
        {"type": "notification", "user": "a@freiburg.example", "kind": "invitation",
         "title": "Einladung", "project": "e-akte-2027", "link": "/projekte/{project}"}))
    assert "1 Projekte, 1 Besuche, 1 Benachrichtigungen neu" in summary
    project = db.session.scalar(sa.select(Project))
    assert (project.key, project.state, project.initiator_city.slug) == (
        "e-akte-2027", "draft", "freiburg")
    assert [(p.city.slug, p.role, p.response) for p in project.participants] == [
        ("freiburg", "initiator", "accepted")]
    visit = db.session.scalar(sa.select(Visit))
    assert visit.sessions[0].title == "Begrüßung" and visit.members[0].guest_name == "Frau Gast"
    assert db.session.scalar(sa.select(Notification.link)) == f"/projekte/{project.id}"
    before = row_counts()
    assert "0 geändert" in transfer.load(base + lines(
        {**PROJECT, "topics": ["eakte"]},
        {**VISIT, "members": [{"guest_name": "Frau Gast"}],
         "sessions": [{"title": "Begrüßung", "starts_at": "2027-04-20T09:30",
                       "ends_at": "2027-04-20T10:00:00", "kind": "welcome"}]},
        {"type": "notification", "user": "a@freiburg.example", "kind": "invitation",
         "title": "Einladung", "project": "e-akte-2027", "link": "/projekte/{project}"}))
    assert row_counts() == before


BAD_RECORDS = [
    ({**PROJECT, "city": "atlantis"}, "Feld „city“: unbekannte Stadt „atlantis“"),
    ({**PROJECT, "state": "paused"}, "Feld „state“: „paused“ ist nicht erlaubt"),
    ({**PROJECT, "title": "x" * 201}, "Feld „title“: höchstens 200 Zeichen"),
    ({**PROJECT, "key": "Kein Schlüssel"}, "Feld „key“"),
    ({**PROJECT, "participants": [{"city": "ulm", "role": "invited"}]},
     "„participants“ muss genau einen Eintrag mit der Rolle „initiator“"),
    ({**PROJECT, "events": [{"kind": "commented", "comment": 2}]},
     "events[1] verweist auf einen unbekannten Kommentar"),
    ({**PROJECT, "events": [{"kind": "exploded"}]}, "Feld „events[1].kind“"),
    ({**VISIT, "visiting_city": "atlantis"}, "Feld „visiting_city“: unbekannte Stadt"),
    ({**VISIT, "ends_at": "2027-04-20T08:00:00"}, "Das Ende muss nach dem Beginn liegen"),
    ({**VISIT, "visiting_city": "freiburg"}, "Eine Stadt kann sich nicht selbst besuchen"),
    ({**VISIT, "starts_at": f"{MIN_YEAR - 1}-04-20T09:30:00"},
     f"Feld „starts_at“: Das Datum muss zwischen den Jahren {MIN_YEAR} und {MAX_YEAR}"),
    ({**VISIT, "status": "maybe"}, "Feld „status“: „maybe“ ist nicht erlaubt"),
    ({**VISIT, "sessions": [{"title": "Spät", "starts_at": "2027-04-20T18:00:00",
                             "ends_at": "2027-04-20T19:00:00"}]},
     "sessions[1]: Die Sitzung liegt außerhalb des Besuchs"),
    ({**VISIT, "members": [{"role": "niemand"}]}, "members[1]: Bitte geben Sie"),
    ({**VISIT, "members": [{"user": "a@freiburg.example"}, {"user": "A@freiburg.example"}]},
     "Eine Person steht mehrfach"),
    ({"type": "notification", "user": "a@freiburg.example", "kind": "x", "title": "T",
      "project": "unbekannt"}, "Feld „project“: unbekanntes Projekt „unbekannt“"),
]


@pytest.mark.parametrize("bad, message", BAD_RECORDS)
def test_a_bad_project_or_visit_line_names_its_line_and_nothing_is_written(
        base, transfer, bad, message):
    text = base + lines(bad)
    with pytest.raises(TransferError) as caught:
        transfer.load(text)
    assert f"Zeile 5: {message}" in str(caught.value)
    assert "Es wurde nichts importiert." in str(caught.value)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(City)) == 0


def test_the_import_command_reports_a_bad_visit_without_a_traceback(base, runner, tmp_path):
    path = tmp_path / "besuch.jsonl"
    path.write_text(base + lines({**VISIT, "ends_at": "2027-04-19T08:00:00"}), encoding="utf-8")
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code == 1
    assert "Zeile 5: Das Ende muss nach dem Beginn liegen." in result.output
    assert "Traceback" not in result.output


def test_the_population_limit_is_the_city_services(app, transfer):
    assert FIELDS["city"]["population"][2] == (1, POPULATION_MAX)
    city = {"type": "city", "slug": "gross", "name": "Groß", "state": "Bayern"}
    for population in (0, POPULATION_MAX + 1):
        with pytest.raises(TransferError, match=f"zwischen 1 und {POPULATION_MAX}"):
            transfer.load(lines({**city, "population": population}))
        db.session.rollback()
    transfer.load(lines({**city, "population": POPULATION_MAX}))
