"""The matching snapshot: the scoring model read from the database, kept across requests.

`snapshot()` answers every matching request. It reads the model's version (one SELECT
of `model_versions`, models.py) and returns the snapshot this process built at that
version; only when the version moved does it build a new one, on a connection of its
own, one build at a time per process (other threads wait for it and then share it). A
transaction that changed the model's inputs and has not committed yet sees its own
changes in a snapshot built just for it, which is never cached.
"""
import threading
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from flask import current_app

from ..cities.models import STANCES, City, Interest, Topic
from ..extensions import db
from ..wiki.models import Experience, experience_topics
from . import scoring
from .models import EVIDENCE_KINDS, MATCHING, has_uncommitted_changes, read_version, read_versions

#: Key of the caches (model name -> VersionCache) in app.extensions.
EXTENSION_KEY = "exchange.matching.snapshot"


@dataclass
class Snapshot:
    """The scoring model plus the index maps between matrix rows/columns and database ids.

    Shared by all requests of a process: never change it after load_snapshot().
    """

    model: scoring.MatchModel
    city_ids: np.ndarray
    city_row: dict[int, int]
    states: np.ndarray
    populations: np.ndarray
    topic_ids: np.ndarray
    topic_col: dict[int, int]
    #: (city row, topic column) -> published experience ids, newest first.
    evidence: dict[tuple[int, int], list[int]]
    #: city row -> [(topic column, experience ids)], the same cells grouped by city.
    evidence_by_row: dict[int, list[tuple[int, list[int]]]]


def _numbers(connection, statement, width: int) -> np.ndarray:
    """The rows of a SELECT of integer columns as an (n, width) int64 array.

    Read from the driver's cursor as plain tuples: SQLAlchemy's Row objects cost more
    than the query itself at 165,000 interests, and numpy converts tuples 20× faster
    than Rows. Only for numbers, which the drivers return as ints (no type processing
    to skip).
    """
    result = connection.execute(statement)
    try:
        rows = result.cursor.fetchall()
    finally:
        result.close()
    return np.array(rows, dtype=np.int64).reshape(-1, width)


def _positions(ids: np.ndarray, sorted_ids: np.ndarray) -> np.ndarray:
    """Index of each id in `sorted_ids`, -1 for ids not there."""
    if not len(sorted_ids):
        return np.full(len(ids), -1, dtype=np.int64)
    at = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
    return np.where(sorted_ids[at] == ids, at, -1)


def load_snapshot(connection) -> Snapshot:
    """Build the snapshot in five queries on `connection` (a Connection, not a Session).

    Cities (id, population; state), topics (id, parent), interests (city, topic, stance
    code, maturity) and the (city, topic, id) of published, not deleted experiences of
    the evidence kinds, newest first. Ids become matrix rows/columns by binary search
    over the sorted ids, not by a dict lookup per row.
    """
    cities = _numbers(connection, sa.select(City.id, sa.func.coalesce(City.population, -1))
                      .order_by(City.id), 2)
    states = connection.execute(sa.select(City.state).order_by(City.id)).scalars().all()
    topics = _numbers(connection, sa.select(Topic.id, sa.func.coalesce(Topic.parent_id, -1))
                      .order_by(Topic.id), 2)
    stance_code = sa.case({name: scoring.STANCE_CODES[name] for name in STANCES},
                          value=Interest.stance, else_=-1)
    interests = _numbers(connection, sa.select(
        Interest.city_id, Interest.topic_id, stance_code, Interest.maturity), 4)
    evidence_rows = _numbers(connection, sa.select(
        Experience.city_id, experience_topics.c.topic_id, Experience.id)
        .join(experience_topics, experience_topics.c.experience_id == Experience.id)
        .where(Experience.status == "published", Experience.deleted_at.is_(None),
               Experience.kind.in_(EVIDENCE_KINDS))
        .order_by(Experience.published_at.desc(), Experience.id.desc()), 3)

    city_ids = np.ascontiguousarray(cities[:, 0])
    topic_ids = np.ascontiguousarray(topics[:, 0])
    city_row = {city_id: i for i, city_id in enumerate(city_ids.tolist())}
    topic_col = {topic_id: j for j, topic_id in enumerate(topic_ids.tolist())}
    parent = _positions(topics[:, 1], topic_ids)

    rows, cols = _positions(interests[:, 0], city_ids), _positions(interests[:, 1], topic_ids)
    known = (rows >= 0) & (cols >= 0) & (interests[:, 2] >= 0)

    evidence: dict[tuple[int, int], list[int]] = {}
    ev_rows = _positions(evidence_rows[:, 0], city_ids).tolist()
    ev_cols = _positions(evidence_rows[:, 1], topic_ids).tolist()
    for row, col, experience_id in zip(ev_rows, ev_cols, evidence_rows[:, 2].tolist()):
        if row >= 0 and col >= 0:
            evidence.setdefault((row, col), []).append(experience_id)
    by_row: dict[int, list[tuple[int, list[int]]]] = {}
    for (row, col), ids in evidence.items():
        by_row.setdefault(row, []).append((col, ids))
    cells = np.array(list(evidence), dtype=np.int64).reshape(-1, 2)
    model = scoring.build_model(
        len(city_ids), parent, rows[known], cols[known], interests[known, 2],
        interests[known, 3].astype(np.float64), cells[:, 0], cells[:, 1])
    return Snapshot(
        model=model,
        city_ids=city_ids,
        city_row=city_row,
        states=np.array([(state or "").casefold() for state in states], dtype=object),
        populations=cities[:, 1].copy(),
        topic_ids=topic_ids,
        topic_col=topic_col,
        evidence=evidence,
        evidence_by_row=by_row,
    )


