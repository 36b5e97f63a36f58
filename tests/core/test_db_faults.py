"""Database connections that die (`pg_terminate_backend`) are replaced by themselves.

The app under test is a second app on the test database whose connections carry an
application_name of their own, so only its backends are terminated (parallel test
sessions use other schemas of the same database, and the fixture app that checks the
results keeps its connections). Its test client gives every request a fresh app
context, as in production, so each request checks its connections out of the pool.
Every path is covered: the request session, the search's own sessions (outbox, synonym
table), the matching snapshot's own connection, the worker's rounds.
"""
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
import sqlalchemy as sa
from conftest import PG_URL, session_login

from exchange import create_app
from exchange.extensions import db
from exchange.wiki.models import Experience
from exchange.worker import Worker

#: Times the backends are terminated in the test (the issue's load test did it three times).
TERMINATIONS = 3
#: Requests at once before and after each termination, so the pool holds several
#: connections when they die.
PARALLEL = 4


def test_instance_configs_keep_pre_ping(app_config):
    """Engine options set in instance/config.py (here: pool_size) keep pool_pre_ping."""
    app = create_app(app_config | {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 3}})
    with app.app_context():
        assert app.config["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_size": 3, "pool_pre_ping": True}
        assert db.engine.pool._pre_ping
        db.engine.dispose()


@pytest.fixture
def app_under_test(app_config):
    """A second app on the test database whose connections are named (application_name)."""
    name = f"cx-fault-{uuid.uuid4().hex[:10]}"
    url = sa.engine.make_url(app_config["SQLALCHEMY_DATABASE_URI"])
    url = url.update_query_dict({"application_name": name}).render_as_string(hide_password=False)
    other = create_app(app_config | {"SQLALCHEMY_DATABASE_URI": url})
    yield other, name
    with other.app_context():
        db.engine.dispose()


def _terminate(name: str) -> int:
    """Terminate every backend of the app under test; how many there were."""
    with db.engine.begin() as connection:
        return connection.execute(sa.text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = :name AND pid <> pg_backend_pid()"), {"name": name}).scalar()


@pytest.mark.slow
@pytest.mark.skipif(not PG_URL, reason="pg_terminate_backend needs PostgreSQL")
def test_requests_and_the_worker_recover_when_connections_are_terminated(
        app, app_under_test, anna, stuttgart, muenchen, make_user, make_topic,
        make_experience):
    from exchange.visits.services import create_visit

    other, name = app_under_test
    topic = make_topic("eakte", "eAkte", aliases=("E-Akte",))
    experience = make_experience(anna, "Einführung der E-Akte", "Die Akte wird digital.",
                                 topics=[topic])
    planner = make_user("planer@stuttgart.example", city=stuttgart, role="visit_planner")
    visit = create_visit(planner, title="Besuch in München", host_city=muenchen,
                         visiting_city=stuttgart, starts_at=datetime(2027, 4, 20, 9, 30),
                         ends_at=datetime(2027, 4, 21, 16, 0))
    db.session.commit()
    slug, visit_id = experience.slug, visit.id

    def client():
        """A logged-in client of the app under test (one per thread)."""
        return session_login(other.test_client(), anna)

    def reads(browser) -> dict:
        return {url: browser.get(url).status_code for url in (
            "/suche?q=Akte", "/api/v1/search?q=Akte", "/themen/eakte", f"/besuche/{visit_id}",
            "/partner", "/api/v1/cities/stuttgart/matches", f"/erfahrungen/{slug}")}

    def edit(browser, line: str) -> int:
        page = browser.get(f"/api/v1/experiences/{slug}").get_json()
        return browser.put(f"/api/v1/experiences/{slug}", json={
            "base_revision": page["revision"], "body": page["body"] + "\n" + line}).status_code

    def all_ok(answers: dict) -> bool:
        return set(answers.values()) == {200}

    with ThreadPoolExecutor(PARALLEL) as pool:
        clients = [client() for _ in range(PARALLEL)]
        answers = list(pool.map(reads, clients))
        assert all(all_ok(answer) for answer in answers), answers
        for round_number in range(TERMINATIONS):
            assert _terminate(name) >= 1  # the pool held live connections
            # The next requests, one at a time: search, topic, visit, matches, an edit.
            answers = reads(clients[0])
            assert all_ok(answers), answers
            assert edit(clients[0], f"Nachtrag {round_number}") == 200
            # Several at once again (each takes a connection that may have died).
            answers = list(pool.map(reads, clients))
            assert all(all_ok(answer) for answer in answers), answers

    db.session.expire_all()
    stored = db.session.get(Experience, experience.id).current_revision.body
    assert all(f"Nachtrag {number}" in stored for number in range(TERMINATIONS))

    _terminate(name)
    with other.app_context():  # the worker: its rounds take connections of their own
        worker = Worker()
        worker.run(rounds=1)
        assert [part.failures for part in worker.parts] == [0, 0]
    hits = clients[0].get("/api/v1/search?q=Nachtrag").get_json()
    assert [hit["slug"] for hit in hits["results"]] == [slug]


@pytest.mark.skipif(not PG_URL, reason="pg_terminate_backend needs PostgreSQL")
def test_a_connection_lost_during_a_request_is_answered_again_or_refused(app, app_under_test,
                                                                         stuttgart):
    """The connection dies between two statements of one request: a GET is answered once
    more from the start; a write answers 503 with Retry-After and stores nothing."""
    from flask import Blueprint

    from exchange.cities.models import City

    other, name = app_under_test
    calls = []
    lose = Blueprint("lose_connection", __name__)

    def handle(method):
        calls.append(method)
        city = db.session.scalar(sa.select(City).where(City.slug == "stuttgart"))
        if len(calls) == 1:
            city.profile = "geändert, aber nie gespeichert"
            db.session.flush()
            _terminate(name)  # this request's own connection dies here
        db.session.execute(sa.select(sa.literal(1)))  # the next statement
        db.session.commit()
        return {"profile": city.profile}

    lose.add_url_rule("/_test/lose", "get", lambda: handle("GET"))
    lose.add_url_rule("/_test/lose", "post", lambda: handle("POST"), methods=["POST"])
    other.register_blueprint(lose)
    client = other.test_client()

    answer = client.get("/_test/lose")
    assert answer.status_code == 200 and calls == ["GET", "GET"]
    assert "X-Exchange-Lost-Connection" not in answer.headers

    calls.clear()
    answer = client.post("/_test/lose", headers={"Accept": "application/json"})
    assert answer.status_code == 503 and calls == ["POST"]
    assert answer.headers["Retry-After"] == "1"
    assert "nichts wurde gespeichert" in answer.get_json()["error"]["message"]
    assert "X-Exchange-Lost-Connection" not in answer.headers
    db.session.expire_all()
    assert db.session.get(City, stuttgart.id).profile != "geändert, aber nie gespeichert"
    assert client.get("/_test/lose").status_code == 200  # and the next one just works
