"""Fuzz test: every JSON endpoint answers generated input without a 5xx.

The endpoints come from the app's URL map (every rule under /api/v1/ and each of its
methods), so a new endpoint is fuzzed without touching this file. Each one is called
with a city admin's bearer token and anonymously; hypothesis generates the JSON body
(valid bodies with fields replaced, arbitrary JSON, nesting deeper than the guard's
limit and than Python's recursion limit, lone surrogates as "\\ud800" escapes, huge and
non-finite numbers, wrong types, null, edge dates, long strings, broken JSON) and the
query string. A 5xx from any of them fails, with the request in the message.

The data (two cities, topics, an experience, a project, a visit with a session, a
notification) is made once for the module; the requests may change it, which only makes
later requests meet other states. Examples per endpoint are bounded (EXAMPLES), so the
module takes about half a minute (marked slow; `make test` and the CI run it).
"""
import json
import os
import random
import re
from datetime import datetime
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FreshRequestClient, _test_config, empty_all_tables
from exchange import create_app
from exchange.extensions import db

#: About half a minute for the module: out of `-m "not slow"`, in `make test` and CI.
pytestmark = pytest.mark.slow

#: Examples per endpoint and caller: enough to meet every class of bad input several
#: times, few enough to keep the module at about half a minute. EXCHANGE_FUZZ_SCALE=10
#: runs ten times as many (a deeper search by hand).
SCALE = float(os.environ.get("EXCHANGE_FUZZ_SCALE", "1"))
EXAMPLES = {"admin": round(24 * SCALE), "anonymous": round(6 * SCALE)}


def fuzz_settings(examples: int) -> settings:
    """Bounded, no example database in the working tree, failures printed as a blob."""
    return settings(max_examples=examples, deadline=None, database=None, print_blob=True,
                    suppress_health_check=list(HealthCheck))


#: Field names the endpoints know; bodies and query strings draw from them so that
#: generated values reach the validation behind the first type check.
BODY_FIELDS = (
    "title", "body", "kind", "status", "slug", "city", "topics", "summary", "contact_name",
    "contact_email", "base_revision", "description", "invited_cities", "from_match_city",
    "submit", "accept", "message", "to", "host_city", "visiting_city", "starts_at",
    "ends_at", "place", "address", "notes", "outcomes", "members", "room", "open_questions",
    "experiences", "replace", "user", "guest_name", "role", "organisation", "side",
)
QUERY_FIELDS = (
    "page", "per_page", "q", "city", "topic", "kind", "status", "state", "parent", "stance",
    "limit", "sort", "year", "when", "scope", "unread", "include_active", "size_band",
)
EDGE_DATES = (
    "9999-12-31T23:59:00-12:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59",
    "0001-01-01T00:00", "1899-12-31T23:59", "2201-01-01T00:00", "2027-04-20T09:30",
    "2027-04-20T09:30:00+02:00", "2027-03-28T02:30", "2027-10-31T02:30", "2027-02-30T10:00",
    "2027-04-20T25:00", "2027-04-20", "T", "", "2027-04-20T09:30:00+99:00",
)
LONG_TEXTS = ("x" * 201, "x" * 20_001, "Wort " * 5_000, "![" * 10_000, "[" * 10_000,
              "a\nb\r\nc", "Titel\nBcc: x@example.org", "\t\x0b\x0c\x1b\x7f\x85\u2028")


def _scalars():
    return st.one_of(
        st.none(), st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.sampled_from([0, -1, 2**31 - 1, 2**31, 2**63, 10**30]),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=30),  # any code point, lone surrogates included
        st.sampled_from(EDGE_DATES), st.sampled_from(LONG_TEXTS),
        st.sampled_from(["stuttgart", "muenchen", "eakte", "published", "draft",
                         "anna@stuttgart.example", "withdrawn", "host", "guest"]),
    )


def _values():
    return st.recursive(_scalars(), lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(BODY_FIELDS), st.text(max_size=8)),
                        inner, max_size=4)), max_leaves=8)


def _deep(depth: int, kind: str) -> str:
    """JSON nested `depth` levels, written as text (json.dumps would recurse)."""
    if kind == "list":
        return "[" * depth + "]" * depth
    return '{"title": ' * depth + '"x"' + "}" * depth


