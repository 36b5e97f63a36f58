"""A person's own data, for the right of access (GDPR Art. 15) and portability (Art. 20).

  /profil/daten.json    everything City Exchange stores about the logged-in user, as JSON

What is included: the account (never the password hash), the API tokens (name, prefix,
dates; never the hash), the login sessions (dates), the revisions the person wrote (with
their experience), the project comments, visit memberships, notifications and the audit
events in which the person acted or which concern their account. Deleting the account
is not built yet (docs/auth-and-cities.md, "Ihre Daten").
"""
from datetime import datetime

import sqlalchemy as sa
from flask import Blueprint, Response, json
from flask_login import current_user, login_required

from ..extensions import db
from ..util import utcnow
from .models import ApiToken, LoginSession, User

bp = Blueprint("privacy", __name__)

#: Version of the file's layout, for scripts that read it.
FORMAT = 1


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def personal_data(user: User) -> dict:
    """Everything stored about `user`, as plain JSON-ready data."""
    from ..audit.models import AuditEvent
    from ..projects.models import Notification, ProjectComment
    from ..visits.models import Visit, VisitMember
    from ..wiki.models import Experience, Revision

    session = db.session
    revisions = session.execute(
        sa.select(Revision.number, Revision.title, Revision.summary, Revision.created_at,
                  Experience.slug).join(Experience, Revision.experience_id == Experience.id)
        .where(Revision.author_id == user.id).order_by(Revision.created_at, Revision.id)).all()
    comments = session.execute(
        sa.select(ProjectComment.project_id, ProjectComment.body, ProjectComment.created_at)
        .where(ProjectComment.author_id == user.id).order_by(ProjectComment.id)).all()
    memberships = session.execute(
        sa.select(Visit.id, Visit.title, Visit.starts_at, VisitMember.role, VisitMember.side)
        .join(Visit, VisitMember.visit_id == Visit.id)
        .where(VisitMember.user_id == user.id).order_by(Visit.starts_at)).all()
    notifications = session.scalars(
        sa.select(Notification).where(Notification.user_id == user.id)
        .order_by(Notification.id)).all()
    tokens = session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id)
                             .order_by(ApiToken.id)).all()
    logins = session.scalars(sa.select(LoginSession).where(LoginSession.user_id == user.id)
                             .order_by(LoginSession.id)).all()
    events = session.scalars(
        sa.select(AuditEvent).where(sa.or_(
            AuditEvent.actor_id == user.id,
            (AuditEvent.object_type == "user") & (AuditEvent.object_id == user.id)))
        .order_by(AuditEvent.id)).all()
    return {
        "format": FORMAT,
        "exported_at": _time(utcnow()),
        "account": {
            "email": user.email, "display_name": user.display_name,
            "city": user.city.slug if user.city else None, "role": user.role,
            "is_admin": bool(user.is_admin), "is_approved": bool(user.is_approved),
            "locale": user.locale, "created_at": _time(user.created_at),
            "deactivated_at": _time(getattr(user, "deactivated_at", None)),
        },
        "api_tokens": [{"name": token.name, "prefix": token.prefix,
                        "created_at": _time(token.created_at),
                        "last_used_at": _time(token.last_used_at),
                        "revoked_at": _time(token.revoked_at)} for token in tokens],
        "login_sessions": [{"started_at": _time(login.created_at)} for login in logins],
        "revisions": [{"experience": row.slug, "number": row.number, "title": row.title,
                       "summary": row.summary, "created_at": _time(row.created_at)}
                      for row in revisions],
        "project_comments": [{"project": row.project_id, "body": row.body,
                              "created_at": _time(row.created_at)} for row in comments],
        "visit_memberships": [{"visit": row.id, "title": row.title,
                               "starts_at": _time(row.starts_at), "role": row.role,
                               "side": row.side} for row in memberships],
        "notifications": [{"kind": note.kind, "title": note.title, "body": note.body,
                           "link": note.link, "created_at": _time(note.created_at),
                           "read_at": _time(note.read_at)} for note in notifications],
        "audit_events": [{"at": _time(event.at), "action": event.action,
                          "object_type": event.object_type, "object_id": event.object_id,
                          "label": event.label, "via": event.via, "address": event.address,
                          "changes": event.changes} for event in events],
    }


@bp.route("/profil/daten.json")
@login_required
def download():
    """The logged-in user's data as a JSON file to save."""
    body = json.dumps(personal_data(current_user), ensure_ascii=False, indent=2)
    name = f"city-exchange-daten-{utcnow():%Y-%m-%d}.json"
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})
