"""Planning delegation visits: visits, delegation, agenda sessions, outcomes and reports.

Services take the acting user and plain data, validate everything before they change
anything (so a rejected request stores nothing half-way), flush and never commit.
Times are naive Europe/Berlin wall-clock times (see `exchange.visits.models`); aware
datetimes given by API clients are converted first.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from ..auth.models import User
from ..auth.permissions import (can_create_visit, can_edit_visit, can_join_delegation,
                                can_plan_visits, delegation_candidate_condition)
from ..cities.models import City, Topic
from ..errors import DomainError, DomainPermissionError
from ..extensions import db
from ..formatting import current_locale
from ..util import is_single_line, utcnow
from .models import (ADDRESS_MAX, NAME_MAX, ORGANISATION_MAX, PLACE_MAX, ROLE_MAX, ROOM_MAX,
                     SESSION_KINDS, SIDES, STATUSES, TITLE_MAX, AgendaSession,
                     AgendaSessionExperience, Visit, VisitMember)
from .timeutil import MAX_YEAR, MIN_YEAR, format_day, format_span, now_local, to_local

#: Notes, descriptions, open questions and outcomes are Markdown texts of sensible size.
TEXT_MAX = 20_000


class VisitError(DomainError, ValueError):
    """Invalid visit input (422); `errors` maps field names to German messages."""

    status = 422


class VisitPermissionDenied(DomainPermissionError):
    """The actor may not plan this visit (403)."""

    def __init__(self, message: str | None = None):
        super().__init__(message or _("Nur Besuchsplaner und Stadt-Admins der beiden Städte "
                                      "dürfen diesen Besuch bearbeiten."))


# --- validation --------------------------------------------------------------------------

def _text(value, field: str, maximum: int, errors: dict, label: str, required=False,
          one_line=False, stored=None) -> str:
    """A stripped text; `one_line` refuses line breaks and control characters, except in
    the `stored` value (a row saved before that rule can still be edited)."""
    if value is not None and not isinstance(value, str):
        errors[field] = _("%(label)s muss ein Text sein.", label=label)
        return ""
    value = (value or "").replace("\r\n", "\n").strip()
    if required and not value:
        errors[field] = _("Bitte geben Sie einen Titel ein.")
    elif len(value) > maximum:
        errors[field] = _("%(label)s darf höchstens %(max)s Zeichen lang sein.",
                          label=label, max=maximum)
    elif one_line and value != stored and not is_single_line(value):
        errors[field] = _("%(label)s darf keine Zeilenumbrüche oder Steuerzeichen enthalten.",
                          label=label)
    return value


def _datetime(value, field: str, errors: dict) -> datetime | None:
    if value is None or value == "":
        errors[field] = _("Bitte geben Sie Datum und Uhrzeit an.")
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            errors[field] = _("„%(value)s“ ist kein gültiges Datum mit Uhrzeit "
                              "(erwartet: JJJJ-MM-TTTHH:MM).", value=value)
            return None
    if not isinstance(value, datetime):
        errors[field] = _("Bitte geben Sie Datum und Uhrzeit an.")
        return None
    # Checked before the conversion to Berlin time, which overflows at the years 1 and 9999.
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        errors[field] = _("Das Datum muss zwischen den Jahren %(first)s und %(last)s liegen.",
                          first=MIN_YEAR, last=MAX_YEAR)
        return None
    return to_local(value).replace(second=0, microsecond=0)


def _choice(value, choices, field: str, errors: dict) -> None:
    if value not in choices:
        errors[field] = _("Ungültiger Wert „%(value)s“.", value=value)


#: Largest id an INTEGER column holds; larger numbers name nothing (and PostgreSQL
#: would refuse to compare them).
ID_MAX = 2**31 - 1


def _by_id(model, value):
    """The row with this numeric id (int or digit string), or None."""
    number = int(value)
    return db.session.get(model, number) if 0 < number <= ID_MAX else None


def _is_id(value) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or \
        (isinstance(value, str) and value.strip().isdigit())


def _city(value, field: str, errors: dict) -> City | None:
    if isinstance(value, City):
        return value
    city = None
    if _is_id(value):
        city = _by_id(City, value)
    elif isinstance(value, str) and value.strip():
        city = db.session.scalar(sa.select(City).where(City.slug == value.strip()))
    if city is None:
        errors[field] = (_("Unbekannte Stadt „%(value)s“.", value=value) if value
                         else _("Bitte wählen Sie eine Stadt."))
    return city


def _is_list(value) -> bool:
    """A list of items (API clients send JSON arrays); a string is not a list here."""
    return value is None or isinstance(value, (list, tuple, set))


def _topics(topics, errors: dict) -> list[Topic]:
    from ..wiki.services import resolve_topics

    # null is an empty list, as for members and experiences (docs/visits.md).
    if not _is_list(topics) or not all(isinstance(item, (int, str, Topic))
                                       and not isinstance(item, bool) for item in topics or ()):
        errors["topics"] = _("Die Themen müssen eine Liste von Themen-Kennungen sein.")
        return []
    items = [_by_id(Topic, item) if isinstance(item, int) else item
             for item in topics or ()]
    if any(item is None for item in items):
        errors["topics"] = _("Unbekanntes Thema.")
        return []
    return resolve_topics(items, errors)


def _span_text(start: datetime, end: datetime) -> str:
    return format_span(start, end)


def _check_span(starts_at, ends_at, errors: dict, field: str = "ends_at") -> None:
    if starts_at and ends_at and ends_at <= starts_at:
        errors[field] = _("Das Ende muss nach dem Beginn liegen.")


def _sessions_outside(sessions, starts_at: datetime, ends_at: datetime) -> list:
    return [session for session in sessions
            if session.starts_at < starts_at or session.ends_at > ends_at]


# --- delegation members ------------------------------------------------------------------

@dataclass
class MemberSpec:
    """A delegation member to add: a registered user (id or e-mail) or an external guest."""

    user: object = None
    guest_name: str = ""
    role: str = ""
    organisation: str = ""
    side: str = "guest"


def find_user(reference) -> User | None:
    """A user by User, id or e-mail address (case-insensitive), or None."""
    if isinstance(reference, User):
        return reference
    if _is_id(reference):
        return _by_id(User, reference)
    if isinstance(reference, str) and reference.strip():
        return db.session.scalar(sa.select(User).where(User.email == reference.strip().lower()))
    return None


def find_delegation_candidate(reference, host_city, visiting_city) -> User | None:
    """The user `reference` (User, id or e-mail) names, if a planner may add them to a
    delegation (permissions.can_join_delegation): approved, active users of the two
    cities only. Anyone else is None, with the same message as an unknown address, so a
    planner cannot read other people's names and addresses by trying ids."""
    if isinstance(reference, User):
        return reference if can_join_delegation(reference, host_city, visiting_city) else None
    condition = delegation_candidate_condition(host_city, visiting_city)
    if _is_id(reference):
        number = int(reference)
        if not 0 < number <= ID_MAX:
            return None
        return db.session.scalar(sa.select(User).where(User.id == number, condition))
    if isinstance(reference, str) and reference.strip():
        return db.session.scalar(sa.select(User).where(
            User.email == reference.strip().lower(), condition))
    return None


