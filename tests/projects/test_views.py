"""Project pages and the inbox: the whole journey through the UI, and refusals."""
import re

import sqlalchemy as sa

from conftest import session_login

from exchange.extensions import db
from exchange.projects import services
from exchange.projects.models import Notification, Project, ProjectComment, ProjectEvent


def _counts():
    return [db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (Project, ProjectComment, ProjectEvent, Notification)]


def _text(response):
    return response.get_data(as_text=True)


def test_full_journey_through_the_ui(client, login, cdo_stuttgart, cdo_muenchen, topics, app):
    # Stuttgart's CDO opens the form prefilled from a match with Munich on eAkte.
    login(cdo_stuttgart)
    page = client.get("/projekte/neu?partner=muenchen&topic=eakte")
    assert page.status_code == 200
    html = _text(page)
    selected = {re.search(r'value="([^"]+)"', option).group(1)
                for option in re.findall(r"<option[^>]*>", html) if "selected" in option}
    assert selected == {"muenchen", "eakte"}

    response = client.post("/projekte/neu", data={
        "title": "Gemeinsame eAkte", "description": "Wir lernen voneinander.",
        "topics": ["eakte", "dms"], "invited_cities": ["muenchen"], "partner": "muenchen",
        "propose": "Vorschlag absenden"})
    assert response.status_code == 303
    project = db.session.scalar(sa.select(Project))
    assert response.headers["Location"].endswith(f"/projekte/{project.id}")
    assert project.state == "proposed" and project.from_match_city.slug == "muenchen"

    # Munich's CDO sees the unread invitation in the header and accepts with a message.
    login(cdo_muenchen)
    html = _text(client.get("/projekte"))
    assert re.search(r'class="badge"[^>]*>1</span>', html)
    inbox = _text(client.get("/postfach"))
    assert "Einladung zum gemeinsamen Projekt „Gemeinsame eAkte“" in inbox
    page = _text(client.get(f"/projekte/{project.id}"))
    assert "Einladung annehmen" in page
    response = client.post(f"/projekte/{project.id}/antwort",
                           data={"message": "München ist dabei!", "accept": "Einladung annehmen"})
    assert response.status_code == 303
    db.session.expire_all()
    assert project.state == "active"

    client.post(f"/projekte/{project.id}/kommentare", data={"body": "Erstes Treffen im Dezember?"})

    # Stuttgart sees the answer, completes the project and starts the report.
    login(cdo_stuttgart)
    page = _text(client.get(f"/projekte/{project.id}"))
    assert "München ist dabei!" in page
    assert "Laura Dornheim" in page and "Erstes Treffen im Dezember?" in page
    assert "Projekt abschließen" in page
    response = client.post(f"/projekte/{project.id}/status", data={"to": "completed"})
    assert response.status_code == 303
    db.session.expire_all()
    assert project.state == "completed"
    page = _text(client.get(f"/projekte/{project.id}"))
    assert "Projektbericht schreiben" in page
    response = client.post(f"/projekte/{project.id}/bericht")
    assert response.status_code == 303
    db.session.expire_all()
    report = project.report_experience
    assert report is not None and report.kind == "project_report" and report.status == "draft"
    assert response.headers["Location"].endswith(f"/erfahrungen/{report.slug}/bearbeiten")
    page = _text(client.get(f"/projekte/{project.id}"))
    assert report.title in page
    assert "Projektbericht bearbeiten" in page and "Projektbericht schreiben" not in page
    # a second request opens the same report instead of writing another one
    again = client.post(f"/projekte/{project.id}/bericht")
    assert again.headers["Location"] == response.headers["Location"]


def test_timeline_shows_who_said_what_when(client, login, proposal, cdo_muenchen, anna):
    services.comment(anna, proposal, "Wir bringen unsere DMS-Ausschreibung mit.")
    services.respond(cdo_muenchen, proposal, False, "Dieses Jahr leider nicht.")
    db.session.commit()
    login(anna)
    html = _text(client.get(f"/projekte/{proposal.id}"))
    timeline = html[html.index('id="verlauf"'):]
    assert (timeline.index("Anna Schmid")
            < timeline.index("Wir bringen unsere DMS-Ausschreibung mit."))
    assert "Laura Dornheim (München)" in timeline
    assert "Dieses Jahr leider nicht." in timeline
    assert "hat die Einladung abgelehnt." in timeline
    comment = proposal.comments[0]
    local = services_time(comment.created_at)
    assert local in timeline


