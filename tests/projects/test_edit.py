"""Editing a project's title, description and topics: service, page and PATCH API."""
import re

import pytest
import sqlalchemy as sa

from exchange.extensions import db
from exchange.projects import services
from exchange.projects.models import Notification, Project, ProjectEvent


def _snapshot(project):
    """What editing may change, plus the history and inbox sizes."""
    db.session.expire_all()
    return (project.title, project.description, sorted(t.slug for t in project.topics),
            db.session.scalar(sa.select(sa.func.count(ProjectEvent.id))),
            db.session.scalar(sa.select(sa.func.count(Notification.id))))


def _edited_events(project):
    return db.session.scalars(sa.select(ProjectEvent).where(
        ProjectEvent.project_id == project.id, ProjectEvent.kind == "edited")).all()


def _finish(project, state, cdo_stuttgart, cdo_muenchen):
    """Bring the proposal into a finished state through the services."""
    if state == "withdrawn":
        services.transition(cdo_stuttgart, project, "withdrawn")
    elif state == "declined":
        services.respond(cdo_muenchen, project, accept=False)
    else:
        services.respond(cdo_muenchen, project, accept=True)
        services.transition(cdo_stuttgart, project, "completed")
    db.session.commit()
    assert project.state == state


# --- service -----------------------------------------------------------------------------

def test_update_changes_fields_records_one_event_and_tells_the_partners(
        proposal, cdo_stuttgart, cdo_muenchen, topics):
    before = db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.user_id == cdo_muenchen.id))
    services.update_project(cdo_stuttgart, proposal, title="eAkte und DMS gemeinsam",
                            description="Neu: auch das **DMS**.", topics=["dms", "ozg-umsetzung"])
    db.session.commit()
    db.session.expire_all()
    assert proposal.title == "eAkte und DMS gemeinsam"
    assert proposal.description == "Neu: auch das **DMS**."
    assert sorted(t.slug for t in proposal.topics) == ["dms", "ozg-umsetzung"]
    [event] = _edited_events(proposal)
    assert event.actor_id == cdo_stuttgart.id and event.city.slug == "stuttgart"
    inbox = db.session.scalars(sa.select(Notification).where(
        Notification.user_id == cdo_muenchen.id).order_by(Notification.id)).all()
    assert len(inbox) == before + 1
    assert inbox[-1].kind == "update"
    assert inbox[-1].title == "Projekt „eAkte und DMS gemeinsam“ wurde geändert"


def test_none_keeps_a_field_and_unchanged_text_records_nothing(proposal, cdo_stuttgart):
    services.update_project(cdo_stuttgart, proposal, title=" Gemeinsame eAkte-Einführung ",
                            topics=["dms", "eakte"])
    db.session.commit()
    assert _edited_events(proposal) == []
    services.update_project(cdo_stuttgart, proposal, description="Nur der Text ist neu.")
    db.session.commit()
    db.session.expire_all()
    assert proposal.title == "Gemeinsame eAkte-Einführung"
    assert sorted(t.slug for t in proposal.topics) == ["dms", "eakte"]
    assert proposal.description == "Nur der Text ist neu."
    assert len(_edited_events(proposal)) == 1


def test_draft_edit_tells_nobody(cdo_stuttgart, muenchen, topics):
    project = services.propose_project(cdo_stuttgart, "Entwurf", "", ["eakte"], [muenchen],
                                       submit=False)
    db.session.commit()
    services.update_project(cdo_stuttgart, project, title="Besserer Entwurf")
    db.session.commit()
    assert project.title == "Besserer Entwurf" and len(_edited_events(project)) == 1
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 0


@pytest.mark.parametrize("fields, message", [
    ({"title": "   "}, "Bitte geben Sie einen Titel an."),
    ({"title": "x" * 201}, "Der Titel darf höchstens 200 Zeichen lang sein."),
    ({"description": "x" * 20001}, "Die Beschreibung ist zu lang"),
    ({"topics": ["eakte", "gibt-es-nicht"]}, "Unbekanntes Thema: gibt-es-nicht"),
    # A valid title with a bad topic: nothing at all is changed.
    ({"title": "Neu", "topics": ["gibt-es-nicht"]}, "Unbekanntes Thema"),
])
def test_bad_input_is_refused_and_changes_nothing(proposal, cdo_stuttgart, fields, message):
    before = _snapshot(proposal)
    with pytest.raises(services.ProjectError, match=message) as raised:
        services.update_project(cdo_stuttgart, proposal, **fields)
    assert raised.value.status == 422
    db.session.rollback()
    assert _snapshot(proposal) == before


def test_only_the_initiators_admin_edits(proposal, cdo_muenchen, anna, max_muenchen):
    before = _snapshot(proposal)
    for user in (cdo_muenchen, anna, max_muenchen):
        with pytest.raises(services.ProjectPermissionError):
            services.update_project(user, proposal, title="Übernommen")
        db.session.rollback()
    assert _snapshot(proposal) == before


