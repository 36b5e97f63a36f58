"""Export and import of all content as JSON Lines: one object per line with a "type".

The format is documented in docs/import-export.md. Export writes cities, users (without
password hashes), topics (parents first), interests and experiences with all revisions,
in a deterministic order, all read in one snapshot. Import reads the same format and
hand-written minimal lines; it validates the whole file first and writes nothing when any
line is bad, then applies the lines in file order, idempotent by slug (by e-mail for users).
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
from .util import slugify, utcnow
from .wiki.models import KINDS, STATUSES, Experience, Revision

TYPES = ("city", "user", "topic", "interest", "experience")
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
#: Experience slugs made from a title leave room like the wiki's own auto slugs.
AUTO_SLUG_LENGTH = 100
#: Hand-written experiences are meant to be read: they are published unless told otherwise.
DEFAULT_IMPORT_STATUS = "published"
#: Longest experience text, as in the wiki's forms.
MAX_BODY = 200_000
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
_NULLABLE = {"ags", "population", "website", "city", "locale", "name_en", "parent", "ozg_key",
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
        slug = record.get("slug") or slugify(record["title"], AUTO_SLUG_LENGTH)
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
    """Applies validated records in file order; all lookups go through the session."""

    def __init__(self):
        self.count = _Counter()

    def city_by_slug(self, slug):
        return db.session.scalar(sa.select(City).where(City.slug == slug))

    def topic_by_slug(self, slug):
        return db.session.scalar(sa.select(Topic).where(Topic.slug == slug))

    def user_by_email(self, email):
        if email is None:
            return None
        return db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))

    def city(self, record):
        values = _given(record, ("name", "state", "ags", "population", "website", "profile",
                                 "created_at"), _times)
        city = self.city_by_slug(record["slug"])
        if city is None:
            db.session.add(City(slug=record["slug"], **{"profile": "", **values}))
            self.count.created["city"] += 1
        elif _assign(city, values):
            self.count.updated["city"] += 1

    def user(self, record):
        values = _given(record, ("display_name", "role", "is_admin", "is_approved", "locale",
                                 "created_at"), _times)
        if "city" in record:
            values["city"] = self.city_by_slug(record["city"]) if record["city"] else None
        email = record["email"].strip().lower()
        user = self.user_by_email(email)
        if user is None:
            values.setdefault("display_name", email)
            db.session.add(User(email=email, **values))
            self.count.created["user"] += 1
        elif _assign(user, values):
            self.count.updated["user"] += 1

    def topic(self, record):
        values = _given(record, ("name_de", "name_en", "description", "ozg_key"))
        if "parent" in record:
            values["parent"] = self.topic_by_slug(record["parent"]) if record["parent"] else None
        topic = self.topic_by_slug(record["slug"])
        changed = created = False
        if topic is None:
            created = True
            topic = Topic(slug=record["slug"], **{"description": "", **values})
            db.session.add(topic)
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
        db.session.flush()

    def interest(self, record):
        city, topic = self.city_by_slug(record["city"]), self.topic_by_slug(record["topic"])
        values = _given(record, ("stance", "maturity", "note", "updated_at"), _times)
        interest = db.session.scalar(sa.select(Interest).where(
            Interest.city_id == city.id, Interest.topic_id == topic.id))
        if interest is None:
            db.session.add(Interest(city=city, topic=topic, **values))
            self.count.created["interest"] += 1
        elif _assign(interest, values):
            self.count.updated["interest"] += 1

    def experience(self, record):
        from .search.outbox import enqueue

        slug = record.get("slug") or slugify(record["title"], AUTO_SLUG_LENGTH)
        experience = db.session.scalar(sa.select(Experience).where(Experience.slug == slug))
        created = experience is None
        if created:
            now = utcnow()
            experience = Experience(slug=slug, city=self.city_by_slug(record["city"]),
                                    title=record["title"], kind="lesson_learned", status="draft",
                                    created_at=now, updated_at=now)
            db.session.add(experience)
            db.session.flush()
        outcome = self._apply_revisions(experience, record)
        changed = outcome is not None
        values = _given(record, ("kind", "contact_name", "contact_email", "status",
                                 "published_at", "deleted_at"), _times)
        if created and "status" not in values:
            values["status"] = DEFAULT_IMPORT_STATUS
        if values.get("status") == "published" and "published_at" not in values \
                and experience.published_at is None:
            values["published_at"] = utcnow()
        if values.get("status") == "draft" and "published_at" not in values:
            values["published_at"] = None
        changed = _assign(experience, values) or changed
        if "topics" in record:
            topics = [self.topic_by_slug(slug) for slug in record["topics"]]
            if {t.id for t in topics} != {t.id for t in experience.topics}:
                experience.topics = topics
                changed = True
        if created or changed:
            if created or outcome == "history":
                # The file's history is taken over as it is, timestamps included.
                stamps = _given(record, ("created_at", "updated_at"), _times)
                if not created:
                    stamps.pop("created_at", None)
            else:
                stamps = {"updated_at": utcnow()}
            _assign(experience, {k: v for k, v in stamps.items() if v is not None})
            db.session.flush()
            enqueue(experience)
        if created:
            self.count.created["experience"] += 1
        elif changed:
            self.count.updated["experience"] += 1
        db.session.flush()

    def _apply_revisions(self, experience: Experience, record: dict) -> str | None:
        """Bring the revisions up to the record's text.

        Returns "history" when the file's revisions were appended exactly, "new_text" when
        one new revision carries the record's text, None when the text was already current.
        """
        existing = list(experience.revisions)
        incoming = sorted(record.get("revisions") or (), key=lambda r: r["number"])
        if incoming and all(
            index < len(incoming) and incoming[index]["number"] == old.number
            and (incoming[index]["title"], incoming[index]["body"]) == (old.title, old.body)
            for index, old in enumerate(existing)
        ):
            # The stored history is a prefix of the file's: append the rest exactly.
            missing = incoming[len(existing):]
            by_number = {revision.number: revision for revision in existing}
            for data in missing:
                revision = Revision(
                    experience=experience, number=data["number"], title=data["title"],
                    body=data["body"], summary=data.get("summary") or "",
                    author=self.user_by_email(data.get("author")),
                    created_at=_times("created_at", data.get("created_at")) or utcnow())
                db.session.add(revision)
                by_number[data["number"]] = revision
            db.session.flush()
            for data in missing:
                if data.get("restored_from"):
                    by_number[data["number"]].restored_from_id = by_number[data["restored_from"]].id
            current = by_number[record.get("current_revision") or incoming[-1]["number"]]
            moved = experience.current_revision_id != current.id
            experience.current_revision = current
            experience.title = current.title
            self.count.revisions += len(missing)
            return "history" if missing or moved else None
        current = experience.current_revision
        if current is not None and (current.title, current.body) == (record["title"],
                                                                       record["body"]):
            return None
        # New text (a minimal line, or a history that diverged): one new revision on top.
        number = max((revision.number for revision in existing), default=0) + 1
        author = record.get("author") or (incoming[-1].get("author") if incoming else None)
        revision = Revision(experience=experience, number=number, title=record["title"],
                            body=record["body"],
                            summary=record.get("summary") or _("Import"),
                            author=self.user_by_email(author), created_at=utcnow())
        db.session.add(revision)
        db.session.flush()
        experience.current_revision = revision
        experience.title = revision.title
        self.count.revisions += 1
        return "new_text"


def import_records(lines: Iterable[str]) -> str:
    """Validate all lines, then apply them; raises TransferError and writes nothing on error.

    On an error while applying, the session is rolled back. Flushes, never commits.
    """
    records, errors = _read_lines(lines)
    if not errors:
        errors = _validate(records, _Known())
    if errors:
        raise TransferError(errors)
    importer = _Importer()
    number = None
    try:
        with db.session.no_autoflush:
            for number, record in records:
                getattr(importer, record["type"])(record)
                db.session.flush()
    except sa.exc.SQLAlchemyError as error:
        db.session.rollback()
        raise TransferError([(number, _("Datenbankfehler: %(detail)s",
                                        detail=str(getattr(error, "orig", error))))]) from error
    return importer.count.summary()


def import_jsonl(handle) -> str:
    """Import the JSON Lines text stream `handle`; see import_records()."""
    return import_records(handle)
