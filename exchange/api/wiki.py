"""JSON API of the wiki: list, read, create and update experiences; read their revisions."""
import sqlalchemy as sa
from flask import jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.permissions import can_edit_experience, can_read_experience
from ..extensions import db
from ..wiki import services
from ..wiki.models import KINDS, STATUSES, Experience, Revision
from .common import ApiError, api_view, json_body, page_of, slug_arg, utc_iso
from .schemas.common import envelope
from .views import bp

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
#: Fields a client may send in POST and PUT bodies, with the JSON type each must have.
TEXT_FIELDS = ("title", "body", "kind", "status", "slug", "contact_name", "contact_email",
               "summary", "city")


def experience_json(experience: Experience) -> dict:
    """The API representation of an experience (`revision` = id of its current revision)."""
    return {
        "slug": experience.slug,
        "title": experience.title,
        "body": experience.body,
        "city": experience.city.slug,
        "topics": [topic.slug for topic in experience.topics],
        "kind": experience.kind,
        "status": experience.status,
        "revision": experience.current_revision_id,
        "html_url": url_for("wiki.show", slug=experience.slug, _external=True),
        "contact_name": experience.contact_name,
        "contact_email": experience.contact_email,
        "created_at": utc_iso(experience.created_at),
        "updated_at": utc_iso(experience.updated_at),
        "published_at": utc_iso(experience.published_at),
        "revision_number": (experience.current_revision.number
                            if experience.current_revision else None),
    }


def revision_json(revision: Revision, with_body: bool = True) -> dict:
    """One revision; lists leave the body out."""
    restored = None
    if revision.restored_from_id is not None:
        restored = db.session.scalar(sa.select(Revision.number).where(
            Revision.id == revision.restored_from_id))
    data = {
        "id": revision.id,
        "number": revision.number,
        "title": revision.title,
        "summary": revision.summary,
        "author": revision.author.display_name if revision.author else None,
        "created_at": utc_iso(revision.created_at),
        "restored_from": restored,
        "current": revision.id == revision.experience.current_revision_id,
    }
    if with_body:
        data["body"] = revision.body
    return data


def _validation_error(fields: dict, message=None):
    return ApiError(422, message or _("Die Eingaben sind ungültig; siehe die Fehler der "
                                      "einzelnen Felder."),
                    fields={key: str(value) for key, value in fields.items()})


def _readable(slug: str) -> Experience:
    experience = services.get_experience(slug)
    if experience is None or not can_read_experience(current_user, experience):
        raise ApiError(404, _("Erfahrung %(slug)s nicht gefunden", slug=repr(slug)))
    return experience


def _lookup(model, slug: str, field: str, fields: dict):
    found = db.session.scalar(sa.select(model).where(model.slug == slug))
    if found is None:
        fields[field] = f"unknown {field} {slug!r}"
    return found


def _check_types(data: dict) -> dict:
    """Field map of type errors: text fields must be strings, topics a list of strings."""
    fields = {}
    for name in TEXT_FIELDS:
        if name in data and data[name] is not None and not isinstance(data[name], str):
            fields[name] = "must be a string"
    if "topics" in data and not (isinstance(data["topics"], list)
                                 and all(isinstance(item, str) for item in data["topics"])):
        fields["topics"] = "must be a list of topic slugs"
    return fields


def _topics_or_error(slugs, fields: dict):
    """Resolve topic slugs; unknown ones become a field error (as the service would)."""
    errors: dict = {}
    topics = services.resolve_topics(slugs, errors)
    if errors:
        fields["topics"] = "unknown topics: " + ", ".join(
            slug for slug in slugs if slug not in {topic.slug for topic in topics})
    return topics


@bp.route("/experiences", methods=["GET"])
@api_view
def list_experiences():
    """Experiences the caller may read; filters city, topic, kind, status; paginated."""
    from ..cities.models import City, Topic

    fields: dict = {}
    city = slug_arg(City, "city", fields)
    topic = slug_arg(Topic, "topic", fields)
    kind = request.args.get("kind") or None
    status = request.args.get("status") or None
    if kind is not None and kind not in KINDS:
        fields["kind"] = f"must be one of {', '.join(KINDS)}"
    if status is not None and status not in STATUSES:
        fields["status"] = f"must be one of {', '.join(STATUSES)}"
    if fields:
        # Bad query arguments are 400 throughout the API (as in cities.py and int_arg).
        raise ApiError(400, _("Unbekannter Filterwert"), problem="validation", fields=fields)
    pagination = page_of(services.experiences_query(current_user, city=city, topic=topic,
                                                    kind=kind, status=status),
                         DEFAULT_PER_PAGE, MAX_PER_PAGE)
    return jsonify(items=[experience_json(item) for item in pagination.items],
                   total=pagination.total, page=pagination.page, per_page=pagination.per_page)


