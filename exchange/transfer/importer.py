"""The import: validated records applied in file order, idempotent by natural keys.

Cities, users, topics and interests go through the ORM one line at a time; experiences are
planned and written in batches with Core statements (_ExperienceBatch). The rules are in
docs/import-export.md.
"""
from collections.abc import Iterable

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from ..auth.models import User
from ..cities.models import City, Interest, Topic, TopicAlias
from ..extensions import db
from ..generated import map_topic_references
from ..projects.models import (Notification, Project, ProjectComment, ProjectEvent,
                               ProjectParticipant)
from ..search.models import IndexTask
from ..util import utcnow
from ..visits.models import AgendaSession, AgendaSessionExperience, Visit, VisitMember
from ..wiki.models import Experience, Revision, excerpt_of, experience_topics
from ..wiki.services import auto_slug
from .export import PROJECT_PLACEHOLDER, Names, visit_records
from .schema import TYPES, Known, TransferError, parse_time, read_lines, validate

#: Hand-written experiences are meant to be read: they are published unless told otherwise.
DEFAULT_IMPORT_STATUS = "published"


class _Counter:
    """What an import created and changed, for the summary line."""

    def __init__(self):
        self.created = dict.fromkeys(TYPES, 0)
        self.updated = dict.fromkeys(TYPES, 0)
        self.revisions = 0

    def summary(self) -> str:
        names = {"city": _("Städte"), "user": _("Benutzer"), "topic": _("Themen"),
                 "interest": _("Interessen"), "experience": _("Erfahrungen"),
                 "project": _("Projekte"), "visit": _("Besuche"),
                 "notification": _("Benachrichtigungen")}
        created = ", ".join(f"{self.created[kind]} {names[kind]}" for kind in TYPES)
        updated = sum(self.updated.values())
        return _("Import: %(created)s neu; %(updated)s geändert; %(revisions)s neue Versionen.",
                 created=created, updated=updated, revisions=self.revisions)


def _assign(obj, values: dict) -> bool:
    """Set attributes that differ; True when anything changed."""
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _given(record: dict, names: Iterable[str], convert=None) -> dict:
    """The fields of `names` present in the record (converted); absent ones stay untouched."""
    values = {}
    for name in names:
        if name in record:
            value = record[name]
            values[name] = convert(name, value) if convert else value
    return values


def _times(name, value):
    return parse_time(value) if name.endswith("_at") and value is not None else value


