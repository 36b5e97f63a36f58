"""A person's own data: access (GDPR Art. 15), portability (Art. 20), erasure (Art. 17).

  /profil/daten.json    everything City Exchange stores about the logged-in user, as JSON
  /profil/loeschen      delete the own account (GET: what happens, POST with the password)

The download holds the account (never the password hash), the API tokens (name,
prefix, dates; never the hash), the login sessions (dates), the revisions the person
wrote (with their experience), the project comments, visit memberships, notifications
and the audit events in which the person acted or which concern their account.

Deleting an account keeps what the cities wrote together — experiences, revisions,
comments, project and visit history — attributed to one placeholder account,
"ehemaliges Mitglied"; it removes the person: the account, tokens, logins, reset links,
notifications, delegation memberships, unsent mail to them, the experiences' contact
details that name them, and their name and address in the audit log. It is done with
Core statements in one transaction (the audit hooks would otherwise record events whose
actor is the account being deleted) and leaves one anonymous "user.deleted" event.
"""
from datetime import datetime

import sqlalchemy as sa
from flask import Blueprint, Response, flash, json, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, Length

from ..extensions import db
from ..util import utcnow
from .login import end_session
from .models import ApiToken, LoginSession, PasswordReset, User
from .services import MAX_PASSWORD_LENGTH, check_password

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
                        "revoked_at": _time(token.revoked_at), "scopes": token.scope_list,
                        "expires_at": _time(token.expires_at)} for token in tokens],
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


# --- deleting the own account -----------------------------------------------------------

#: The account that keeps what deleted members wrote (created on the first deletion).
FORMER_MEMBER_EMAIL = "ehemaliges-mitglied@deleted.example"
FORMER_MEMBER_NAME = "ehemaliges Mitglied"


class DeletionRefused(ValueError):
    """The account may not be deleted now; the message says why and what to do."""


class DeleteAccountForm(FlaskForm):
    password = PasswordField(
        _l("Ihr Passwort"),
        validators=[DataRequired(message=_l("Bitte geben Sie Ihr Passwort ein.")),
                    Length(max=MAX_PASSWORD_LENGTH)])


def _active(query):
    return query.where(User.deactivated_at.is_(None), User.is_approved.is_(True))


def deletion_refusal(user: User) -> str | None:
    """Why `user` may not delete the account now, or None.

    The last platform admin may not (nobody could administer the platform); the last
    active city admin of a city may only when no other active member of that city is
    left (they would have nobody to approve them).
    """
    others = sa.select(sa.func.count()).select_from(User).where(User.id != user.id)
    if user.is_admin and not db.session.scalar(_active(others.where(User.is_admin.is_(True)))):
        return _("Sie sind die letzte Plattform-Administration. Ernennen Sie zuerst eine "
                 "andere Person, dann können Sie Ihr Konto löschen.")
    if user.role == "city_admin" and user.city_id is not None:
        same_city = others.where(User.city_id == user.city_id)
        admins = db.session.scalar(_active(same_city.where(User.role == "city_admin")))
        members = db.session.scalar(_active(same_city))
        if not admins and members:
            return _("Sie sind der letzte Admin Ihrer Stadt. Geben Sie zuerst einer anderen "
                     "Person Ihrer Stadt die Rolle City-Admin.")
    return None


def _former_member_id() -> int:
    """The placeholder account's id (created, without password and deactivated, once)."""
    found = db.session.scalar(sa.select(User.id).where(User.email == FORMER_MEMBER_EMAIL))
    if found is not None:
        return found
    return db.session.execute(sa.insert(User).values(
        email=FORMER_MEMBER_EMAIL, display_name=FORMER_MEMBER_NAME, password_hash=None,
        city_id=None, role="staff", is_admin=False, is_approved=False,
        deactivated_at=utcnow(), created_at=utcnow()).returning(User.id)).scalar_one()


def delete_account(user: User) -> None:
    """Delete `user` as described above (the caller commits); DeletionRefused if not now."""
    from ..audit.models import AuditEvent
    from ..projects.models import (Notification, OutgoingMail, Project, ProjectComment,
                                   ProjectEvent, ProjectParticipant)
    from ..visits.models import Visit, VisitMember
    from ..wiki.models import Experience, Revision

    refusal = deletion_refusal(user)
    if refusal:
        raise DeletionRefused(refusal)
    user_id, email, city_id = user.id, user.email, user.city_id
    former = _former_member_id()
    execute = db.session.execute
    for column in (Revision.author_id, ProjectComment.author_id, ProjectEvent.actor_id,
                   Project.created_by_id, ProjectParticipant.responded_by_id,
                   Visit.created_by_id):
        execute(sa.update(column.class_).where(column == user_id).values({column.key: former}))
    execute(sa.update(Experience).where(sa.func.lower(Experience.contact_email) == email)
            .values(contact_name=None, contact_email=None))
    execute(sa.update(AuditEvent).where(AuditEvent.actor_id == user_id)
            .values(actor_id=None, address=None))
    execute(sa.update(AuditEvent).where(AuditEvent.object_type == "user",
                                        AuditEvent.object_id == user_id)
            .values(label=FORMER_MEMBER_NAME))
    for model in (ApiToken, LoginSession, PasswordReset, Notification, VisitMember):
        execute(sa.delete(model).where(model.user_id == user_id))
    execute(sa.delete(OutgoingMail).where(sa.func.lower(OutgoingMail.recipient) == email,
                                          OutgoingMail.sent_at.is_(None)))
    execute(sa.delete(User).where(User.id == user_id))
    execute(sa.insert(AuditEvent).values(
        at=utcnow(), action="user.deleted", object_type="user", object_id=user_id,
        label=FORMER_MEMBER_NAME, city_id=city_id, other_city_id=None, actor_id=None,
        via="web", address=None, changes={}))
    db.session.expunge(user)


@bp.route("/profil/loeschen", methods=["GET", "POST"])
@login_required
def delete():
    """What deleting keeps and removes; with the password, the account is deleted."""
    form = DeleteAccountForm()
    refusal = deletion_refusal(current_user)
    if form.validate_on_submit() and not refusal:
        if not check_password(current_user, form.password.data):
            form.password.errors.append(_("Das Passwort stimmt nicht."))
        else:
            user = current_user._get_current_object()
            end_session()  # this browser's login and cookie; the others go with the account
            delete_account(user)
            db.session.commit()
            flash(_("Ihr Konto ist gelöscht. Was Sie für Ihre Stadt geschrieben haben, "
                    "bleibt unter „ehemaliges Mitglied“ erhalten."), "success")
            return redirect(url_for("core.index"))
    return render_template("auth/delete_account.html", form=form, refusal=refusal)