@dataclass(frozen=True)
class _Entry:
    version: tuple
    #: Number of the build that made it (VersionCache.started when it began).
    build: int
    value: object


class VersionCache:
    """One process's copy of a derived model and the version it was built at.

    One build at a time: threads that find the version moved wait for the build under
    way and share its result when it began after they read the version (it is then at
    least as new); otherwise they build once more themselves.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._entry: _Entry | None = None
        #: Builds begun so far.
        self.started = 0
        #: Builds finished (tests count them).
        self.builds = 0

    def get(self, version: tuple, build):
        """The value at `version` (just read), from `build()` if needed; `build` returns
        (the version it read before reading the model, the value)."""
        entry = self._entry
        if entry is not None and entry.version == version:
            return entry.value
        asked = self.started
        with self._lock:
            entry = self._entry
            if entry is not None and (entry.version == version or entry.build > asked):
                return entry.value
            self.started += 1
            number = self.started
            built_version, value = build()
            self._entry = _Entry(built_version, number, value)
            self.builds += 1
            return value


def cache(name: str = MATCHING) -> VersionCache:
    """The current application's cache of model `name` (one app per worker process)."""
    caches = current_app.extensions.setdefault(EXTENSION_KEY, {})
    return caches.setdefault(name, VersionCache())


def current_versions(names) -> dict[str, tuple]:
    """The versions of the models `names`, read in one SELECT by this request's session.

    Pending changes are flushed first, so that has_uncommitted_changes() sees them (a
    Core SELECT does not autoflush; inside `no_autoflush` nothing is flushed).
    """
    session = db.session
    if session.autoflush:
        session.flush()
    return read_versions(session, names)


def cached(name: str, build, build_uncommitted, version: tuple | None = None):
    """Model `name` as of now: this process's copy if the version did not move, else built.

    `version` is the model's version if the caller just read it (current_versions()
    reads several in one SELECT). `build()` reads committed data and returns (version
    read first, value); a session whose open transaction changed the model's inputs gets
    `build_uncommitted(session)` instead, which sees those changes and is never cached
    (they may still be rolled back).
    """
    session = db.session
    if version is None:
        version = current_versions((name,))[name]
    if has_uncommitted_changes(session, name):
        return build_uncommitted(session)
    return cache(name).get(version, build)


def _build_committed() -> tuple[tuple, Snapshot]:
    """Read the version, then the model, on a connection of its own (committed data only).

    The version is read first: data committed meanwhile comes with a higher version, so
    a snapshot is never labelled newer than what it holds; at worst the next request
    finds the version moved and builds once more.
    """
    with db.engine.connect() as connection:
        version = read_version(connection)
        return version, load_snapshot(connection)


def snapshot(version: tuple | None = None) -> Snapshot:
    """The scoring snapshot for this request: cached at the current version, else built."""
    return cached(MATCHING, _build_committed,
                  lambda session: load_snapshot(session.connection()), version)