class _Importer:
    """Applies validated records in file order, every lookup served from memory.

    Cities, users, topics and interests go through the ORM, one flush per line so that a
    database error names its line; the rows they are matched with are loaded once, on
    first use. Experiences are collected and written EXPERIENCE_BATCH at a time with Core
    executemany statements (_ExperienceBatch): through the ORM each one cost 4-5 flushes
    and several lazy loads (figures in docs/import-export.md, "Import").
    """

    def __init__(self):
        self.count = _Counter()
        self._cities = self._users = self._topics = self._interests = None
        self._notifications = self._names = None
        #: slug -> id of every stored experience; grows with each batch written.
        self.experience_ids = dict(db.session.execute(
            sa.select(Experience.slug, Experience.id)).all())
        #: Experience lines not yet written, by slug, in file order.
        self.batch: dict[str, tuple[int, dict]] = {}
        #: First and last line of the write in progress (named when the database refuses it).
        self.lines: tuple[int, int] | None = None

    # Rows to match, loaded on first use: one SELECT each instead of one per line.

    @property
    def cities(self) -> dict[str, City]:
        """Every city by slug, with those the file added."""
        if self._cities is None:
            self._cities = {city.slug: city for city in db.session.scalars(sa.select(City))}
        return self._cities

    @property
    def users(self) -> dict[str, User]:
        """Every user by (lower-case) e-mail, with those the file added."""
        if self._users is None:
            self._users = {user.email: user for user in db.session.scalars(sa.select(User))}
        return self._users

    @property
    def topics(self) -> dict[str, Topic]:
        """Every topic by slug, aliases loaded, with those the file added."""
        if self._topics is None:
            self._topics = {topic.slug: topic for topic in db.session.scalars(
                sa.select(Topic).options(selectinload(Topic.aliases)))}
        return self._topics

    @property
    def interests(self) -> dict[tuple[str, str], Interest]:
        """Every interest by (city slug, topic slug), with those the file added."""
        if self._interests is None:
            self._interests = {(city, topic): interest for interest, city, topic in
                               db.session.execute(
                                   sa.select(Interest, City.slug, Topic.slug)
                                   .join(City, Interest.city_id == City.id)
                                   .join(Topic, Interest.topic_id == Topic.id))}
        return self._interests

    def user_id(self, email: str | None) -> int | None:
        """The id of the user with this e-mail (validated to exist), None for no author."""
        return None if email is None else self.users[email.strip().lower()].id

    # Applying.

    def apply(self, number: int, record: dict) -> None:
        """Apply one line now, or (experiences) add it to the batch."""
        if record["type"] == "experience":
            slug = record.get("slug") or auto_slug(record["title"])
            if slug in self.batch:
                self.write_experiences()  # the later line must see what the earlier one wrote
            self.batch[slug] = (number, record)
            if len(self.batch) >= EXPERIENCE_BATCH:
                self.write_experiences()
            return
        self.lines = (number, number)
        if record["type"] in ("project", "visit", "notification"):
            self.write_experiences()  # they name experiences (reports, agenda links)
            self.lines = (number, number)
        getattr(self, record["type"])(record)
        db.session.flush()

    def finish(self) -> None:
        """Write the last batch; objects loaded before show what the Core statements wrote."""
        self.write_experiences()
        for obj in list(db.session.identity_map.values()):
            if isinstance(obj, (Experience, Revision)):
                db.session.expire(obj)

    def write_experiences(self) -> None:
        """Plan and write the collected experience lines (cities and users are flushed)."""
        if not self.batch:
            return
        batch, self.batch = list(self.batch.items()), {}
        self.lines = (batch[0][1][0], batch[-1][1][0])
        _ExperienceBatch(self, batch).write()

    def city(self, record):
        values = _given(record, ("name", "state", "ags", "population", "website", "profile",
                                 "created_at"), _times)
        city = self.cities.get(record["slug"])
        if city is None:
            city = City(slug=record["slug"], **{"profile": "", **values})
            db.session.add(city)
            self.cities[city.slug] = city
            self.count.created["city"] += 1
        elif _assign(city, values):
            self.count.updated["city"] += 1

    def user(self, record):
        values = _given(record, ("display_name", "role", "is_admin", "is_approved", "locale",
                                 "created_at"), _times)
        if "city" in record:
            values["city"] = self.cities[record["city"]] if record["city"] else None
        email = record["email"].strip().lower()
        user = self.users.get(email)
        if user is None:
            values.setdefault("display_name", email)
            user = User(email=email, **values)
            db.session.add(user)
            self.users[email] = user
            self.count.created["user"] += 1
        elif _assign(user, values):
            self.count.updated["user"] += 1

    def topic(self, record):
        values = _given(record, ("name_de", "name_en", "description", "description_en",
                                 "ozg_key"))
        if "parent" in record:
            values["parent"] = self.topics[record["parent"]] if record["parent"] else None
        topic = self.topics.get(record["slug"])
        changed = created = False
        if topic is None:
            created = True
            topic = Topic(slug=record["slug"], **{"description": "", **values})
            db.session.add(topic)
            self.topics[topic.slug] = topic
            self.count.created["topic"] += 1
        else:
            changed = _assign(topic, values)
        present = {alias.alias for alias in topic.aliases}
        for alias in record.get("aliases") or ():
            if alias not in present:
                topic.aliases.append(TopicAlias(alias=alias))
                present.add(alias)
                changed = True
        if changed and not created:
            self.count.updated["topic"] += 1

    def interest(self, record):
        key = (record["city"], record["topic"])
        values = _given(record, ("stance", "maturity", "note", "updated_at"), _times)
        interest = self.interests.get(key)
        if interest is None:
            interest = Interest(city=self.cities[key[0]], topic=self.topics[key[1]], **values)
            db.session.add(interest)
            self.interests[key] = interest
            self.count.created["interest"] += 1
        elif _assign(interest, values):
            self.count.updated["interest"] += 1


    # Projects, visits and notifications: few rows, through the ORM like cities.

    def user_or_none(self, email):
        return self.users[email.strip().lower()] if email else None

    def city_or_none(self, slug):
        return self.cities[slug] if slug else None

    def experience_id(self, slug):
        return self.experience_ids[slug] if slug else None

    def stored_generated(self, generated):
        """A line's `generated` object with the ids of this database's topics put back."""
        if generated is None:
            return None
        topics = self.topics

        def with_id(reference):
            topic = topics.get(reference.get("slug"))
            rest = {name: value for name, value in reference.items() if name != "id"}
            return {"id": topic.id, **rest} if topic is not None else rest

        return map_topic_references(generated, with_id)

    def project(self, record):
        """Create the project, or bring a stored earlier state of it up to the line's (the
        checks made sure the stored one is a prefix: comments and events are appended)."""
        project = db.session.scalar(sa.select(Project).where(Project.key == record["key"]))
        now = utcnow()
        values = _given(record, ("title", "description", "state", "updated_at"), _times)
        if "topics" in record:
            values["topics"] = [self.topics[slug] for slug in record["topics"]]
        if "created_by" in record:
            values["created_by"] = self.user_or_none(record["created_by"])
        if "from_match_city" in record:
            values["from_match_city"] = self.city_or_none(record["from_match_city"])
        if "report" in record:
            values["report_experience_id"] = self.experience_id(record["report"])
        created = project is None
        if created:
            stamp = _times("created_at", record.get("created_at")) or now
            project = Project(key=record["key"], initiator_city=self.cities[record["city"]],
                              created_at=stamp, **{"description": "", "state": "draft",
                                                   "updated_at": stamp, **values})
            db.session.add(project)
            if "participants" not in record:  # what propose_project starts with
                project.participants.append(ProjectParticipant(
                    city=project.initiator_city, role="initiator", response="accepted",
                    invited_at=stamp, responded_at=stamp, responded_by=project.created_by))
            changed = True
        else:
            if "topics" in values and {t.id for t in values["topics"]} == {
                    t.id for t in project.topics}:
                del values["topics"]
            changed = _assign(project, values)
        changed |= self._participants(project, record.get("participants"), now)
        comments = sorted(project.comments, key=lambda c: (c.created_at, c.id))
        for data in (record.get("comments") or [])[len(comments):]:
            comment = ProjectComment(author=self.user_or_none(data.get("author")),
                                     body=data["body"],
                                     created_at=_times("created_at", data.get("created_at")) or now)
            project.comments.append(comment)
            comments.append(comment)
            changed = True
        stored_events = len(project.events)
        for data in (record.get("events") or [])[stored_events:]:
            number = data.get("comment")
            project.events.append(ProjectEvent(
                kind=data["kind"], actor=self.user_or_none(data.get("actor")),
                city=self.city_or_none(data.get("city")), message=data.get("message") or "",
                comment=comments[number - 1] if number else None,
                created_at=_times("created_at", data.get("created_at")) or now))
            changed = True
        if changed and not created and "updated_at" not in record:
            project.updated_at = now
        if created:
            self.count.created["project"] += 1
        elif changed:
            self.count.updated["project"] += 1

    def _participants(self, project, participants, now) -> bool:
        if participants is None:
            return False
        changed = False
        by_city = {participant.city_id: participant for participant in project.participants}
        for data in participants:
            city = self.cities[data["city"]]
            values = _given(data, ("role", "response", "message", "invited_at",
                                   "responded_at"), _times)
            if "responded_by" in data:
                values["responded_by"] = self.user_or_none(data["responded_by"])
            participant = by_city.get(city.id)
            if participant is None:
                project.participants.append(ProjectParticipant(
                    city=city, **{"role": "invited", "response": "pending", "message": "",
                                  "invited_at": now, **values}))
                changed = True
            else:
                changed |= _assign(participant, values)
        return changed

    def visit(self, record):
        """Create the visit, or write the line's fields, delegation and agenda over a stored
        visit that is not newer (the checks refused a newer one)."""
        visit = db.session.scalar(sa.select(Visit).where(Visit.key == record["key"]))
        now = utcnow()
        values = _given(record, ("title", "starts_at", "ends_at", "place", "address", "status",
                                 "notes", "outcomes", "updated_at"), _times)
        for name in ("host_city", "visiting_city"):
            if name in record:
                values[name] = self.cities[record[name]]
        if "topics" in record:
            values["topics"] = [self.topics[slug] for slug in record["topics"]]
        if "created_by" in record:
            values["created_by"] = self.user_or_none(record["created_by"])
        if "report" in record:
            values["report_experience_id"] = self.experience_id(record["report"])
        created = visit is None
        if created:
            stamp = _times("created_at", record.get("created_at")) or now
            visit = Visit(key=record["key"], created_at=stamp,
                          **{"updated_at": stamp, **values})
            db.session.add(visit)
            changed = True
        else:
            if "topics" in values and {t.id for t in values["topics"]} == {
                    t.id for t in visit.topics}:
                del values["topics"]
            changed = _assign(visit, values)
        # Delegation and agenda are replaced as a whole when they differ from the line.
        current = (next(self.visit_records(visit)) if not created else {})
        if "members" in record and current.get("members") != [
                _member_as_exported(data) for data in record["members"]]:
            visit.members.clear()
            db.session.flush()  # the old rows go before the same people are added again
            visit.members.extend(self._member(data) for data in record["members"])
            changed = True
        if "sessions" in record and current.get("sessions") != [
                _session_as_exported(data, position)
                for position, data in enumerate(record["sessions"], start=1)]:
            visit.sessions.clear()
            db.session.flush()
            visit.sessions.extend(self._session(data, position)
                                  for position, data in enumerate(record["sessions"], start=1))
            changed = True
        if changed and not created:
            # The row's own onupdate would say "now"; the line's time is the visit's.
            visit.updated_at = values.get("updated_at") or now
        if created:
            self.count.created["visit"] += 1
        elif changed:
            self.count.updated["visit"] += 1

    def visit_records(self, visit):
        """The stored visit as the export writes it (to compare with the line)."""
        db.session.flush()
        if self._names is None:  # stored visits name stored rows only: read once
            self._names = Names(db.session)
        return visit_records(db.session, self._names, sa.select(Visit).where(Visit.id == visit.id))

    def _member(self, data) -> VisitMember:
        user = self.user_or_none(data.get("user"))
        return VisitMember(user=user, guest_name=None if user else data.get("guest_name"),
                           role=data.get("role") or "",
                           organisation=data.get("organisation") or "",
                           side=data.get("side") or "guest")

    def _session(self, data, position) -> AgendaSession:
        session = AgendaSession(
            position=data.get("position", position), title=data["title"],
            starts_at=_times("starts_at", data["starts_at"]),
            ends_at=_times("ends_at", data["ends_at"]), room=data.get("room") or "",
            kind=data.get("kind") or "custom", description=data.get("description") or "",
            open_questions=data.get("open_questions") or "",
            generated=self.stored_generated(data.get("generated")))
        session.topics = [self.topics[slug] for slug in data.get("topics") or ()]
        session.experience_links = [
            AgendaSessionExperience(experience_id=self.experience_ids[slug], rank=rank)
            for rank, slug in enumerate(data.get("experiences") or ())]
        return session

    @property
    def notifications(self) -> dict:
        """Stored notifications by (e-mail, kind, title, body, link), each a list in id order."""
        if self._notifications is None:
            self._notifications = {}
            for notification, email in db.session.execute(
                    sa.select(Notification, User.email).join(User, Notification.user_id == User.id)
                    .order_by(Notification.id)):
                key = (email, notification.kind, notification.title, notification.body or "",
                       notification.link or "")
                self._notifications.setdefault(key, []).append(notification)
        return self._notifications

    def notification(self, record):
        """Match the line with a stored notification of the same person, text, link and
        time (a reading flag is only ever set, never cleared), else add it."""
        user = self.users[record["user"].strip().lower()]
        link = record.get("link") or ""
        if record.get("project"):
            project_id = db.session.scalar(sa.select(Project.id)
                                           .where(Project.key == record["project"]))
            link = link.replace(PROJECT_PLACEHOLDER, str(project_id))
        key = (user.email, record["kind"], record["title"], record.get("body") or "", link)
        created_at, read_at = (_times(name, record.get(name)) for name in ("created_at",
                                                                           "read_at"))
        candidates = self.notifications.setdefault(key, [])
        match = next((n for n in candidates if created_at is None
                      or n.created_at == created_at), None)
        if match is not None:
            candidates.remove(match)  # the same line twice in one file is two notifications
            if match.read_at is None and read_at is not None:
                match.read_at = read_at
                self.count.updated["notification"] += 1
            return
        notification = Notification(user=user, kind=record["kind"], title=record["title"],
                                    body=record.get("body") or "", link=link,
                                    created_at=created_at or utcnow(), read_at=read_at,
                                    generated=self.stored_generated(record.get("generated")))
        db.session.add(notification)
        self.count.created["notification"] += 1