@st.composite
def bodies(draw, valid: dict):
    """A raw JSON body: the endpoint's valid body with fields replaced or added, any JSON
    value, deep nesting or broken text."""
    choice = draw(st.sampled_from(["mutated", "mutated", "mutated", "any", "deep", "broken"]))
    if choice == "mutated":
        body = dict(valid)
        for name in draw(st.lists(st.sampled_from(list(valid) or list(BODY_FIELDS)),
                                  max_size=3)):
            body[name] = draw(_values())
        for name in draw(st.lists(st.sampled_from(BODY_FIELDS), max_size=2)):
            body[name] = draw(_values())
        return json.dumps(body)
    if choice == "any":
        return json.dumps(draw(_values()))
    if choice == "deep":
        return _deep(draw(st.sampled_from([31, 33, 500, 999, 1001, 20_000])),
                     draw(st.sampled_from(["list", "object"])))
    return draw(st.sampled_from(['{"title": ', "[1, 2", "\xff", "{'a': 1}", "nul", "",
                                 '{"title": "\\ud800"}', '"\\udfff"', "1e999999"]))


@st.composite
def query_strings(draw):
    """A query string of known and unknown names; values may hold lone surrogates,
    which urllib encodes as the (invalid) UTF-8 of the surrogate."""
    pairs = draw(st.lists(st.tuples(
        st.one_of(st.sampled_from(QUERY_FIELDS), st.text(max_size=5)),
        st.one_of(st.text(max_size=20), st.sampled_from(EDGE_DATES),
                  st.integers(min_value=-(2**70), max_value=2**70).map(str),
                  st.sampled_from(["%", "%zz", "%ED%A0%80", "1e9", "abc", "true"]))),
        max_size=4))
    return "&".join(f"{quote(key, errors='surrogatepass')}={quote(value, errors='surrogatepass')}"
                    for key, value in pairs)


# --- the data and the callers ------------------------------------------------------------

