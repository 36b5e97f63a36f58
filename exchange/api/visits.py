"""Visits API: GET /api/v1/visits, /api/v1/visits/<id> (with agenda) and /<id>.ics.

Times are ISO 8601 with the Europe/Berlin offset of their day (+01:00 in winter,
+02:00 in summer); each session says whether it overlaps another one.
"""
import sqlalchemy as sa
from flask import Response, request, url_for

from ..cities.models import City
from ..extensions import db
from ..visits.calendar import visit_calendar
from ..visits.models import STATUSES, Visit
from ..visits.services import overlaps, visits_query
from ..visits.timeutil import VISIT_TIMEZONE, isoformat
from .common import ApiError, api_view, int_arg, not_found
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


def visit_detail(visit: Visit) -> dict:
    """A visit with delegation, agenda (overlaps flagged), outcomes and report link."""
    found = overlaps(visit)
    data = visit_summary(visit)
    data.update({
        "notes": visit.notes,
        "outcomes": visit.outcomes,
        "members": [{
            "name": member.name,
            "email": member.user.email if member.user else None,
            "external": member.user is None,
            "role": member.role,
            "organisation": member.organisation,
            "side": member.side,
            "city": member.city.slug,
        } for member in visit.members],
        "agenda": [{
            "id": session.id,
            "position": session.position,
            "title": session.title,
            "kind": session.kind,
            "starts_at": isoformat(session.starts_at),
            "ends_at": isoformat(session.ends_at),
            "room": session.room,
            "description": session.description,
            "open_questions": session.open_questions,
            "topics": [_topic(topic) for topic in session.topics],
            "experiences": [{"slug": e.slug, "title": e.title, "city": e.city.slug}
                            for e in session.experiences],
            "contacts": session.contacts,
            "overlaps": bool(found.get(session.id)),
            "overlaps_with": [other.id for other in found.get(session.id, [])],
        } for session in visit.sessions],
        "has_overlaps": bool(found),
        "report_experience": (visit.report_experience.slug
                              if visit.report_experience is not None else None),
    })
    return data


def _visit_or_404(visit_id: int) -> Visit:
    visit = db.session.get(Visit, visit_id)
    if visit is None:
        not_found("visit")
    return visit


@bp.route("/visits")
@api_view
def visit_list():
    """Visits, filtered by ?city=<slug>, ?status=, ?when=upcoming|past; paginated."""
    city = None
    if request.args.get("city"):
        city = db.session.scalar(sa.select(City).where(City.slug == request.args["city"]))
        if city is None:
            raise ApiError(400, f"unknown city {request.args['city']!r}")
    status = request.args.get("status") or None
    if status is not None and status not in STATUSES:
        raise ApiError(400, f"status must be one of {', '.join(STATUSES)}")
    when = request.args.get("when") or None
    if when not in (None, "upcoming", "past"):
        raise ApiError(400, "when must be 'upcoming' or 'past'")
    page = int_arg("page", 1)
    per_page = int_arg("per_page", 20, maximum=MAX_PER_PAGE)
    query = visits_query(city=city, status=status, when=when)
    pagination = db.paginate(query, page=page, per_page=per_page, error_out=False)
    return {"visits": [visit_summary(visit) for visit in pagination.items],
            "total": pagination.total, "page": page, "per_page": per_page}


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
