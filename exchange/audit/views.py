"""The audit log pages.

  /protokoll?stadt=&art=&page=    the events the user may see, newest first
"""
import sqlalchemy as sa
from flask import Blueprint, abort, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from ..auth.permissions import audit_condition, can_view_audit
from ..core.hooks import slot
from ..extensions import db
from ..util import page_argument
from . import recording
from .models import AuditEvent

recording.register()

bp = Blueprint("audit", __name__)

PER_PAGE = 50
DASHBOARD_ITEMS = 5

ACTION_LABELS = {
    "experience.created": _l("Erfahrung angelegt"),
    "experience.edited": _l("Erfahrung bearbeitet"),
    "experience.restored": _l("Ältere Fassung wiederhergestellt"),
    "experience.changed": _l("Erfahrung geändert"),
    "experience.published": _l("Erfahrung veröffentlicht"),
    "experience.unpublished": _l("Erfahrung zurückgezogen"),
    "experience.deleted": _l("Erfahrung gelöscht"),
    "experience.removed": _l("Erfahrung entfernt"),
    "interest.added": _l("Interesse eingetragen"),
    "interest.changed": _l("Interesse geändert"),
    "interest.removed": _l("Interesse entfernt"),
    "project.proposed": _l("Projekt vorgeschlagen"),
    "project.changed": _l("Projekt geändert"),
    "project.state_changed": _l("Projektstatus geändert"),
    "project.removed": _l("Projekt entfernt"),
    "project.city_invited": _l("Stadt zum Projekt eingeladen"),
    "project.city_removed": _l("Stadt aus dem Projekt entfernt"),
    "project.responded": _l("Antwort auf eine Einladung"),
    "visit.created": _l("Besuch angelegt"),
    "visit.changed": _l("Besuch geändert"),
    "visit.deleted": _l("Besuch gelöscht"),
    "user.registered": _l("Registrierung"),
    "user.role_changed": _l("Rolle geändert"),
    "user.approval_changed": _l("Freischaltung geändert"),
    "user.admin_changed": _l("Plattform-Administration geändert"),
    "user.activation_changed": _l("Konto (de)aktiviert"),
    "user.city_changed": _l("Stadt des Kontos geändert"),
    "user.deleted": _l("Konto gelöscht"),
    "token.created": _l("API-Token erstellt"),
    "token.revoked": _l("API-Token widerrufen"),
    "token.deleted": _l("API-Token gelöscht"),
}
OBJECT_LABELS = {"experience": _l("Erfahrungen"), "interest": _l("Interessen"),
                 "project": _l("Projekte"), "visit": _l("Besuche"), "user": _l("Konten"),
                 "token": _l("API-Tokens")}
VIA_LABELS = {"web": _l("Web"), "api": _l("API"), "cli": _l("Kommandozeile")}


def events_query(user, city=None, object_type=None):
    """The events `user` may see, optionally of one city and one kind, newest first."""
    query = sa.select(AuditEvent).where(audit_condition(user))
    if city is not None:
        query = query.where(sa.or_(AuditEvent.city_id == city.id,
                                   AuditEvent.other_city_id == city.id))
    if object_type in OBJECT_LABELS:
        query = query.where(AuditEvent.object_type == object_type)
    return query.options(selectinload(AuditEvent.actor), selectinload(AuditEvent.city),
                         selectinload(AuditEvent.other_city)).order_by(
        AuditEvent.at.desc(), AuditEvent.id.desc())


@bp.route("/protokoll")
@login_required
def index():
    """The audit log: platform admins see everything (filter by ?stadt=), city admins
    their city's events; the client address only for platform admins."""
    from ..cities.models import City

    if not can_view_audit(current_user):
        abort(403)
    city = None
    if request.args.get("stadt"):
        city = db.session.scalar(sa.select(City).where(City.slug == request.args["stadt"]))
        if city is None or not can_view_audit(current_user, city):
            abort(404)
    object_type = request.args.get("art") if request.args.get("art") in OBJECT_LABELS else None
    pagination = db.paginate(events_query(current_user, city, object_type),
                             page=page_argument(), per_page=PER_PAGE, error_out=False)
    filters = {key: value for key, value in (("stadt", city.slug if city else None),
                                             ("art", object_type)) if value}
    return render_template("audit/index.html", events=pagination.items,
                           total=pagination.total, page=pagination.page,
                           pages=pagination.pages or 1, city=city, object_type=object_type,
                           filters=filters, action_labels=ACTION_LABELS,
                           object_labels=OBJECT_LABELS, via_labels=VIA_LABELS,
                           show_address=current_user.is_admin)


@slot("dashboard", "audit", "audit/_slot_dashboard.html", order=90)
def dashboard_section(user):
    """The latest events of the admin's city (all cities for platform admins)."""
    if user is None or not can_view_audit(user):
        return None
    events = db.session.scalars(events_query(user).limit(DASHBOARD_ITEMS)).all()
    return {"events": events, "action_labels": ACTION_LABELS}