def services_time(dt):
    """The comment time as a German page shows it: Berlin time, "03.12.2026, 14:15"."""
    from datetime import timezone
    from zoneinfo import ZoneInfo

    local = dt.replace(tzinfo=timezone.utc).astimezone(ZoneInfo("Europe/Berlin"))
    return f"{local:%d.%m.%Y}, {local:%H:%M}"


def test_invalid_transition_in_the_ui_flashes_and_changes_nothing(client, login, proposal,
                                                                  cdo_stuttgart):
    login(cdo_stuttgart)
    before = _counts()
    response = client.post(f"/projekte/{proposal.id}/status", data={"to": "completed"},
                           follow_redirects=True)
    assert "kann nicht in den Zustand „Abgeschlossen“ wechseln" in _text(response)
    db.session.expire_all()
    assert proposal.state == "proposed" and _counts() == before


def test_answering_for_another_city_in_the_ui_is_forbidden(client, login, proposal,
                                                           cdo_karlsruhe, max_muenchen):
    before = _counts()
    for user in (cdo_karlsruhe, max_muenchen):
        login(user)
        response = client.post(f"/projekte/{proposal.id}/antwort", data={"accept": "1"})
        assert response.status_code == 403
    db.session.expire_all()
    assert _counts() == before
    assert proposal.participant(max_muenchen.city).response == "pending"


def test_proposal_form_errors_are_german_and_nothing_is_stored(client, login, cdo_stuttgart,
                                                               muenchen, topics):
    login(cdo_stuttgart)
    cases = [
        ({"title": "X", "invited_cities": ["stuttgart"]},
         "Ihre eigene Stadt können Sie nicht einladen"),
        ({"title": "X", "invited_cities": ["muenchen", "muenchen"]},
         "München ist bereits eingeladen"),
        ({"title": "", "invited_cities": ["muenchen"]}, "Bitte geben Sie einen Titel an."),
        ({"title": "X", "invited_cities": []}, "Bitte laden Sie mindestens eine andere Stadt ein."),
    ]
    for data, message in cases:
        response = client.post("/projekte/neu", data={**data, "propose": "1"})
        assert response.status_code == 422
        assert message in _text(response)
    assert _counts() == [0, 0, 0, 0]


def test_staff_cannot_open_the_proposal_form(client, login, anna):
    login(anna)
    assert client.get("/projekte/neu").status_code == 403


def _select(html, name):
    """The options of the <select name=...>: [(value, selected)]."""
    block = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
    if block is None:
        return None
    return [(re.search(r'value="([^"]*)"', option).group(1), "selected" in option)
            for option in re.findall(r"<option[^>]*>", block.group(1))]


def test_city_admins_get_no_city_select(client, login, cdo_stuttgart, muenchen):
    login(cdo_stuttgart)
    html = _text(client.get("/projekte/neu"))
    assert _select(html, "city") is None and "Für Stuttgart" in html
    assert "stuttgart" not in [value for value, _ in _select(html, "invited_cities")]


