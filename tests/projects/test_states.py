"""The project state machine: the table of allowed transitions, checked exhaustively."""
import itertools

import pytest
import sqlalchemy as sa

from exchange.extensions import db
from exchange.projects import services, states
from exchange.projects.models import Notification, ProjectEvent

#: The transitions the issue allows, written out independently of the implementation.
EXPECTED_MANUAL = {("draft", "proposed"), ("draft", "withdrawn"), ("proposed", "withdrawn"),
                   ("active", "completed"), ("active", "withdrawn")}
EXPECTED_AUTOMATIC = {("proposed", "active"), ("proposed", "declined")}


@pytest.mark.parametrize("current,target", list(itertools.product(states.STATES, repeat=2)))
def test_transition_table(current, target):
    assert states.can_transition(current, target) == ((current, target) in EXPECTED_MANUAL)
    assert states.can_transition(current, target, automatic=True) == (
        (current, target) in EXPECTED_AUTOMATIC)


def test_final_states_have_no_way_out():
    for current in states.FINAL_STATES:
        assert states.manual_targets(current) == []
        assert not any(states.can_transition(current, target, automatic=True)
                       for target in states.STATES)


def _project_in(state, cdo_stuttgart, cdo_muenchen, topics):
    """Drive a fresh project into `state` through the services."""
    project = services.propose_project(cdo_stuttgart, f"Projekt {state}", "", [topics["eakte"]],
                                       [cdo_muenchen.city], submit=state != "draft")
    if state in ("active", "completed"):
        services.respond(cdo_muenchen, project, True)
    if state == "declined":
        services.respond(cdo_muenchen, project, False)
    if state == "completed":
        services.transition(cdo_stuttgart, project, "completed")
    if state == "withdrawn":
        services.transition(cdo_stuttgart, project, "withdrawn")
    db.session.commit()
    assert project.state == state
    return project


def _counts():
    return (db.session.scalar(sa.select(sa.func.count(ProjectEvent.id))),
            db.session.scalar(sa.select(sa.func.count(Notification.id))))


@pytest.mark.parametrize("current,target",
                         list(itertools.product(states.STATES, states.MANUAL_TARGETS)))
def test_transition_service_follows_the_table(current, target, cdo_stuttgart, cdo_muenchen,
                                              topics):
    project = _project_in(current, cdo_stuttgart, cdo_muenchen, topics)
    before = _counts()
    if (current, target) in EXPECTED_MANUAL:
        services.transition(cdo_stuttgart, project, target)
        db.session.commit()
        assert project.state == target
        assert project.events[-1].kind == services.STATE_EVENTS[target]
    else:
        with pytest.raises(services.ProjectConflict):
            services.transition(cdo_stuttgart, project, target)
        db.session.rollback()
        assert project.state == current
        assert _counts() == before


@pytest.mark.parametrize("target", ["active", "declined", "draft", "archived"])
def test_automatic_and_unknown_targets_cannot_be_asked_for(target, proposal, cdo_stuttgart):
    with pytest.raises(services.ProjectError) as info:
        services.transition(cdo_stuttgart, proposal, target)
    assert info.value.status == 422
    db.session.rollback()
    assert proposal.state == "proposed"


def test_last_decline_makes_the_proposal_declined_first_accept_makes_it_active(
        cdo_stuttgart, cdo_muenchen, cdo_karlsruhe, topics):
    declined = services.propose_project(cdo_stuttgart, "A", "", [], [cdo_muenchen.city,
                                                                     cdo_karlsruhe.city])
    services.respond(cdo_muenchen, declined, False, "Keine Kapazität")
    assert declined.state == "proposed"  # Karlsruhe has not answered yet
    services.respond(cdo_karlsruhe, declined, False)
    assert declined.state == "declined"

    active = services.propose_project(cdo_stuttgart, "B", "", [], [cdo_muenchen.city,
                                                                   cdo_karlsruhe.city])
    services.respond(cdo_muenchen, active, False)
    services.respond(cdo_karlsruhe, active, True)
    assert active.state == "active"
    db.session.commit()
    assert [e.kind for e in active.events] == ["created", "proposed", "declined", "accepted",
                                               "activated"]