#: The keys a delegation member given as a mapping (API) may have.
MEMBER_KEYS = ("user", "guest_name", "role", "organisation", "side")


def _member(spec, errors: dict, index: int, cities=None) -> VisitMember | None:
    """One delegation member from `spec`; `cities` (host, visiting) limits registered
    people to those a planner may add (None: a trusted command, anyone)."""
    field = f"members-{index}"
    if isinstance(spec, dict):
        unknown = sorted(str(key) for key in set(spec) - set(MEMBER_KEYS))
        if unknown:
            errors[field] = _("Unbekannte Angaben zur Person: %(names)s.",
                              names=", ".join(unknown))
            return None
        spec = MemberSpec(**{key: spec.get(key) for key in MEMBER_KEYS
                             if spec.get(key) is not None})
    if not isinstance(spec, MemberSpec):
        errors[field] = _("Eine Person wird mit „user“ (E-Mail) oder „guest_name“ angegeben.")
        return None
    local: dict = {}
    role = _text(spec.role, field, ROLE_MAX, local, _("Die Funktion"), one_line=True)
    organisation = _text(spec.organisation, field, ORGANISATION_MAX, local,
                         _("Die Organisation"), one_line=True)
    guest_name = _text(spec.guest_name, field, NAME_MAX, local, _("Der Name"), one_line=True)
    if spec.side not in SIDES:
        local[field] = _("Ungültige Seite „%(value)s“ (host oder guest).", value=spec.side)
    user = None
    if spec.user not in (None, ""):
        user = (find_user(spec.user) if cities is None
                else find_delegation_candidate(spec.user, *cities))
        if user is None:
            local[field] = _("Unbekanntes Delegationsmitglied „%(who)s“: keine freigegebene "
                             "Person der beiden Städte mit dieser Kennung oder "
                             "E-Mail-Adresse. Externe Gäste tragen Sie mit Namen ein.",
                             who=spec.user)
    elif not guest_name:
        local[field] = _("Bitte geben Sie eine registrierte Person (E-Mail) oder den Namen "
                         "eines externen Gastes an.")
    if local:
        errors.update(local)
        return None
    return VisitMember(user=user, guest_name=None if user else guest_name, role=role,
                       organisation=organisation, side=spec.side)