def _member_as_exported(data: dict) -> dict:
    """A line's delegation member as the export would write it once imported."""
    email = data["user"].strip().lower() if data.get("user") else None
    return {"user": email, "guest_name": None if email else data.get("guest_name"),
            "role": data.get("role") or "", "organisation": data.get("organisation") or "",
            "side": data.get("side") or "guest"}


def _session_as_exported(data: dict, position: int) -> dict:
    """A line's agenda session as the export would write it once imported."""
    return {"position": data.get("position", position), "title": data["title"],
            "starts_at": parse_time(data["starts_at"]).isoformat(),
            "ends_at": parse_time(data["ends_at"]).isoformat(), "room": data.get("room") or "",
            "kind": data.get("kind") or "custom", "description": data.get("description") or "",
            "open_questions": data.get("open_questions") or "",
            "topics": sorted(data.get("topics") or ()),
            "experiences": list(data.get("experiences") or ()),
            "generated": data.get("generated")}


#: Experience lines written together, with one statement per table (executemany).
EXPERIENCE_BATCH = 1000
#: Stored experiences read per SELECT ... WHERE id IN (...).
_LOAD_CHUNK = 500
#: The columns of an experience row that an import reads and may change.
_EXPERIENCE_COLUMNS = ("id", "slug", "city_id", "title", "excerpt", "kind", "status",
                       "contact_name", "contact_email", "current_revision_id", "created_at",
                       "updated_at", "published_at", "deleted_at")
