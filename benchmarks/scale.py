"""Scale benchmark: a Germany-sized data set served by gunicorn, timed over HTTP.

    .venv/bin/python benchmarks/scale.py --quick                    # 1,000 cities, ~1-2 min
    .venv/bin/python benchmarks/scale.py                            # Germany, ~10-25 min
    .venv/bin/python benchmarks/scale.py --database postgresql --json /tmp/scale.json

Runs from a fresh clone (nothing outside the repository is read). Steps:

1. A fresh database (SQLite file in a temporary folder, or a new schema of the `test`
   database at 127.0.0.1:5432, user postgres), `flask db upgrade` and `topics seed`.
2. The data set, with bulk Core inserts into the real schema (the web services would
   take hours for it): the municipalities of exchange/data/municipalities.csv as cities
   (all ~11,000; --quick a seeded sample of 1,000), one approved city admin per city,
   10-20 interests per city over the seeded topic tree with Zipf-like topic popularity
   (popular OZG topics get thousands of cities), 50,000 published experiences (--quick
   2,000) with one revision each, German text from search_bench.CorpusGenerator.
   Then `flask search reindex` and `flask tokens create` (the real commands).
3. gunicorn (2 workers) on wsgi:app and the index worker (`flask search apply --loop`).
4. Sessions log in through the real login form (CSRF token read from the form, cookie
   jar); the API is called with the personal token. Each URL kind is requested for
   several cities or queries, in R rounds; p50/p95/p99 are computed per round and the
   medians over the rounds are printed, beside the targets.
5. "An edit is searchable within N s": PUT /api/v1/experiences/<slug> with a new word,
   then GET /api/v1/search?q=<word> until the page is found.
6. The same search queries, in this process and without HTTP, on our index (the app's
   run_query), on PostgreSQL full-text search (tsvector with the 'german'
   configuration, GIN index) and on SQLite FTS5: the baseline ratios.

Every request has a timeout; a URL kind stops after --max-timeouts timeouts or when its
time budget is spent, so a slow app cannot make the run endless. Server logs are scanned
for tracebacks and worker timeouts at the end.
"""
import argparse
import http.cookiejar
import json
import os
import random
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import search_bench  # noqa: E402  (CorpusGenerator, FTS5 baseline, percentile)

MUNICIPALITIES = ROOT / "exchange" / "data" / "municipalities.csv"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SEED = 20261126
PASSWORD = "scale-benchmark-passwort"


@dataclass(frozen=True)
class Size:
    """How big the data set is and how much is measured."""

    cities: int | None  # None: every municipality with a population
    experiences: int
    sample_cities: int  # cities whose pages and matches are timed (one login each)
    queries: int  # distinct search queries (the corpus' query mix)
    rounds: int  # each URL is requested once per round
    edits: int  # edit-to-searchable measurements


SIZES = {
    "quick": Size(cities=1_000, experiences=2_000, sample_cities=6, queries=24, rounds=3,
                  edits=5),
    "full": Size(cities=None, experiences=50_000, sample_cities=10, queries=40, rounds=3,
                 edits=10),
}

#: Interests per city (uniform), stance mix (offers, seeks, working_on).
INTERESTS_PER_CITY = (10, 20)
STANCE_MIX = (0.3, 0.35, 0.35)
#: Zipf-Mandelbrot topic popularity 1/(rank + offset): with offset 5 and ~640 topics the
#: most popular topic is in ~40 % of the cities (thousands at Germany scale).
TOPIC_ZIPF_OFFSET = 5
#: Bigger cities write more: experiences per city ~ population ** this.
EXPERIENCE_POPULATION_EXPONENT = 0.5
#: Share of experiences that also carry one of the writing city's interest topics.
OWN_TOPIC_SHARE = 0.5

#: Targets of issue 8, in milliseconds (p95 over HTTP) and seconds (edit to search).
TARGET_MS = {"matches_api": 150, "partner": 150, "search_api": 50, "search_page": 50}
EDIT_TARGET_S = 2.0
#: Seconds between searches while waiting for an edit to become searchable.
EDIT_POLL_S = 0.05
EDIT_GIVE_UP_S = 30.0


def load(busy_above: float | None = None) -> str:
    """Load averages and CPU count, for every figure printed; "(busy machine)" when the
    1-minute load is above `busy_above`."""
    one, five, fifteen = os.getloadavg()
    busy = " (busy machine)" if busy_above is not None and one > busy_above else ""
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} on {os.cpu_count()} CPUs{busy}"


def percentile(values, fraction):
    """Nearest-rank percentile (as search_bench), fraction in 0..1."""
    return search_bench.percentile(values, fraction)


def log(message=""):
    print(message, flush=True)


# --- the database ---------------------------------------------------------------------------

