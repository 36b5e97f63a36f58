"""Project fixtures: Karlsruhe, story topics, a ready proposal (logins: tests/conftest.py)."""
import pytest

from exchange.extensions import db


@pytest.fixture
def karlsruhe(make_city):
    return make_city("karlsruhe", "Karlsruhe", "Baden-Württemberg", ags="08212000")


@pytest.fixture
def cdo_karlsruhe(make_user, karlsruhe):
    """Karlsruhe's city admin."""
    return make_user("cdo@karlsruhe.example", city=karlsruhe, role="city_admin",
                     display_name="Kai Karl")


@pytest.fixture
def topics(make_topic):
    """Story topics: eakte, dms, ozg-umsetzung."""
    return {
        "eakte": make_topic("eakte", "eAkte", aliases=("E-Akte",)),
        "dms": make_topic("dms", "Dokumentenmanagement"),
        "ozg-umsetzung": make_topic("ozg-umsetzung", "OZG-Umsetzung"),
    }


@pytest.fixture
def proposal(cdo_stuttgart, cdo_muenchen, topics):
    """Stuttgart's CDO invites Munich to a joint eAkte project (state proposed)."""
    from exchange.projects.services import propose_project

    project = propose_project(cdo_stuttgart, "Gemeinsame eAkte-Einführung",
                              "Wir führen die **E-Akte** gemeinsam ein.",
                              [topics["eakte"], topics["dms"]], [cdo_muenchen.city])
    db.session.commit()
    return project
