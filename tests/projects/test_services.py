"""Project services: proposals, answers, comments, reports, notifications and mail."""
import pytest
import sqlalchemy as sa

from exchange.extensions import db
from exchange.projects import services
from exchange.projects.models import (Notification, Project, ProjectComment, ProjectEvent,
                                      ProjectParticipant)


def _snapshot():
    """Row counts of every project table: "nothing changed" means these stay equal."""
    return {model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (Project, ProjectParticipant, ProjectComment, ProjectEvent,
                          Notification)}


def _notified(user):
    return [n.kind for n in services.notifications_for(user)]


# --- proposing ---------------------------------------------------------------------------

def test_proposal_creates_participants_event_and_invitation(proposal, cdo_stuttgart,
                                                            cdo_muenchen, max_muenchen):
    assert proposal.state == "proposed"
    assert proposal.initiator_city == cdo_stuttgart.city
    assert [(p.city.slug, p.role, p.response) for p in proposal.participants] == [
        ("stuttgart", "initiator", "accepted"), ("muenchen", "invited", "pending")]
    assert [t.slug for t in proposal.topics] == ["dms", "eakte"]
    assert _notified(cdo_muenchen) == ["invitation"]
    assert _notified(max_muenchen) == []  # staff are not asked, only the city admin
    assert _notified(cdo_stuttgart) == []
    note = services.notifications_for(cdo_muenchen)[0]
    assert note.title == "Einladung zum gemeinsamen Projekt „Gemeinsame eAkte-Einführung“"
    assert note.link == f"/projekte/{proposal.id}"


def test_draft_invites_nobody_until_submitted(cdo_stuttgart, cdo_muenchen, topics):
    project = services.propose_project(cdo_stuttgart, "Entwurf", "", ["eakte"], ["muenchen"],
                                       submit=False)
    db.session.commit()
    assert project.state == "draft"
    assert _notified(cdo_muenchen) == []
    services.transition(cdo_stuttgart, project, "proposed")
    db.session.commit()
    assert _notified(cdo_muenchen) == ["invitation"]


@pytest.mark.parametrize("invited,title,topic_slugs,message", [
    (["stuttgart"], "Titel", [], "Ihre eigene Stadt können Sie nicht einladen"),
    (["muenchen", "muenchen"], "Titel", [], "München ist bereits eingeladen"),
    (["koeln"], "Titel", [], "Unbekannte Stadt: koeln"),
    (["muenchen"], "Titel", ["gibt-es-nicht"], "Unbekanntes Thema: gibt-es-nicht"),
    (["muenchen"], "   ", [], "Bitte geben Sie einen Titel an."),
    ([], "Titel", [], "Bitte laden Sie mindestens eine andere Stadt ein."),
    (["muenchen"], "x" * 201, [], "höchstens 200 Zeichen"),
])
def test_bad_proposals_are_refused_and_change_nothing(cdo_stuttgart, muenchen, topics, invited,
                                                      title, topic_slugs, message):
    before = _snapshot()
    with pytest.raises(services.ProjectError) as info:
        services.propose_project(cdo_stuttgart, title, "", topic_slugs, invited)
    assert info.value.status == 422
    assert message in str(info.value)
    db.session.rollback()
    assert _snapshot() == before


def test_staff_and_other_cities_cannot_propose(anna, cdo_muenchen, stuttgart, muenchen):
    before = _snapshot()
    with pytest.raises(services.ProjectPermissionError):
        services.propose_project(anna, "Titel", "", [], [muenchen])
    with pytest.raises(services.ProjectPermissionError):
        services.propose_project(cdo_muenchen, "Titel", "", [], [muenchen], city=stuttgart)
    db.session.rollback()
    assert _snapshot() == before


def test_platform_admin_proposes_for_a_named_city(admin, stuttgart, muenchen):
    with pytest.raises(services.ProjectError):
        services.propose_project(admin, "Titel", "", [], [muenchen])  # which city?
    project = services.propose_project(admin, "Titel", "", [], [muenchen], city="stuttgart")
    assert project.initiator_city == stuttgart


def test_invite_city_later_notifies_at_once_and_refuses_duplicates(proposal, cdo_stuttgart,
                                                                   cdo_karlsruhe, karlsruhe):
    services.invite_city(cdo_stuttgart, proposal, karlsruhe)
    db.session.commit()
    assert _notified(cdo_karlsruhe) == ["invitation"]
    before = _snapshot()
    for city in ("karlsruhe", "muenchen", "stuttgart"):
        with pytest.raises(services.ProjectError) as info:
            services.invite_city(cdo_stuttgart, proposal, city)
        assert info.value.status == 422
    db.session.rollback()
    assert _snapshot() == before


# --- answering ---------------------------------------------------------------------------

