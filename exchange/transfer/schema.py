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
from ..cities.services import (NAME_MAX as CITY_NAME_MAX, NOTE_MAX, POPULATION_MAX,
                               PROFILE_MAX, SLUG_MAX as CITY_SLUG_MAX, WEBSITE_MAX)
from ..extensions import db
from ..projects import states as project_states
from ..projects.models import EVENT_KINDS, RESPONSES, ROLES as PARTICIPANT_ROLES, Project
from ..projects.services import MAX_TEXT as PROJECT_TEXT_MAX, MAX_TITLE as PROJECT_TITLE_MAX
from ..util import PUBLIC_KEY_MAX
from ..visits import models as visit_models
from ..visits.models import SESSION_KINDS, SIDES, Visit
from ..visits.services import TEXT_MAX as VISIT_TEXT_MAX
from ..visits.timeutil import MAX_YEAR, MIN_YEAR
from ..wiki.models import KINDS, STATUSES, Experience
from ..wiki.services import (MAX_BODY, MAX_CONTACT_EMAIL, MAX_CONTACT_NAME, MAX_SLUG,
                             MAX_SUMMARY, MAX_TITLE, auto_slug)
from .export import PROJECT_PLACEHOLDER, Names, project_records

#: The record types in the order an export writes them (each may name earlier ones only).
TYPES = ("city", "user", "topic", "interest", "experience", "project", "visit",
         "notification")
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



#: Field rules per type: name -> (kind, required, max length or range or sub-record rules).
#: Kinds: str (not blank), text (may be empty), slug, key (a project's or visit's public
#: key), email, choice, ags, city/topic/user/experience/project (a known slug, e-mail or
#: key), int, bool, time (naive UTC), local_time (a visit's naive Berlin time within
#: (first year, last year)), list (of str), topics, experiences (known slugs), generated
#: (a generated-texts object, exchange/generated.py), records (a list of objects, each
#: checked against the rules given as limit), revisions.
#: The limits are the domain modules' constants, so the import refuses what a form or the
#: API would refuse.
REVISION_FIELDS = {"number": ("int", True, (1, None)), "title": ("str", True, MAX_TITLE),
                   "body": ("text", True, MAX_BODY), "summary": ("text", False, MAX_SUMMARY),
                   "author": ("user", False, None), "created_at": ("time", False, None),
                   "restored_from": ("int", False, (1, None))}
PARTICIPANT_FIELDS = {"city": ("city", True, None),
                      "role": ("choice", False, PARTICIPANT_ROLES),
                      "response": ("choice", False, RESPONSES),
                      "message": ("text", False, PROJECT_TEXT_MAX),
                      "invited_at": ("time", False, None), "responded_at": ("time", False, None),
                      "responded_by": ("user", False, None)}
COMMENT_FIELDS = {"number": ("int", True, (1, None)), "author": ("user", False, None),
                  "body": ("str", True, PROJECT_TEXT_MAX), "created_at": ("time", False, None)}
EVENT_FIELDS = {"kind": ("choice", True, EVENT_KINDS), "actor": ("user", False, None),
                "city": ("city", False, None), "message": ("text", False, PROJECT_TEXT_MAX),
                "comment": ("int", False, (1, None)), "created_at": ("time", False, None)}
VISIT_TIME = (MIN_YEAR, MAX_YEAR)
MEMBER_FIELDS = {"user": ("user", False, None),
                 "guest_name": ("str", False, visit_models.NAME_MAX),
                 "role": ("text", False, visit_models.ROLE_MAX),
                 "organisation": ("text", False, visit_models.ORGANISATION_MAX),
                 "side": ("choice", False, SIDES)}
SESSION_FIELDS = {"position": ("int", False, (0, None)),
                  "title": ("str", True, visit_models.TITLE_MAX),
                  "starts_at": ("local_time", True, VISIT_TIME),
                  "ends_at": ("local_time", True, VISIT_TIME),
                  "room": ("text", False, visit_models.ROOM_MAX),
                  "kind": ("choice", False, SESSION_KINDS),
                  "description": ("text", False, VISIT_TEXT_MAX),
                  "open_questions": ("text", False, VISIT_TEXT_MAX),
                  "topics": ("topics", False, None), "experiences": ("experiences", False, None),
                  "generated": ("generated", False, ("title", "description"))}