def _members(specs, errors: dict, existing=(), cities=None) -> list[VisitMember]:
    members, seen = [], {member.user_id for member in existing if member.user_id}
    if not _is_list(specs):
        errors["members"] = _("Die Delegation muss eine Liste von Personen sein.")
        return []
    for index, spec in enumerate(specs or ()):
        member = _member(spec, errors, index, cities)
        if member is None:
            continue
        if member.user is not None:
            if member.user.id in seen:
                errors[f"members-{index}"] = _("%(name)s gehört schon zur Delegation.",
                                               name=member.user.display_name)
                continue
            seen.add(member.user.id)
        members.append(member)
    return members


def parse_member_lines(text: str) -> list[MemberSpec]:
    """Parse the form's delegation list: one person per line.

    A line with an e-mail address names a registered user ("anna@stuttgart.example" or
    "anna@stuttgart.example; Projektleitung"); any other line is an external guest
    "Name; Funktion; Organisation".
    """
    specs = []
    for line in (text or "").splitlines():
        parts = [part.strip() for part in line.split(";")]
        if not parts[0]:
            continue
        if "@" in parts[0]:
            specs.append(MemberSpec(user=parts[0], role=parts[1] if len(parts) > 1 else ""))
        else:
            specs.append(MemberSpec(guest_name=parts[0], role=parts[1] if len(parts) > 1 else "",
                                    organisation="; ".join(parts[2:])))
    return specs


# --- visits ------------------------------------------------------------------------------

def _validated_fields(values: dict, errors: dict, current: Visit | None = None) -> dict:
    """Clean the visit fields present in `values` (`current`: the visit they change);
    errors go into `errors`."""
    clean = {}
    if "title" in values:
        clean["title"] = _text(values["title"], "title", TITLE_MAX, errors, _("Der Titel"),
                               required=True, one_line=True,
                               stored=getattr(current, "title", None))
    for key in ("host_city", "visiting_city"):
        if key in values:
            clean[key] = _city(values[key], key, errors)
    for key in ("starts_at", "ends_at"):
        if key in values:
            clean[key] = _datetime(values[key], key, errors)
    if "place" in values:
        clean["place"] = _text(values["place"], "place", PLACE_MAX, errors, _("Der Ort"),
                               one_line=True, stored=getattr(current, "place", None))
    if "address" in values:
        clean["address"] = _text(values["address"], "address", ADDRESS_MAX, errors,
                                 _("Die Adresse"), one_line=True,
                                 stored=getattr(current, "address", None))
    if "status" in values:
        _choice(values["status"], STATUSES, "status", errors)
        clean["status"] = values["status"]
    for key, label in (("notes", _("Die Notizen")), ("outcomes", _("Die Ergebnisse"))):
        if key in values:
            clean[key] = _text(values[key], key, TEXT_MAX, errors, label)
    if "topics" in values:
        clean["topics"] = _topics(values["topics"], errors)
    return clean


