"""Visits API over the visit services.

Read: GET /api/v1/visits, /api/v1/visits/<id> (with agenda) and /<id>.ics.
Write: POST /visits, PUT /visits/<id>, POST /visits/<id>/agenda/propose,
POST /visits/<id>/sessions, PUT and DELETE /visits/<id>/sessions/<sid>,
POST /visits/<id>/members. The services check everything (as for the pages): 403 for
people who may not plan the visit, 422 with German messages per field in
`error.errors`, 409 when a proposal would replace an agenda without {"replace": true};
a refused request stores nothing.

Times are ISO 8601 with the Europe/Berlin offset of their day (+01:00 in winter,
+02:00 in summer); each session says whether it overlaps another one. Times sent
without an offset are Europe/Berlin wall-clock times.

A session's generated title and description (from the agenda proposal) come in the
caller's language, and its "generated" list names those fields (exchange/generated.py);
the planner's own texts come as typed.
"""
from flask import Response, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.permissions import can_read_experience
from ..cities.models import City
from ..extensions import db
from ..visits import services
from ..visits.agenda import propose_agenda
from ..visits.calendar import visit_calendar
from ..visits.models import STATUSES, AgendaSession, Visit
from ..visits.services import overlaps, visits_query
from ..visits.timeutil import VISIT_TIMEZONE, isoformat
from .common import ApiError, api_view, json_body, not_found, page_of, slug_arg
from .schemas.common import paginated
from .views import bp

#: Largest page of the visit list.
MAX_PER_PAGE = 100


def _city(city) -> dict:
    return {"slug": city.slug, "name": city.name}


def _topic(topic) -> dict:
    return {"slug": topic.slug, "name": topic.name_de}


def visit_summary(visit: Visit) -> dict:
    """A visit without its agenda (for lists)."""
    return {
        "id": visit.id,
        "title": visit.title,
        "host_city": _city(visit.host_city),
        "visiting_city": _city(visit.visiting_city),
        "starts_at": isoformat(visit.starts_at),
        "ends_at": isoformat(visit.ends_at),
        "timezone": VISIT_TIMEZONE,
        "place": visit.place,
        "address": visit.address,
        "status": visit.status,
        "topics": [_topic(topic) for topic in visit.topics],
        "url": url_for("visits.show", visit_id=visit.id, _external=True),
        "ics_url": url_for("api.visit_ics", visit_id=visit.id, _external=True),
    }


def member_json(member) -> dict:
    """A delegation member (registered person or external guest)."""
    return {
        "id": member.id,
        "name": member.name,
        "email": member.user.email if member.user else None,
        "external": member.user is None,
        "role": member.role,
        "organisation": member.organisation,
        "side": member.side,
        "city": member.city.slug,
    }


def session_json(session: AgendaSession, found: dict | None = None) -> dict:
    """An agenda session; `found` is `overlaps(visit)` (computed when not given)."""
    if found is None:
        found = overlaps(session.visit)
    return {
        "id": session.id,
        "position": session.position,
        # Generated texts in the caller's language (Accept-Language, the user's setting);
        # "generated" names them: sent back unchanged in a PUT they stay generated.
        "title": session.display_title,
        "kind": session.kind,
        "starts_at": isoformat(session.starts_at),
        "ends_at": isoformat(session.ends_at),
        "room": session.room,
        "description": session.display_description,
        "generated": session.generated_fields(),
        "open_questions": session.open_questions,
        "topics": [_topic(topic) for topic in session.topics],
        "experiences": [{"slug": e.slug, "title": e.title, "city": e.city.slug}
                        for e in session.experiences],
        "contacts": session.contacts,
        "overlaps": bool(found.get(session.id)),
        "overlaps_with": [other.id for other in found.get(session.id, [])],
    }


def visit_detail(visit: Visit) -> dict:
    """A visit with delegation, agenda (overlaps flagged), outcomes and report link."""
    found = overlaps(visit)
    data = visit_summary(visit)
    data.update({
        "notes": visit.notes,
        "outcomes": visit.outcomes,
        "members": [member_json(member) for member in visit.members],
        "agenda": [session_json(session, found) for session in visit.sessions],
        "has_overlaps": bool(found),
        # The other city's draft report is not named (its slug is its title).
        "report_experience": (visit.report_experience.slug
                              if visit.report_experience is not None
                              and can_read_experience(current_user, visit.report_experience)
                              else None),
    })
    return data


def _visit_or_404(visit_id: int) -> Visit:
    visit = db.session.get(Visit, visit_id) if visit_id <= services.ID_MAX else None
    if visit is None:
        not_found(_("Besuch"))
    return visit


@bp.route("/visits")
@api_view
def visit_list():
    """Visits, filtered by ?city=<slug>, ?status=, ?when=upcoming|past; paginated."""
    city = slug_arg(City, "city")
    status = request.args.get("status") or None
    if status is not None and status not in STATUSES:
        raise ApiError(400, f"status must be one of {', '.join(STATUSES)}")
    when = request.args.get("when") or None
    if when not in (None, "upcoming", "past"):
        raise ApiError(400, "when must be 'upcoming' or 'past'")
    pagination = page_of(visits_query(city=city, status=status, when=when), 20, MAX_PER_PAGE)
    return paginated(pagination, [visit_summary(visit) for visit in pagination.items],
                     legacy="visits")


@bp.route("/visits/<int:visit_id>")
@api_view
def visit_show(visit_id: int):
    """One visit with its agenda."""
    return visit_detail(_visit_or_404(visit_id))


