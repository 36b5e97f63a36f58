"""The indexer: applies the outbox to the index, rebuilds it, and knows which engine to use.

Web workers only read the index. Writing happens here, under the engine's
cross-process writer lock: `apply_outbox()` reads pending IndexTask rows, indexes the
*current database state* of each experience (or removes it), commits the index and
only then deletes exactly the rows it processed. A crash at any point leaves the rows
in place, and replaying them is harmless (update_document is keyed by id).
"""
import logging
import re
from collections import Counter

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session, selectinload

from ..extensions import db
from .engine import EngineBusy, IndexDocument, IndexUnavailable, SearchEngine
from .models import IndexTask

log = logging.getLogger(__name__)

#: Outbox rows handled per index commit: bounds memory and the time the lock is held.
OUTBOX_BATCH = 500
#: A capitalised word (a German noun) seen in at least this many documents becomes a
#: known compound part on a full rebuild.
LEXICON_MIN_DOCUMENTS = 3
_NOUN_RE = re.compile(r"\b[A-ZÄÖÜ][a-zäöüß]{3,}\b")
_WORD_RE = re.compile(r"\w{4,}", re.UNICODE)


def get_engine() -> SearchEngine:
    """The search engine of the current app (Whoosh under INDEX_DIR).

    SEARCH_WRITER_PROCS (default 1) > 1 makes full rebuilds use Whoosh's
    multiprocessing writer (one process per core); worth it for large corpora only.
    """
    from .whoosh_engine import engine_for

    return engine_for(current_app.config["INDEX_DIR"],
                      procs=current_app.config["SEARCH_WRITER_PROCS"])


# --- documents from the database ----------------------------------------------------------

def _experience_query():
    from ..cities.models import Topic
    from ..wiki.models import Experience

    return sa.select(Experience).options(
        selectinload(Experience.city),
        selectinload(Experience.current_revision),
        selectinload(Experience.topics).selectinload(Topic.aliases),
        selectinload(Experience.topics).selectinload(Topic.parent),
    )


def experience_document(experience) -> IndexDocument:
    """The IndexDocument of a published experience."""
    from ..markup import markdown_to_text

    topic_words: list[str] = []
    tree: list[str] = []
    for topic in experience.topics:
        topic_words.append(topic.name_de)
        if topic.name_en:
            topic_words.append(topic.name_en)
        topic_words.extend(alias.alias for alias in topic.aliases)
        tree.append(topic.slug)
        for ancestor in topic.ancestors():
            tree.append(ancestor.slug)
            if ancestor.parent is not None:  # roots are too broad to describe a page
                topic_words.append(ancestor.name_de)
    contact = " ".join(filter(None, [experience.contact_name]))
    return IndexDocument(
        id=experience.id,
        slug=experience.slug,
        title=experience.title,
        body=markdown_to_text(experience.body),
        city=experience.city.slug if experience.city else "",
        city_name=experience.city.name if experience.city else "",
        topics=tuple(topic.slug for topic in experience.topics),
        topic_tree=tuple(dict.fromkeys(tree)),
        topic_text="\n".join(dict.fromkeys(topic_words)),
        kind=experience.kind,
        date=experience.published_at or experience.created_at,
        contact=contact,
    )


def published_documents(session, ids=None) -> list[IndexDocument]:
    """IndexDocuments of the published experiences (all, or those with `ids`)."""
    from ..wiki.models import Experience

    query = _experience_query().where(Experience.status == "published",
                                      Experience.deleted_at.is_(None))
    if ids is not None:
        query = query.where(Experience.id.in_(list(ids)))
    return [experience_document(row) for row in session.scalars(query.order_by(Experience.id))]


def build_lexicon(session, documents) -> set[str]:
    """Known compound parts: topic names and aliases, and nouns frequent in the corpus."""
    from ..cities.models import Topic, TopicAlias

    words: set[str] = set()
    for text in session.scalars(sa.select(Topic.name_de)):
        words.update(_WORD_RE.findall(text or ""))
    for text in session.scalars(sa.select(TopicAlias.alias)):
        words.update(_WORD_RE.findall(text or ""))
    words.update(frequent_nouns(documents))
    return {word.lower() for word in words}


def frequent_nouns(documents) -> set[str]:
    """Capitalised words (German nouns) found in at least LEXICON_MIN_DOCUMENTS documents."""
    counts = Counter()
    for document in documents:
        counts.update(set(_NOUN_RE.findall(f"{document.title}\n{document.body}")))
    return {word.lower() for word, count in counts.items() if count >= LEXICON_MIN_DOCUMENTS}


# --- writing --------------------------------------------------------------------------

