"""Version counters of the derived matching models, and the session hooks that bump them.

Matching keeps two things across requests (snapshot.py): the scoring snapshot, built
from cities, topics, interests and published experiences ("matching"), and the active
joint projects between cities ("partnerships"). Every transaction that changes what one
of them reads adds one to its row in `model_versions`, just before it commits, in the
same transaction. Each process reads that number with one SELECT per use and rebuilds
its copy when it moved, so a change committed by any process is seen by all at once.

The hooks below find such changes in every ORM flush (new, changed or deleted rows of
the watched tables) and in INSERT/UPDATE/DELETE statements run through a session, so no
service can forget the bump. Code that writes these tables with SQL text or on a bare
connection calls `bump()` itself.
"""
from datetime import datetime
from itertools import chain

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..extensions import db
from ..util import utcnow

#: The scoring snapshot (snapshot.load_snapshot).
MATCHING = "matching"
#: Active joint projects between cities (services._active_topics).
PARTNERSHIPS = "partnerships"
#: The topic tree (names, slugs, parents, OZG keys) and aliases: the search's synonym
#: table (search.services.synonym_table), the topic pickers' order (cities.choices) and,
#: with MATCHING, the rendered tree of /themen.
TAXONOMY = "taxonomy"
#: Experience kinds that show a city can offer a topic; a visit report records what the
#: visitors saw elsewhere, so it is no evidence of their own experience.
EVIDENCE_KINDS = ("lesson_learned", "practice", "project_report")
#: What each model reads: per table, the attributes (ORM) and columns (Core statements)
#: whose change, or a new or deleted row, changes the model. Keep in step with the
#: readers. Names, slugs, notes and texts are read per request and need no rebuild.
WATCHED = {
    MATCHING: {
        "cities": {"state", "population"},
        "topics": {"parent_id", "parent"},
        "interests": {"city_id", "city", "topic_id", "topic", "stance", "maturity"},
        "experiences": {"status", "deleted_at", "kind", "city_id", "city", "published_at",
                        "topics"},
        "experience_topics": {"experience_id", "topic_id"},
    },
    PARTNERSHIPS: {
        "projects": {"state", "topics"},
        "project_participants": {"project_id", "project", "city_id", "city", "response"},
        "project_topics": {"project_id", "topic_id"},
    },
    TAXONOMY: {
        "topics": {"name_de", "name_en", "aliases", "slug", "parent_id", "parent", "ozg_key"},
        "topic_aliases": {"alias", "topic_id", "topic"},
    },
}
#: session.info key: names of the models whose inputs the open transaction changed.
CHANGED = "exchange.matching.changed_models"


class ModelVersion(db.Model):
    """How often the inputs of a derived model have changed (one row per model name)."""

    __tablename__ = "model_versions"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    version: Mapped[int] = mapped_column(default=0)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


def bump(connection, name: str = MATCHING) -> None:
    """Add one to the model's version in the caller's transaction (a missing row starts at 1).

    One upsert statement, so two first bumps at once cannot both insert. Its row lock is
    held until commit, which is why the session hook calls it just before the commit.
    """
    table = ModelVersion.__table__
    now = utcnow()
    dialect = connection.dialect.name
    if dialect in ("postgresql", "sqlite"):
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
        connection.execute(insert.values(name=name, version=1, changed_at=now)
                           .on_conflict_do_update(index_elements=[table.c.name], set_={
                               "version": table.c.version + 1, "changed_at": now}))
        return
    updated = connection.execute(sa.update(table).where(table.c.name == name)
                                 .values(version=table.c.version + 1, changed_at=now))
    if updated.rowcount == 0:
        connection.execute(sa.insert(table).values(name=name, version=1, changed_at=now))


def read_versions(executor, names=(MATCHING,)) -> dict[str, tuple[int, datetime | None]]:
    """(version, changed_at) per model name in one SELECT; (0, None) before a first change.

    The pair, not the number alone, names a state: a table emptied and counted up again
    (tests, a restored backup) does not repeat an old pair.
    """
    table = ModelVersion.__table__
    rows = executor.execute(sa.select(table.c.name, table.c.version, table.c.changed_at)
                            .where(table.c.name.in_(names))).all()
    found = {row.name: (row.version, row.changed_at) for row in rows}
    return {name: found.get(name, (0, None)) for name in names}