_UPDATABLE = _EXPERIENCE_COLUMNS[3:]


def _select_in(select, column, values: list):
    """Rows of `select` WHERE column IN values, _LOAD_CHUNK values per statement."""
    for start in range(0, len(values), _LOAD_CHUNK):
        yield from db.session.execute(select.where(column.in_(values[start:start + _LOAD_CHUNK])))


class _Page:
    """One experience while its batch is planned: row, revisions and topics as plain data."""

    __slots__ = ("row", "stored", "revisions", "revision_ids", "topics", "new_topics",
                 "new_revisions", "current_number", "enqueue")

    def __init__(self, row: dict, revisions=(), topics=()):
        #: Column -> value as it will be written (without "id" until a new row is inserted).
        self.row = row
        #: The row as read; None for a new experience.
        self.stored = dict(row) if "id" in row else None
        #: Stored revisions (id, number, title, body), by number.
        self.revisions = list(revisions)
        self.revision_ids = {revision["number"]: revision["id"] for revision in self.revisions}
        self.topics = set(topics)
        #: Topic ids the experience is to have, when they change.
        self.new_topics: set[int] | None = None
        self.new_revisions: list[dict] = []
        self.current_number: int | None = None
        self.enqueue = False


class _ExperienceBatch:
    """Experience lines planned on plain data, then written with a few Core statements.

    The rules are those of docs/import-export.md: the file's history taken over or one new
    revision on top (_plan_revisions), only the given fields written, a new page published
    unless told otherwise, and one search outbox row per created or changed experience (the
    row search.outbox.enqueue adds, here inserted for the whole batch at once). The
    statements run through the session, so the matching hooks see the INSERTs and UPDATEs
    of `experiences` and `experience_topics` and bump the versions at commit.
    """

    def __init__(self, importer: _Importer, batch: list[tuple[str, tuple[int, dict]]]):
        self.importer = importer
        self.count = importer.count
        self.now = utcnow()
        self.import_summary = _("Import")
        stored = self._load([importer.experience_ids[slug] for slug, _entry in batch
                             if slug in importer.experience_ids])
        self.pages = []
        for slug, (_number, record) in batch:
            page = stored.get(importer.experience_ids.get(slug))
            if page is None:
                page = _Page({"slug": slug, "city_id": importer.cities[record["city"]].id,
                              "title": record["title"], "excerpt": "", "kind": "lesson_learned",
                              "status": "draft", "contact_name": None, "contact_email": None,
                              "created_at": self.now, "updated_at": self.now,
                              "published_at": None, "deleted_at": None})
            self._plan(page, record)
            self.pages.append(page)

    @staticmethod
    def _load(ids: list[int]) -> dict[int, _Page]:
        """The stored experiences with these ids, with revisions and topic ids."""
        table, revisions, links = Experience.__table__, Revision.__table__, experience_topics
        rows, history, topics = {}, {}, {}
        for start in range(0, len(ids), _LOAD_CHUNK):
            chunk = ids[start:start + _LOAD_CHUNK]
            for row in db.session.execute(
                    sa.select(*(table.c[name] for name in _EXPERIENCE_COLUMNS))
                    .where(table.c.id.in_(chunk))).mappings():
                rows[row["id"]] = dict(row)
            for row in db.session.execute(
                    sa.select(revisions.c.id, revisions.c.experience_id, revisions.c.number,
                              revisions.c.title, revisions.c.body)
                    .where(revisions.c.experience_id.in_(chunk))
                    .order_by(revisions.c.experience_id, revisions.c.number)):
                history.setdefault(row.experience_id, []).append(
                    {"id": row.id, "number": row.number, "title": row.title, "body": row.body})
            for experience_id, topic_id in db.session.execute(
                    sa.select(links.c.experience_id, links.c.topic_id)
                    .where(links.c.experience_id.in_(chunk))):
                topics.setdefault(experience_id, set()).add(topic_id)
        return {id_: _Page(row, history.get(id_, ()), topics.get(id_, ()))
                for id_, row in rows.items()}

    def _plan(self, page: _Page, record: dict) -> None:
        """What the line changes, on the page's plain data (nothing is written yet)."""
        created = page.stored is None
        outcome = self._plan_revisions(page, record)
        changed = outcome is not None
        values = _given(record, ("kind", "contact_name", "contact_email", "status",
                                 "published_at", "deleted_at"), _times)
        if created and "status" not in values:
            values["status"] = DEFAULT_IMPORT_STATUS
        if values.get("status") == "published" and "published_at" not in values \
                and page.row["published_at"] is None:
            values["published_at"] = self.now
        if values.get("status") == "draft" and "published_at" not in values:
            values["published_at"] = None
        for name, value in values.items():
            if page.row[name] != value:
                page.row[name] = value
                changed = True
        if "topics" in record:
            topics = {self.importer.topics[slug].id for slug in record["topics"]}
            if topics != page.topics:
                page.new_topics = topics
                changed = True
        if created or changed:
            if created or outcome == "history":
                # The file's history is taken over as it is, timestamps included.
                stamps = _given(record, ("created_at", "updated_at"), _times)
                if not created:
                    stamps.pop("created_at", None)
            else:
                stamps = {"updated_at": self.now}
            page.row.update((name, value) for name, value in stamps.items() if value is not None)
            page.enqueue = True
        if created:
            self.count.created["experience"] += 1
        elif changed:
            self.count.updated["experience"] += 1

    def _plan_revisions(self, page: _Page, record: dict) -> str | None:
        """Bring the revisions up to the record's text.

        Returns "history" when the file's revisions are appended exactly, "new_text" when
        one new revision carries the record's text, None when the text is already current.
        """
        existing = page.revisions
        incoming = sorted(record.get("revisions") or (), key=lambda r: r["number"])
        if incoming and all(
            index < len(incoming) and incoming[index]["number"] == old["number"]
            and (incoming[index]["title"], incoming[index]["body"]) == (old["title"], old["body"])
            for index, old in enumerate(existing)
        ):
            # The stored history is a prefix of the file's: append the rest exactly.
            missing = incoming[len(existing):]
            for data in missing:
                page.new_revisions.append({
                    "number": data["number"], "title": data["title"], "body": data["body"],
                    "summary": data.get("summary") or "",
                    "author_id": self.importer.user_id(data.get("author")),
                    "created_at": _times("created_at", data.get("created_at")) or self.now,
                    "restored_from": data.get("restored_from")})
            number = record.get("current_revision") or incoming[-1]["number"]
            current = next(data for data in incoming if data["number"] == number)
            moved = page.row.get("current_revision_id") != page.revision_ids.get(number)
            page.current_number = number
            page.row["title"] = current["title"]
            if missing or moved:
                page.row["excerpt"] = excerpt_of(current["body"])
            self.count.revisions += len(missing)
            return "history" if missing or moved else None
        current = next((old for old in existing
                        if old["id"] == page.row.get("current_revision_id")), None)
        if current is not None and (current["title"], current["body"]) == (record["title"],
                                                                           record["body"]):
            return None
        # New text (a minimal line, or a history that diverged): one new revision on top.
        number = max((old["number"] for old in existing), default=0) + 1
        author = record.get("author") or (incoming[-1].get("author") if incoming else None)
        page.new_revisions.append({
            "number": number, "title": record["title"], "body": record["body"],
            "summary": record.get("summary") or self.import_summary,
            "author_id": self.importer.user_id(author), "created_at": self.now,
            "restored_from": None})
        page.current_number = number
        page.row["title"] = record["title"]
        page.row["excerpt"] = excerpt_of(record["body"])
        self.count.revisions += 1
        return "new_text"

    def write(self) -> None:
        """Insert and update the planned rows: a handful of executemany statements."""
        table, revisions, links = Experience.__table__, Revision.__table__, experience_topics
        execute = db.session.execute
        # Plain executemany, the new ids read back by their unique keys: with RETURNING,
        # psycopg parses each 1,000-row INSERT anew and SQLite inserts row by row.
        new = [page for page in self.pages if page.stored is None]
        if new:
            execute(sa.insert(table), [page.row for page in new])
            by_slug = {page.row["slug"]: page for page in new}
            for id_, slug in _select_in(sa.select(table.c.id, table.c.slug), table.c.slug,
                                        list(by_slug)):
                by_slug[slug].row["id"] = id_
                self.importer.experience_ids[slug] = id_
        pending = [(page, data) for page in self.pages for data in page.new_revisions]
        if pending:
            execute(sa.insert(revisions),
                    [{"experience_id": page.row["id"], "number": data["number"],
                      "title": data["title"], "body": data["body"], "summary": data["summary"],
                      "author_id": data["author_id"], "created_at": data["created_at"]}
                     for page, data in pending])
            by_id = {page.row["id"]: page for page, _data in pending}
            for id_, experience_id, number in _select_in(
                    sa.select(revisions.c.id, revisions.c.experience_id, revisions.c.number),
                    revisions.c.experience_id, list(by_id)):
                by_id[experience_id].revision_ids[number] = id_
            # A restore may name a revision inserted by the same statement: linked after it.
            restores = [{"row_id": page.revision_ids[data["number"]],
                         "source_id": page.revision_ids[data["restored_from"]]}
                        for page, data in pending if data["restored_from"]]
            if restores:
                execute(sa.update(revisions).where(revisions.c.id == sa.bindparam("row_id"))
                        .values(restored_from_id=sa.bindparam("source_id")), restores)
        for page in self.pages:
            if page.current_number is not None:
                page.row["current_revision_id"] = page.revision_ids[page.current_number]
        if new:
            execute(sa.update(table).where(table.c.id == sa.bindparam("row_id"))
                    .values(current_revision_id=sa.bindparam("revision_id")),
                    [{"row_id": page.row["id"], "revision_id": page.row["current_revision_id"]}
                     for page in new])
        changed = [page for page in self.pages
                   if page.stored is not None and page.row != page.stored]
        if changed:
            execute(sa.update(table).where(table.c.id == sa.bindparam("row_id"))
                    .values({name: sa.bindparam(f"new_{name}") for name in _UPDATABLE}),
                    [{"row_id": page.row["id"],
                      **{f"new_{name}": page.row[name] for name in _UPDATABLE}}
                     for page in changed])
        added, removed = [], []
        for page in self.pages:
            if page.new_topics is not None:
                added.extend({"experience_id": page.row["id"], "topic_id": topic_id}
                             for topic_id in sorted(page.new_topics - page.topics))
                removed.extend({"row_id": page.row["id"], "old_topic_id": topic_id}
                               for topic_id in sorted(page.topics - page.new_topics))
        if removed:
            execute(sa.delete(links).where(links.c.experience_id == sa.bindparam("row_id"),
                                           links.c.topic_id == sa.bindparam("old_topic_id")),
                    removed)
        if added:
            execute(sa.insert(links), added)
        queued = [{"experience_id": page.row["id"]} for page in self.pages if page.enqueue]
        if queued:
            execute(sa.insert(IndexTask.__table__), queued)


def import_records(lines: Iterable[str]) -> str:
    """Validate all lines, then apply them; raises TransferError and writes nothing on error.

    On an error while applying, the session is rolled back and the line is named (for
    experiences, which are written in batches, the batch's first and last line).
    Flushes, never commits.
    """
    records, errors = read_lines(lines)
    if not errors:
        errors = validate(records, Known())
    if errors:
        raise TransferError(errors)
    importer = _Importer()
    try:
        with db.session.no_autoflush:
            for number, record in records:
                importer.apply(number, record)
            importer.finish()
    except sa.exc.SQLAlchemyError as error:
        db.session.rollback()
        detail = _("Datenbankfehler: %(detail)s", detail=str(getattr(error, "orig", error)))
        first, last = importer.lines or (None, None)
        if first == last:
            raise TransferError([(first, detail)]) from error
        raise TransferError([(None, _("Zeilen %(first)s–%(last)s: %(message)s",
                                      first=first, last=last, message=detail))]) from error
    return importer.count.summary()


def import_jsonl(handle) -> str:
    """Import the JSON Lines text stream `handle`; see import_records()."""
    return import_records(handle)
