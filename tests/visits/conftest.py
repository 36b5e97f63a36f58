"""Fixtures for the visits tests: planners of both cities and a ready visit."""
from datetime import datetime

import pytest

from exchange.extensions import db


@pytest.fixture
def planer_stuttgart(make_user, stuttgart):
    """Stuttgart's visit planner."""
    return make_user("planer@stuttgart.example", city=stuttgart, role="visit_planner",
                     display_name="Petra Planer")


@pytest.fixture
def planer_muenchen(make_user, muenchen):
    """Munich's visit planner."""
    return make_user("planer@muenchen.example", city=muenchen, role="visit_planner",
                     display_name="Paul Planer")


@pytest.fixture
def make_visit(app):
    """Create a visit through the service (Stuttgart visiting Munich in April 2027)."""
    from exchange.visits.services import create_visit

    def make(actor, host, guest, starts_at=datetime(2027, 4, 20, 9, 30),
             ends_at=datetime(2027, 4, 21, 16, 0), title="Gegenbesuch in München", **fields):
        visit = create_visit(actor, title=title, host_city=host, visiting_city=guest,
                             starts_at=starts_at, ends_at=ends_at, **fields)
        db.session.commit()
        return visit

    return make
