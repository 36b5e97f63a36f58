"""Export and import of all content as JSON Lines: one object per line with a "type".

The format is documented in docs/import-export.md. Export writes cities, users (without
password hashes), topics (parents first), interests and experiences with all revisions,
in a deterministic order, all read in one snapshot. Import reads the same format and
hand-written minimal lines; it validates the whole file first and writes nothing when any
line is bad, then applies the lines in file order, idempotent by slug (by e-mail for users).
Experiences are written in batches with Core statements (_ExperienceBatch).
"""
import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, aliased, selectinload

from .auth.models import ROLES, User
from .cities.models import MATURITY_MAX, MATURITY_MIN, STANCES, City, Interest, Topic, TopicAlias
from .extensions import db
from .search.models import IndexTask
from .util import utcnow
from .wiki.models import KINDS, STATUSES, Experience, Revision, excerpt_of, experience_topics
from .wiki.services import MAX_BODY, auto_slug

TYPES = ("city", "user", "topic", "interest", "experience")
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
#: Hand-written experiences are meant to be read: they are published unless told otherwise.
DEFAULT_IMPORT_STATUS = "published"
#: At most this many bad lines are listed in one error; the rest are counted.
MAX_REPORTED_ERRORS = 20


class TransferError(ValueError):
    """A file could not be imported; `errors` lists (line number, German message)."""

    def __init__(self, errors: list[tuple[int | None, str]]):
        self.errors = errors
        shown = [(_("Zeile %(line)s: %(message)s", line=line, message=message)
                  if line else message) for line, message in errors[:MAX_REPORTED_ERRORS]]
        if len(errors) > MAX_REPORTED_ERRORS:
            shown.append(_("… und %(count)s weitere Fehler.",
                           count=len(errors) - MAX_REPORTED_ERRORS))
        shown.append(_("Es wurde nichts importiert."))
        super().__init__("\n".join(shown))


# --- export ------------------------------------------------------------------------------

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


# --- import: reading and validation -------------------------------------------------------

#: Field rules per type: name -> (kind, required, max length or range).
#: Kinds: str (not blank), text (may be empty), slug, email, choice, ags, city/topic/user
#: (a known slug or e-mail), int, bool, time, list (of str), topics, revisions.
FIELDS = {
    "city": {"slug": ("slug", True, 80), "name": ("str", True, 120), "state": ("str", True, 40),
             "ags": ("ags", False, 8), "population": ("int", False, (0, 100_000_000)),
             "website": ("str", False, 300), "profile": ("text", False, None),
             "created_at": ("time", False, None)},
    "user": {"email": ("email", True, 254), "display_name": ("str", False, 120),
             "city": ("city", False, None), "role": ("choice", False, ROLES),
             "is_admin": ("bool", False, None), "is_approved": ("bool", False, None),
             "locale": ("choice", False, ("de", "en")), "created_at": ("time", False, None)},
    "topic": {"slug": ("slug", True, 80), "name_de": ("str", True, 200),
              "name_en": ("str", False, 200), "description": ("text", False, None),
              "description_en": ("text", False, None),
              "parent": ("topic", False, None), "ozg_key": ("str", False, 40),
              "aliases": ("list", False, 120)},
    "interest": {"city": ("city", True, None), "topic": ("topic", True, None),
                 "stance": ("choice", True, STANCES),
                 "maturity": ("int", False, (MATURITY_MIN, MATURITY_MAX)),
                 "note": ("text", False, None), "updated_at": ("time", False, None)},
    "experience": {"city": ("city", True, None), "title": ("str", True, 200),
                   "body": ("text", True, MAX_BODY), "slug": ("slug", False, 120),
                   "topics": ("topics", False, None), "kind": ("choice", False, KINDS),
                   "status": ("choice", False, STATUSES), "contact_name": ("str", False, 120),
                   "contact_email": ("email", False, 254), "author": ("user", False, None),
                   "summary": ("text", False, 300), "created_at": ("time", False, None),
                   "updated_at": ("time", False, None), "published_at": ("time", False, None),
                   "deleted_at": ("time", False, None),
                   "current_revision": ("int", False, (1, None)),
                   "revisions": ("revisions", False, None)},
}
REVISION_FIELDS = {"number": ("int", True, (1, None)), "title": ("str", True, 200),
                   "body": ("text", True, MAX_BODY), "summary": ("text", False, 300),
                   "author": ("user", False, None), "created_at": ("time", False, None),
                   "restored_from": ("int", False, (1, None))}
#: Fields that may be null in a full export even though their type is not optional.
_NULLABLE = {"ags", "population", "website", "city", "locale", "name_en", "description_en",
             "parent", "ozg_key",
             "contact_name", "contact_email", "author", "published_at", "deleted_at",
             "restored_from", "current_revision"}


def _parse_time(value: str) -> datetime:
    if not isinstance(value, str):
        raise TypeError(value)
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is not None:
        raise ValueError("naive UTC expected")
    return parsed


