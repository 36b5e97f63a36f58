"""Shared fixtures: app, client, runner, login and API helpers, factories on a real database.

Set EXCHANGE_TEST_DATABASE_URL to a PostgreSQL URL to run everything against
PostgreSQL; each test session then works in a schema of its own, so parallel runs
against the same `test` database do not collide. Without it, a SQLite file is used.
"""
import os
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import g
from flask.testing import FlaskClient

from exchange import create_app
from exchange.config import normalise_database_url
from exchange.extensions import db

PG_URL = os.environ.get("EXCHANGE_TEST_DATABASE_URL")
#: Demo-strength password used by all test users.
PASSWORD = "correct horse battery"


def pytest_report_header(config):
    return f"database: {'PostgreSQL' if PG_URL else 'SQLite'}"


@contextmanager
def fresh_database_url(sqlite_file: Path, schema_prefix: str):
    """The URL of a database without tables: a new PostgreSQL schema (dropped afterwards)
    when EXCHANGE_TEST_DATABASE_URL is set, else the SQLite file `sqlite_file`."""
    if not PG_URL:
        yield f"sqlite:///{sqlite_file}"
        return
    base = sa.engine.make_url(normalise_database_url(PG_URL))
    schema = f"{schema_prefix}{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(base)
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """A database URL for this test session: a fresh PostgreSQL schema or a SQLite file."""
    with fresh_database_url(tmp_path_factory.mktemp("db") / "test.db",
                            f"t_{os.getpid()}_") as url:
        yield url


@pytest.fixture(scope="session")
def _schema(database_url, tmp_path_factory):
    """Create all tables once per session (migrations are tested on their own)."""
    app = create_app(_test_config(database_url, tmp_path_factory.mktemp("schema")))
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    return database_url


def _test_config(database_url, tmp_path) -> dict:
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "INDEX_DIR": str(tmp_path / "index"),
        "MAIL_LOG": str(tmp_path / "mail.log"),
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "BABEL_DEFAULT_LOCALE": "de",
    }


@pytest.fixture
def app_config(_schema, tmp_path):
    """The config mapping for this test's app; tests may change it before `app` is built."""
    return _test_config(_schema, tmp_path)


@pytest.fixture
def app(app_config):
    """The application, with an app context pushed; all tables emptied afterwards."""
    from exchange.search.worker import forget_state, join_background_rebuild

    app = create_app(app_config)
    with app.app_context():
        yield app
        join_background_rebuild()  # a search may have started one; it uses the tables
        forget_state()  # a test's worker heartbeat is gone with its tables
        db.session.remove()
        empty_all_tables()
        db.engine.dispose()