@bp.route("/visits/<int:visit_id>.ics")
@api_view
def visit_ics(visit_id: int):
    """The visit and its sessions as iCalendar (RFC 5545)."""
    visit = _visit_or_404(visit_id)
    body = visit_calendar(visit, url=url_for("visits.show", visit_id=visit.id, _external=True))
    return Response(body, mimetype="text/calendar",
                    headers={"Content-Disposition":
                             f'attachment; filename="besuch-{visit.id}.ics"'})


# --- writing -----------------------------------------------------------------------------

#: Fields of POST /visits (the new-visit form; "members" is its delegation list).
VISIT_CREATE_FIELDS = ("title", "host_city", "visiting_city", "starts_at", "ends_at", "place",
                       "address", "status", "topics", "notes", "members")
#: Fields of PUT /visits/<id> (the edit form, plus the outcomes recorded afterwards);
#: fields left out keep their value.
VISIT_UPDATE_FIELDS = ("title", "host_city", "visiting_city", "starts_at", "ends_at", "place",
                       "address", "status", "topics", "notes", "outcomes")
#: Fields of POST /visits/<id>/sessions and PUT /visits/<id>/sessions/<sid> (session form).
SESSION_FIELDS = ("title", "starts_at", "ends_at", "room", "kind", "topics", "description",
                  "open_questions", "experiences")


def _fields(data: dict, allowed: tuple) -> dict:
    """The body's fields, or 422 naming the ones this endpoint does not know."""
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ApiError(422, f"unknown fields: {', '.join(unknown)}",
                       errors={name: "unbekanntes Feld" for name in unknown})
    return data


def _created(body: dict, location: str):
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = location
    return response


def _session_or_404(visit: Visit, session_id: int) -> AgendaSession:
    session = (db.session.get(AgendaSession, session_id) if session_id <= services.ID_MAX
               else None)
    if session is None or session.visit_id != visit.id:
        not_found(_("Programmpunkt"))
    return session


@bp.route("/visits", methods=["POST"])
@api_view
def visit_create():
    """Plan a visit (fields as the new-visit form, members as a list); 201 + Location."""
    data = _fields(json_body(), VISIT_CREATE_FIELDS)
    required = {name: None for name in ("title", "host_city", "visiting_city", "starts_at",
                                        "ends_at")}
    visit = services.create_visit(current_user, **{**required, **data})
    db.session.commit()
    return _created(visit_detail(visit), url_for("api.visit_show", visit_id=visit.id))


@bp.route("/visits/<int:visit_id>", methods=["PUT"])
@api_view
def visit_update(visit_id: int):
    """Change a visit's fields (as the edit form, plus "outcomes"); others stay."""
    visit = _visit_or_404(visit_id)
    data = _fields(json_body(), VISIT_UPDATE_FIELDS)
    services.update_visit(current_user, visit, **data)
    db.session.commit()
    return visit_detail(visit)


@bp.route("/visits/<int:visit_id>/agenda/propose", methods=["POST"])
@api_view
def visit_propose_agenda(visit_id: int):
    """Propose the agenda from the cities' match; an existing one only with "replace"."""
    visit = _visit_or_404(visit_id)
    data = request.get_json(silent=True)
    if data is None and not request.get_data().strip():
        data = {}  # no body at all: propose without replacing
    if not isinstance(data, dict):
        raise ApiError(400, "request body must be a JSON object")
    replace = _fields(data, ("replace",)).get("replace", False)
    if not isinstance(replace, bool):
        raise ApiError(422, "field 'replace' must be true or false",
                       errors={"replace": "muss true oder false sein"})
    try:
        propose_agenda(current_user, visit, replace=replace)
    except services.VisitError as error:
        if "replace" in error.errors:  # an agenda exists: a conflict, not bad input
            error.status, error.problem = 409, "conflict"
        raise
    db.session.commit()
    return visit_detail(visit)


@bp.route("/visits/<int:visit_id>/sessions", methods=["POST"])
@api_view
def session_create(visit_id: int):
    """Add an agenda session (fields as the session form); 201 + Location of the visit."""
    visit = _visit_or_404(visit_id)
    data = _fields(json_body(), SESSION_FIELDS)
    required = {"title": None, "starts_at": None, "ends_at": None}
    session = services.add_session(current_user, visit, **{**required, **data})
    db.session.commit()
    return _created(session_json(session), url_for("api.visit_show", visit_id=visit.id))


@bp.route("/visits/<int:visit_id>/sessions/<int:session_id>", methods=["PUT"])
@api_view
def session_update(visit_id: int, session_id: int):
    """Change an agenda session's fields; fields left out keep their value."""
    visit = _visit_or_404(visit_id)
    session = _session_or_404(visit, session_id)
    data = _fields(json_body(), SESSION_FIELDS)
    services.update_session(current_user, session, **data)
    db.session.commit()
    return session_json(session)


@bp.route("/visits/<int:visit_id>/sessions/<int:session_id>", methods=["DELETE"])
@api_view
def session_delete(visit_id: int, session_id: int):
    """Remove an agenda session; the others are renumbered. 204."""
    visit = _visit_or_404(visit_id)
    session = _session_or_404(visit, session_id)
    services.remove_session(current_user, session)
    db.session.commit()
    return "", 204


@bp.route("/visits/<int:visit_id>/members", methods=["POST"])
@api_view
def member_create(visit_id: int):
    """Add a delegation member: {"user": e-mail} or {"guest_name": ...}; 201."""
    visit = _visit_or_404(visit_id)
    member = services.add_member(current_user, visit, json_body())
    db.session.commit()
    return _created(member_json(member), url_for("api.visit_show", visit_id=visit.id))