@bp.route("/experiences/<slug>", methods=["GET"])
@api_view
def get_experience(slug: str):
    """One experience."""
    return jsonify(experience_json(_readable(slug)))


@bp.route("/experiences", methods=["POST"])
@api_view
def create_experience():
    """Create an experience (201 + Location); city defaults to the caller's city."""
    from ..cities.models import City

    data = json_body()
    fields = _check_types(data)
    if fields:
        raise _validation_error(fields)
    city = current_user.city
    if data.get("city"):
        city = _lookup(City, data["city"], "city", fields)
    elif city is None:
        fields["city"] = "required (your account belongs to no city)"
    topics = _topics_or_error(data.get("topics") or [], fields)
    if fields:
        raise _validation_error(fields)
    # A refusal (services.WikiError, PermissionDenied) is a DomainError: the blueprint's
    # handler rolls back and answers 422 / 403 with the field errors.
    experience = services.create_experience(
        current_user, city, data.get("title"), data.get("body") or "",
        kind=data.get("kind") or "lesson_learned", topics=topics,
        status=data.get("status") or "draft", slug=data.get("slug"),
        contact_name=data.get("contact_name"), contact_email=data.get("contact_email"),
        summary=data.get("summary") or "")
    written = experience_json(experience)  # before the commit expires it (see PUT)
    db.session.commit()
    response = jsonify(written)
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_experience", slug=experience.slug,
                                           _external=True)
    return response


@bp.route("/experiences/<slug>", methods=["PUT"])
@api_view
def update_experience(slug: str):
    """Update from `base_revision`; 409 with the current state when that is stale."""
    experience = _readable(slug)
    if not can_edit_experience(current_user, experience):
        raise services.PermissionDenied()
    data = json_body()
    fields = _check_types(data)
    base = data.get("base_revision")
    if base is None:
        fields["base_revision"] = "required: the id of the revision your edit started from"
    elif isinstance(base, bool) or not isinstance(base, int):
        fields["base_revision"] = "must be an integer revision id"
    if data.get("city") and data["city"] != experience.city.slug and "city" not in fields:
        fields["city"] = "an experience cannot move to another city"
    if data.get("slug") and data["slug"] != experience.slug and "slug" not in fields:
        fields["slug"] = "the slug of an experience cannot be changed"
    topics = None
    if "topics" in data and "topics" not in fields:
        topics = _topics_or_error(data["topics"], fields)
    if fields:
        raise _validation_error(fields)

    def text(name):
        # Absent: keep. null: clear (contact fields) or keep (the rest).
        if name not in data:
            return None
        return "" if data[name] is None and name.startswith("contact_") else data[name]

    try:
        services.update_experience(
            current_user, experience, base, title=text("title"), body=text("body"),
            topics=topics, kind=text("kind"), status=text("status"),
            contact_name=text("contact_name"), contact_email=text("contact_email"),
            summary=data.get("summary") or "")
    except services.EditConflict as conflict:
        # The one refusal with more to say: the current state to merge with.
        db.session.rollback()
        raise ApiError(409, _("Bearbeitungskonflikt: die Erfahrung wurde nach Ihrer "
                              "Ausgangsversion geändert; führen Sie die Änderungen zusammen "
                              "und senden Sie sie mit der aktuellen Version erneut."),
                       problem="edit-conflict", fields={"base_revision": "stale"},
                       extra={"current_revision": conflict.current.id, "base_revision": base,
                              "experience": experience_json(_readable(slug))}) from None
    # The answer names the revision this request wrote. Read after the commit, the
    # expired experience would be loaded again and could name a later writer's revision.
    written = experience_json(experience)
    db.session.commit()
    return jsonify(written)


@bp.route("/experiences/<slug>/revisions", methods=["GET"])
@api_view
def list_revisions(slug: str):
    """All revisions of an experience, oldest first, without their bodies."""
    experience = _readable(slug)
    items = [revision_json(revision, with_body=False) for revision in experience.revisions]
    return jsonify(envelope(items, len(items)))


@bp.route("/experiences/<slug>/revisions/<int:number>", methods=["GET"])
@api_view
def get_revision(slug: str, number: int):
    """One revision with its full text."""
    experience = _readable(slug)
    revision = services.get_revision(experience, number)
    if revision is None:
        raise ApiError(404, _("Version %(number)s von %(slug)s nicht gefunden",
                              number=number, slug=repr(slug)))
    return jsonify(revision_json(revision))