class _Known:
    """What exists in the database or was defined by an earlier line of the file."""

    def __init__(self):
        self.cities = set(db.session.scalars(sa.select(City.slug)))
        self.users = set(db.session.scalars(sa.select(User.email)))
        parent = aliased(Topic)
        #: slug -> parent slug (None for roots); its keys are the known topics.
        self.topic_parent = dict(db.session.execute(
            sa.select(Topic.slug, parent.slug).outerjoin(parent, Topic.parent_id == parent.id)
        ).all())
        self.ags = {ags: slug for slug, ags in db.session.execute(
            sa.select(City.slug, City.ags).where(City.ags.is_not(None)))}
        self.ozg_keys = {key: slug for slug, key in db.session.execute(
            sa.select(Topic.slug, Topic.ozg_key).where(Topic.ozg_key.is_not(None)))}
        self.experience_city = dict(db.session.execute(
            sa.select(Experience.slug, City.slug).join(City, Experience.city_id == City.id)).all())


def _read_lines(lines: Iterable[str]) -> tuple[list[tuple[int, dict]], list]:
    records, errors = [], []
    try:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                errors.append((number, _("kein gültiges JSON (%(detail)s).", detail=error.msg)))
                continue
            if not isinstance(record, dict):
                errors.append((number, _("Jede Zeile muss ein JSON-Objekt sein.")))
                continue
            if record.get("type") not in TYPES:
                errors.append((number, _("unbekannter Typ „%(type)s“; erlaubt sind: %(types)s.",
                                         type=record.get("type"), types=", ".join(TYPES))))
                continue
            records.append((number, record))
    except UnicodeDecodeError:
        errors.append((None, _("Die Datei ist nicht in UTF-8 kodiert.")))
    return records, errors


def _check_fields(record: dict, rules: dict, known: _Known, problems: list, prefix="") -> None:
    """Append a German message to `problems` for each field that breaks its rule."""
    for name in record:
        if name != "type" and name not in rules:
            problems.append(_("unbekanntes Feld „%(field)s“.", field=prefix + name))
    for name, (kind, required, limit) in rules.items():
        label = prefix + name
        if name not in record or record[name] is None:
            if required:
                problems.append(_("Feld „%(field)s“ fehlt.", field=label))
            elif name in record and name not in _NULLABLE:
                problems.append(_("Feld „%(field)s“ darf nicht null sein.", field=label))
            continue
        value = record[name]
        message = _check_value(kind, limit, value, known)
        if message:
            problems.append(_("Feld „%(field)s“: %(message)s", field=label, message=message))


def _check_value(kind: str, limit, value, known: _Known) -> str | None:
    """A German message when `value` does not fit `kind`, else None."""
    if kind in ("str", "text", "slug", "email", "choice", "ags", "city", "topic", "user"):
        if not isinstance(value, str):
            return _("Text erwartet.")
        if kind == "str" and not value.strip():
            return _("darf nicht leer sein.")
        if kind in ("str", "text") and limit is not None and len(value) > limit:
            return _("höchstens %(max)s Zeichen.", max=limit)
        if kind == "slug" and (len(value) > limit or not SLUG_PATTERN.match(value)):
            return _("nur Kleinbuchstaben, Ziffern und Bindestriche (höchstens %(max)s Zeichen).",
                     max=limit)
        if kind == "email":
            return _check_email(value, limit)
        if kind == "choice" and value not in limit:
            return _("„%(value)s“ ist nicht erlaubt; erlaubt sind: %(choices)s.",
                     value=value, choices=", ".join(limit))
        if kind == "ags":
            return _check_ags(value)
        if kind == "city" and value not in known.cities:
            return _("unbekannte Stadt „%(slug)s“.", slug=value)
        if kind == "topic" and value not in known.topic_parent:
            return _("unbekanntes Thema „%(slug)s“.", slug=value)
        if kind == "user" and value.strip().lower() not in known.users:
            return _("unbekannter Benutzer „%(email)s“.", email=value)
        return None
    if kind == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            return _("ganze Zahl erwartet.")
        low, high = limit
        if value < low or (high is not None and value > high):
            return (_("muss zwischen %(low)s und %(high)s liegen.", low=low, high=high)
                    if high is not None else _("muss mindestens %(low)s sein.", low=low))
        return None
    if kind == "bool":
        return None if isinstance(value, bool) else _("true oder false erwartet.")
    if kind == "time":
        try:
            _parse_time(value)
        except (TypeError, ValueError):
            return _("Zeitpunkt im Format JJJJ-MM-TTThh:mm:ss (UTC) erwartet.")
        return None
    if kind in ("list", "topics"):
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip()
                                                  for v in value):
            return _("Liste von Texten erwartet.")
        if kind == "list" and any(len(v) > limit for v in value):
            return _("Einträge höchstens %(max)s Zeichen.", max=limit)
        unknown = [v for v in value if kind == "topics" and v not in known.topic_parent]
        if unknown:
            return _("unbekannte Themen: %(slugs)s.", slugs=", ".join(unknown))
        return None
    if kind == "revisions":
        if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
            return _("nicht leere Liste von Objekten erwartet.")
        return None
    raise AssertionError(kind)