class World:
    """The rows the endpoints' URLs and valid bodies name."""

    def __init__(self):
        from exchange.auth.services import create_token, create_user
        from exchange.cities.models import City, Topic
        from exchange.projects.services import propose_project
        from exchange.visits.services import add_session, create_visit
        from exchange.wiki.services import create_experience

        stuttgart = City(slug="stuttgart", name="Stuttgart", state="Baden-Württemberg")
        muenchen = City(slug="muenchen", name="München", state="Bayern")
        karlsruhe = City(slug="karlsruhe", name="Karlsruhe", state="Baden-Württemberg")
        eakte = Topic(slug="eakte", name_de="eAkte")
        db.session.add_all([stuttgart, muenchen, karlsruhe, eakte,
                            Topic(slug="dms", name_de="DMS", parent=eakte)])
        db.session.flush()
        self.admin = create_user("cdo@stuttgart.example", "Dr. Thomas Berger", city=stuttgart,
                                 role="city_admin", password="correct horse battery")
        create_user("cdo@muenchen.example", "Laura Dornheim", city=muenchen, role="city_admin",
                    password="correct horse battery")
        create_user("anna@stuttgart.example", "Anna Schmid", city=stuttgart,
                    password="correct horse battery")
        self.experience = create_experience(None, stuttgart, "Die eAkte im Bürgerbüro",
                                            "Erfahrungen mit der **eAkte**.", topics=[eakte],
                                            status="published")
        self.project = propose_project(self.admin, "Gemeinsame eAkte", "Beschreibung",
                                       [eakte], [muenchen])
        self.visit = create_visit(self.admin, title="Gegenbesuch in München",
                                  host_city=muenchen, visiting_city=stuttgart,
                                  starts_at=datetime(2027, 4, 20, 9, 30),
                                  ends_at=datetime(2027, 4, 21, 16, 0), topics=[eakte])
        self.session = add_session(self.admin, self.visit, title="eAkte",
                                   starts_at=datetime(2027, 4, 20, 10, 0),
                                   ends_at=datetime(2027, 4, 20, 11, 0))
        _token, self.token = create_token(self.admin, "Fuzz")
        db.session.commit()

    def path_value(self, rule: str, name: str):
        """A value for URL part `name` of `rule` that names a stored row."""
        from exchange.projects.models import Notification

        if name == "slug":
            if rule.startswith("/api/v1/experiences"):
                return self.experience.slug
            return "eakte" if rule.startswith("/api/v1/topics") else "stuttgart"
        ids = {"visit_id": self.visit.id, "session_id": self.session.id,
               "project_id": self.project.id, "number": 1}
        if name == "notification_id":
            found = db.session.scalar(db.select(Notification.id).limit(1))
            return found or 1
        return ids.get(name, 1)

    def valid_body(self, method: str, rule: str) -> dict:
        """A body the endpoint would accept (as far as the current state allows)."""
        experience_base = db.session.scalar(db.text(
            "SELECT current_revision_id FROM experiences WHERE id = :id"),
            {"id": self.experience.id})
        session_times = {"starts_at": "2027-04-20T12:00", "ends_at": "2027-04-20T13:00"}
        bodies = {
            ("POST", "/api/v1/experiences"): {
                "title": "Neu", "body": "Text", "topics": ["eakte"], "kind": "practice",
                "status": "published", "summary": "Erste Fassung", "contact_name": "Anna",
                "contact_email": "anna@stuttgart.example", "city": "stuttgart"},
            ("PUT", "/api/v1/experiences/<slug>"): {
                "base_revision": experience_base, "title": "Die eAkte", "body": "Neu",
                "topics": ["eakte"], "kind": "practice", "status": "published",
                "summary": "Kleiner Fix", "contact_name": "Anna",
                "contact_email": "anna@stuttgart.example"},
            ("POST", "/api/v1/projects"): {
                "title": "Projekt", "description": "Text", "topics": ["eakte"],
                "invited_cities": ["muenchen"], "submit": False, "city": "stuttgart",
                "from_match_city": "muenchen"},
            ("PATCH", "/api/v1/projects/<int:project_id>"): {
                "title": "Neuer Titel", "description": "Text", "topics": ["eakte"]},
            ("POST", "/api/v1/projects/<int:project_id>/comments"): {"body": "Ein Kommentar"},
            ("POST", "/api/v1/projects/<int:project_id>/invitations"): {"city": "karlsruhe"},
            ("POST", "/api/v1/projects/<int:project_id>/respond"): {
                "accept": True, "message": "Gern", "city": "muenchen"},
            ("POST", "/api/v1/projects/<int:project_id>/transition"): {"to": "withdrawn"},
            ("POST", "/api/v1/visits"): {
                "title": "Besuch", "host_city": "muenchen", "visiting_city": "stuttgart",
                "starts_at": "2027-05-03T09:00", "ends_at": "2027-05-03T17:00",
                "place": "Rathaus", "address": "Marienplatz 8", "status": "planned",
                "topics": ["eakte"], "notes": "Ziele",
                "members": [{"guest_name": "Gast", "role": "Gast", "organisation": "Stadt",
                             "side": "guest"}, {"user": "anna@stuttgart.example"}]},
            ("PUT", "/api/v1/visits/<int:visit_id>"): {
                "title": "Gegenbesuch", "host_city": "muenchen", "visiting_city": "stuttgart",
                "starts_at": "2027-04-20T09:30", "ends_at": "2027-04-21T16:00",
                "place": "Rathaus", "address": "Marienplatz 8", "status": "planned",
                "topics": ["eakte"], "notes": "Ziele", "outcomes": "Vereinbart"},
            ("POST", "/api/v1/visits/<int:visit_id>/agenda/propose"): {"replace": True},
            ("POST", "/api/v1/visits/<int:visit_id>/members"): {
                "guest_name": "Jürgen Weiß", "role": "Bürgermeister",
                "organisation": "Landeshauptstadt", "side": "guest"},
            ("POST", "/api/v1/visits/<int:visit_id>/sessions"): {
                "title": "Runde", **session_times, "room": "Saal", "kind": "custom",
                "topics": ["eakte"], "description": "Text", "open_questions": "Fragen",
                "experiences": [self.experience.slug]},
            ("PUT", "/api/v1/visits/<int:visit_id>/sessions/<int:session_id>"): {
                "title": "Runde", **session_times, "room": "Saal", "kind": "custom",
                "topics": ["eakte"], "description": "Text", "open_questions": "Fragen",
                "experiences": [self.experience.slug]},
        }
        return bodies.get((method, rule), {})