def test_accept_activates_and_tells_the_initiator(proposal, cdo_stuttgart, cdo_muenchen):
    services.respond(cdo_muenchen, proposal, True, "Sehr gern, wir sind dabei.")
    db.session.commit()
    assert proposal.state == "active"
    participant = proposal.participant(cdo_muenchen.city)
    assert (participant.response, participant.message, participant.responded_by) == (
        "accepted", "Sehr gern, wir sind dabei.", cdo_muenchen)
    assert _notified(cdo_stuttgart) == ["state", "answer"]
    answer = [n for n in services.notifications_for(cdo_stuttgart) if n.kind == "answer"][0]
    assert answer.title == "München hat die Einladung zu „Gemeinsame eAkte-Einführung“ angenommen"
    assert answer.body == "Sehr gern, wir sind dabei."
    accepted = [e for e in proposal.events if e.kind == "accepted"][0]
    assert (accepted.actor, accepted.city.slug, accepted.message) == (
        cdo_muenchen, "muenchen", "Sehr gern, wir sind dabei.")


def test_answering_twice_is_a_conflict(proposal, cdo_muenchen):
    services.respond(cdo_muenchen, proposal, False, "Leider nein")
    db.session.commit()
    before = _snapshot()
    with pytest.raises(services.ProjectConflict) as info:
        services.respond(cdo_muenchen, proposal, True, "Doch ja")
    assert info.value.status == 409
    db.session.rollback()
    assert _snapshot() == before
    assert proposal.participant(cdo_muenchen.city).message == "Leider nein"
    assert proposal.state == "declined"


def test_nobody_answers_for_another_city(proposal, cdo_stuttgart, cdo_karlsruhe, max_muenchen,
                                         muenchen):
    before = _snapshot()
    attempts = [
        (cdo_karlsruhe, None),      # Karlsruhe was not invited
        (cdo_karlsruhe, muenchen),  # ... and cannot answer in Munich's name
        (max_muenchen, None),       # Munich staff, not the admin
        (cdo_stuttgart, muenchen),  # the initiator cannot accept for its guest
        (cdo_stuttgart, None),      # nor answer its own invitation
    ]
    for actor, city in attempts:
        with pytest.raises(services.ProjectPermissionError):
            services.respond(actor, proposal, True, city=city)
    db.session.rollback()
    assert _snapshot() == before
    assert proposal.participant(muenchen).response == "pending"


def test_acting_on_a_withdrawn_proposal_is_a_conflict(proposal, cdo_stuttgart, cdo_muenchen):
    services.transition(cdo_stuttgart, proposal, "withdrawn")
    db.session.commit()
    assert _notified(cdo_muenchen) == ["state", "invitation"]
    before = _snapshot()
    with pytest.raises(services.ProjectConflict):
        services.respond(cdo_muenchen, proposal, True)
    with pytest.raises(services.ProjectConflict):
        services.comment(cdo_muenchen, proposal, "Schade")
    with pytest.raises(services.ProjectConflict):
        services.transition(cdo_stuttgart, proposal, "completed")
    with pytest.raises(services.ProjectConflict):
        services.invite_city(cdo_stuttgart, proposal, "karlsruhe")
    db.session.rollback()
    assert _snapshot() == before
    assert proposal.state == "withdrawn"


def test_only_the_initiators_admin_steers(proposal, cdo_muenchen, anna):
    for actor in (cdo_muenchen, anna):
        with pytest.raises(services.ProjectPermissionError):
            services.transition(actor, proposal, "withdrawn")
    db.session.rollback()
    assert proposal.state == "proposed"


# --- comments ----------------------------------------------------------------------------

def test_comment_notifies_the_other_cities_admins(proposal, cdo_stuttgart, cdo_muenchen, anna,
                                                  make_user, karlsruhe):
    outsider = make_user("kim@karlsruhe.example", city=karlsruhe)
    entry = services.comment(anna, proposal, "Wir haben schon ein DMS ausgeschrieben.")
    db.session.commit()
    assert entry.author == anna and entry.created_at is not None
    assert proposal.events[-1].kind == "commented" and proposal.events[-1].comment == entry
    assert "comment" in _notified(cdo_muenchen)
    assert "comment" in _notified(cdo_stuttgart)
    services.comment(cdo_muenchen, proposal, "Danke!")
    db.session.commit()
    assert _notified(cdo_muenchen).count("comment") == 1  # not told about its own comment
    with pytest.raises(services.ProjectPermissionError):
        services.comment(outsider, proposal, "Ich bin nicht beteiligt")
    with pytest.raises(services.ProjectError) as info:
        services.comment(anna, proposal, "   ")
    assert info.value.status == 422


# --- report and partnerships -------------------------------------------------------------