def _check_email(value: str, limit: int) -> str | None:
    from email_validator import EmailNotValidError, validate_email

    if len(value) > limit:
        return _("höchstens %(max)s Zeichen.", max=limit)
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return _("keine gültige E-Mail-Adresse.")
    return None


def _check_ags(value: str) -> str | None:
    from .cities.services import CityError, validate_ags

    try:
        validate_ags(value)
    except CityError as error:
        return str(error)
    return None


def _validate(records: list[tuple[int, dict]], known: _Known) -> list:
    """Check every record against the rules and what earlier lines define; list the errors."""
    errors = []
    for number, record in records:
        kind = record["type"]
        problems: list[str] = []
        _check_fields(record, FIELDS[kind], known, problems)
        if not problems:
            getattr(_Rules, kind)(record, known, problems)
        errors.extend((number, problem) for problem in problems)
    return errors


class _Rules:
    """Cross-field and cross-line checks per type; each also records what the line defines."""

    @staticmethod
    def city(record, known, problems):
        ags = record.get("ags")
        if ags and known.ags.get(ags, record["slug"]) != record["slug"]:
            problems.append(_("Der Gemeindeschlüssel %(ags)s gehört schon zur Stadt „%(slug)s“.",
                              ags=ags, slug=known.ags[ags]))
            return
        if ags:
            known.ags[ags] = record["slug"]
        known.cities.add(record["slug"])

    @staticmethod
    def user(record, known, problems):
        known.users.add(record["email"].strip().lower())

    @staticmethod
    def topic(record, known, problems):
        slug, key = record["slug"], record.get("ozg_key")
        if key and known.ozg_keys.get(key, slug) != slug:
            problems.append(_("Der OZG-Schlüssel %(key)s gehört schon zum Thema „%(slug)s“.",
                              key=key, slug=known.ozg_keys[key]))
            return
        parent = known.topic_parent.get(slug) if "parent" not in record else record["parent"]
        node = parent
        while node is not None:
            if node == slug:
                problems.append(_("Das Thema „%(slug)s“ kann nicht unter sich selbst stehen.",
                                  slug=slug))
                return
            node = known.topic_parent.get(node)
        if key:
            known.ozg_keys[key] = slug
        known.topic_parent[slug] = parent

    @staticmethod
    def interest(record, known, problems):
        pass

    @staticmethod
    def experience(record, known, problems):
        slug = record.get("slug") or auto_slug(record["title"])
        owner = known.experience_city.get(slug)
        if owner is not None and owner != record["city"]:
            problems.append(_("Die Erfahrung „%(slug)s“ gehört zur Stadt „%(city)s“; geben Sie "
                              "eine andere Kurz-URL („slug“) an.", slug=slug, city=owner))
            return
        revisions = record.get("revisions")
        if revisions is not None:
            _check_revisions(record, revisions, known, problems)
        elif record.get("current_revision") is not None:
            problems.append(_("„current_revision“ %(number)s fehlt in „revisions“.",
                              number=record["current_revision"]))
        if not problems:
            known.experience_city[slug] = record["city"]


def _check_revisions(record, revisions, known, problems) -> None:
    for index, revision in enumerate(revisions, start=1):
        _check_fields(revision, REVISION_FIELDS, known, problems,
                      prefix=f"revisions[{index}].")
    if problems:
        return
    numbers = [revision["number"] for revision in revisions]
    if len(set(numbers)) != len(numbers):
        problems.append(_("Versionsnummern kommen doppelt vor."))
        return
    for revision in revisions:
        if revision.get("restored_from") is not None and revision["restored_from"] not in numbers:
            problems.append(_("Version %(number)s verweist auf eine unbekannte Version.",
                              number=revision["number"]))
    newest = max(numbers)
    current_number = record.get("current_revision") or newest
    current = next((r for r in revisions if r["number"] == current_number), None)
    if current is None:
        problems.append(_("„current_revision“ %(number)s fehlt in „revisions“.",
                          number=current_number))
    elif current_number != newest:
        # Revisions are append-only and a restore appends a copy, so the current one is
        # always the newest; anything else is a torn export (issue 16) or a hand edit.
        problems.append(_("„current_revision“ %(number)s ist nicht die neueste Version in "
                          "„revisions“ (%(newest)s).", number=current_number, newest=newest))
    elif (current["title"], current["body"]) != (record["title"], record["body"]):
        problems.append(_("„title“ und „body“ müssen der aktuellen Version entsprechen."))


# --- import: applying ---------------------------------------------------------------------

class _Counter:
    """What an import created and changed, for the summary line."""

    def __init__(self):
        self.created = dict.fromkeys(TYPES, 0)
        self.updated = dict.fromkeys(TYPES, 0)
        self.revisions = 0

    def summary(self) -> str:
        names = {"city": _("Städte"), "user": _("Benutzer"), "topic": _("Themen"),
                 "interest": _("Interessen"), "experience": _("Erfahrungen")}
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
    return _parse_time(value) if name.endswith("_at") and value is not None else value


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
    records, errors = _read_lines(lines)
    if not errors:
        errors = _validate(records, _Known())
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