def _check_cities(host, visiting, errors: dict) -> None:
    if host is not None and visiting is not None and host.id == visiting.id:
        errors["visiting_city"] = _("Eine Stadt kann sich nicht selbst besuchen: bitte "
                                    "wählen Sie zwei verschiedene Städte.")


def create_visit(actor, *, title, host_city, visiting_city, starts_at, ends_at, place="",
                 address="", status="idea", topics=(), notes="", members=()) -> Visit:
    """Create a visit with its delegation; raises VisitError or VisitPermissionDenied."""
    if actor is not None and not can_plan_visits(actor):
        raise VisitPermissionDenied(_("Nur Besuchsplaner und Stadt-Admins dürfen Besuche "
                                      "anlegen."))
    errors: dict = {}
    clean = _validated_fields(dict(title=title, host_city=host_city,
                                   visiting_city=visiting_city, starts_at=starts_at,
                                   ends_at=ends_at, place=place, address=address,
                                   status=status, topics=topics, notes=notes), errors)
    _check_cities(clean["host_city"], clean["visiting_city"], errors)
    _check_span(clean["starts_at"], clean["ends_at"], errors)
    if clean["host_city"] is not None and clean["visiting_city"] is not None:
        if actor is not None and not can_create_visit(actor, clean["host_city"],
                                                      clean["visiting_city"]):
            raise VisitPermissionDenied(_("Nur Besuchsplaner und Stadt-Admins der beiden "
                                          "Städte dürfen einen Besuch anlegen."))
    member_list = _members(members, errors, cities=None if actor is None else (
        clean["host_city"], clean["visiting_city"]))
    if errors:
        raise VisitError(errors=errors)
    now = utcnow()
    visit = Visit(created_by=actor, created_at=now, updated_at=now, **clean)
    visit.members = member_list
    db.session.add(visit)
    db.session.flush()
    return visit


def require_edit(actor, visit: Visit) -> None:
    """Raise VisitPermissionDenied unless `actor` may plan `visit` (None: trusted command)."""
    if actor is not None and not can_edit_visit(actor, visit):
        raise VisitPermissionDenied()


def update_visit(actor, visit: Visit, **fields) -> Visit:
    """Change a visit's fields; sessions must still fit into the (new) visit time."""
    require_edit(actor, visit)
    allowed = {"title", "host_city", "visiting_city", "starts_at", "ends_at", "place",
               "address", "status", "topics", "notes", "outcomes"}
    unknown = set(fields) - allowed
    if unknown:
        raise VisitError(_("Unbekannte Felder: %(names)s.", names=", ".join(sorted(unknown))))
    errors: dict = {}
    clean = _validated_fields(fields, errors, current=visit)
    host = clean.get("host_city", visit.host_city)
    visiting = clean.get("visiting_city", visit.visiting_city)
    starts_at = clean.get("starts_at", visit.starts_at)
    ends_at = clean.get("ends_at", visit.ends_at)
    _check_cities(host, visiting, errors)
    _check_span(starts_at, ends_at, errors)
    if not errors and actor is not None and not can_create_visit(actor, host, visiting):
        raise VisitPermissionDenied()
    if starts_at and ends_at and not errors:
        outside = _sessions_outside(visit.sessions, starts_at, ends_at)
        if outside:
            errors["ends_at" if "ends_at" in fields else "starts_at"] = _(
                "Die Sitzung „%(title)s“ läge außerhalb der neuen Besuchszeit. Verschieben "
                "oder löschen Sie zuerst die betroffenen Sitzungen.", title=outside[0].title)
    if errors:
        raise VisitError(errors=errors)
    for key, value in clean.items():
        setattr(visit, key, value)
    visit.updated_at = utcnow()
    db.session.flush()
    return visit


def delete_visit(actor, visit: Visit) -> None:
    """Delete a visit with its agenda and delegation (its report experience stays)."""
    require_edit(actor, visit)
    db.session.delete(visit)
    db.session.flush()