def empty_all_tables() -> None:
    """Delete every row and reset id sequences, on SQLite and PostgreSQL."""
    tables = [table.name for table in db.metadata.sorted_tables]
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            quoted = ", ".join(f'"{name}"' for name in tables)
            connection.execute(sa.text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        else:
            connection.execute(sa.text("PRAGMA foreign_keys=OFF"))
            for name in reversed(tables):
                connection.execute(sa.text(f'DELETE FROM "{name}"'))
            connection.execute(sa.text("PRAGMA foreign_keys=ON"))


class FreshRequestClient(FlaskClient):
    """A test client whose requests do not inherit per-request caches from earlier ones.

    The `app` fixture keeps one app context pushed for the whole test, and Flask reuses
    it for every request, so `g` would carry Flask-Login's cached user, Flask-Babel's
    cached locale and `g.token_auth` from one request into the next. In production each
    request gets a fresh `g`; these keys are dropped before each request to match.
    """

    REQUEST_CACHES = ("_login_user", "_flask_babel", "token_auth")

    def open(self, *args, **kwargs):
        for name in self.REQUEST_CACHES:
            g.pop(name, None)
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    """A test client; requests see the same database as the test."""
    app.test_client_class = FreshRequestClient
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner for `flask --app exchange ...` commands."""
    return app.test_cli_runner()


class AuthActions:
    """Log in and out through the real login form."""

    def __init__(self, client):
        self._client = client

    def login(self, email="anna@stuttgart.example", password=PASSWORD):
        return self._client.post("/login", data={"email": email, "password": password})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    """Helper to log the test client in as a user."""
    return AuthActions(client)


def session_login(client, user):
    """Log `client` in as `user` without the login form: a real stored login (as the form
    makes it) and Flask-Login's keys in the client's session cookie."""
    from exchange.auth.sessions import SESSION_KEY, open_login

    key = open_login(user)
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
        session[SESSION_KEY] = key
    return client


@pytest.fixture
def login(client):
    """Log the test client in as `user` (no login form): login(user)."""
    def log_in(user):
        return session_login(client, user)

    return log_in


@pytest.fixture
def token_for(app):
    """A clear personal API token for a user, made with the real token service."""
    from exchange.auth.services import create_token

    def make(user, name="Tests"):
        _token, clear = create_token(user, name)
        db.session.commit()
        return clear

    return make


@pytest.fixture
def api(client, token_for):
    """Call the API as a user with a fresh bearer token: api(user).post(url, json=...)."""
    class Caller:
        def __init__(self, user):
            self.headers = {"Authorization": f"Bearer {token_for(user)}"}

        def open(self, url, method, **kwargs):
            return client.open(url, method=method, headers=self.headers, **kwargs)

        def get(self, url, **kwargs):
            return self.open(url, "GET", **kwargs)

        def post(self, url, **kwargs):
            return self.open(url, "POST", **kwargs)

        def put(self, url, **kwargs):
            return self.open(url, "PUT", **kwargs)

        def patch(self, url, **kwargs):
            return self.open(url, "PATCH", **kwargs)

        def delete(self, url, **kwargs):
            return self.open(url, "DELETE", **kwargs)

    return Caller


# --- factories: real rows through the real services -----------------------------------

@pytest.fixture
def make_city(app):
    """Create a city: make_city("stuttgart", "Stuttgart", "Baden-Württemberg")."""
    from exchange.cities.models import City

    def make(slug="stuttgart", name=None, state="Baden-Württemberg", **fields):
        city = City(slug=slug, name=name or slug.title(), state=state, **fields)
        db.session.add(city)
        db.session.commit()
        return city

    return make


@pytest.fixture
def make_user(app):
    """Create an approved user with the test password."""
    from exchange.auth.services import create_user

    def make(email="anna@stuttgart.example", city=None, role="staff", is_admin=False,
             display_name=None, is_approved=True):
        user = create_user(email, display_name or email.split("@")[0].title(), city=city,
                           role=role, password=PASSWORD, is_admin=is_admin,
                           is_approved=is_approved)
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_topic(app):
    """Create a topic with optional parent and aliases."""
    from exchange.cities.models import Topic, TopicAlias

    def make(slug="eakte", name_de="eAkte", parent=None, aliases=(), name_en=None):
        topic = Topic(slug=slug, name_de=name_de, name_en=name_en, parent=parent)
        topic.aliases = [TopicAlias(alias=alias) for alias in aliases]
        db.session.add(topic)
        db.session.commit()
        return topic

    return make


@pytest.fixture
def make_experience(app):
    """Create an experience through the wiki service (published unless told otherwise)."""
    from exchange.wiki.services import create_experience

    def make(author, title="Erfahrungen mit der eAkte", body="Text", city=None, topics=(),
             kind="lesson_learned", status="published", **fields):
        experience = create_experience(
            author, city or author.city, title=title, body=body, kind=kind,
            topics=list(topics), status=status, **fields
        )
        db.session.commit()
        return experience

    return make


@pytest.fixture
def stuttgart(make_city):
    return make_city("stuttgart", "Stuttgart", "Baden-Württemberg", ags="08111000",
                     population=613392)


@pytest.fixture
def muenchen(make_city):
    return make_city("muenchen", "München", "Bayern", ags="09162000", population=1388308)


@pytest.fixture
def anna(make_user, stuttgart):
    """Stuttgart staff member."""
    return make_user("anna@stuttgart.example", city=stuttgart, display_name="Anna Schmid")


@pytest.fixture
def cdo_stuttgart(make_user, stuttgart):
    """Stuttgart's city admin (CDO)."""
    return make_user("cdo@stuttgart.example", city=stuttgart, role="city_admin",
                     display_name="Dr. Thomas Berger")


@pytest.fixture
def cdo_muenchen(make_user, muenchen):
    """Munich's city admin (CDO)."""
    return make_user("cdo@muenchen.example", city=muenchen, role="city_admin",
                     display_name="Laura Dornheim")


@pytest.fixture
def max_muenchen(make_user, muenchen):
    """Munich staff member."""
    return make_user("max@muenchen.example", city=muenchen, display_name="Max Huber")


@pytest.fixture
def admin(make_user):
    """A platform administrator without a city."""
    return make_user("admin@city-exchange.example", is_admin=True, display_name="Plattform-Admin")