class PgServer:
    """A PostgreSQL database in which each run works in schemas of its own."""

    def __init__(self, url: str):
        import sqlalchemy as sa

        self._sa = sa
        self.base = sa.engine.make_url(url)

    def url(self, schema: str) -> str:
        """The URL whose connections see `schema` first (as tests/conftest.py does)."""
        return self.base.update_query_dict({"options": f"-csearch_path={schema}"}) \
            .render_as_string(hide_password=False)

    def _run(self, statement: str) -> None:
        engine = self._sa.create_engine(self.base)
        with engine.begin() as connection:
            connection.execute(self._sa.text(statement))
        engine.dispose()

    def create(self, prefix: str) -> str:
        schema = f"{prefix}{uuid.uuid4().hex[:8]}"
        self._run(f'CREATE SCHEMA "{schema}"')
        return schema

    def drop(self, schema: str) -> None:
        self._run(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


class Database:
    """The app's fresh database: a SQLite file, or a new PostgreSQL schema (dropped later)."""

    def __init__(self, kind: str, workdir: Path, pg_url: str, prefix: str = "scale_"):
        self.schema = None
        if kind == "sqlite":
            self.url = f"sqlite:///{workdir / 'exchange.db'}"
            return
        self.server = PgServer(pg_url)
        self.schema = self.server.create(prefix)
        self.url = self.server.url(self.schema)

    def drop(self) -> None:
        if self.schema:
            self.server.drop(self.schema)


def pg_reachable(pg_url: str) -> str | None:
    """None when PostgreSQL answers at pg_url, else the error."""
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(pg_url)
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as error:  # noqa: BLE001 (any driver error means: not there)
        return str(error).splitlines()[0]
    return None


# --- generating the data set -----------------------------------------------------------------

def municipalities(n: int | None, rng) -> list[dict]:
    """Municipalities with a population (seeded sample of n, or all), unique slugs."""
    import csv

    from exchange.util import slugify

    with MUNICIPALITIES.open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.DictReader(handle)
                if row["population"].strip().isdigit() and int(row["population"]) > 0]
    if n is not None and n < len(rows):
        chosen = sorted(rng.choice(len(rows), size=n, replace=False))
        rows = [rows[i] for i in chosen]
    # Bigger places keep the plain slug ("neustadt"); the others get their AGS appended.
    taken, cities = set(), []
    for row in sorted(rows, key=lambda r: -int(r["population"])):
        name = row["name"].split(",")[0].strip()[:120]
        slug = slugify(name, 70)
        if slug in taken:
            slug = f"{slug}-{row['ags']}"
        taken.add(slug)
        cities.append({"slug": slug, "name": name, "state": row["state"], "ags": row["ags"],
                       "population": int(row["population"])})
    return cities


@dataclass
class DataSet:
    """What was inserted, as far as the measurements need it."""

    cities: list[dict]
    topic_slugs: dict[int, str]
    interest_count: int
    experiences: list[dict]
    documents: list  # IndexDocuments (for the baselines and the query mix)
    popular_ozg: list[tuple[str, int]]  # (topic slug, cities with an interest)
    users: dict[int, str] = field(default_factory=dict)  # city id -> e-mail