def add_member(actor, visit: Visit, spec) -> VisitMember:
    """Add a delegation member (registered user or external guest)."""
    require_edit(actor, visit)
    errors: dict = {}
    members = _members([spec], errors, existing=visit.members, cities=None if actor is None
                       else (visit.host_city, visit.visiting_city))
    if errors:
        raise VisitError(errors={"member": " ".join(str(e) for e in errors.values())})
    visit.members.append(members[0])
    visit.updated_at = utcnow()
    db.session.flush()
    return members[0]


def remove_member(actor, visit: Visit, member: VisitMember) -> None:
    """Remove a delegation member from the visit."""
    require_edit(actor, visit)
    if member.visit_id != visit.id:
        raise VisitError(_("Diese Person gehört nicht zu diesem Besuch."))
    visit.members.remove(member)
    visit.updated_at = utcnow()
    db.session.flush()


# --- queries -----------------------------------------------------------------------------

def visits_query(*, city=None, status=None, when=None):
    """Visits, filtered by a city (host or guest), status and "upcoming"/"past"."""
    query = sa.select(Visit)
    if city is not None:
        query = query.where(sa.or_(Visit.host_city_id == city.id,
                                   Visit.visiting_city_id == city.id))
    if status:
        query = query.where(Visit.status == status)
    now = now_local()
    if when == "upcoming":
        query = query.where(Visit.ends_at >= now).order_by(Visit.starts_at, Visit.id)
    elif when == "past":
        query = query.where(Visit.ends_at < now).order_by(Visit.starts_at.desc(), Visit.id)
    else:
        query = query.order_by(Visit.starts_at.desc(), Visit.id)
    return query


def list_loads() -> tuple:
    """Loader options for what visit lists show per row: both cities, one statement each.

    A function, not a constant: building the options configures the mappers, which must
    wait until every domain's models are imported."""
    return selectinload(Visit.host_city), selectinload(Visit.visiting_city)


def show_loads() -> tuple:
    """Loader options for the visit page: cities, goals, the report, the delegation with
    its users' cities, and the agenda with each session's topics and linked experiences
    (with their cities and authors): a constant number of statements however long the programme
    (it issued one per linked experience and member: 48 for the demo's December visit)."""
    from ..auth.models import User
    from ..wiki.models import Experience, Revision
    from .models import AgendaSession, AgendaSessionExperience, VisitMember

    linked = (selectinload(Visit.sessions).selectinload(AgendaSession.experience_links)
              .selectinload(AgendaSessionExperience.experience))

    return (selectinload(Visit.host_city), selectinload(Visit.visiting_city),
            selectinload(Visit.topics), selectinload(Visit.report_experience),
            selectinload(Visit.members).selectinload(VisitMember.user)
            .selectinload(User.city),
            selectinload(Visit.sessions).selectinload(AgendaSession.topics),
            linked.selectinload(Experience.city),
            # A session's contact person is the first author when no contact is named.
            linked.selectinload(Experience.revisions).selectinload(Revision.author))


def visiting_cities_query():
    """Cities that host or make at least one visit, by name (the list's city filter)."""
    involved = sa.union(sa.select(Visit.host_city_id), sa.select(Visit.visiting_city_id))
    return sa.select(City).where(City.id.in_(involved)).order_by(City.name)


def upcoming_visits(city, limit: int = 5) -> list[Visit]:
    """The next visits the city hosts or makes, cancelled ones left out."""
    query = visits_query(city=city, when="upcoming").where(Visit.status != "cancelled")
    return list(db.session.scalars(query.options(*list_loads()).limit(limit)))


def recent_visits(city, limit: int = 3, days: int = 90) -> list[Visit]:
    """The city's visits that ended within the last `days` days, newest first, not cancelled."""
    since = now_local() - timedelta(days=days)
    query = visits_query(city=city, when="past").where(
        Visit.status != "cancelled", Visit.ends_at >= since)
    return list(db.session.scalars(query.options(*list_loads()).limit(limit)))


# --- agenda sessions ---------------------------------------------------------------------

