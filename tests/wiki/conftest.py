"""Wiki fixtures: topics of the story and a session login that needs no login form."""
import pytest
from flask import g


@pytest.fixture
def topics(make_topic):
    """Three story topics: eakte, dms, mobilitaet."""
    return {
        "eakte": make_topic("eakte", "eAkte", aliases=("E-Akte",)),
        "dms": make_topic("dms", "Dokumentenmanagement"),
        "mobilitaet": make_topic("mobilitaet", "Mobilität"),
    }


@pytest.fixture
def login(client):
    """Log the test client in as `user` through Flask-Login's session keys."""
    def log_in(user):
        # The test's app context is reused by requests, so Flask-Login's cached user
        # in `g` must go too, or the previous user stays logged in.
        g.pop("_login_user", None)
        with client.session_transaction() as session:
            session["_user_id"] = str(user.id)
            session["_fresh"] = True
        return client

    return log_in