def build_data(size: Size, rng) -> DataSet:
    """Insert cities, users, interests, experiences and revisions (app context needed)."""
    import sqlalchemy as sa
    from flask import current_app
    from werkzeug.security import generate_password_hash

    from exchange.auth.models import User
    from exchange.cities.models import City, Interest, Topic, TopicAlias
    from exchange.extensions import db
    from exchange.search.engine import IndexDocument
    from exchange.util import slugify
    from exchange.wiki.models import Experience, Revision, experience_topics

    session = db.session
    started = time.perf_counter()
    cities = municipalities(size.cities, rng)
    for number, city in enumerate(cities, start=1):
        city["id"] = number
    session.execute(sa.insert(City.__table__), [
        {"id": c["id"], "slug": c["slug"], "name": c["name"], "state": c["state"],
         "ags": c["ags"], "population": c["population"], "profile": ""} for c in cities])
    # One approved city admin per city, all with the same password. One hash with the
    # app's PASSWORD_HASH_METHOD (scrypt) serves them all: hashing 11,000 times would
    # take minutes and a shared salt does not matter for a benchmark.
    password_hash = generate_password_hash(
        PASSWORD, method=current_app.config["PASSWORD_HASH_METHOD"])
    users = {c["id"]: f"cdo{c['id']}@scale.example" for c in cities}
    session.execute(sa.insert(User.__table__), [
        {"id": c["id"], "email": users[c["id"]], "display_name": f"CDO {c['name']}"[:120],
         "password_hash": password_hash, "city_id": c["id"], "role": "city_admin",
         "is_admin": False, "is_approved": True} for c in cities])

    topics = session.execute(sa.select(Topic.id, Topic.slug, Topic.parent_id, Topic.ozg_key,
                                       Topic.name_de, Topic.name_en)).all()
    aliases: dict[int, list[str]] = {}
    for topic_id, alias in session.execute(sa.select(TopicAlias.topic_id, TopicAlias.alias)):
        aliases.setdefault(topic_id, []).append(alias)
    topic_slugs = {t.id: t.slug for t in topics}
    candidates = [t for t in topics if t.parent_id is not None]  # not the root
    weights = 1.0 / (np.arange(len(candidates)) + 1 + TOPIC_ZIPF_OFFSET)
    weights = weights[rng.permutation(len(candidates))]
    weights /= weights.sum()
    candidate_ids = np.array([t.id for t in candidates])

    # Interests: 10-20 per city, Zipf-like topic popularity, maturity rising with size.
    logs = np.log10([c["population"] for c in cities])
    scale = (logs - logs.min()) / max(logs.max() - logs.min(), 1e-9)
    interest_rows, city_topics = [], {}
    low, high = INTERESTS_PER_CITY
    for index, city in enumerate(cities):
        count = int(rng.integers(low, high + 1))
        chosen = rng.choice(candidate_ids, size=count, replace=False, p=weights)
        stances = rng.choice(3, size=count, p=STANCE_MIX)
        maturity = np.clip(np.round(1 + 4 * rng.beta(2, 2, count) * (0.6 + 0.4 * scale[index])),
                           1, 5)
        city_topics[city["id"]] = [int(t) for t in chosen]
        for topic_id, stance, level in zip(chosen, stances, maturity):
            interest_rows.append({"city_id": city["id"], "topic_id": int(topic_id),
                                  "stance": ("offers", "seeks", "working_on")[stance],
                                  "maturity": int(level), "note": ""})
    session.execute(sa.insert(Interest.__table__), interest_rows)
    per_topic: dict[int, int] = {}
    for row in interest_rows:
        per_topic[row["topic_id"]] = per_topic.get(row["topic_id"], 0) + 1
    ozg = {t.id: t for t in topics if t.ozg_key}
    popular_ozg = sorted(((topic_slugs[t], n) for t, n in per_topic.items() if t in ozg),
                         key=lambda item: -item[1])[:3]

    # Experiences: the corpus generator's texts; its 15 story topics are the taxonomy's,
    # its 45 "leistung-N" topics become the 45 most popular OZG-Leistungen.
    generator = search_bench.CorpusGenerator()
    by_slug = {t.slug: t.id for t in topics}
    leistungen = sorted((t for t in topics if (t.ozg_key or "").startswith("leistung:")),
                        key=lambda t: -per_topic.get(t.id, 0))
    topic_map = {}
    for slug, _name, _aliases in search_bench.TOPICS:
        if slug.startswith("leistung-"):
            topic_map[slug] = leistungen[int(slug.split("-")[1]) % len(leistungen)].id
        else:
            topic_map[slug] = by_slug[slug]
    writing = np.array([c["population"] for c in cities], dtype=float) \
        ** EXPERIENCE_POPULATION_EXPONENT
    writing /= writing.sum()
    authors = rng.choice(len(cities), size=size.experiences, p=writing)
    names = {t.id: (t.name_de, t.name_en) for t in topics}
    experiences, revisions, links, documents = [], [], [], []
    for number in range(1, size.experiences + 1):
        generated = generator.document(number)
        city = cities[int(authors[number - 1])]
        title = generated.title.replace(generated.city_name, city["name"])[:200]
        topic_ids = list(dict.fromkeys(topic_map[s] for s in generated.topics))
        if rng.random() < OWN_TOPIC_SHARE:
            own = city_topics[city["id"]][int(rng.integers(len(city_topics[city["id"]])))]
            if own not in topic_ids:
                topic_ids.append(own)
        sentences = re.split(r"(?<=\.) ", generated.body)
        body = "\n\n".join(" ".join(sentences[i:i + 4]) for i in range(0, len(sentences), 4))
        slug = f"{slugify(title, 100)}-{number}"
        experiences.append({
            "id": number, "slug": slug, "title": title, "kind": generated.kind,
            "status": "published", "city_id": city["id"], "created_at": generated.date,
            "updated_at": generated.date, "published_at": generated.date})
        revisions.append({"id": number, "experience_id": number, "number": 1, "title": title,
                          "body": body, "summary": "Erste Fassung", "author_id": city["id"],
                          "created_at": generated.date})
        links.extend({"experience_id": number, "topic_id": t} for t in topic_ids)
        topic_words = []
        for t in topic_ids:
            topic_words.extend(filter(None, names[t]))
            topic_words.extend(aliases.get(t, ()))
        documents.append(IndexDocument(
            id=number, slug=slug, title=title, body=generated.body.replace(
                generated.city_name, city["name"]), city=city["slug"],
            city_name=city["name"], topics=tuple(topic_slugs[t] for t in topic_ids),
            topic_tree=tuple(topic_slugs[t] for t in topic_ids),
            topic_text="\n".join(dict.fromkeys(topic_words)), kind=generated.kind,
            date=generated.date))
    generated_s = time.perf_counter() - started
    session.execute(sa.insert(Experience.__table__), experiences)
    session.execute(sa.insert(Revision.__table__), revisions)
    session.execute(sa.insert(experience_topics), links)
    # Revision ids equal experience ids: one UPDATE sets every current revision.
    session.execute(sa.update(Experience.__table__).values(
        current_revision_id=Experience.__table__.c.id))
    if db.engine.dialect.name == "postgresql":
        for table in ("cities", "users", "experiences", "revisions"):
            session.execute(sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"))
    session.commit()
    log(f"  data generated in {generated_s:.1f} s, inserted in "
        f"{time.perf_counter() - started - generated_s:.1f} s: {len(cities):,} cities, "
        f"{len(cities):,} users, {len(interest_rows):,} interests "
        f"({len(interest_rows) / len(cities):.1f}/city), {len(experiences):,} experiences "
        f"with {len(links):,} topic links")
    log("  most popular OZG topics: " + ", ".join(f"{s} ({n:,} cities)" for s, n in popular_ozg))
    return DataSet(cities, topic_slugs, len(interest_rows), experiences, documents,
                   popular_ozg, users)


# --- HTTP -----------------------------------------------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # the 302 itself is the answer we time


@dataclass
class Answer:
    """One HTTP answer: status (None: timeout or connection error), body, seconds."""

    status: int | None
    body: bytes
    seconds: float
    error: str = ""


class Client:
    """A browser-like client: its own cookie jar, no redirects followed, a timeout."""

    def __init__(self, base: str, timeout: float, token: str | None = None):
        self.base = base
        self.timeout = timeout
        self.token = token
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect())

    def request(self, method: str, path: str, *, form=None, payload=None) -> Answer:
        headers, data = {"Accept-Language": "de"}, None
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if payload is not None:
            data = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base + path, data=data, headers=headers,
                                         method=method)
        started = time.perf_counter()
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                body = response.read()
                return Answer(response.status, body, time.perf_counter() - started)
        except urllib.error.HTTPError as error:
            body = error.read()
            return Answer(error.code, body, time.perf_counter() - started)
        except (urllib.error.URLError, TimeoutError, socket.timeout, ConnectionError) as error:
            return Answer(None, b"", time.perf_counter() - started,
                          error=type(getattr(error, "reason", error)).__name__)

    def login(self, email: str, password: str) -> None:
        """The real login form: GET for the CSRF token, POST, expect the redirect."""
        form = self.request("GET", "/login")
        match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', form.body) or \
            re.search(rb'value="([^"]+)"[^>]*name="csrf_token"', form.body)
        if form.status != 200 or not match:
            raise RuntimeError(f"GET /login: status {form.status}, no CSRF token")
        answer = self.request("POST", "/login", form={
            "csrf_token": match.group(1).decode(), "email": email, "password": password,
            "next": ""})
        if answer.status != 302:
            raise RuntimeError(f"login as {email}: status {answer.status} (expected 302)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(client: Client, path: str, seconds: float) -> Answer:
    """Poll until `path` answers 200 (the server is up)."""
    deadline = time.monotonic() + seconds
    answer = Answer(None, b"", 0)
    while time.monotonic() < deadline:
        answer = client.request("GET", path)
        if answer.status == 200:
            return answer
        time.sleep(0.3)
    raise RuntimeError(f"{path} did not answer 200 within {seconds:.0f} s "
                       f"(last: {answer.status} {answer.error})")


# --- measuring ------------------------------------------------------------------------------

@dataclass
class Kind:
    """One page or API call: label, target in ms (or None), the URLs with their clients."""

    key: str
    label: str
    target_ms: float | None
    requests: list  # (Client, path)
    rounds: list = field(default_factory=list)  # per round: list of ms
    cold_ms: float | None = None
    sizes: list = field(default_factory=list)
    failures: list = field(default_factory=list)  # (path, status or error)
    skipped: int = 0
    note: str = ""

    def summary(self) -> dict:
        per_round = [r for r in self.rounds if r]
        stats = {}
        for name, fraction in (("p50", .5), ("p95", .95), ("p99", .99)):
            values = [percentile(r, fraction) for r in per_round]
            stats[name] = statistics.median(values) if values else None
        p95s = [percentile(r, .95) for r in per_round]
        return {
            "label": self.label, "n": sum(len(r) for r in per_round),
            "rounds": len(per_round), **stats,
            "p95_range": (min(p95s), max(p95s)) if p95s else None,
            "cold_ms": self.cold_ms, "target_ms": self.target_ms,
            "met": (None if self.target_ms is None or stats["p95"] is None
                    else stats["p95"] <= self.target_ms),
            "kb": statistics.median(self.sizes) / 1024 if self.sizes else None,
            "failures": self.failures, "skipped": self.skipped, "note": self.note,
        }


def measure(kinds: list[Kind], rounds: int, budget_s: float, max_timeouts: int,
            workers: int) -> None:
    """Per kind one cold request (the figure printed as "cold"), then `workers` requests at
    once so every gunicorn worker has served this kind (not timed); then R rounds."""
    spent = {kind.key: 0.0 for kind in kinds}
    timeouts = {kind.key: 0 for kind in kinds}
    for kind in kinds:
        client, path = kind.requests[0]
        answer = client.request("GET", path)
        spent[kind.key] += answer.seconds
        kind.cold_ms = answer.seconds * 1000
        if answer.status != 200:
            kind.failures.append((path, answer.status or answer.error))
            timeouts[kind.key] += answer.status is None
        log(f"  cold {kind.label:<34} {kind.cold_ms:9.1f} ms  status "
            f"{answer.status or answer.error}")
        with ThreadPoolExecutor(workers) as pool:
            for warm in pool.map(lambda pair: pair[0].request("GET", pair[1]),
                                 (kind.requests[i % len(kind.requests)] for i in range(workers))):
                spent[kind.key] += warm.seconds
    order = random.Random(SEED)
    for number in range(rounds):
        for kind in kinds:
            samples = []
            requests = list(kind.requests)
            order.shuffle(requests)
            for client, path in requests:
                if spent[kind.key] > budget_s or timeouts[kind.key] >= max_timeouts:
                    kind.skipped += 1
                    continue
                answer = client.request("GET", path)
                spent[kind.key] += answer.seconds
                if answer.status == 200:
                    samples.append(answer.seconds * 1000)
                    kind.sizes.append(len(answer.body))
                else:
                    kind.failures.append((path, answer.status or answer.error))
                    timeouts[kind.key] += answer.status is None
            kind.rounds.append(samples)
        log(f"  round {number + 1}/{rounds} done ({load()})")
    for kind in kinds:
        if kind.skipped:
            kind.note = (f"{kind.skipped} requests skipped (budget {budget_s:.0f} s or "
                         f"{max_timeouts} timeouts reached)")


def edit_to_searchable(api: Client, experiences: list[dict], count: int, rng) -> dict:
    """PUT a new word into an experience, then search for it until the page is found."""
    results, failures = [], []
    for number in range(count):
        experience = experiences[number % len(experiences)]
        slug = experience["slug"]
        answer = api.request("GET", f"/api/v1/experiences/{slug}")
        if answer.status != 200:
            failures.append((f"GET /api/v1/experiences/{slug}", answer.status or answer.error))
            continue
        current = json.loads(answer.body)
        word = "Skalo" + "".join(rng.choice(list("bdfghklmnprstvz")) + rng.choice(list("aeiou"))
                                  for _ in range(4))
        started = time.perf_counter()
        put = api.request("PUT", f"/api/v1/experiences/{slug}", payload={
            "base_revision": current["revision"],
            "body": current["body"] + f"\n\nNachtrag: {word} im Skalierungstest.",
            "summary": "scale benchmark"})
        if put.status != 200:
            failures.append((f"PUT /api/v1/experiences/{slug}", put.status or put.error))
            continue
        found, searches, slowest = None, 0, 0.0
        query = "/api/v1/search?" + urllib.parse.urlencode({"q": word})
        while time.perf_counter() - started < EDIT_GIVE_UP_S:
            searches += 1
            answer = api.request("GET", query)
            slowest = max(slowest, answer.seconds)
            if answer.status == 200 and any(hit["slug"] == slug
                                            for hit in json.loads(answer.body)["results"]):
                found = time.perf_counter() - started
                break
            time.sleep(EDIT_POLL_S)
        if found is None:
            failures.append((query, f"not found after {EDIT_GIVE_UP_S:.0f} s"))
            continue
        results.append({"seconds": found, "put_ms": put.seconds * 1000, "searches": searches,
                        "slowest_search_ms": slowest * 1000})
    seconds = [r["seconds"] for r in results]
    return {
        "n": len(results), "median_s": statistics.median(seconds) if seconds else None,
        "max_s": max(seconds) if seconds else None,
        "put_ms_median": statistics.median(r["put_ms"] for r in results) if results else None,
        # The first search after an index commit reopens the searcher: its cost shows here.
        "slowest_search_ms_median": (statistics.median(r["slowest_search_ms"] for r in results)
                                     if results else None),
        "met": bool(seconds) and max(seconds) <= EDIT_TARGET_S and not failures,
        "failures": failures,
    }


# --- in-process baselines: our index, PostgreSQL full-text search, SQLite FTS5 -------------

def rounds_of(latencies: list[float], rounds: int) -> dict:
    """Median over rounds of p50/p95/p99 (latencies = rounds consecutive equal slices)."""
    size = len(latencies) // rounds
    slices = [latencies[i * size:(i + 1) * size] for i in range(rounds)]
    return {name: statistics.median(percentile(s, f) for s in slices)
            for name, f in (("p50", .5), ("p95", .95), ("p99", .99))}


def ours_in_process(queries, rounds: int) -> list[float]:
    """The app's run_query on the app's index (app context needed), no HTTP, no database."""
    from exchange.search.indexer import get_engine
    from exchange.search.services import run_query, synonym_table

    engine, synonyms = get_engine(), synonym_table()
    for _kind, text, filters in queries:  # warm-up: searcher, facet arrays
        run_query(engine, text, synonyms, filters=filters, limit=10)
    # Opening a generation warms its frequent terms in a background thread (as in the
    # web workers); let it finish, so it does not run during the timed queries.
    for thread in threading.enumerate():
        if thread.name == "search-warm":
            thread.join(120)
    for _kind, text, filters in queries:
        run_query(engine, text, synonyms, filters=filters, limit=10)
    latencies = []
    for _ in range(rounds):
        for _kind, text, filters in queries:
            started = time.perf_counter()
            run_query(engine, text, synonyms, filters=filters, limit=10)
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def postgres_fts(documents, queries, rounds: int, database_url: str) -> tuple[float, list]:
    """Build a tsvector ('german', weighted title/topics/body) + GIN table; time the queries
    like search_bench does for FTS5: top 10 by ts_rank plus three facet GROUP BYs."""
    import psycopg

    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            "CREATE TABLE fts_docs (id integer PRIMARY KEY, slug text, title text, body text, "
            "topics text, city text, kind text, year text, tsv tsvector GENERATED ALWAYS AS ("
            "setweight(to_tsvector('german', title), 'A') || "
            "setweight(to_tsvector('german', topics), 'B') || "
            "setweight(to_tsvector('german', body), 'C')) STORED)")
        started = time.perf_counter()
        with connection.cursor() as cursor:
            with cursor.copy("COPY fts_docs (id, slug, title, body, topics, city, kind, year) "
                             "FROM STDIN") as copy:
                for d in documents:
                    copy.write_row((d.id, d.slug, d.title, d.body, d.topic_text, d.city,
                                    d.kind, d.year))
        connection.execute("CREATE INDEX fts_docs_tsv ON fts_docs USING gin (tsv)")
        connection.execute("ANALYZE fts_docs")
        build = time.perf_counter() - started
        latencies = []
        for number in range(rounds + 1):  # the first pass warms the caches, not timed
            for _kind, text, filters in queries:
                phrase = text.startswith('"')
                function = "phraseto_tsquery" if phrase else "plainto_tsquery"
                where = "".join(f" AND {name} = %s" for name in filters)
                arguments = [text.strip('"'), *filters.values()]
                match = f"tsv @@ {function}('german', %s){where}"
                started_query = time.perf_counter()
                connection.execute(
                    f"SELECT slug FROM fts_docs WHERE {match} ORDER BY ts_rank(tsv, "
                    f"{function}('german', %s)) DESC LIMIT 10",
                    [*arguments, text.strip('"')]).fetchall()
                for facet in ("city", "kind", "year"):
                    connection.execute(f"SELECT {facet}, count(*) FROM fts_docs WHERE {match} "
                                       f"GROUP BY {facet}", arguments).fetchall()
                if number:
                    latencies.append((time.perf_counter() - started_query) * 1000)
    return build, latencies