def _session_fields(visit: Visit, values: dict, errors: dict, current=None) -> dict:
    clean = {}
    if "title" in values:
        clean["title"] = _text(values["title"], "title", TITLE_MAX, errors, _("Der Titel"),
                               required=True, one_line=True,
                               stored=getattr(current, "title", None))
    for key in ("starts_at", "ends_at"):
        if key in values:
            clean[key] = _datetime(values[key], key, errors)
    if "room" in values:
        clean["room"] = _text(values["room"], "room", ROOM_MAX, errors, _("Der Raum"),
                              one_line=True, stored=getattr(current, "room", None))
    for key, label in (("description", _("Die Beschreibung")),
                       ("open_questions", _("Die offenen Fragen"))):
        if key in values:
            clean[key] = _text(values[key], key, TEXT_MAX, errors, label)
    if "kind" in values:
        _choice(values["kind"], SESSION_KINDS, "kind", errors)
        clean["kind"] = values["kind"]
    if "topics" in values:
        clean["topics"] = _topics(values["topics"], errors)
    if "experiences" in values:
        clean["experiences"] = _experiences(values["experiences"], errors)
    starts_at = clean.get("starts_at", getattr(current, "starts_at", None))
    ends_at = clean.get("ends_at", getattr(current, "ends_at", None))
    _check_span(starts_at, ends_at, errors)
    if starts_at and ends_at and "ends_at" not in errors and "starts_at" not in errors:
        if starts_at < visit.starts_at or ends_at > visit.ends_at:
            errors["starts_at"] = _(
                "Die Sitzung liegt außerhalb des Besuchs (%(span)s).",
                span=_span_text(visit.starts_at, visit.ends_at))
    return clean


def _experiences(items, errors: dict) -> list:
    """Published experiences for a mix of Experience objects and slugs, in the given order."""
    from ..wiki.models import Experience

    found, unknown = [], []
    if not _is_list(items):
        errors["experiences"] = _("Die Erfahrungen müssen eine Liste von Kennungen sein.")
        return []
    for item in items or ():
        experience = item
        if not isinstance(item, Experience):
            slug = str(item).strip()
            if not slug:
                continue
            experience = db.session.scalar(sa.select(Experience).where(Experience.slug == slug))
        if experience is None or not experience.is_published:
            unknown.append(str(getattr(item, "slug", item)).strip())
        elif experience not in found:
            found.append(experience)
    if unknown:
        errors["experiences"] = _("Unbekannte oder nicht veröffentlichte Erfahrungen: "
                                  "%(slugs)s.", slugs=", ".join(unknown))
    return found


def _programme_order(session: AgendaSession) -> tuple:
    """The programme is in time order; sessions at the same time keep the planner's order."""
    return (session.starts_at, session.position, session.id or 0)


def _renumber(visit: Visit) -> None:
    """Positions 1..n in time order; the loaded collection is kept in that order."""
    for number, session in enumerate(sorted(visit.sessions, key=_programme_order), start=1):
        session.position = number
    visit.sessions.sort(key=lambda s: s.position)


def add_session(actor, visit: Visit, *, title, starts_at, ends_at, room="", description="",
                kind="custom", topics=(), open_questions="", experiences=()) -> AgendaSession:
    """Append a session to the agenda; it must lie within the visit's time."""
    require_edit(actor, visit)
    errors: dict = {}
    clean = _session_fields(visit, dict(title=title, starts_at=starts_at, ends_at=ends_at,
                                        room=room, description=description, kind=kind,
                                        topics=topics, open_questions=open_questions,
                                        experiences=experiences), errors)
    if errors:
        raise VisitError(errors=errors)
    position = max((session.position for session in visit.sessions), default=0) + 1
    linked = clean.pop("experiences")
    session = AgendaSession(position=position, **clean)
    _link_experiences(session, linked)
    visit.sessions.append(session)
    _renumber(visit)
    visit.updated_at = utcnow()
    db.session.flush()
    return session