FIELDS = {
    "city": {"slug": ("slug", True, CITY_SLUG_MAX), "name": ("str", True, CITY_NAME_MAX),
             "state": ("str", True, 40), "ags": ("ags", False, 8),
             "population": ("int", False, (1, POPULATION_MAX)),
             "website": ("str", False, WEBSITE_MAX), "profile": ("text", False, PROFILE_MAX),
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
                 "note": ("text", False, NOTE_MAX), "updated_at": ("time", False, None)},
    "experience": {"city": ("city", True, None), "title": ("str", True, MAX_TITLE),
                   "body": ("text", True, MAX_BODY), "slug": ("slug", False, MAX_SLUG),
                   "topics": ("topics", False, None), "kind": ("choice", False, KINDS),
                   "status": ("choice", False, STATUSES),
                   "contact_name": ("str", False, MAX_CONTACT_NAME),
                   "contact_email": ("email", False, MAX_CONTACT_EMAIL),
                   "author": ("user", False, None),
                   "summary": ("text", False, MAX_SUMMARY), "created_at": ("time", False, None),
                   "updated_at": ("time", False, None), "published_at": ("time", False, None),
                   "deleted_at": ("time", False, None),
                   "current_revision": ("int", False, (1, None)),
                   "revisions": ("revisions", False, None)},
    "project": {"key": ("key", True, PUBLIC_KEY_MAX), "city": ("city", True, None),
                "title": ("str", True, PROJECT_TITLE_MAX),
                "description": ("text", False, PROJECT_TEXT_MAX),
                "state": ("choice", False, project_states.STATES),
                "topics": ("topics", False, None), "created_by": ("user", False, None),
                "from_match_city": ("city", False, None), "report": ("experience", False, None),
                "created_at": ("time", False, None), "updated_at": ("time", False, None),
                "participants": ("records", False, PARTICIPANT_FIELDS),
                "comments": ("records", False, COMMENT_FIELDS),
                "events": ("records", False, EVENT_FIELDS)},
    "visit": {"key": ("key", True, PUBLIC_KEY_MAX), "title": ("str", True, visit_models.TITLE_MAX),
              "host_city": ("city", True, None), "visiting_city": ("city", True, None),
              "starts_at": ("local_time", True, VISIT_TIME),
              "ends_at": ("local_time", True, VISIT_TIME),
              "place": ("text", False, visit_models.PLACE_MAX),
              "address": ("text", False, visit_models.ADDRESS_MAX),
              "status": ("choice", False, visit_models.STATUSES),
              "notes": ("text", False, VISIT_TEXT_MAX), "outcomes": ("text", False, VISIT_TEXT_MAX),
              "topics": ("topics", False, None), "created_by": ("user", False, None),
              "report": ("experience", False, None),
              "created_at": ("time", False, None), "updated_at": ("time", False, None),
              "members": ("records", False, MEMBER_FIELDS),
              "sessions": ("records", False, SESSION_FIELDS)},
    "notification": {"user": ("user", True, None), "kind": ("str", True, 30),
                     "title": ("str", True, PROJECT_TITLE_MAX), "body": ("text", False, None),
                     "link": ("text", False, 300), "project": ("project", False, None),
                     "created_at": ("time", False, None), "read_at": ("time", False, None),
                     "generated": ("generated", False, ("title", "body"))},
}
#: Fields that may be null in a full export even though their type is not optional.
_NULLABLE = {"ags", "population", "website", "city", "locale", "name_en", "description_en",
             "parent", "ozg_key",
             "contact_name", "contact_email", "author", "published_at", "deleted_at",
             "restored_from", "current_revision",
             "created_by", "from_match_city", "report", "responded_at", "responded_by",
             "actor", "comment", "user", "guest_name", "generated", "project", "read_at"}


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
        self.projects = set(db.session.scalars(sa.select(Project.key)))
        self.visits = set(db.session.scalars(sa.select(Visit.key)))
        self._names = None

    @property
    def names(self) -> Names:
        """Natural keys of the stored rows by id (to compare stored projects with lines)."""
        if self._names is None:
            self._names = Names(db.session)
        return self._names


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
        elif kind == "records":
            for index, item in enumerate(value, start=1):
                _check_fields(item, limit, known, problems, prefix=f"{label}[{index}].")


