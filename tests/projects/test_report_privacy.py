"""A project's or visit's report that is still a draft of one city must not show its title
(nor its slug) to the other cities (issue 9, leaks)."""
from datetime import datetime

import pytest

from exchange.extensions import db
from exchange.projects import services


@pytest.fixture
def completed_with_draft(proposal, cdo_stuttgart, cdo_muenchen):
    """The proposal accepted by Munich, completed, with Stuttgart's draft report."""
    services.respond(cdo_muenchen, proposal, accept=True)
    services.transition(cdo_stuttgart, proposal, "completed")
    report = services.create_project_report(cdo_stuttgart, proposal)
    report.title = "Projektbericht: Geheime Zwischenstände"
    db.session.commit()
    return proposal


def test_project_page_hides_other_citys_draft_title(client, login, completed_with_draft,
                                                    cdo_muenchen, cdo_stuttgart):
    report = completed_with_draft.report_experience
    login(cdo_muenchen)
    page = client.get(f"/projekte/{completed_with_draft.id}").get_data(as_text=True)
    assert report.title not in page and report.slug not in page
    assert "in Arbeit bei einer anderen Stadt" in page
    login(cdo_stuttgart)
    page = client.get(f"/projekte/{completed_with_draft.id}").get_data(as_text=True)
    assert report.title in page and f"/erfahrungen/{report.slug}" in page


def test_project_api_hides_other_citys_draft_slug(api, completed_with_draft, cdo_muenchen,
                                                  cdo_stuttgart):
    url = f"/api/v1/projects/{completed_with_draft.id}"
    assert api(cdo_muenchen).get(url).get_json()["report_experience"] is None
    assert (api(cdo_stuttgart).get(url).get_json()["report_experience"]
            == completed_with_draft.report_experience.slug)


def test_published_report_shows_to_everyone(client, login, completed_with_draft, cdo_muenchen,
                                            cdo_stuttgart):
    from exchange.wiki.services import publish

    report = completed_with_draft.report_experience
    publish(cdo_stuttgart, report)
    db.session.commit()
    login(cdo_muenchen)
    assert report.title in client.get(f"/projekte/{completed_with_draft.id}").get_data(
        as_text=True)


def test_visit_page_and_api_hide_other_citys_draft_report(client, login, api, make_user,
                                                         stuttgart, muenchen, cdo_muenchen):
    from exchange.visits.services import create_report_draft, create_visit

    planner = make_user("planer@stuttgart.example", city=stuttgart, role="visit_planner")
    visit = create_visit(planner, title="Gegenbesuch", host_city=muenchen,
                         visiting_city=stuttgart, starts_at=datetime(2026, 4, 20, 9),
                         ends_at=datetime(2026, 4, 20, 17))
    report = create_report_draft(planner, visit)
    db.session.commit()
    login(cdo_muenchen)
    page = client.get(f"/besuche/{visit.id}").get_data(as_text=True)
    assert report.title not in page and report.slug not in page
    assert "in Arbeit bei einer anderen Stadt" in page
    assert api(cdo_muenchen).get(f"/api/v1/visits/{visit.id}").get_json()[
        "report_experience"] is None
    login(planner)
    page = client.get(f"/besuche/{visit.id}").get_data(as_text=True)
    assert f"/erfahrungen/{report.slug}" in page
    assert api(planner).get(f"/api/v1/visits/{visit.id}").get_json()[
        "report_experience"] == report.slug
