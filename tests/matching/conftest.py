"""Fixtures for matching: a small world of cities, a topic tree, interests and experiences."""
from types import SimpleNamespace

import pytest

from exchange.cities.models import Interest
from exchange.extensions import db


@pytest.fixture
def set_interests(app):
    """Store interests: set_interests(city, ("eakte_topic", "working_on", 3), ...)."""
    def store(city, *entries):
        for topic, stance, maturity in entries:
            db.session.add(Interest(city=city, topic=topic, stance=stance, maturity=maturity))
        db.session.commit()

    return store


@pytest.fixture
def world(make_city, make_topic, make_user, set_interests, stuttgart, muenchen):
    """Stuttgart, München, Karlsruhe, Ulm, Tübingen; a topic tree; interests on both sides.

    Tree: verwaltung > (ozg > ozg-mobil, eakte, innovation, mobilitaet, dms, web).
    """
    root = make_topic("verwaltung", "Verwaltungsdigitalisierung")
    ozg = make_topic("ozg", "OZG-Umsetzung", parent=root)
    ozg_mobil = make_topic("ozg-mobil", "OZG Mobilität & Reisen", parent=ozg)
    eakte = make_topic("eakte", "eAkte", parent=root)
    innovation = make_topic("innovation", "Innovation-Center", parent=root)
    mobilitaet = make_topic("mobilitaet", "Mobilität", parent=root)
    dms = make_topic("dms", "Dokumentenmanagement", parent=root)
    web = make_topic("web", "Digitaler Webauftritt", parent=root)
    karlsruhe = make_city("karlsruhe", "Karlsruhe", "Baden-Württemberg", population=308436)
    ulm = make_city("ulm", "Ulm", "Baden-Württemberg", population=128928)
    tuebingen = make_city("tuebingen", "Tübingen", "Baden-Württemberg", population=91877)
    set_interests(stuttgart, (innovation, "seeks", 1), (web, "seeks", 2), (dms, "seeks", 1),
                  (mobilitaet, "offers", 5), (ozg, "working_on", 3), (eakte, "working_on", 3))
    set_interests(muenchen, (innovation, "offers", 5), (web, "offers", 5), (dms, "seeks", 1),
                  (mobilitaet, "seeks", 2), (ozg, "working_on", 3), (eakte, "working_on", 2))
    set_interests(karlsruhe, (eakte, "offers", 4), (ozg_mobil, "working_on", 2))
    set_interests(ulm, (mobilitaet, "seeks", 3))
    set_interests(tuebingen, (dms, "working_on", 2))
    return SimpleNamespace(
        root=root, ozg=ozg, ozg_mobil=ozg_mobil, eakte=eakte, innovation=innovation,
        mobilitaet=mobilitaet, dms=dms, web=web, stuttgart=stuttgart, muenchen=muenchen,
        karlsruhe=karlsruhe, ulm=ulm, tuebingen=tuebingen,
    )
