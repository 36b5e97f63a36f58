"""After the visit: outcomes, the visit_report draft, joint projects; the dossier's content."""
import io
import re

import pytest
from pypdf import PdfReader

from exchange.extensions import db
from exchange.visits import services
from exchange.visits.agenda import propose_agenda
from exchange.visits.dossier import build_dossier, render_pdf
from exchange.visits.services import VisitError, VisitPermissionDenied


def _held(visit, year=2026):
    """Move `visit` and its agenda into `year` (before today): a report needs a visit
    that has begun."""
    shift = visit.starts_at.replace(year=year) - visit.starts_at
    visit.starts_at, visit.ends_at = visit.starts_at + shift, visit.ends_at + shift
    for session in visit.sessions:
        session.starts_at, session.ends_at = session.starts_at + shift, session.ends_at + shift
    db.session.flush()
    return visit


def test_no_report_for_a_visit_that_has_not_begun(demo, april_visit, client, auth):
    """Issue 12: a visit report could be created for a visit still planned in the future."""
    planer = demo.user("planer@stuttgart.example")
    with pytest.raises(VisitError) as caught:
        services.create_report_draft(planer, april_visit)
    assert "erst, wenn der Besuch begonnen hat" in caught.value.message
    assert april_visit.report_experience_id is None
    auth.login("planer@stuttgart.example", "exchange-demo")
    page = client.get(f"/besuche/{april_visit.id}").get_data(as_text=True)
    assert "Besuchsbericht als Entwurf anlegen" not in page
    response = client.post(f"/besuche/{april_visit.id}/bericht")
    assert response.status_code in (302, 400)
    db.session.expire_all()
    assert db.session.get(type(april_visit), april_visit.id).report_experience_id is None
    _held(april_visit)
    db.session.commit()
    assert "Besuchsbericht als Entwurf anlegen" in client.get(
        f"/besuche/{april_visit.id}").get_data(as_text=True)
    april_visit.status = "cancelled"
    db.session.commit()
    with pytest.raises(VisitError):
        services.create_report_draft(planer, april_visit)


def test_outcomes_and_report_draft(demo, april_visit):
    planer = demo.user("planer@stuttgart.example")
    propose_agenda(planer, april_visit)
    services.record_outcomes(planer, april_visit,
                             "- Hospitation im Innovation-Center im Juni\n"
                             "- eAkte: gemeinsamer Piloten-Austausch")
    _held(april_visit)
    report = services.create_report_draft(planer, april_visit)
    db.session.commit()
    assert april_visit.report_experience_id == report.id
    assert report.kind == "visit_report" and report.status == "draft"
    assert report.city.slug == "stuttgart"
    assert report.title.startswith("Besuchsbericht: Stuttgart zu Gast in München (April 2026)")
    body = report.body
    for expected in ("## Teilnehmende", "Dr. Thomas Berger (Chief Digital Officer", "Jürgen Weiß",
                     "## Agenda", "Innovation-Center: Erfahrungen aus München",
                     "## Ergebnisse und Vereinbarungen", "Hospitation im Innovation-Center"):
        assert expected in body, expected
    assert {t.slug for t in report.topics} == {t.slug for t in april_visit.topics}
    with pytest.raises(VisitError):
        services.create_report_draft(planer, april_visit)


def test_report_needs_planning_rights(demo, april_visit):
    _held(april_visit)
    with pytest.raises(VisitPermissionDenied):
        services.create_report_draft(demo.user("anna@stuttgart.example"), april_visit)
    assert april_visit.report_experience_id is None


def test_joint_project_from_an_agreed_topic(demo, april_visit):
    from exchange.cities.models import Topic
    import sqlalchemy as sa

    planer = demo.user("planer@stuttgart.example")
    cdo = demo.user("cdo@stuttgart.example")
    propose_agenda(planer, april_visit)
    db.session.commit()
    eakte = db.session.scalar(sa.select(Topic).where(Topic.slug == "eakte"))
    project = services.start_project(cdo, april_visit, eakte)
    db.session.commit()
    assert project.state == "draft"
    assert project.initiator_city.slug == "stuttgart"
    assert [t.slug for t in project.topics] == ["eakte"]
    assert [p.city.slug for p in project.invited] == ["muenchen"]
    assert "Gegenbesuch in München" in project.description
    # Planners propose no projects (city admins do): the projects domain says no.
    with pytest.raises(PermissionError):
        services.start_project(planer, april_visit, eakte)
    open_data = db.session.scalar(sa.select(Topic).where(Topic.slug == "breitband"))
    with pytest.raises(VisitError):
        services.start_project(cdo, april_visit, open_data)


def test_dossier_content_and_running_projects(demo, april_visit):
    from exchange.projects.services import propose_project, respond

    planer = demo.user("planer@stuttgart.example")
    propose_agenda(planer, april_visit)
    project = propose_project(demo.user("cdo@stuttgart.example"), "Gemeinsame Mobilitätsdaten",
                              "Ein Datenraum für Verkehrsdaten.", ["mobilitaet"],
                              [demo.city("muenchen")])
    respond(demo.user("cdo@muenchen.example"), project, accept=True)
    db.session.commit()
    dossier = build_dossier(april_visit)
    assert dossier.host.city.slug == "muenchen" and dossier.guest.city.slug == "stuttgart"
    assert dossier.host.experience_count >= 3
    assert "Innovation-Center" in [topic.name_de for topic in dossier.host.interests["offers"]]
    assert [p.title for p in dossier.projects] == ["Gemeinsame Mobilitätsdaten"]
    assert [m.name for m in dossier.delegation["host"]] == \
        [demo.user("cdo@muenchen.example").display_name]
    excerpts = [item["excerpt"] for items in dossier.experiences.values() for item in items]
    assert excerpts and all(len(text) <= 262 for text in excerpts)

    reader = PdfReader(io.BytesIO(render_pdf(dossier)))
    text = re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))
    # The kicker is set in capitals by the stylesheet, and so extracted.
    assert "BRIEFING-DOSSIER DELEGATIONSBESUCH" in text
    for expected in ("München", "Stuttgart",
                     "Baden-Württemberg", "Bayern", "09162000", "Einwohner",
                     "Innovation-Center: Erfahrungen aus München",
                     "Gemeinsames Thema: OZG-Umsetzung",
                     "Das Innovation-Center als Labor für die Verwaltung",
                     "Laufende gemeinsame Projekte", "Gemeinsame Mobilitätsdaten",
                     "Mittagspause", "Jürgen Weiß", "Gäste", f"Seite {len(reader.pages)} von "
                     f"{len(reader.pages)}"):
        assert expected in text, expected
    assert "„" in text and "“" in text and "–" in text
    assert reader.metadata.title.startswith("Briefing-Dossier: Gegenbesuch in München")


def test_pdf_renders_euro_and_umlauts(planer_stuttgart, stuttgart, muenchen, make_visit):
    visit = make_visit(planer_stuttgart, muenchen, stuttgart,
                       title="Prüfung: Größe – 5.000 € „Budget“",
                       notes="Übernachtung ca. 120 € pro Person; Ärztehaus-Besichtigung")
    text = " ".join(page.extract_text()
                    for page in PdfReader(io.BytesIO(render_pdf(build_dossier(visit)))).pages)
    text = re.sub(r"\s+", " ", text)
    assert "Prüfung: Größe – 5.000 € „Budget“" in text
    assert "Übernachtung ca. 120 € pro Person; Ärztehaus-Besichtigung" in text
    assert "Noch keine Agenda geplant." in text
