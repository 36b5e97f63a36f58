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


@pytest.fixture
def demo(app):
    """The demo data (helper C/B's load_demo), committed; returns a lookup helper."""
    import sqlalchemy as sa

    from exchange.auth.models import User
    from exchange.cities.models import City
    from exchange.demo import load_demo

    load_demo()
    db.session.commit()

    class Lookup:
        def city(self, slug):
            return db.session.scalar(sa.select(City).where(City.slug == slug))

        def user(self, email):
            return db.session.scalar(sa.select(User).where(User.email == email))

    return Lookup()


@pytest.fixture
def april_visit(demo):
    """Stuttgart's return visit to Munich, 20–21 April 2027, planned by Stuttgart's planner."""
    from exchange.visits.services import create_visit

    visit = create_visit(
        demo.user("planer@stuttgart.example"), title="Gegenbesuch in München",
        host_city=demo.city("muenchen"), visiting_city=demo.city("stuttgart"),
        starts_at=datetime(2027, 4, 20, 9, 30), ends_at=datetime(2027, 4, 21, 15, 0),
        place="Rathaus München", address="Marienplatz 8, 80331 München", status="planned",
        notes="Gemeinsam überlegen, was sich noch digital bewegen lässt.",
        members=[{"user": "cdo@stuttgart.example", "role": "Chief Digital Officer"},
                 {"user": "planer@stuttgart.example", "role": "Besuchsplanung"},
                 {"guest_name": "Jürgen Weiß", "role": "Bürgermeister",
                  "organisation": "Landeshauptstadt Stuttgart"},
                 {"user": "cdo@muenchen.example", "role": "Gastgeberin", "side": "host"}])
    db.session.commit()
    return visit