def test_project_report_draft_is_created_once_and_linked(proposal, cdo_stuttgart, cdo_muenchen,
                                                         max_muenchen):
    with pytest.raises(services.ProjectConflict):
        services.create_project_report(cdo_stuttgart, proposal)
    services.respond(cdo_muenchen, proposal, True)
    services.transition(cdo_stuttgart, proposal, "completed")
    db.session.commit()
    report = services.create_project_report(max_muenchen, proposal)
    db.session.commit()
    assert proposal.report_experience == report
    assert (report.kind, report.status, report.city.slug) == ("project_report", "draft",
                                                              "muenchen")
    assert report.title == "Projektbericht: Gemeinsame eAkte-Einführung"
    assert "Stuttgart, München" in report.body
    assert "Wir führen die **E-Akte** gemeinsam ein." in report.body
    assert {t.slug for t in report.topics} == {"eakte", "dms"}
    assert services.create_project_report(cdo_stuttgart, proposal) == report
    assert proposal.events[-1].kind == "report"


def test_active_partnerships_lists_both_orders_per_topic(proposal, cdo_muenchen, stuttgart,
                                                         muenchen, topics):
    assert services.active_partnerships() == set()
    services.respond(cdo_muenchen, proposal, True)
    db.session.commit()
    expected = set()
    for topic in ("eakte", "dms"):
        expected |= {(stuttgart.id, muenchen.id, topics[topic].id),
                     (muenchen.id, stuttgart.id, topics[topic].id)}
    assert services.active_partnerships() == expected


# --- inbox and mail ----------------------------------------------------------------------

def test_mark_read_and_unread_count(proposal, cdo_muenchen, cdo_stuttgart):
    assert services.unread_count(cdo_muenchen) == 1
    note = services.notifications_for(cdo_muenchen)[0]
    with pytest.raises(services.ProjectPermissionError):
        services.mark_read(cdo_stuttgart, note)
    assert services.get_notification(cdo_stuttgart, note.id) is None
    services.mark_read(cdo_muenchen, note)
    db.session.commit()
    assert services.unread_count(cdo_muenchen) == 0
    assert services.notifications_for(cdo_muenchen, unread_only=True) == []


def test_mail_log_gets_german_invitation_after_commit(app, cdo_stuttgart, cdo_muenchen, muenchen):
    from pathlib import Path

    from exchange.projects.mail import send_due

    log = Path(app.config["MAIL_LOG"])
    services.propose_project(cdo_stuttgart, "Digitalisierungslotsen teilen", "", [], [muenchen])
    db.session.commit()
    assert not log.exists()  # nothing leaves in the request: the worker sends it
    assert send_due() == {"sent": 1, "failed": 0}
    text = log.read_text(encoding="utf-8")
    assert "To: cdo@muenchen.example" in text
    assert ("Subject: [City Exchange] Einladung zum gemeinsamen Projekt "
            "„Digitalisierungslotsen teilen“") in text
    assert "Guten Tag Laura Dornheim," in text
    assert "Stuttgart lädt München zum gemeinsamen Projekt" in text
    assert "/projekte/" in text


def test_rolled_back_proposal_sends_no_mail(app, cdo_stuttgart, muenchen):
    from pathlib import Path

    from exchange.projects.mail import send_due

    services.propose_project(cdo_stuttgart, "Wird verworfen", "", [], [muenchen])
    db.session.rollback()
    db.session.commit()
    assert send_due() == {"sent": 0, "failed": 0}
    assert not Path(app.config["MAIL_LOG"]).exists()


def test_broken_mail_backend_is_logged_not_raised(app, proposal, cdo_muenchen, caplog):
    app.config["MAIL_BACKEND"] = "smtp"
    app.config["SMTP_HOST"], app.config["SMTP_PORT"] = "127.0.0.1", 9  # nothing listens
    from exchange.projects.mail import send_due

    services.respond(cdo_muenchen, proposal, True)
    db.session.commit()  # must not raise
    assert proposal.state == "active"
    assert send_due()["failed"] >= 1  # the worker's round: recorded and retried later
    assert "failed (attempt 1)" in caplog.text


def test_completion_and_withdrawal_tell_the_other_participants(proposal, cdo_stuttgart,
                                                               cdo_muenchen, cdo_karlsruhe,
                                                               karlsruhe):
    services.invite_city(cdo_stuttgart, proposal, karlsruhe)
    services.respond(cdo_karlsruhe, proposal, False)
    services.respond(cdo_muenchen, proposal, True)
    services.transition(cdo_stuttgart, proposal, "completed")
    db.session.commit()
    titles = [n.title for n in services.notifications_for(cdo_muenchen) if n.kind == "state"]
    assert "Projekt „Gemeinsame eAkte-Einführung“ ist jetzt im Zustand „Abgeschlossen“" in titles
    # Karlsruhe declined: it hears nothing more about the project
    assert [n.kind for n in services.notifications_for(cdo_karlsruhe)] == ["invitation"]
    # the actor is not told about their own step
    assert "Projekt „Gemeinsame eAkte-Einführung“ ist jetzt im Zustand „Abgeschlossen“" not in [
        n.title for n in services.notifications_for(cdo_stuttgart)]
