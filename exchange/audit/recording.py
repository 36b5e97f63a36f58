"""Recording: mapper and session hooks turn what each flush wrote into AuditEvents.

No service has to remember to log. The mapper events of the audited models note each
inserted, updated and deleted row with its changed fields while the flush writes it
(cascaded deletes included); after the flush each is described (one function per
model below) and the events are inserted on the flush's own connection, so they commit
and roll back with the change itself. Old values of the recorded fields are loaded
before they are overwritten (`active_history`), so "staff -> city_admin" is known even
when the old value had expired. Who and from where come from the request: the logged-in user (as
flask-login loaded it; no query), "api" for a bearer token, the client address.
Outside a request (command line, worker) the actor is unknown and `via` is "cli".

Changes made with bulk Core statements (the JSON Lines import) are not seen here; the
import is an operator's command and is logged as such by the caller.
"""
from datetime import date, datetime
import sqlalchemy as sa
from flask import g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session, object_session

from ..util import utcnow
from .models import AuditEvent

#: Length of the label kept with an event (titles and names are cut there).
LABEL_LENGTH = 200


def _value(value):
    """A JSON-safe copy of an attribute value."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _change(state, name: str, keep_values: bool):
    """[old, new] of attribute `name` changed in this flush, None if unchanged."""
    if name not in state.mapper.attrs:
        return None
    history = state.attrs[name].history
    if not history.has_changes():
        return None
    old = history.deleted[0] if history.deleted else None
    new = history.added[0] if history.added else None
    if old == new:
        return None
    return [_value(old), _value(new)] if keep_values else True


def _changes(state, fields: dict[str, bool]) -> dict:
    """{field: [old, new] or True} of the watched fields that changed."""
    found = {}
    for name, keep in fields.items():
        change = _change(state, name, keep)
        if change is not None:
            found[name] = change
    return found


# --- what each model records ------------------------------------------------------------
# Each gets (obj, kind, changes) — kind "new", "dirty" or "deleted", changes the watched
# fields that changed as {field: [old, new]} (True for texts, only named) — and returns
# a list of (action, label, city_id, other_city_id, changes).

def _experience(obj, kind, changes):
    label = obj.title or ""
    if kind == "new":
        return [("experience.created", label, obj.city_id, None, {"status": [None, obj.status]})]
    if kind == "deleted":
        return [("experience.removed", label, obj.city_id, None, {})]
    if not changes:
        return []
    status, deleted = changes.get("status"), changes.get("deleted_at")
    if deleted and deleted[0] is None and deleted[1] is not None:
        action = "experience.deleted"
    elif status and status[1] == "published":
        action = "experience.published"
    elif status and status[1] == "draft":
        action = "experience.unpublished"
    else:
        action = "experience.changed"
    return [(action, label, obj.city_id, None, changes)]


def _revision(obj, kind, changes):
    if kind != "new" or (obj.number or 0) <= 1:  # the first comes with experience.created
        return []
    experience = obj.experience
    action = "experience.restored" if obj.restored_from_id else "experience.edited"
    return [(action, obj.title or "", experience.city_id if experience else None, None,
             {"revision": [None, obj.number]})]


def _interest(obj, kind, changes):
    topic = obj.topic
    label = topic.name_de if topic is not None else ""
    if kind == "new":
        return [("interest.added", label, obj.city_id, None,
                 {"stance": [None, obj.stance], "maturity": [None, obj.maturity]})]
    if kind == "deleted":
        return [("interest.removed", label, obj.city_id, None, {"stance": [obj.stance, None]})]
    return [("interest.changed", label, obj.city_id, None, changes)] if changes else []


def _project(obj, kind, changes):
    if kind == "new":
        return [("project.proposed", obj.title or "", obj.initiator_city_id, None,
                 {"state": [None, obj.state]})]
    if kind == "deleted":
        return [("project.removed", obj.title or "", obj.initiator_city_id, None, {})]
    if not changes:
        return []
    action = "project.state_changed" if "state" in changes else "project.changed"
    return [(action, obj.title or "", obj.initiator_city_id, None, changes)]


def _participant(obj, kind, changes):
    project = obj.project
    label = project.title if project is not None else ""
    initiator = project.initiator_city_id if project is not None else None
    if kind == "new":
        return [("project.city_invited", label, obj.city_id, initiator,
                 {"role": [None, obj.role]})]
    if kind == "deleted":
        return [("project.city_removed", label, obj.city_id, initiator, {})]
    return [("project.responded", label, obj.city_id, initiator, changes)] if changes else []


def _visit(obj, kind, changes):
    label = obj.title or ""
    cities = (obj.host_city_id, obj.visiting_city_id)
    if kind == "new":
        return [("visit.created", label, *cities, {"status": [None, obj.status]})]
    if kind == "deleted":
        return [("visit.deleted", label, *cities, {})]
    return [("visit.changed", label, *cities, changes)] if changes else []


#: User attributes whose change is an event of its own: field -> action.
USER_EVENTS = {"role": "user.role_changed", "is_approved": "user.approval_changed",
               "is_admin": "user.admin_changed", "deactivated_at": "user.activation_changed",
               "city_id": "user.city_changed"}


def _user(obj, kind, changes):
    label = obj.display_name or ""
    if kind == "new":
        return [("user.registered", label, obj.city_id, None,
                 {"role": [None, obj.role], "is_approved": [None, obj.is_approved]})]
    if kind == "deleted":
        return [("user.deleted", label, obj.city_id, None, {})]
    events = []
    for field, action in USER_EVENTS.items():
        if field in changes:
            old_city = changes[field][0] if field == "city_id" else None
            events.append((action, label, obj.city_id, old_city, {field: changes[field]}))
    return events


def _token(obj, kind, changes):
    user = obj.user
    city_id = user.city_id if user is not None else None
    if kind == "new":  # what the new token may do and until when
        return [("token.created", obj.name or "", city_id, None,
                 {"scopes": [None, obj.scopes], "expires_at": [None, _value(obj.expires_at)]})]
    if kind == "deleted":
        return [("token.deleted", obj.name or "", city_id, None, {})]
    revoked = changes.get("revoked_at")
    if revoked and revoked[1] is not None:
        return [("token.revoked", obj.name or "", city_id, None, {"revoked_at": revoked})]
    return []


def _audited():
    """Model -> (object type, describing function, {watched field: keep its values})."""
    from ..auth.models import ApiToken, User
    from ..cities.models import Interest
    from ..projects.models import Project, ProjectParticipant
    from ..visits.models import Visit
    from ..wiki.models import Experience, Revision

    return {
        Experience: ("experience", _experience, {"title": True, "status": True, "kind": True,
                                                 "deleted_at": True, "city_id": True}),
        Revision: ("experience", _revision, {}),
        Interest: ("interest", _interest, {"stance": True, "maturity": True, "note": False}),
        Project: ("project", _project, {"title": True, "state": True}),
        ProjectParticipant: ("project", _participant, {"response": True, "role": True}),
        Visit: ("visit", _visit, {"title": True, "status": True, "starts_at": True,
                                  "ends_at": True, "host_city_id": True,
                                  "visiting_city_id": True}),
        User: ("user", _user, {field: True for field in USER_EVENTS}),
        ApiToken: ("token", _token, {"revoked_at": True}),
    }


def _object_id(obj):
    """The audited object's id: a revision's experience, a participant's project."""
    table = obj.__table__.name
    if table == "revisions":
        return obj.experience_id
    if table == "project_participants":
        return obj.project_id
    return obj.id