def _check_value(kind: str, limit, value, known: Known) -> str | None:
    """A German message when `value` does not fit `kind`, else None."""
    if kind in ("str", "text", "slug", "key", "email", "choice", "ags", "city", "topic", "user",
                "experience", "project"):
        if not isinstance(value, str):
            return _("Text erwartet.")
        if kind == "str" and not value.strip():
            return _("darf nicht leer sein.")
        if kind in ("str", "text") and limit is not None and len(value) > limit:
            return _("höchstens %(max)s Zeichen.", max=limit)
        if kind in ("slug", "key") and (len(value) > limit or not SLUG_PATTERN.match(value)):
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
        if kind == "experience" and value not in known.experience_city:
            return _("unbekannte Erfahrung „%(slug)s“.", slug=value)
        if kind == "project" and value not in known.projects:
            return _("unbekanntes Projekt „%(key)s“.", key=value)
        return None
    if kind == "local_time":
        try:
            parsed = parse_time(value)
        except (TypeError, ValueError):
            return _("Zeitpunkt im Format JJJJ-MM-TTThh:mm (Berliner Ortszeit) erwartet.")
        first, last = limit
        if not first <= parsed.year <= last:
            # The visits' own rule (timeutil.MIN_YEAR / MAX_YEAR), with the form's message.
            return _("Das Datum muss zwischen den Jahren %(first)s und %(last)s liegen.",
                     first=first, last=last)
        return None
    if kind == "experiences":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return _("Liste von Texten erwartet.")
        unknown = [v for v in value if v not in known.experience_city]
        if unknown:
            return _("unbekannte Erfahrungen: %(slugs)s.", slugs=", ".join(unknown))
        return None
    if kind == "generated":
        if not isinstance(value, dict):
            return _("JSON-Objekt erwartet.")
        unknown = sorted(str(name) for name in value if name not in limit)
        if unknown:
            return _("unbekannte Textfelder: %(names)s.", names=", ".join(unknown))
        return None
    if kind == "records":
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            return _("Liste von Objekten erwartet.")
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


    @staticmethod
    def project(record, known, problems):
        _check_project(record, known, problems)
        if not problems:
            known.projects.add(record["key"])

    @staticmethod
    def visit(record, known, problems):
        _check_visit(record, problems)
        if not problems:
            known.visits.add(record["key"])

    @staticmethod
    def notification(record, known, problems):
        if PROJECT_PLACEHOLDER in (record.get("link") or "") and not record.get("project"):
            problems.append(_("„link“ enthält %(placeholder)s, aber „project“ fehlt.",
                              placeholder=PROJECT_PLACEHOLDER))


def _times_of(record, *names):
    return [parse_time(record[name]) if record.get(name) else None for name in names]


def _check_project(record, known, problems) -> None:
    """A project's participants, comments and events fit together, and a stored project of
    the same key is an earlier state of the file's (nothing stored is overwritten)."""
    participants = record.get("participants")
    if participants is not None:
        cities = [p["city"] for p in participants]
        if len(set(cities)) != len(cities):
            problems.append(_("Eine Stadt ist mehrfach unter „participants“."))
        initiators = [p["city"] for p in participants if p.get("role") == "initiator"]
        if initiators != [record["city"]]:
            problems.append(_("„participants“ muss genau einen Eintrag mit der Rolle "
                              "„initiator“ für die Stadt „%(city)s“ haben.", city=record["city"]))
    comments = record.get("comments") or []
    numbers = [comment["number"] for comment in comments]
    if numbers != list(range(1, len(numbers) + 1)):
        problems.append(_("Die Kommentare müssen der Reihe nach nummeriert sein (1, 2, 3 …)."))
    for index, event in enumerate(record.get("events") or (), start=1):
        if event.get("comment") is not None and event["comment"] not in numbers:
            problems.append(_("events[%(index)s] verweist auf einen unbekannten Kommentar.",
                              index=index))
    if problems:
        return
    stored = db.session.scalar(sa.select(Project).where(Project.key == record["key"]))
    if stored is not None:
        _check_stored_project(record, stored, known, problems)