def apply_outbox(*, blocking: bool = False, batch_size: int = OUTBOX_BATCH,
                 delete_rows: bool = True, rebuild_if_unavailable: bool = True) -> int | None:
    """Apply pending index work; returns rows applied, or None if another writer is busy.

    With delete_rows=False the index is brought up to date but the outbox rows stay
    (for callers whose own unfinished SQLite write would block the delete); a later
    apply replays and deletes them. A missing or damaged index is rebuilt, unless
    rebuild_if_unavailable is False (web requests): then IndexUnavailable is raised.
    """
    engine = get_engine()
    try:
        with engine.exclusive(blocking=blocking):
            try:
                return _apply_locked(engine, batch_size, delete_rows)
            except IndexUnavailable as error:
                if not rebuild_if_unavailable:
                    raise
                log.warning("search index unavailable (%s); rebuilding it from the database",
                            error)
                return _rebuild_locked(engine, delete_rows)[1]
    except EngineBusy:
        return None


def _apply_locked(engine: SearchEngine, batch_size: int, delete_rows: bool = True) -> int:
    applied = 0
    last_id = 0
    # Our own session: never commit (or roll back) the caller's unit of work.
    with Session(db.engine) as session:
        while True:
            rows = session.execute(
                sa.select(IndexTask.id, IndexTask.experience_id).where(IndexTask.id > last_id)
                .order_by(IndexTask.id).limit(batch_size)
            ).all()
            if not rows:
                session.commit()
                return applied
            experience_ids = sorted({row.experience_id for row in rows})
            documents = {document.id: document
                         for document in published_documents(session, experience_ids)}
            with engine.writer() as writer:
                for experience_id in experience_ids:
                    if experience_id in documents:
                        writer.update(documents[experience_id])
                    else:  # unpublished, deleted or gone: not searchable
                        writer.delete(experience_id)
            last_id = rows[-1].id
            applied += len(rows)
            if delete_rows:
                # Only after the index commit: delete exactly the rows we processed.
                session.execute(sa.delete(IndexTask).where(
                    IndexTask.id.in_([row.id for row in rows])))
                session.commit()


def reindex() -> int:
    """Rebuild the whole index from the database into a new generation, swap it in."""
    engine = get_engine()
    with engine.exclusive(blocking=True):
        count, _ = _rebuild_locked(engine)
    log.info("search index rebuilt with %d documents", count)
    return count


def _rebuild_locked(engine: SearchEngine, delete_rows: bool = True) -> tuple[int, int]:
    """Rebuild (caller holds the lock); returns (documents indexed, outbox rows done).

    Outbox rows seen before the documents are read are covered by the rebuild and
    deleted after the swap (after a bulk import, every document was otherwise indexed a
    second time from the outbox). Exactly those rows: one with a lower id may still be
    uncommitted and is not covered. Later rows are replayed: replaying is safe.
    """
    with Session(db.engine) as session:
        covered = list(session.scalars(sa.select(IndexTask.id)))
        documents = published_documents(session)
        lexicon = build_lexicon(session, documents)
        session.commit()
    count = engine.rebuild(documents, lexicon)
    if delete_rows and covered:
        with Session(db.engine) as session:
            for start in range(0, len(covered), OUTBOX_BATCH):
                session.execute(sa.delete(IndexTask).where(
                    IndexTask.id.in_(covered[start:start + OUTBOX_BATCH])))
            session.commit()
    else:
        covered = []
    return count, len(covered) + _apply_locked(engine, OUTBOX_BATCH, delete_rows)


def pending_count() -> int:
    """Number of outbox rows not yet applied."""
    with Session(db.engine) as session:
        return outbox_backlog(session)[0]


def outbox_backlog(session) -> tuple[int, float]:
    """(rows not yet applied, age of the oldest in seconds; 0 when none), in one SELECT."""
    from ..util import utcnow

    count, oldest = session.execute(
        sa.select(sa.func.count(), sa.func.min(IndexTask.created_at))).one()
    return count or 0, max(0.0, (utcnow() - oldest).total_seconds()) if oldest else 0.0


def status(verify: bool = False) -> dict:
    """Documents in the database vs. the index, the outbox, the index and the worker.

    verify=True also checks every index file against its checksum (reads them all).
    """
    from ..wiki.models import Experience
    from . import worker

    engine = get_engine()
    with Session(db.engine) as session:
        published = set(session.scalars(sa.select(Experience.id).where(
            Experience.status == "published", Experience.deleted_at.is_(None))))
        pending, lag = outbox_backlog(session)
    try:
        indexed = engine.document_ids()
    except IndexUnavailable:
        indexed = None
    health = engine.health()
    info = {
        "database": len(published),
        "index": None if indexed is None else len(indexed),
        "missing": None if indexed is None else len(published - indexed),
        "stale": None if indexed is None else len(indexed - published),
        "pending": pending,
        "lag_seconds": round(lag, 1),
        "generation": health["current"],
        "serving": health["serving"],
        "damaged": health["damaged"],
    }
    if verify:
        info["problems"] = engine.verify()
    info.update(worker.report())
    return info
