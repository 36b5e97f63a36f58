"""JSON API of joint projects and the notification inbox, over the projects services."""
from flask import jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth import permissions
from ..cities.models import City
from ..extensions import db
from ..projects import services, states
from ..projects.models import Notification, Project, ProjectComment
from .common import ApiError, api_view, int_arg, json_body, page_of, slug_arg, utc_iso
from .schemas.common import envelope, paginated
from .views import bp

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
SCOPES = ("all", "mine", "invitations")


def _name(user):
    return user.display_name if user is not None else None


def participant_json(participant) -> dict:
    """A city's part in a project and its answer."""
    return {
        "city": participant.city.slug,
        "city_name": participant.city.name,
        "role": participant.role,
        "response": participant.response,
        "message": participant.message,
        "invited_at": utc_iso(participant.invited_at),
        "responded_at": utc_iso(participant.responded_at),
        "responded_by": _name(participant.responded_by),
    }


def comment_json(comment: ProjectComment) -> dict:
    """A comment with its author and time."""
    return {
        "id": comment.id,
        "author": _name(comment.author),
        "city": comment.author.city.slug if comment.author and comment.author.city else None,
        "body": comment.body,
        "created_at": utc_iso(comment.created_at),
    }


def project_json(project: Project, detail: bool = False) -> dict:
    """The API representation of a project; `detail` adds comments and history."""
    data = {
        "id": project.id,
        "title": project.title,
        "description": project.description,
        "state": project.state,
        "initiator_city": project.initiator_city.slug,
        "created_by": _name(project.created_by),
        "from_match_city": project.from_match_city.slug if project.from_match_city else None,
        "topics": [topic.slug for topic in project.topics],
        "participants": [participant_json(p) for p in project.participants],
        # Another city's draft report is not named (its slug is its title).
        "report_experience": (project.report_experience.slug
                              if project.report_experience
                              and permissions.can_read_experience(current_user,
                                                                  project.report_experience)
                              else None),
        "allowed_transitions": (states.manual_targets(project.state)
                                if permissions.can_manage_project(current_user, project) else []),
        "html_url": url_for("projects.show", project_id=project.id, _external=True),
        "created_at": utc_iso(project.created_at),
        "updated_at": utc_iso(project.updated_at),
    }
    if detail:
        data["comments"] = [comment_json(comment) for comment in project.comments]
        data["events"] = [{
            "kind": event.kind,
            "actor": _name(event.actor),
            "city": event.city.slug if event.city else None,
            "message": event.message,
            "comment_id": event.comment_id,
            "created_at": utc_iso(event.created_at),
        } for event in project.events]
    return data


def notification_json(notification: Notification) -> dict:
    """One inbox entry."""
    return {
        "id": notification.id,
        "kind": notification.kind,
        # In the caller's language where the app wrote them (exchange/generated.py).
        "title": notification.display_title,
        "body": notification.display_body,
        "link": notification.link,
        "created_at": utc_iso(notification.created_at),
        "read_at": utc_iso(notification.read_at),
    }


def _load(project_id: int) -> Project:
    """A project the user may see, or 404."""
    project = services.get_visible_project(current_user, project_id)
    if project is None:
        raise ApiError(404, _("Projekt nicht gefunden"))
    return project


def _string(data: dict, field: str, default=None, required=False):
    """A string field of the body (422 for another type)."""
    value = data.get(field, default)
    if value is None and not required:
        return default
    if not isinstance(value, str):
        raise ApiError(422, f"field {field!r} must be a string")
    return value


def _string_list(data: dict, field: str, default=()) -> list[str] | None:
    """A list of strings (slugs) from the body; `default` (a copy) when it is missing."""
    if field not in data:
        return list(default) if default is not None else None
    value = data[field]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ApiError(422, f"field {field!r} must be a list of slugs")
    return value


@bp.route("/projects")
@api_view
def list_projects():
    """Projects the user may see; filters `state`, `city` (slug), `scope`, paging."""
    state = request.args.get("state") or None
    if state is not None and state not in states.STATES:
        raise ApiError(400, f"unknown state {state!r}; use one of {', '.join(states.STATES)}")
    scope = request.args.get("scope") or "all"
    if scope not in SCOPES:
        raise ApiError(400, f"unknown scope {scope!r}; use one of {', '.join(SCOPES)}")
    city = slug_arg(City, "city")
    query = services.projects_query(current_user, scope=scope, state=state, city=city)
    pagination = page_of(query, DEFAULT_PER_PAGE, MAX_PER_PAGE)
    return jsonify(paginated(pagination, [project_json(p) for p in pagination.items],
                             legacy="projects"))


@bp.route("/projects/<int:project_id>")
@api_view
def get_project(project_id: int):
    """One project with participants, topics, comments and events."""
    return jsonify(project_json(_load(project_id), detail=True))