def _check_stored_project(record, stored: Project, known, problems) -> None:
    """The file may carry a later state of a stored project, never an earlier or another one."""
    key = record["key"]
    (updated,) = _times_of(record, "updated_at")
    if stored.initiator_city.slug != record["city"]:
        problems.append(_("Das Projekt „%(key)s“ gehört zur Stadt „%(city)s“.",
                          key=key, city=stored.initiator_city.slug))
        return
    if updated is not None and stored.updated_at > updated:
        problems.append(_("Das Projekt „%(key)s“ wurde hier nach dem Stand der Datei geändert "
                          "(%(stored)s); es wird nicht überschrieben.",
                          key=key, stored=stored.updated_at.isoformat()))
        return
    state = record.get("state")
    if state is not None and not project_states.reachable(stored.state, state):
        problems.append(_("Das Projekt „%(key)s“ kann nicht vom Zustand „%(stored)s“ in den "
                          "Zustand „%(state)s“ kommen.", key=key, stored=stored.state, state=state))
        return
    # The stored project as the export writes it, compared with the file's line.
    current = next(project_records(db.session, known.names,
                                   sa.select(Project).where(Project.id == stored.id)))
    for part in ("comments", "events"):
        if part in record and record[part][:len(current[part])] != current[part]:
            problems.append(_("„%(field)s“ des Projekts „%(key)s“ beginnt nicht mit dem, was "
                              "hier gespeichert ist; die Geschichte wird nur ergänzt, nie "
                              "umgeschrieben.", field=part, key=key))
    wanted = {p["city"]: p for p in record.get("participants") or ()}
    for participant in current["participants"] if "participants" in record else ():
        other = wanted.get(participant["city"])
        if other is None or other.get("role", "invited") != participant["role"] or (
                participant["response"] != "pending"
                and other.get("response", "pending") != participant["response"]):
            problems.append(_("Die Teilnahme von „%(city)s“ am Projekt „%(key)s“ steht hier "
                              "anders fest; eine Antwort wird nicht überschrieben.",
                              city=participant["city"], key=key))


def _check_visit(record, problems) -> None:
    """Two cities, an end after the start, sessions within the visit, each person once, and
    a stored visit of the same key not newer than the file's."""
    if record["host_city"] == record["visiting_city"]:
        problems.append(_("Eine Stadt kann sich nicht selbst besuchen: bitte wählen Sie zwei "
                          "verschiedene Städte."))
    starts, ends = _times_of(record, "starts_at", "ends_at")
    if ends <= starts:
        problems.append(_("Das Ende muss nach dem Beginn liegen."))
    for index, session in enumerate(record.get("sessions") or (), start=1):
        begins, finishes = _times_of(session, "starts_at", "ends_at")
        if finishes <= begins:
            problems.append(_("sessions[%(index)s]: Das Ende muss nach dem Beginn liegen.",
                              index=index))
        elif begins < starts or finishes > ends:
            problems.append(_("sessions[%(index)s]: Die Sitzung liegt außerhalb des Besuchs.",
                              index=index))
    users = [member["user"].strip().lower() for member in record.get("members") or ()
             if member.get("user")]
    if len(set(users)) != len(users):
        problems.append(_("Eine Person steht mehrfach in „members“."))
    for index, member in enumerate(record.get("members") or (), start=1):
        if not member.get("user") and not member.get("guest_name"):
            problems.append(_("members[%(index)s]: Bitte geben Sie eine registrierte Person "
                              "(„user“) oder den Namen eines externen Gastes („guest_name“) an.",
                              index=index))
    if problems:
        return
    stored = db.session.scalar(sa.select(Visit).where(Visit.key == record["key"]))
    (updated,) = _times_of(record, "updated_at")
    if stored is not None and updated is not None and stored.updated_at > updated:
        problems.append(_("Der Besuch „%(key)s“ wurde hier nach dem Stand der Datei geändert "
                          "(%(stored)s); er wird nicht überschrieben.",
                          key=record["key"], stored=stored.updated_at.isoformat()))


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
