"""seed-demo: Munich's December 2026 visit to Stuttgart, its agenda and idempotence."""
from datetime import datetime

import sqlalchemy as sa

from exchange.auth.models import User
from exchange.cities.models import City
from exchange.demo import DEMO_PASSWORD, DEMO_VISIT, load_demo
from exchange.extensions import db
from exchange.visits import services as visit_services
from exchange.visits.models import AgendaSession, AgendaSessionExperience, Visit, VisitMember
from exchange.wiki.models import Experience

VISIT_TABLES = (Visit, VisitMember, AgendaSession, AgendaSessionExperience)


def visit_counts():
    return {model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in VISIT_TABLES}


def the_visit() -> Visit:
    visits = db.session.scalars(sa.select(Visit)).all()
    assert len(visits) == 1
    return visits[0]


def agenda(visit):
    return [(s.position, s.title, s.kind, s.starts_at, s.ends_at,
             [t.slug for t in s.topics], [e.slug for e in s.experiences])
            for s in visit.sessions]


def test_demo_creates_the_december_visit_only(app):
    load_demo()
    db.session.commit()
    visit = the_visit()        # and no April 2027 return visit: the planner creates that
    assert (visit.host_city.slug, visit.visiting_city.slug) == ("stuttgart", "muenchen")
    assert visit.status == "done"
    assert (visit.starts_at, visit.ends_at) == (datetime(2026, 12, 8, 9, 30),
                                                 datetime(2026, 12, 9, 15, 0))
    assert visit.created_by.email == "planer@muenchen.example"
    assert {t.slug for t in visit.topics} == {"digitalisierungslotsen", "mobilitaet", "eakte"}
    members = {(m.user.email if m.user else m.guest_name, m.side) for m in visit.members}
    assert members == {("cdo@muenchen.example", "guest"), ("max@muenchen.example", "guest"),
                       ("Claudia Fischer", "guest")}
    guest = next(m for m in visit.members if m.user is None)
    assert guest.role == "Stadträtin" and "München" in guest.organisation
    assert "Workshop" in visit.outcomes and "Gegenbesuch" in visit.outcomes
    report = visit.report_experience
    assert report.slug == "besuchsbericht-muenchens-cdo-zu-gast-in-stuttgart"
    assert report.kind == "visit_report"


def test_demo_visit_agenda_is_the_proposal_for_that_direction(app):
    from exchange.visits.agenda import propose_agenda

    load_demo()
    db.session.commit()
    visit = the_visit()
    kinds = [s.kind for s in visit.sessions]
    assert kinds[0] == "welcome" and kinds[-1] == "wrap_up" and "break" in kinds
    assert {s.starts_at.date() for s in visit.sessions} == {datetime(2026, 12, 8).date(),
                                                           datetime(2026, 12, 9).date()}
    # Stuttgart shows Munich what Munich seeks and Stuttgart offers (mobility first).
    assert "transfer_host_offers" in kinds
    mobility = next(s for s in visit.sessions if [t.slug for t in s.topics] == ["mobilitaet"])
    assert mobility.kind == "transfer_host_offers" and mobility.experiences
    assert mobility.experiences[0].city.slug == "stuttgart"
    stored = agenda(visit)

    # The same service run again on the same visit builds the same agenda.
    propose_agenda(None, visit, replace=True)
    db.session.flush()
    assert agenda(visit) == stored
    db.session.rollback()


def test_reloading_the_demo_neither_duplicates_nor_changes_the_visit(app):
    load_demo()
    db.session.commit()
    before, visit = visit_counts(), the_visit()
    snapshot = (visit.title, visit.updated_at, visit.outcomes, agenda(visit),
                [(m.id, m.role) for m in visit.members])

    summary = load_demo()
    db.session.commit()
    assert "Demo-Besuch: schon vorhanden" in summary
    assert visit_counts() == before
    visit = the_visit()
    assert (visit.title, visit.updated_at, visit.outcomes, agenda(visit),
            [(m.id, m.role) for m in visit.members]) == snapshot


def test_reloading_keeps_the_planners_edits(app):
    load_demo()
    db.session.commit()
    visit = the_visit()
    visit_services.update_visit(None, visit, title="Besuch aus München",
                                starts_at=datetime(2026, 12, 8, 9, 0),
                                outcomes="Eigene Ergebnisse")
    visit_services.remove_session(None, visit.sessions[-1])
    visit_services.remove_member(None, visit, visit.members[-1])
    db.session.commit()
    before = visit_counts()

    load_demo()
    db.session.commit()
    assert visit_counts() == before
    visit = the_visit()
    assert (visit.title, visit.outcomes) == ("Besuch aus München", "Eigene Ergebnisse")


def test_demo_visit_without_the_report_page(app):
    from exchange.wiki.services import delete_experience

    load_demo()
    db.session.commit()
    db.session.delete(the_visit())
    report = db.session.scalar(sa.select(Experience).where(
        Experience.slug == DEMO_VISIT["report"]))
    delete_experience(None, report)
    db.session.commit()

    assert "Demo-Besuch: neu angelegt" in load_demo()
    db.session.commit()
    assert the_visit().report_experience is None


def test_demo_visit_shows_on_list_dashboard_and_city_page(client, auth, monkeypatch):
    load_demo()
    db.session.commit()
    # "Upcoming" is relative to today: pin today to the day before the visit's month.
    monkeypatch.setattr(visit_services, "now_local", lambda: datetime(2026, 11, 30, 12, 0))
    auth.login("max@muenchen.example", DEMO_PASSWORD)
    visit = the_visit()
    for url in ("/besuche", "/besuche?wann=all&status=done", "/", "/staedte/stuttgart",
                "/staedte/muenchen", f"/besuche/{visit.id}"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Münchens CDO zu Gast in Stuttgart" in response.get_data(as_text=True), url
    page = client.get(f"/besuche/{visit.id}").get_data(as_text=True)
    assert "Claudia Fischer" in page and "Begrüßung" in page


def test_seed_demo_command_reports_the_visit(runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "Demo-Besuch: neu angelegt" in result.output
    result = runner.invoke(args=["seed-demo"])
    assert "Demo-Besuch: schon vorhanden" in result.output
    assert db.session.scalar(sa.select(sa.func.count(Visit.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(User.id)).where(
        User.email == "planer@muenchen.example")) == 1
    assert db.session.scalar(sa.select(sa.func.count(City.id))) == 6
