"""The export: every record as one JSON line, in a deterministic order, read in one snapshot.

Cities, users (without password hashes), topics (parents first), interests and experiences
with all revisions; the format is documented in docs/import-export.md.
"""
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from ..auth.models import User
from ..cities.models import City, Interest, Topic
from ..extensions import db
from ..wiki.models import Experience, Revision

def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _topic_preorder(topics: list[Topic]) -> list[Topic]:
    """Topics with every parent before its children; siblings sorted by slug."""
    children: dict[int | None, list[Topic]] = {}
    for topic in topics:
        children.setdefault(topic.parent_id, []).append(topic)
    ordered, stack = [], sorted(children.get(None, []), key=lambda t: t.slug, reverse=True)
    while stack:
        topic = stack.pop()
        ordered.append(topic)
        stack.extend(sorted(children.get(topic.id, []), key=lambda t: t.slug, reverse=True))
    return ordered


@contextmanager
def snapshot_session() -> Iterator[Session]:
    """A read-only session whose queries all see the database as one committed state.

    It has a connection and a transaction of its own, so nothing that commits, rolls back
    or expires `db.session` meanwhile can end the snapshot; it is rolled back at the end.
    PostgreSQL: REPEATABLE READ, READ ONLY (the default READ COMMITTED takes a new snapshot
    per statement). SQLite: an explicit BEGIN, because the pysqlite driver would run each
    SELECT in a transaction of its own; the read transaction then keeps the snapshot of its
    first SELECT until it ends. Without WAL it also makes writers wait for it to end.
    """
    with db.engine.connect() as connection:
        dialect = connection.dialect.name
        if dialect != "sqlite":
            options = {"postgresql_readonly": True} if dialect == "postgresql" else {}
            connection.execution_options(isolation_level="REPEATABLE READ", **options)
        transaction = connection.begin()
        if dialect == "sqlite":
            connection.exec_driver_sql("BEGIN")
        session = Session(bind=connection, autoflush=False)
        try:
            yield session
        finally:
            session.close()
            transaction.rollback()


def export_records(session: Session) -> Iterator[dict]:
    """Every exportable row as a plain dict, in the file's order, read through `session`.

    Give it a snapshot_session() so that all tables are read as of one moment.
    """
    for city in session.scalars(sa.select(City).order_by(City.slug)):
        yield {"type": "city", "slug": city.slug, "name": city.name, "state": city.state,
               "ags": city.ags, "population": city.population, "website": city.website,
               "profile": city.profile or "", "created_at": _time(city.created_at)}
    for user in session.scalars(sa.select(User).options(selectinload(User.city))
                                .order_by(User.email)):
        yield {"type": "user", "email": user.email, "display_name": user.display_name,
               "city": user.city.slug if user.city else None, "role": user.role,
               "is_admin": bool(user.is_admin), "is_approved": bool(user.is_approved),
               "locale": user.locale, "created_at": _time(user.created_at)}
    topics = session.scalars(sa.select(Topic).options(selectinload(Topic.aliases))).all()
    slugs = {topic.id: topic.slug for topic in topics}
    for topic in _topic_preorder(topics):
        yield {"type": "topic", "slug": topic.slug, "name_de": topic.name_de,
               "name_en": topic.name_en, "description": topic.description or "",
               "description_en": topic.description_en,
               "parent": slugs.get(topic.parent_id), "ozg_key": topic.ozg_key,
               "aliases": sorted(alias.alias for alias in topic.aliases)}
    interests = session.execute(
        sa.select(Interest, City.slug, Topic.slug).join(City, Interest.city_id == City.id)
        .join(Topic, Interest.topic_id == Topic.id).order_by(City.slug, Topic.slug)
    ).all()
    for interest, city_slug, topic_slug in interests:
        yield {"type": "interest", "city": city_slug, "topic": topic_slug,
               "stance": interest.stance, "maturity": interest.maturity,
               "note": interest.note or "", "updated_at": _time(interest.updated_at)}
    experiences = session.scalars(
        sa.select(Experience).order_by(Experience.slug).options(
            selectinload(Experience.city), selectinload(Experience.topics),
            selectinload(Experience.revisions).selectinload(Revision.author))
    )
    for experience in experiences:
        yield _experience_record(experience)


def _experience_record(experience: Experience) -> dict:
    numbers = {revision.id: revision.number for revision in experience.revisions}
    current = experience.current_revision
    return {
        "type": "experience", "slug": experience.slug, "city": experience.city.slug,
        "title": current.title if current else experience.title,
        "body": current.body if current else "",
        "kind": experience.kind, "status": experience.status,
        "topics": sorted(topic.slug for topic in experience.topics),
        "contact_name": experience.contact_name, "contact_email": experience.contact_email,
        "created_at": _time(experience.created_at), "updated_at": _time(experience.updated_at),
        "published_at": _time(experience.published_at),
        "deleted_at": _time(experience.deleted_at),
        "current_revision": current.number if current else None,
        "revisions": [
            {"number": revision.number, "title": revision.title, "body": revision.body,
             "summary": revision.summary or "",
             "author": revision.author.email if revision.author else None,
             "created_at": _time(revision.created_at),
             "restored_from": numbers.get(revision.restored_from_id)}
            for revision in experience.revisions
        ],
    }


def export_jsonl(handle) -> int:
    """Write every record as one JSON line to the text stream `handle`; returns the count.

    The whole export is read in one snapshot, so it is consistent even while others write.
    """
    count = 0
    with snapshot_session() as session:
        for record in export_records(session):
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count