@pytest.fixture(scope="module")
def world(_schema, tmp_path_factory):
    """An app with the fuzz data, shared by the module's tests; tables emptied afterwards."""
    from exchange.search.worker import forget_state, join_background_rebuild

    app = create_app(_test_config(_schema, tmp_path_factory.mktemp("fuzz")))
    app.test_client_class = FreshRequestClient
    with app.app_context():
        data = World()
        data.app, data.client = app, app.test_client()
        yield data
        join_background_rebuild()
        forget_state()
        db.session.remove()
        empty_all_tables()
        db.engine.dispose()


def _api_endpoints() -> list[tuple[str, str]]:
    """(method, rule) of every JSON endpoint, read from the URL map."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x",
                      "TESTING": True})
    return sorted((method, rule.rule) for rule in app.url_map.iter_rules()
                  if rule.rule.startswith("/api/v1/")
                  for method in rule.methods - {"HEAD", "OPTIONS"})


ENDPOINTS = _api_endpoints()
_PART = re.compile(r"<(?:(\w+):)?(\w+)>")


def test_every_json_endpoint_is_fuzzed():
    """The URL map lists the endpoints; a broken discovery would fuzz nothing."""
    assert len(ENDPOINTS) >= 30
    assert ("POST", "/api/v1/visits") in ENDPOINTS


@pytest.mark.parametrize("caller", ["admin", "anonymous"])
@pytest.mark.parametrize("method, rule", ENDPOINTS, ids=[f"{m} {r}" for m, r in ENDPOINTS])
def test_no_5xx(world, method, rule, caller):
    """Generated bodies and query strings never make the endpoint answer 5xx."""
    headers = {"Content-Type": "application/json"}
    if caller == "admin":
        headers["Authorization"] = f"Bearer {world.token}"

    @fuzz_settings(EXAMPLES[caller])
    @given(data=st.data(), query=query_strings())
    def check(data, query):
        def part(match):
            converter, name = match.groups()
            if data.draw(st.integers(0, 9), label="foreign path") == 0:
                if converter == "int":
                    return str(data.draw(st.sampled_from([0, 2**31 - 1, 2**31, 10**20])))
                return quote(data.draw(st.text(min_size=1, max_size=12)), safe="",
                             errors="surrogatepass")
            return str(world.path_value(rule, name))

        # Hypothesis seeds the global random module alike for every example; Whoosh names
        # its segment files with it, so equal names would collide in the index directory.
        random.seed(os.urandom(16))
        url = _PART.sub(part, rule) + (f"?{query}" if query else "")
        body = None
        if method != "GET":
            body = data.draw(bodies(world.valid_body(method, rule)), label="body")
        response = world.client.open(url, method=method, data=body, headers=headers)
        assert response.status_code < 500, (
            f"{method} {url} answered {response.status_code} to {body!r:.300}: "
            f"{response.get_data(as_text=True)[:300]}")

    check()


#: One value of each class of bad input, tried in every field of every valid body.
BAD_VALUES = (
    None, True, 0, -1, 10**30, 1.5, float("nan"), float("inf"), "", "\ud800", "x\udfffy",
    "Zeile\nBcc: x@example.org", "\x1b[31m\x7f", "9999-12-31T23:59:00-12:00",
    "0001-01-01T00:00:00+14:00", "x" * 20_001, [], [None], ["\ud800"], [10**30], {},
    {"a": [1]},
)
WRITE_ENDPOINTS = [(method, rule) for method, rule in ENDPOINTS if method != "GET"]


@pytest.mark.parametrize("method, rule", WRITE_ENDPOINTS,
                         ids=[f"{m} {r}" for m, r in WRITE_ENDPOINTS])
def test_every_field_takes_every_bad_value(world, method, rule):
    """Each field of the endpoint's valid body, replaced by each of BAD_VALUES: no 5xx."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {world.token}"}
    url = _PART.sub(lambda match: str(world.path_value(rule, match.group(2))), rule)
    random.seed(os.urandom(16))  # see test_no_5xx: pytest-randomly reseeds each test alike
    failures = []
    for field in world.valid_body(method, rule) or ("title",):
        for value in BAD_VALUES:
            body = world.valid_body(method, rule)
            body[field] = value
            response = world.client.open(url, method=method, data=json.dumps(body),
                                         headers=headers)
            if response.status_code >= 500:
                failures.append(f"{field}={value!r:.40}: {response.status_code}")
    assert not failures, f"{method} {url}: " + "; ".join(failures)
