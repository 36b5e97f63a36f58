"""The export: every record as one JSON line, in a deterministic order, read in one snapshot.

Cities, users (without password hashes), topics (parents first), interests, experiences
with all revisions, projects with participants, comments and events, visits with
delegation and agenda, and notifications; the format is documented in
docs/import-export.md. Records name each other by natural keys (slugs, e-mail addresses,
the public keys of projects and visits), never by database ids.
"""
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from ..auth.models import User
from ..cities.models import City, Interest, Topic
from ..extensions import db
from ..generated import map_topic_references
from ..projects.models import Notification, Project, ProjectParticipant
from ..visits.models import AgendaSession, Visit
from ..wiki.models import Experience, Revision

#: A site-relative link to a project page; its id becomes PROJECT_PLACEHOLDER in the export.
PROJECT_LINK = re.compile(r"^(?P<head>(?:/[^/?#]+)*/projekte/)(?P<id>\d+)(?P<tail>[/?#].*)?$")
#: Where a notification's link names its project (the `project` field gives the key).
PROJECT_PLACEHOLDER = "{project}"

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
    emails = {}
    for user in session.scalars(sa.select(User).options(selectinload(User.city))
                                .order_by(User.email)):
        emails[user.id] = user.email
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
    names = Names(session, emails, slugs)
    yield from project_records(session, names)
    yield from visit_records(session, names)
    yield from _notification_records(session, names)


class Names:
    """The natural keys of the rows projects, visits and notifications point to, by id."""

    def __init__(self, session: Session, emails: dict | None = None, topics: dict | None = None):
        if emails is None:
            emails = dict(session.execute(sa.select(User.id, User.email)).all())
        self.emails, self.topics = emails, topics or {}
        self.cities = dict(session.execute(sa.select(City.id, City.slug)).all())
        self.experiences = dict(session.execute(sa.select(Experience.id, Experience.slug)).all())
        self.projects = dict(session.execute(sa.select(Project.id, Project.key)).all())

    def email(self, user_id):
        return self.emails.get(user_id) if user_id is not None else None

    def city(self, city_id):
        return self.cities.get(city_id) if city_id is not None else None

    def experience(self, experience_id):
        return self.experiences.get(experience_id) if experience_id is not None else None


def portable_generated(generated):
    """A `generated` column without database ids: topics are named by slug (and German name)."""
    if generated is None:
        return None
    return map_topic_references(
        generated, lambda reference: {name: value for name, value in reference.items()
                                      if name != "id"})


def project_records(session: Session, names: Names, query=None) -> Iterator[dict]:
    """Project records, of every project or those `query` selects."""
    query = sa.select(Project) if query is None else query
    projects = session.scalars(
        query.order_by(Project.created_at, Project.key).options(
            selectinload(Project.topics), selectinload(Project.participants),
            selectinload(Project.comments), selectinload(Project.events)))
    for project in projects:
        participants = sorted(project.participants, key=lambda p: p.id)
        comments = sorted(project.comments, key=lambda c: (c.created_at, c.id))
        numbers = {comment.id: number for number, comment in enumerate(comments, start=1)}
        events = sorted(project.events, key=lambda e: (e.created_at, e.id))
        yield {
            "type": "project", "key": project.key, "city": names.city(project.initiator_city_id),
            "title": project.title, "description": project.description or "",
            "state": project.state, "topics": sorted(topic.slug for topic in project.topics),
            "created_by": names.email(project.created_by_id),
            "from_match_city": names.city(project.from_match_city_id),
            "report": names.experience(project.report_experience_id),
            "created_at": _time(project.created_at), "updated_at": _time(project.updated_at),
            "participants": [_participant_record(participant, names)
                             for participant in participants],
            "comments": [{"number": numbers[comment.id], "author": names.email(comment.author_id),
                          "body": comment.body, "created_at": _time(comment.created_at)}
                         for comment in comments],
            "events": [{"kind": event.kind, "actor": names.email(event.actor_id),
                        "city": names.city(event.city_id), "message": event.message or "",
                        "comment": numbers.get(event.comment_id),
                        "created_at": _time(event.created_at)} for event in events],
        }


def _participant_record(participant: ProjectParticipant, names: Names) -> dict:
    return {"city": names.city(participant.city_id), "role": participant.role,
            "response": participant.response, "message": participant.message or "",
            "invited_at": _time(participant.invited_at),
            "responded_at": _time(participant.responded_at),
            "responded_by": names.email(participant.responded_by_id)}


def visit_records(session: Session, names: Names, query=None) -> Iterator[dict]:
    """Visit records, of every visit or those `query` selects."""
    query = sa.select(Visit) if query is None else query
    visits = session.scalars(
        query.order_by(Visit.created_at, Visit.key).options(
            selectinload(Visit.topics), selectinload(Visit.members),
            selectinload(Visit.sessions).selectinload(AgendaSession.topics),
            selectinload(Visit.sessions).selectinload(AgendaSession.experience_links)))
    for visit in visits:
        # The planner's order, as stored; the rank orders the linked experiences.
        sessions = sorted(visit.sessions, key=lambda s: (s.position, s.id))
        members = sorted(visit.members, key=lambda m: m.id)
        yield {
            "type": "visit", "key": visit.key, "title": visit.title,
            "host_city": names.city(visit.host_city_id),
            "visiting_city": names.city(visit.visiting_city_id),
            "starts_at": _time(visit.starts_at), "ends_at": _time(visit.ends_at),
            "place": visit.place or "", "address": visit.address or "", "status": visit.status,
            "notes": visit.notes or "", "outcomes": visit.outcomes or "",
            "topics": sorted(topic.slug for topic in visit.topics),
            "created_by": names.email(visit.created_by_id),
            "report": names.experience(visit.report_experience_id),
            "created_at": _time(visit.created_at), "updated_at": _time(visit.updated_at),
            "members": [{"user": names.email(member.user_id), "guest_name": member.guest_name,
                         "role": member.role or "", "organisation": member.organisation or "",
                         "side": member.side} for member in members],
            "sessions": [{
                "position": item.position, "title": item.title,
                "starts_at": _time(item.starts_at), "ends_at": _time(item.ends_at),
                "room": item.room or "", "kind": item.kind,
                "description": item.description or "", "open_questions": item.open_questions or "",
                "topics": sorted(topic.slug for topic in item.topics),
                "experiences": [names.experience(link.experience_id) for link in
                                sorted(item.experience_links,
                                       key=lambda link: (link.rank, link.experience_id))],
                "generated": portable_generated(item.generated),
            } for item in sessions],
        }


def _notification_records(session: Session, names: Names) -> Iterator[dict]:
    notifications = session.execute(
        sa.select(Notification, User.email).join(User, Notification.user_id == User.id)
        .order_by(User.email, Notification.created_at, Notification.id))
    for notification, email in notifications:
        link, project = notification.link or "", None
        match = PROJECT_LINK.match(link)
        if match and int(match["id"]) in names.projects:
            project = names.projects[int(match["id"])]
            link = match["head"] + PROJECT_PLACEHOLDER + (match["tail"] or "")
        yield {"type": "notification", "user": email, "kind": notification.kind,
               "title": notification.title, "body": notification.body or "", "link": link,
               "project": project, "created_at": _time(notification.created_at),
               "read_at": _time(notification.read_at),
               "generated": portable_generated(notification.generated)}


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