# --- processes ------------------------------------------------------------------------------

def run_flask(env: dict, *arguments: str, timeout: float = 3600) -> str:
    """`flask --app exchange ...` in a subprocess; its output, or an error."""
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "exchange", *arguments],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(arguments)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


#: The variables that point the app at a run's instance, database and index.
APP_VARIABLES = ("EXCHANGE_INSTANCE_PATH", "EXCHANGE_DATABASE_URL", "EXCHANGE_INDEX_DIR",
                 "EXCHANGE_SECRET_KEY")


def app_environment(instance: Path, database_url: str, index_dir: Path) -> dict:
    """The environment for the app's processes of one run: this repository on the path,
    the run's instance folder, database and index, a fresh secret key."""
    return dict(os.environ, EXCHANGE_INSTANCE_PATH=str(instance),
                EXCHANGE_DATABASE_URL=database_url, EXCHANGE_INDEX_DIR=str(index_dir),
                EXCHANGE_SECRET_KEY=secrets.token_hex(32),
                PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT),
                                                         os.environ.get("PYTHONPATH")])))


def start_gunicorn(env: dict, port: int, workers: int, timeout: float,
                   log_path: Path) -> subprocess.Popen:
    """gunicorn with `workers` sync workers on wsgi:app at 127.0.0.1:port, logging to
    log_path; a request may take `timeout` seconds before gunicorn's own limit."""
    with log_path.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind",
             f"127.0.0.1:{port}", "--timeout", str(int(timeout + 30)), "--no-control-socket",
             "--error-logfile", "-", "wsgi:app"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def start_flask(env: dict, arguments: list[str], log_path: Path) -> subprocess.Popen:
    """A long-running `flask --app exchange ...` (the worker), logging to log_path."""
    with log_path.open("w") as out:
        return subprocess.Popen([sys.executable, "-m", "flask", "--app", "exchange", *arguments],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def scan_log(path: Path) -> dict:
    """Tracebacks, worker timeouts and errors in a server log."""
    text = path.read_text(errors="replace") if path.exists() else ""
    tracebacks = text.count("Traceback (most recent call last)")
    last_lines = []
    for block in text.split("Traceback (most recent call last)")[1:4]:
        lines = [line for line in block.splitlines() if line.strip()]
        last_lines.append(lines[-1][:300] if lines else "")
    return {"tracebacks": tracebacks, "worker_timeouts": text.count("WORKER TIMEOUT"),
            "errors": len(re.findall(r"\bERROR\b", text)), "examples": last_lines}


def stop(process: subprocess.Popen | None) -> None:
    """Terminate a process we started (by its handle), then kill it if it lingers."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


# --- the run --------------------------------------------------------------------------------

def fmt(value, unit="ms", digits=1):
    return "-" if value is None else f"{value:.{digits}f} {unit}"


def show(row: dict) -> str:
    """p50/p95/p99 (and build time) of a baseline, one line."""
    text = "  ".join(f"{name} {row[name]:7.2f} ms" for name in ("p50", "p95", "p99"))
    return text + (f"  (built in {row['build_s']:.1f} s)" if "build_s" in row else "")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="1,000 cities, 2,000 experiences (about 2 minutes)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default=PG_URL,
                        help="PostgreSQL server for --database postgresql and the FTS baseline")
    parser.add_argument("--cities", type=int, help="override the number of cities")
    parser.add_argument("--experiences", type=int, help="override the number of experiences")
    parser.add_argument("--rounds", type=int, help="rounds over all URLs (default 3)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds of requests per URL kind (default 60 quick, 240 full)")
    parser.add_argument("--max-timeouts", type=int, default=3,
                        help="stop a URL kind after this many timeouts")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--workdir", help="keep database, index and logs here")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--no-baselines", action="store_true",
                        help="skip the in-process ours / PostgreSQL FTS / FTS5 comparison")
    args = parser.parse_args(argv)
    size = SIZES["quick" if args.quick else "full"]
    size = Size(cities=args.cities or size.cities, experiences=args.experiences or size.experiences,
                sample_cities=size.sample_cities, queries=size.queries,
                rounds=args.rounds or size.rounds, edits=size.edits)
    budget = args.budget or (60.0 if args.quick else 240.0)
    rng = np.random.default_rng(SEED)
    wall = time.perf_counter()

    keep = bool(args.workdir)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="exchange-scale-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    instance = workdir / "instance"
    instance.mkdir(exist_ok=True)
    # Both cores for the rebuild, as docs/search.md recommends at this size.
    (instance / "config.py").write_text(f"SEARCH_WRITER_PROCS = {min(2, os.cpu_count() or 1)}\n")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    log(f"scale benchmark, {'quick' if args.quick else 'full'} size, database {args.database}, "
        f"commit {commit}{' + uncommitted changes' if dirty else ''}, "
        f"{datetime.now():%Y-%m-%d %H:%M}")
    log(f"machine: {os.cpu_count()} CPUs, {load()} at start; work folder {workdir}")

    pg_problem = pg_reachable(args.pg_url)
    if args.database == "postgresql" and pg_problem:
        log(f"PostgreSQL not reachable at {args.pg_url}: {pg_problem}")
        return 2
    database = Database(args.database, workdir, args.pg_url)
    env = app_environment(instance, database.url, workdir / "index")
    os.environ.update({key: env[key] for key in APP_VARIABLES})
    server = worker = None
    results: dict = {"commit": commit, "dirty": bool(dirty), "database": args.database,
                     "size": "quick" if args.quick else "full", "cpus": os.cpu_count(),
                     "load_start": os.getloadavg(), "date": f"{datetime.now():%Y-%m-%d %H:%M}"}
    try:
        started = time.perf_counter()
        run_flask(env, "db", "upgrade")
        run_flask(env, "topics", "seed")
        log(f"schema and topics in {time.perf_counter() - started:.1f} s")

        from exchange import create_app
        from exchange.extensions import db

        app = create_app()
        with app.app_context():
            data = build_data(size, rng)
            db.session.remove()
            db.engine.dispose()
        results["data"] = {"cities": len(data.cities), "interests": data.interest_count,
                           "experiences": len(data.experiences),
                           "popular_ozg": data.popular_ozg}

        started = time.perf_counter()
        out = run_flask(env, "search", "reindex").strip()
        results["reindex_s"] = time.perf_counter() - started
        log(f"search reindex: {out} ({results['reindex_s']:.1f} s with the app's start)")

        # Sampled cities (seeded): pages, /partner and matches. The API user is the city
        # with the most experiences (its own pages are the ones it edits).
        written: dict[int, list[dict]] = {}
        for experience in data.experiences:
            written.setdefault(experience["city_id"], []).append(experience)
        editor = max(written, key=lambda c: len(written[c]))
        token = run_flask(env, "tokens", "create", data.users[editor], "scale").strip()
        pick = random.Random(SEED)
        sample = pick.sample(data.cities, min(size.sample_cities, len(data.cities)))

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server_log, worker_log = workdir / "gunicorn.log", workdir / "worker.log"
        server = start_gunicorn(env, port, args.workers, args.timeout, server_log)
        worker = start_flask(env, ["search", "apply", "--loop"], worker_log)
        anonymous = Client(base, args.timeout)
        wait_for(anonymous, "/healthz", 90)
        sessions = []
        for city in sample:
            client = Client(base, args.timeout)
            client.login(data.users[city["id"]], PASSWORD)
            sessions.append(client)
        api = Client(base, args.timeout, token=token)
        log(f"gunicorn ({args.workers} workers) and the index worker up; {len(sessions)} "
            f"sessions logged in through /login; {load()}")

        queries = search_bench.CorpusGenerator().queries(data.documents, size.queries)
        busy = sorted(written, key=lambda c: -len(written[c]))[:30]
        slug_of = {c["id"]: c["slug"] for c in data.cities}
        for _kind, _text, filters in queries:
            if "city" in filters:
                filters["city"] = slug_of[pick.choice(busy)]
        n = len(sessions)

        def search_path(prefix, text, filters):
            return prefix + urllib.parse.urlencode({"q": text, **filters})

        kinds = [
            Kind("matches_api", "GET /api/v1/cities/<slug>/matches", TARGET_MS["matches_api"],
                 [(api, f"/api/v1/cities/{c['slug']}/matches") for c in sample]),
            Kind("partner", "/partner (own city)", TARGET_MS["partner"],
                 [(client, "/partner") for client in sessions]),
            Kind("city_page", "/staedte/<slug> (other city)", None,
                 [(sessions[(i + 1) % n], f"/staedte/{c['slug']}") for i, c in enumerate(sample)]),
            Kind("topic_page", "/themen/<popular OZG topic>", None,
                 [(sessions[i % n], f"/themen/{slug}")
                  for i, (slug, _count) in enumerate(data.popular_ozg * 2)]),
            Kind("city_list", "/staedte", None, [(sessions[i % n], "/staedte") for i in range(n)]),
            Kind("search_page", "/suche?q=...", TARGET_MS["search_page"],
                 [(sessions[i % n], search_path("/suche?", t, f))
                  for i, (_k, t, f) in enumerate(queries)]),
            Kind("search_api", "GET /api/v1/search?q=...", TARGET_MS["search_api"],
                 [(api, search_path("/api/v1/search?", t, f)) for _k, t, f in queries]),
        ]
        log(f"\nmeasuring: {size.rounds} rounds; per round {len(sample)} cities, "
            f"{len(data.popular_ozg) * 2} topic pages, {n} city lists, {len(queries)} queries "
            f"per search kind; timeout {args.timeout:.0f} s, budget {budget:.0f} s per kind")
        results["load_before_measuring"] = os.getloadavg()
        measure(kinds, size.rounds, budget, args.max_timeouts, args.workers)

        log("\nedit to searchable (PUT, then GET /api/v1/search until the page is found):")
        edits = edit_to_searchable(api, written[editor], size.edits, random.Random(SEED))
        log(f"  {edits['n']} edits: median {fmt(edits['median_s'], 's', 2)}, max "
            f"{fmt(edits['max_s'], 's', 2)} (PUT median {fmt(edits['put_ms_median'])}; slowest "
            f"search while waiting, median over edits {fmt(edits['slowest_search_ms_median'])})")
        results["load_after_http"] = os.getloadavg()

        baselines = {}
        if not args.no_baselines:
            log("\nsame queries in this process, no HTTP (baselines):")
            with app.app_context():
                baselines["ours"] = rounds_of(ours_in_process(queries, size.rounds), size.rounds)
                db.engine.dispose()
            log(f"  ours (run_query on the app's index)  {show(baselines['ours'])}")
            if pg_problem:
                log(f"  PostgreSQL FTS skipped: {pg_problem}")
            else:
                server_pg = PgServer(args.pg_url)
                fts_schema = server_pg.create("scale_fts_")
                try:
                    build, latencies = postgres_fts(data.documents, queries, size.rounds,
                                                    server_pg.url(fts_schema))
                finally:
                    server_pg.drop(fts_schema)
                baselines["postgres_fts"] = {**rounds_of(latencies, size.rounds),
                                             "build_s": build}
                log(f"  PostgreSQL FTS (german, GIN)         {show(baselines['postgres_fts'])}")
            with tempfile.TemporaryDirectory() as fts_dir:
                build, latencies, _size = search_bench.run_fts5(
                    data.documents, queries * size.rounds, fts_dir)
            baselines["fts5"] = {**rounds_of(latencies, size.rounds), "build_s": build}
            log(f"  SQLite FTS5 unicode61                {show(baselines['fts5'])}")
        results["baselines"] = baselines
        results["load_end"] = os.getloadavg()
        results["kinds"] = {kind.key: kind.summary() for kind in kinds}
        results["edits"] = edits
    finally:
        stop(server)
        stop(worker)
        try:
            database.drop()
        except Exception as error:  # noqa: BLE001 (report, keep the figures)
            log(f"could not drop schema {database.schema}: {error}")
    results["server_log"] = scan_log(workdir / "gunicorn.log")
    results["worker_log"] = scan_log(workdir / "worker.log")
    results["wall_s"] = time.perf_counter() - wall
    report(results, args, budget)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    if not keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        log(f"kept: {workdir} (gunicorn.log, worker.log, index/)")
    return 0


def report(results: dict, args, budget: float) -> None:
    """The summary table: figures beside their targets, then baselines and problems."""
    data = results["data"]
    log(f"\n=== summary: {results['size']} size, {args.database}, commit {results['commit']}"
        f"{' (+ uncommitted)' if results['dirty'] else ''}, {results['date']} ===")
    log(f"data: {data['cities']:,} cities, {data['interests']:,} interests, "
        f"{data['experiences']:,} experiences; reindex {results['reindex_s']:.0f} s")
    loads = [results.get(k) for k in ("load_start", "load_before_measuring", "load_end")]
    log("load average (1 min) at start / before measuring / end: "
        + " / ".join(f"{value[0]:.2f}" if value else "-" for value in loads)
        + f" on {results['cpus']} CPUs")
    log("medians over rounds of each round's percentile; over HTTP, one client at a time\n")
    log(f"{'page or call':<36} {'n':>4} {'cold':>9} {'p50':>9} {'p95':>9} {'p99':>9} "
        f"{'size':>8}  target")
    for kind in results["kinds"].values():
        if kind["target_ms"] is None:
            verdict = ""
        elif kind["met"] is None:
            verdict = f"p95 <= {kind['target_ms']:.0f} ms: no figure"
        else:
            verdict = (f"p95 <= {kind['target_ms']:.0f} ms: "
                       f"{'met' if kind['met'] else 'NOT met'}")
        kb = "-" if kind["kb"] is None else f"{kind['kb']:.0f} KB"
        log(f"{kind['label']:<36} {kind['n']:>4} {fmt(kind['cold_ms']):>9} "
            f"{fmt(kind['p50']):>9} {fmt(kind['p95']):>9} {fmt(kind['p99']):>9} {kb:>8}  "
            f"{verdict}")
        if kind["failures"]:
            shown = "; ".join(f"{status} {path}" for path, status in kind["failures"][:4])
            log(f"    failures: {len(kind['failures'])}: {shown}")
        if kind["note"]:
            log(f"    {kind['note']}")
    edits = results["edits"]
    log(f"{'an edit is searchable within':<36} {edits['n']:>4} {'':>9} "
        f"{fmt(edits['median_s'], 's', 2):>9} {'max':>5} {fmt(edits['max_s'], 's', 2):>9}  "
        f"{'':>8} <= {EDIT_TARGET_S:.0f} s: {'met' if edits['met'] else 'NOT met'}")
    log(f"    PUT median {fmt(edits['put_ms_median'])}; slowest search while waiting "
        f"(median over edits) {fmt(edits['slowest_search_ms_median'])}")
    for path, status in edits["failures"][:4]:
        log(f"    failure: {status} {path}")
    baselines = results.get("baselines") or {}
    if baselines:
        log("\nsearch, same queries in-process (no HTTP; ms, medians over rounds):")
        ours = baselines["ours"]
        http = results["kinds"]["search_api"]
        for name, label in (("ours", "ours: run_query on the app's index"),
                            ("postgres_fts", "PostgreSQL FTS, 'german', GIN"),
                            ("fts5", "SQLite FTS5 unicode61")):
            if name not in baselines:
                continue
            row = baselines[name]
            build = f"  build {row['build_s']:.1f} s" if "build_s" in row else ""
            ratio = "" if name == "ours" else (
                f"  ours/this p50 {ours['p50'] / row['p50']:.2f}x  p95 "
                f"{ours['p95'] / row['p95']:.2f}x")
            log(f"  {label:<36} p50 {row['p50']:7.2f}  p95 {row['p95']:7.2f}  "
                f"p99 {row['p99']:7.2f}{ratio}{build}")
        if http["p95"] is not None:
            log(f"  ours over HTTP (API, from the table) p50 {http['p50']:7.2f}  p95 "
                f"{http['p95']:7.2f}  (HTTP, auth and JSON add {http['p50'] - ours['p50']:.1f} "
                f"ms at the median)")
    for name in ("server_log", "worker_log"):
        scan = results[name]
        log(f"{name.replace('_', ' ')}: {scan['tracebacks']} tracebacks, "
            f"{scan['worker_timeouts']} worker timeouts, {scan['errors']} ERROR lines"
            + ("; e.g. " + " | ".join(scan["examples"]) if scan["examples"] else ""))
    log(f"whole run {results['wall_s'] / 60:.1f} min")


if __name__ == "__main__":
    sys.exit(main())