def update_session(actor, session: AgendaSession, **fields) -> AgendaSession:
    """Edit a session's title, times, room, kind, topics, experiences, text or questions.

    A generated title or description given back as shown (in any language) stays
    generated; a changed one is stored as typed and no longer translated."""
    visit = session.visit
    require_edit(actor, visit)
    allowed = {"title", "starts_at", "ends_at", "room", "description", "kind", "topics",
               "open_questions", "experiences"}
    unknown = set(fields) - allowed
    if unknown:
        raise VisitError(_("Unbekannte Felder: %(names)s.", names=", ".join(sorted(unknown))))
    errors: dict = {}
    clean = _session_fields(visit, fields, errors, current=session)
    if errors:
        raise VisitError(errors=errors)
    if "experiences" in clean:
        _set_experiences(session, clean.pop("experiences"))
    for key in ("title", "description"):
        # A generated text becomes the person's own once changed (exchange/generated.py).
        if key in clean:
            session.edit(key, clean.pop(key))
    for key, value in clean.items():
        setattr(session, key, value)
    _renumber(visit)  # a session given another time moves to its place in the programme
    visit.updated_at = utcnow()
    db.session.flush()
    return session


def remove_session(actor, session: AgendaSession) -> None:
    """Remove a session from the agenda and close the gap in the numbering."""
    visit = session.visit
    require_edit(actor, visit)
    visit.sessions.remove(session)
    _renumber(visit)
    visit.updated_at = utcnow()
    db.session.flush()


def move_session(actor, session: AgendaSession, offset: int) -> None:
    """Move a session up (-1) or down (+1) in the programme: it swaps places with its
    neighbour, times included. The earlier of the two slots starts when the first of them
    started, each keeps its length and the gap between them stays, so the pair still ends
    when it ended and no other session moves; the programme stays in time order."""
    visit = session.visit
    require_edit(actor, visit)
    if offset not in (-1, 1):
        raise VisitError(_("Eine Sitzung kann nur um eine Stelle verschoben werden."))
    _renumber(visit)
    ordered = list(visit.sessions)
    index = ordered.index(session)
    other = index + offset
    if 0 <= other < len(ordered):
        earlier, later = sorted((ordered[index], ordered[other]), key=_programme_order)
        gap = max(later.starts_at - earlier.ends_at, timedelta(0))
        start, first_length = earlier.starts_at, later.ends_at - later.starts_at
        second_length = earlier.ends_at - earlier.starts_at
        later.starts_at, later.ends_at = start, start + first_length
        earlier.starts_at = later.ends_at + gap
        earlier.ends_at = earlier.starts_at + second_length
        earlier.position, later.position = later.position, earlier.position
        _renumber(visit)
        visit.updated_at = utcnow()
    db.session.flush()


def _link_experiences(session: AgendaSession, experiences) -> None:
    session.experience_links = [AgendaSessionExperience(experience=experience, rank=rank)
                                for rank, experience in enumerate(experiences)]


def _set_experiences(session: AgendaSession, experiences) -> None:
    """Replace the links in place: keep rows for experiences that stay, re-rank them."""
    current = {link.experience_id: link for link in session.experience_links}
    wanted = [experience.id for experience in experiences]
    for experience_id, link in current.items():
        if experience_id not in wanted:
            session.experience_links.remove(link)
    db.session.flush()
    for rank, experience in enumerate(experiences):
        link = current.get(experience.id)
        if link is None:
            session.experience_links.append(
                AgendaSessionExperience(experience=experience, rank=rank))
        else:
            link.rank = rank


def overlaps(visit: Visit) -> dict[int, list[AgendaSession]]:
    """Sessions whose times overlap another session: {session id: [overlapping sessions]}.

    Overlaps are allowed (parallel tracks happen) but shown to the planner as a warning.
    """
    found: dict[int, list[AgendaSession]] = {}
    sessions = sorted(visit.sessions, key=lambda s: (s.starts_at, s.position))
    for index, first in enumerate(sessions):
        for second in sessions[index + 1:]:
            if second.starts_at >= first.ends_at:
                break
            found.setdefault(first.id, []).append(second)
            found.setdefault(second.id, []).append(first)
    return found


# --- after the visit ---------------------------------------------------------------------

def record_outcomes(actor, visit: Visit, outcomes: str) -> Visit:
    """Store what was agreed (Markdown)."""
    return update_visit(actor, visit, outcomes=outcomes)


