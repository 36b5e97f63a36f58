"""The import's record definitions and their validation: field rules per type, the
cross-field and cross-line rules, and the error that lists bad lines.

Each type is a mapping of field name to (kind, required, limit); the limits come from the
domain modules. `validate` checks a whole file before anything is written.
"""
import json
import re
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased

from ..auth.models import ROLES, User
from ..cities.models import MATURITY_MAX, MATURITY_MIN, STANCES, City, Topic
from ..extensions import db
from ..wiki.models import KINDS, STATUSES, Experience
from ..wiki.services import MAX_BODY, auto_slug

TYPES = ("city", "user", "topic", "interest", "experience")
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
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


def parse_time(value: str) -> datetime:
    if not isinstance(value, str):
        raise TypeError(value)
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is not None:
        raise ValueError("naive UTC expected")
    return parsed


class Known:
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


def read_lines(lines: Iterable[str]) -> tuple[list[tuple[int, dict]], list]:
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


def _check_fields(record: dict, rules: dict, known: Known, problems: list, prefix="") -> None:
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


def _check_value(kind: str, limit, value, known: Known) -> str | None:
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
            parse_time(value)
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
    from ..cities.services import CityError, validate_ags

    try:
        validate_ags(value)
    except CityError as error:
        return str(error)
    return None


def validate(records: list[tuple[int, dict]], known: Known) -> list:
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