def test_platform_admin_without_city_proposes_for_a_chosen_city(client, login, admin,
                                                                stuttgart, muenchen, topics,
                                                                cdo_stuttgart, cdo_muenchen):
    login(admin)
    assert "/projekte/neu" in _text(client.get("/projekte"))
    page = client.get("/projekte/neu")
    assert page.status_code == 200
    html = _text(page)
    assert "Für Stadt" in html
    assert _select(html, "city") == [("", False), ("muenchen", False), ("stuttgart", False)]

    # Without a city the service asks for one; nothing is stored.
    response = client.post("/projekte/neu", data={
        "title": "Plattformprojekt", "city": "", "invited_cities": ["muenchen"], "propose": "1"})
    assert response.status_code == 422
    assert "für welche Stadt Sie das Projekt vorschlagen" in _text(response)
    assert _counts() == [0, 0, 0, 0]

    response = client.post("/projekte/neu", data={
        "title": "Plattformprojekt", "city": "stuttgart", "invited_cities": ["muenchen"],
        "topics": ["eakte"], "propose": "1"})
    assert response.status_code == 303
    project = db.session.scalar(sa.select(Project))
    assert project.initiator_city.slug == "stuttgart" and project.state == "proposed"
    assert project.created_by_id == admin.id
    assert [(p.city.slug, p.role) for p in project.participants] == [
        ("stuttgart", "initiator"), ("muenchen", "invited")]
    # Munich's admin is invited; Stuttgart's admin (the initiator) steers it.
    assert db.session.scalar(sa.select(Notification.kind).where(
        Notification.user_id == cdo_muenchen.id)) == "invitation"
    login(cdo_stuttgart)
    assert "Zurückziehen" in _text(client.get(f"/projekte/{project.id}"))


def test_platform_admin_cannot_invite_the_chosen_city_itself(client, login, admin, stuttgart,
                                                            muenchen):
    login(admin)
    response = client.post("/projekte/neu", data={
        "title": "X", "city": "stuttgart", "invited_cities": ["stuttgart"], "propose": "1"})
    assert response.status_code == 422
    assert "Ihre eigene Stadt können Sie nicht einladen" in _text(response)
    response = client.post("/projekte/neu", data={
        "title": "X", "city": "atlantis", "invited_cities": ["muenchen"], "propose": "1"})
    assert response.status_code == 422
    assert "Unbekannte Stadt: atlantis" in _text(response)
    assert _counts() == [0, 0, 0, 0]


def test_platform_admin_with_a_city_gets_it_preselected(client, login, make_user, stuttgart,
                                                       muenchen):
    login(make_user("it@stuttgart.example", city=stuttgart, is_admin=True))
    assert ("stuttgart", True) in _select(_text(client.get("/projekte/neu")), "city")


def test_drafts_are_hidden_from_other_cities(client, login, cdo_stuttgart, cdo_muenchen, muenchen):
    draft = services.propose_project(cdo_stuttgart, "Geheimer Entwurf", "", [], [muenchen],
                                     submit=False)
    db.session.commit()
    login(cdo_muenchen)
    assert client.get(f"/projekte/{draft.id}").status_code == 404
    assert "Geheimer Entwurf" not in _text(client.get("/projekte?scope=all"))
    login(cdo_stuttgart)
    assert "Geheimer Entwurf" in _text(client.get("/projekte?scope=mine"))


def test_list_scopes_and_state_filter(client, login, proposal, cdo_muenchen, cdo_stuttgart,
                                      karlsruhe):
    other = services.propose_project(cdo_stuttgart, "Zweites Projekt", "", [], [karlsruhe])
    db.session.commit()
    login(cdo_muenchen)
    invitations = _text(client.get("/projekte?scope=invitations"))
    assert "Gemeinsame eAkte-Einführung" in invitations and "Zweites Projekt" not in invitations
    everything = _text(client.get("/projekte?scope=all"))
    assert "Gemeinsame eAkte-Einführung" in everything and "Zweites Projekt" in everything
    services.respond(cdo_muenchen, proposal, True)
    db.session.commit()
    active = _text(client.get("/projekte?scope=all&state=active"))
    assert "Gemeinsame eAkte-Einführung" in active and other.title not in active