def _origin() -> tuple[int | None, str, str | None]:
    """(actor id, via, address) of the current request; (None, "cli", None) outside one."""
    if not has_request_context():
        return None, "cli", None
    actor_id = None
    user = g.get("_login_user")  # as flask-login loaded it: reading it costs no query
    state = sa.inspect(user, raiseerr=False) if user is not None else None
    if state is not None and state.identity:
        actor_id = state.identity[0]
    via = "api" if g.get("token_auth") else "web"
    return actor_id, via, request.remote_addr


PENDING = "exchange.audit.pending"


def _note(kind: str):
    def listener(_mapper, _connection, target):
        object_type, describe, fields = AUDITED[type(target)]
        changes = _changes(sa.inspect(target), fields) if kind == "dirty" else {}
        session = object_session(target)
        if session is not None:
            session.info.setdefault(PENDING, []).append((target, kind, changes))
    return listener


def _keep_old_value(_target, value, _old, _initiator):
    return value


def register() -> None:
    """Listen to the audited models (once per process)."""
    global AUDITED
    if AUDITED:
        return
    AUDITED = _audited()
    for model, (_type, _describe, fields) in AUDITED.items():
        for kind, name in (("new", "after_insert"), ("dirty", "after_update"),
                           ("deleted", "after_delete")):
            event.listen(model, name, _note(kind))
        for field, keep in fields.items():
            if keep and field in sa.inspect(model).attrs:
                # A listener with active_history makes the old value load before a set.
                event.listen(getattr(model, field), "set", _keep_old_value,
                             active_history=True, retval=True)


AUDITED: dict = {}


@event.listens_for(Session, "after_flush")
def record_flushed_changes(session: Session, _flush_context) -> None:
    """Insert an AuditEvent for each audited change this flush wrote."""
    pending = session.info.pop(PENDING, None)
    if not pending:
        return
    actor_id, via, address = _origin()
    rows = []
    for obj, kind, changes in pending:
        object_type, describe, _fields = AUDITED[type(obj)]
        for action, label, city_id, other_city_id, details in describe(obj, kind, changes):
            rows.append({"at": utcnow(), "action": action, "object_type": object_type,
                         "object_id": _object_id(obj),
                         "label": (label or "")[:LABEL_LENGTH], "city_id": city_id,
                         "other_city_id": other_city_id, "actor_id": actor_id, "via": via,
                         "address": address, "changes": details})
    if rows:
        session.connection().execute(sa.insert(AuditEvent.__table__), rows)


@event.listens_for(Session, "after_rollback")
def _forget_pending(session: Session) -> None:
    session.info.pop(PENDING, None)
