"""Project fixtures: Munich's CDO, story topics, session and token logins, a ready proposal."""
import pytest

from exchange.extensions import db


@pytest.fixture
def cdo_muenchen(make_user, muenchen):
    """Munich's city admin (CDO)."""
    return make_user("cdo@muenchen.example", city=muenchen, role="city_admin",
                     display_name="Laura Dornheim")


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
def login(client):
    """Log the test client in as `user` through Flask-Login's session keys."""
    def log_in(user):
        with client.session_transaction() as session:
            session["_user_id"] = str(user.id)
            session["_fresh"] = True
        return client

    return log_in


@pytest.fixture
def api(client):
    """Call the API as a user with a personal token: api(user).post(url, json=...)."""
    from exchange.auth.services import create_token

    class Caller:
        def __init__(self, user):
            _token, clear = create_token(user, "test")
            db.session.commit()
            self.headers = {"Authorization": f"Bearer {clear}"}

        def get(self, url, **kwargs):
            return client.get(url, headers=self.headers, **kwargs)

        def post(self, url, **kwargs):
            return client.post(url, headers=self.headers, **kwargs)

        def patch(self, url, **kwargs):
            return client.patch(url, headers=self.headers, **kwargs)

    return Caller


@pytest.fixture
def proposal(cdo_stuttgart, cdo_muenchen, topics):
    """Stuttgart's CDO invites Munich to a joint eAkte project (state proposed)."""
    from exchange.projects.services import propose_project

    project = propose_project(cdo_stuttgart, "Gemeinsame eAkte-Einführung",
                              "Wir führen die **E-Akte** gemeinsam ein.",
                              [topics["eakte"], topics["dms"]], [cdo_muenchen.city])
    db.session.commit()
    return project