def report_body(visit: Visit) -> str:
    """Markdown text for the visit report: participants, agenda and outcomes."""
    from .agenda import session_time_text

    lines = [
        _("**%(guest)s besucht %(host)s** · %(span)s",
          guest=visit.visiting_city.name, host=visit.host_city.name,
          span=_span_text(visit.starts_at, visit.ends_at)),
    ]
    if visit.place or visit.address:
        lines.append("")
        lines.append(_("Ort: %(place)s", place=", ".join(
            part for part in (visit.place, visit.address) if part)))
    lines += ["", "## " + _("Teilnehmende"), ""]
    for member in visit.members:
        details = ", ".join(part for part in (member.role, member.organisation) if part)
        lines.append(f"- {member.name}" + (f" ({details})" if details else "")
                     + f" – {member.city.name}")
    if not visit.members:
        lines.append(_("- (noch keine Teilnehmenden eingetragen)"))
    lines += ["", "## " + _("Agenda"), ""]
    language = current_locale()
    for session in visit.sessions:
        topics = ", ".join(topic.name(language) for topic in session.topics)
        lines.append(f"- {session_time_text(session)}: **{session.display_title}**"
                     + (f" ({topics})" if topics else ""))
    lines += ["", "## " + _("Ergebnisse und Vereinbarungen"), "",
              visit.outcomes or _("(noch nicht erfasst)"), "",
              "## " + _("Nächste Schritte"), "", "- "]
    return "\n".join(lines)


def report_possible(visit: Visit) -> bool:
    """A visit report can be written once the visit has begun, unless it was called off."""
    return visit.status != "cancelled" and visit.starts_at <= now_local()


def create_report_draft(actor, visit: Visit):
    """Create the `visit_report` experience draft for this visit and link it."""
    require_edit(actor, visit)
    if visit.report_experience is not None and visit.report_experience.deleted_at is None:
        raise VisitError(_("Für diesen Besuch gibt es bereits einen Besuchsbericht."))
    if not report_possible(visit):
        raise VisitError(_("Einen Besuchsbericht gibt es erst, wenn der Besuch begonnen hat "
                           "(und nicht für einen abgesagten Besuch)."))
    from ..wiki.services import create_experience

    city = visit.visiting_city
    if actor is not None and actor.city_id in (visit.host_city_id, visit.visiting_city_id):
        city = actor.city
    title = _("Besuchsbericht: %(guest)s zu Gast in %(host)s (%(date)s)",
              guest=visit.visiting_city.name, host=visit.host_city.name,
              date=format_day(visit.starts_at, "MMMM yyyy"))
    experience = create_experience(actor, city, title=title[:TITLE_MAX],
                                   body=report_body(visit), kind="visit_report",
                                   topics=list(visit.topics), status="draft",
                                   summary=_("Entwurf aus dem Besuch erstellt"))
    visit.report_experience = experience
    db.session.flush()
    return experience


def agreed_topics(visit: Visit) -> list[Topic]:
    """Topics a joint project may start from: the visit's goals and its sessions' topics."""
    topics = list(visit.topics)
    for session in visit.sessions:
        for topic in session.topics:
            if topic not in topics:
                topics.append(topic)
    return topics


def start_project(actor, visit: Visit, topic: Topic):
    """Propose a joint project on `topic` between the two cities (projects domain)."""
    require_edit(actor, visit)
    if topic not in agreed_topics(visit):
        raise VisitError(_("Das Thema „%(topic)s“ gehört nicht zu diesem Besuch.",
                           topic=topic.name_de))
    from ..projects.services import propose_project

    own = actor.city if actor is not None and actor.city in visit.cities else visit.visiting_city
    other = visit.host_city if own.id == visit.visiting_city_id else visit.visiting_city
    title = _("%(topic)s: gemeinsames Projekt von %(a)s und %(b)s",
              topic=topic.name_de, a=own.name, b=other.name)
    description = _("Vereinbart beim Besuch „%(visit)s“ (%(date)s).",
                    visit=visit.title, date=format_day(visit.starts_at, "medium"))
    if visit.outcomes:
        description += "\n\n" + visit.outcomes
    return propose_project(actor, title[:TITLE_MAX], description, [topic], [other],
                           from_match_city=other, submit=False)