def test_inbox_mark_read_and_all_read(client, login, proposal, cdo_muenchen, cdo_stuttgart,
                                      karlsruhe):
    services.invite_city(cdo_stuttgart, proposal, karlsruhe)
    services.comment(cdo_stuttgart, proposal, "Hallo München")
    db.session.commit()
    login(cdo_muenchen)
    assert services.unread_count(cdo_muenchen) == 2
    first = services.notifications_for(cdo_muenchen)[0]
    response = client.get(f"/postfach/{first.id}/oeffnen")
    assert response.status_code == 302 and response.headers["Location"].endswith(first.link)
    assert services.unread_count(cdo_muenchen) == 1
    assert re.search(r'class="badge"[^>]*>1</span>', _text(client.get("/postfach")))
    client.post("/postfach/alle-gelesen")
    assert services.unread_count(cdo_muenchen) == 0
    assert 'class="badge"' not in _text(client.get("/postfach"))
    # someone else's notification is not found
    login(cdo_stuttgart)
    assert client.post(f"/postfach/{first.id}/gelesen").status_code == 404


def test_dashboard_and_city_page_sections(client, login, proposal, cdo_muenchen, muenchen):
    login(cdo_muenchen)
    dashboard = _text(client.get("/"))
    assert "Offene Einladungen" in dashboard and "Gemeinsame eAkte-Einführung" in dashboard
    services.respond(cdo_muenchen, proposal, True)
    db.session.commit()
    dashboard = _text(client.get("/"))
    assert "Aktive Projekte" in dashboard and "Stuttgart, München" in dashboard
    from exchange.core.hooks import fill

    sections = {s.name: s for s in fill("city_page", city=muenchen, user=cdo_muenchen)}
    assert sections["projects"].data["projects"] == [proposal]
    page = _text(client.get("/staedte/stuttgart"))
    assert "Gemeinsame eAkte-Einführung" in page and "Aktiv" in page


def test_dashboard_shows_the_own_proposals_waiting_for_an_answer(client, login, proposal,
                                                                 cdo_stuttgart):
    login(cdo_stuttgart)
    dashboard = _text(client.get("/"))
    assert "Vorgeschlagen, wartet auf Antwort" in dashboard
    waiting = dashboard.split("Vorgeschlagen, wartet auf Antwort", 1)[1].split("Aktive Projekte")[0]
    assert "Gemeinsame eAkte-Einführung" in waiting and "München" in waiting


def test_project_page_links_the_participating_cities(client, login, proposal, cdo_muenchen):
    login(cdo_muenchen)
    html = _text(client.get(f"/projekte/{proposal.id}"))
    assert '<a href="/staedte/stuttgart">Stuttgart</a>' in html
    assert '<a href="/staedte/muenchen">München</a>' in html


def test_city_page_names_the_partner_cities(client, login, proposal, cdo_muenchen):
    services.respond(cdo_muenchen, proposal, True)
    db.session.commit()
    login(cdo_muenchen)
    section = _text(client.get("/staedte/stuttgart")).split("projects-city", 1)[1]
    assert "mit München" in section and "mit Stuttgart" not in section
    section = _text(client.get("/staedte/muenchen")).split("projects-city", 1)[1]
    assert "mit Stuttgart" in section and "mit München" not in section


def test_topic_choices_leave_out_fine_ozg_levels_unless_prefilled(client, login, cdo_stuttgart,
                                                                   make_topic, topics):
    leistung = make_topic("ozg-leistung-wohngeld", "Wohngeld beantragen")
    leistung.ozg_key = "leistung:99001"
    db.session.commit()
    login(cdo_stuttgart)
    assert "Wohngeld beantragen" not in _text(client.get("/projekte/neu"))
    assert "Wohngeld beantragen" in _text(client.get("/projekte/neu?topic=ozg-leistung-wohngeld"))


def test_forms_need_the_csrf_token(app_config, proposal, cdo_muenchen):
    """With CSRF protection on (as in production), a forged answer is refused."""
    from exchange import create_app

    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    client = session_login(app.test_client(), cdo_muenchen)
    response = client.post(f"/projekte/{proposal.id}/antwort", data={"accept": "1"})
    assert response.status_code == 400
    db.session.expire_all()
    assert proposal.participant(cdo_muenchen.city).response == "pending"
    page = client.get(f"/projekte/{proposal.id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(f"/projekte/{proposal.id}/antwort",
                           data={"accept": "1", "csrf_token": token})
    assert response.status_code == 303
    db.session.expire_all()
    assert proposal.participant(cdo_muenchen.city).response == "accepted"