def read_version(executor, name: str = MATCHING) -> tuple[int, datetime | None]:
    """(version, changed_at) of one model (see read_versions)."""
    return read_versions(executor, (name,))[name]


def mark_changed(session: Session, name: str = MATCHING) -> None:
    """Note that the session's transaction changed the model's inputs (bumped at commit)."""
    session.info.setdefault(CHANGED, set()).add(name)


def has_uncommitted_changes(session: Session, name: str = MATCHING) -> bool:
    """Whether the session's open transaction changed the model's inputs."""
    return name in session.info.get(CHANGED, ())


# --- what counts as a change -----------------------------------------------------------

def _values_of(state, name: str) -> list | None:
    """Old and new values of a loaded attribute; None when it was never loaded."""
    history = state.attrs[name].history
    return [*history.added, *history.unchanged, *history.deleted] or None


def _could_be_evidence(state) -> bool:
    """Whether the experience was or is published, not deleted and of an evidence kind.

    An unloaded attribute counts as "could be": a needless rebuild costs time, a missed
    one shows wrong partners.
    """
    checks = (("status", lambda v: v == "published"), ("deleted_at", lambda v: v is None),
              ("kind", lambda v: v in EVIDENCE_KINDS))
    for name, test in checks:
        values = _values_of(state, name)
        if values is not None and not any(test(value) for value in values):
            return False
    return True


def _changed_models(state, is_new: bool, is_deleted: bool) -> set[str]:
    """Names of the models that flushing this instance changes."""
    table = state.mapper.local_table.name
    names = set()
    for name, tables in WATCHED.items():
        watched = tables.get(table)
        if watched is None:
            continue
        if not (is_new or is_deleted or any(
                state.attrs[attr].history.has_changes() for attr in watched
                if attr in state.mapper.attrs)):
            continue
        if name == MATCHING and table == "experiences" and not is_deleted \
                and not _could_be_evidence(state):
            continue  # drafts and visit reports are not read
        names.add(name)
    return names


@event.listens_for(Session, "after_flush")
def _note_flushed_changes(session: Session, _flush_context) -> None:
    """After each flush (new/dirty/deleted still show what it wrote): note model changes."""
    noted = session.info.get(CHANGED, set())
    if noted >= WATCHED.keys():
        return
    new, deleted = session.new, session.deleted
    for obj in chain(new, session.dirty, deleted):
        for name in _changed_models(sa.inspect(obj), obj in new, obj in deleted) - noted:
            mark_changed(session, name)


@event.listens_for(Session, "do_orm_execute")
def _note_statement_changes(execute_state) -> None:
    """INSERT/UPDATE/DELETE statements run through a session on a table a model reads.

    An UPDATE that sets only columns no model reads (the wiki's compare-and-set of
    `current_revision_id`) is no change; one whose columns cannot be told is.
    """
    if not (execute_state.is_insert or execute_state.is_update or execute_state.is_delete):
        return
    table = getattr(getattr(execute_state.statement, "table", None), "name", None)
    columns = None
    if execute_state.is_update:
        columns = {getattr(key, "key", key)
                   for key in getattr(execute_state.statement, "_values", None) or {}}
    for name, tables in WATCHED.items():
        if table in tables and not (columns and not columns & tables[table]):
            mark_changed(execute_state.session, name)


@event.listens_for(Session, "before_commit")
def _bump_changed_models(session: Session) -> None:
    """Bump the versions this transaction changed, as its last statement before COMMIT.

    The commit's own flush comes after this hook, so flush first. Bumping last keeps the
    row lock on `model_versions` for the commit alone: writers queue there only briefly
    and never while they wait for another lock (no deadlock with the wiki's row locks).
    """
    if session.in_nested_transaction():
        return  # a savepoint: the outer commit bumps
    session.flush()
    for name in sorted(session.info.get(CHANGED, ())):
        bump(session.connection(), name)


@event.listens_for(Session, "after_transaction_end")
def _forget_changes(session: Session, transaction) -> None:
    """Committed (and bumped) or rolled back: the next transaction starts clean."""
    if transaction.parent is None:
        session.info.pop(CHANGED, None)