@bp.route("/projects", methods=["POST"])
@api_view
def create_project():
    """Propose a project (or keep it as draft with "submit": false); 201."""
    data = json_body()
    submit = data.get("submit", True)
    if not isinstance(submit, bool):
        raise ApiError(422, "field 'submit' must be true or false")
    project = services.propose_project(
        current_user,
        _string(data, "title", "", required=True), _string(data, "description", ""),
        _string_list(data, "topics"), _string_list(data, "invited_cities"),
        from_match_city=_string(data, "from_match_city"), submit=submit,
        city=_string(data, "city"))
    db.session.commit()
    response = jsonify(project_json(project, detail=True))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_project", project_id=project.id)
    return response


#: Fields `PATCH /projects/<id>` changes; the state has its own endpoint (/transition).
EDITABLE_FIELDS = ("title", "description", "topics")


@bp.route("/projects/<int:project_id>", methods=["PATCH"])
@api_view
def update_project(project_id: int):
    """Change title, description and/or topics while draft, proposed or active."""
    project = _load(project_id)
    data = json_body()
    unknown = sorted(set(data) - set(EDITABLE_FIELDS))
    if unknown:
        raise ApiError(422, f"cannot change {', '.join(map(repr, unknown))} here; "
                       f"send any of {', '.join(EDITABLE_FIELDS)}")
    if not data:
        raise ApiError(422, f"nothing to change; send any of {', '.join(EDITABLE_FIELDS)}")
    for field, value in data.items():
        if value is None:
            raise ApiError(422, f"field {field!r} must not be null")
    services.update_project(current_user, project,
          title=_string(data, "title"), description=_string(data, "description"),
          topics=_string_list(data, "topics", default=None))
    db.session.commit()
    return jsonify(project_json(project, detail=True))


@bp.route("/projects/<int:project_id>/respond", methods=["POST"])
@api_view
def respond_to_project(project_id: int):
    """Accept or decline an invitation: {"accept": bool, "message": str, "city"?: slug}."""
    project = _load(project_id)
    data = json_body()
    accept = data.get("accept")
    if not isinstance(accept, bool):
        raise ApiError(422, "field 'accept' must be true or false")
    services.respond(current_user, project, accept, _string(data, "message", ""),
          city=_string(data, "city"))
    db.session.commit()
    return jsonify(project_json(project, detail=True))


@bp.route("/projects/<int:project_id>/transition", methods=["POST"])
@api_view
def transition_project(project_id: int):
    """Change the state: {"to": "proposed" | "completed" | "withdrawn"}."""
    project = _load(project_id)
    target = _string(json_body(), "to", "", required=True)
    services.transition(current_user, project, target)
    db.session.commit()
    return jsonify(project_json(project, detail=True))


@bp.route("/projects/<int:project_id>/comments", methods=["POST"])
@api_view
def comment_project(project_id: int):
    """Add a comment: {"body": str}; 201."""
    project = _load(project_id)
    comment = services.comment(current_user, project,
                    _string(json_body(), "body", "", required=True))
    db.session.commit()
    return jsonify(comment_json(comment)), 201


@bp.route("/projects/<int:project_id>/invitations", methods=["POST"])
@api_view
def invite_to_project(project_id: int):
    """Invite one more city: {"city": slug}; 201."""
    project = _load(project_id)
    services.invite_city(current_user, project,
          _string(json_body(), "city", "", required=True))
    db.session.commit()
    return jsonify(project_json(project, detail=True)), 201


@bp.route("/projects/<int:project_id>/report", methods=["POST"])
@api_view
def report_project(project_id: int):
    """Create (once) the draft project report of a completed project; 201."""
    project = _load(project_id)
    experience = services.create_project_report(current_user, project)
    db.session.commit()
    return jsonify(experience=experience.slug, project=project_json(project)), 201


@bp.route("/notifications")
@api_view
def list_notifications():
    """The user's notifications, newest first (?unread=1 for unread ones only)."""
    unread_only = request.args.get("unread") in ("1", "true")
    limit = int_arg("limit", 100, maximum=500)
    items = [notification_json(n) for n in services.notifications_for(
        current_user, unread_only=unread_only, limit=limit)]
    return jsonify(envelope(items, len(items), per_page=limit, legacy="notifications",
                            unread_count=services.unread_count(current_user)))


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@api_view
def read_notification(notification_id: int):
    """Mark one of the user's notifications read."""
    notification = services.get_notification(current_user, notification_id)
    if notification is None:
        raise ApiError(404, _("Benachrichtigung nicht gefunden"))
    services.mark_read(current_user, notification)
    db.session.commit()
    return jsonify(notification_json(notification))