def test_platform_admin_may_edit(proposal, admin):
    services.update_project(admin, proposal, title="Vom Plattform-Team korrigiert")
    db.session.commit()
    assert proposal.title == "Vom Plattform-Team korrigiert"


@pytest.mark.parametrize("state", ["declined", "completed", "withdrawn"])
def test_finished_projects_are_a_conflict(proposal, cdo_stuttgart, cdo_muenchen, state):
    _finish(proposal, state, cdo_stuttgart, cdo_muenchen)
    before = _snapshot(proposal)
    with pytest.raises(services.ProjectConflict, match="kann nicht mehr bearbeitet werden"):
        services.update_project(cdo_stuttgart, proposal, title="Zu spät")
    db.session.rollback()
    assert _snapshot(proposal) == before


def test_active_project_is_editable(proposal, cdo_stuttgart, cdo_muenchen):
    services.respond(cdo_muenchen, proposal, accept=True)
    db.session.commit()
    assert proposal.state == "active"
    services.update_project(cdo_stuttgart, proposal, description="Zweite Phase: DMS.")
    db.session.commit()
    assert proposal.description == "Zweite Phase: DMS."


# --- API -----------------------------------------------------------------------------------

def _error(response, status):
    assert response.status_code == status, response.get_json()
    return response.get_json()["error"]["message"]


def test_patch_changes_fields_and_shows_the_event(api, proposal, cdo_stuttgart):
    url = f"/api/v1/projects/{proposal.id}"
    response = api(cdo_stuttgart).patch(url, json={"title": "Gemeinsame E-Akte",
                                                "topics": ["ozg-umsetzung"]})
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert data["title"] == "Gemeinsame E-Akte" and data["topics"] == ["ozg-umsetzung"]
    assert data["description"] == "Wir führen die **E-Akte** gemeinsam ein."
    assert data["events"][-1]["kind"] == "edited"
    assert data["events"][-1]["city"] == "stuttgart"
    db.session.expire_all()
    assert db.session.get(Project, proposal.id).title == "Gemeinsame E-Akte"


@pytest.mark.parametrize("body, status, message", [
    ({"title": ""}, 422, "Bitte geben Sie einen Titel an."),
    ({"title": 5}, 422, "field 'title' must be a string"),
    ({"title": None}, 422, "field 'title' must not be null"),
    ({"topics": "eakte"}, 422, "field 'topics' must be a list of slugs"),
    ({"topics": ["eakte", "nirgendwo"]}, 422, "Unbekanntes Thema: nirgendwo"),
    ({"description": "neu", "state": "completed"}, 422, "cannot change 'state' here"),
    ({}, 422, "nothing to change"),
    (["title"], 400, "Der Inhalt der Anfrage muss ein JSON-Objekt sein."),
])
def test_patch_refuses_bad_input_and_changes_nothing(api, proposal, cdo_stuttgart, body,
                                                     status, message):
    before = _snapshot(proposal)
    response = api(cdo_stuttgart).patch(f"/api/v1/projects/{proposal.id}", json=body)
    assert message in _error(response, status)
    assert _snapshot(proposal) == before


def test_patch_by_others_is_403_and_changes_nothing(api, proposal, cdo_muenchen, anna):
    before = _snapshot(proposal)
    for user in (cdo_muenchen, anna):
        response = api(user).patch(f"/api/v1/projects/{proposal.id}", json={"title": "Gekapert"})
        assert "Nur die Administration von Stuttgart" in _error(response, 403)
    assert _snapshot(proposal) == before


@pytest.mark.parametrize("state", ["declined", "completed", "withdrawn"])
def test_patch_on_finished_project_is_409(api, proposal, cdo_stuttgart, cdo_muenchen, state):
    _finish(proposal, state, cdo_stuttgart, cdo_muenchen)
    before = _snapshot(proposal)
    response = api(cdo_stuttgart).patch(f"/api/v1/projects/{proposal.id}",
                     json={"description": "Nachträglich geändert"})
    assert "kann nicht mehr bearbeitet werden" in _error(response, 409)
    assert _snapshot(proposal) == before


def test_patch_on_unknown_or_foreign_draft_is_404(api, cdo_stuttgart, cdo_muenchen, stuttgart,
                                                  topics):
    draft = services.propose_project(cdo_muenchen, "Münchner Entwurf", "", [], [stuttgart],
                                     submit=False)
    db.session.commit()
    for url in ("/api/v1/projects/999999", f"/api/v1/projects/{draft.id}"):
        _error(api(cdo_stuttgart).patch(url, json={"title": "x"}), 404)
    assert db.session.get(Project, draft.id).title == "Münchner Entwurf"


# --- page ------------------------------------------------------------------------------------

def _text(response):
    return response.get_data(as_text=True)


def test_edit_page_prefills_saves_and_shows_the_event(client, login, proposal, cdo_stuttgart):
    login(cdo_stuttgart)
    show = _text(client.get(f"/projekte/{proposal.id}"))
    assert f'href="/projekte/{proposal.id}/bearbeiten"' in show
    page = client.get(f"/projekte/{proposal.id}/bearbeiten")
    assert page.status_code == 200
    html = _text(page)
    assert 'value="Gemeinsame eAkte-Einführung"' in html
    selected = {re.search(r'value="([^"]+)"', option).group(1)
                for option in re.findall(r"<option[^>]*>", html) if "selected" in option}
    assert selected == {"eakte", "dms"}

    response = client.post(f"/projekte/{proposal.id}/bearbeiten", data={
        "title": "Gemeinsame eAkte und DMS", "description": "Jetzt mit DMS.",
        "topics": ["dms"]})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/projekte/{proposal.id}")
    db.session.expire_all()
    assert proposal.title == "Gemeinsame eAkte und DMS"
    assert [t.slug for t in proposal.topics] == ["dms"]
    show = _text(client.get(f"/projekte/{proposal.id}"))
    assert "Beschreibung geändert" in show and "Jetzt mit DMS." in show


def test_edit_page_shows_german_errors_and_changes_nothing(client, login, proposal,
                                                          cdo_stuttgart):
    login(cdo_stuttgart)
    before = _snapshot(proposal)
    response = client.post(f"/projekte/{proposal.id}/bearbeiten", data={
        "title": "", "description": "Neu", "topics": ["eakte"]})
    assert response.status_code == 422
    assert "Bitte geben Sie einen Titel an." in _text(response)
    response = client.post(f"/projekte/{proposal.id}/bearbeiten", data={
        "title": "Neu", "description": "Neu", "topics": ["gibt-es-nicht"]})
    assert response.status_code == 422
    assert "Unbekanntes Thema: gibt-es-nicht" in _text(response)
    assert _snapshot(proposal) == before


def test_edit_page_is_403_for_others_and_hidden_from_them(client, login, proposal,
                                                         cdo_muenchen, anna):
    before = _snapshot(proposal)
    for user in (cdo_muenchen, anna):
        login(user)
        assert "/bearbeiten" not in _text(client.get(f"/projekte/{proposal.id}"))
        assert client.get(f"/projekte/{proposal.id}/bearbeiten").status_code == 403
        response = client.post(f"/projekte/{proposal.id}/bearbeiten",
                               data={"title": "Gekapert", "description": "", "topics": []})
        assert response.status_code == 403
    assert _snapshot(proposal) == before


def test_edit_page_on_finished_project_explains_and_changes_nothing(
        client, login, proposal, cdo_stuttgart, cdo_muenchen):
    _finish(proposal, "completed", cdo_stuttgart, cdo_muenchen)
    login(cdo_stuttgart)
    assert "/bearbeiten" not in _text(client.get(f"/projekte/{proposal.id}"))
    before = _snapshot(proposal)
    response = client.post(f"/projekte/{proposal.id}/bearbeiten", data={
        "title": "Zu spät", "description": "", "topics": []}, follow_redirects=True)
    assert "kann nicht mehr bearbeitet werden" in _text(response)
    assert _snapshot(proposal) == before


def test_edit_form_has_csrf_protection(app, client, login, proposal, cdo_stuttgart):
    app.config["WTF_CSRF_ENABLED"] = True
    login(cdo_stuttgart)
    before = _snapshot(proposal)
    response = client.post(f"/projekte/{proposal.id}/bearbeiten",
                           data={"title": "Ohne Token", "description": "", "topics": []})
    assert response.status_code in (400, 422)
    assert _snapshot(proposal) == before


# --- schema ------------------------------------------------------------------------------

def test_migrated_schema_accepts_every_event_kind(tmp_path):
    """The CHECK constraint written by migration 0002 knows "edited" (and all EVENT_KINDS)."""
    from flask_migrate import upgrade

    from exchange import create_app
    from exchange.projects.models import EVENT_KINDS

    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x",
                      "INSTANCE_PATH": str(tmp_path / "instance")})
    with app.app_context():
        upgrade()
        with db.engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO cities (slug, name, state, profile, created_at) "
                "VALUES ('ulm', 'Ulm', 'Baden-Württemberg', '', '2026-11-25')"))
            connection.execute(sa.text(
                "INSERT INTO projects (key, title, description, state, initiator_city_id, "
                "created_at, updated_at) VALUES ('p-1', 'P', '', 'draft', 1, '2026-11-25', "
                "'2026-11-25')"))
            for kind in EVENT_KINDS:
                connection.execute(sa.text(
                    "INSERT INTO project_events (project_id, kind, message, created_at) "
                    "VALUES (1, :kind, '', '2026-11-25')"), {"kind": kind})
            with pytest.raises(sa.exc.IntegrityError):
                connection.execute(sa.text(
                    "INSERT INTO project_events (project_id, kind, message, created_at) "
                    "VALUES (1, 'unbekannt', '', '2026-11-25')"))
        db.engine.dispose()
