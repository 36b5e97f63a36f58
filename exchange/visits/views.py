"""Web pages for delegation visits: list, plan, agenda, delegation, dossier, calendar.

All URLs of the visits domain:
  /besuche                                              index (filters city, status, when)
  /besuche/neu                                          new
  /besuche/<id>                                         show (agenda, overlap warnings)
  /besuche/<id>/bearbeiten                              edit
  /besuche/<id>/loeschen                                delete (POST)
  /besuche/<id>/agenda/vorschlag                        propose agenda (POST)
  /besuche/<id>/sitzungen/neu                           add session
  /besuche/<id>/sitzungen/<sid>/bearbeiten              edit session
  /besuche/<id>/sitzungen/<sid>/loeschen                remove session (POST)
  /besuche/<id>/sitzungen/<sid>/verschieben/<richtung>  move up/down (POST; hoch|runter)
  /besuche/<id>/mitglieder                              add member (POST)
  /besuche/<id>/mitglieder/<mid>/entfernen              remove member (POST)
  /besuche/<id>/ergebnisse                              record outcomes
  /besuche/<id>/bericht                                 create visit report draft (POST)
  /besuche/<id>/projekt                                 start joint project from a topic (POST)
  /besuche/<id>/dossier                                 briefing dossier (print stylesheet)
  /besuche/<id>/dossier.pdf                             dossier as PDF
  /besuche/<id>.ics                                     iCalendar download
"""
from datetime import timedelta

import sqlalchemy as sa
from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template,
                   request, url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from ..auth.permissions import can_edit_visit, can_plan_visits_for, can_read_experience
from ..cities.choices import city_choices, topic_choices
from ..cities.models import City, Topic
from ..core.hooks import slot
from ..extensions import db
from ..formatting import shown_text, user_text
from ..util import page_argument, parse_id, slugify
from . import services
from .agenda import propose_agenda, session_time_text
from .calendar import visit_calendar
from .dossier import build_dossier, kind_label, render_pdf, status_label
from .forms import ActionForm, MemberForm, OutcomesForm, ProposeForm, SessionForm, VisitForm
from .models import SIDE_LABELS, STATUS_LABELS, STATUSES, AgendaSession, Visit, VisitMember
from .timeutil import format_visit_span

bp = Blueprint("visits", __name__, url_prefix="/besuche")

PER_PAGE = 20
#: Upcoming visits shown on the dashboard and on city pages.
SLOT_ITEMS = 5
#: Past visits stay in the slots below the upcoming ones: at most this many ...
RECENT_ITEMS = 3
#: ... that ended at most this many days ago, so a visit does not vanish the day after.
RECENT_DAYS = 90
WHEN_CHOICES = ("upcoming", "past", "all")
#: A new session is proposed right after the last one, one hour long.
NEW_SESSION_LENGTH = timedelta(hours=1)


@bp.app_context_processor
def visit_helpers():
    """Labels and time formatting for the visits templates."""
    return {"visit_status_label": status_label, "session_kind_label": kind_label,
            "session_time_text": session_time_text, "visit_span_text": format_visit_span}


# --- helpers -----------------------------------------------------------------------------

def _visit_or_404(visit_id: int) -> Visit:
    visit = db.session.get(Visit, visit_id)
    if visit is None:
        abort(404)
    return visit


def _editable(visit_id: int) -> Visit:
    visit = _visit_or_404(visit_id)
    if not can_edit_visit(current_user, visit):
        abort(403)
    return visit


def _session_or_404(visit: Visit, session_id: int) -> AgendaSession:
    session = db.session.get(AgendaSession, session_id)
    if session is None or session.visit_id != visit.id:
        abort(404)
    return session


def _cities() -> list[City]:
    return list(db.session.scalars(sa.select(City).order_by(City.name)))


def _topic_choices(selected=()) -> list:
    """Topics outside the OZG catalogue (by id), plus the already chosen ones."""
    return topic_choices(value="id", leave_out=lambda topic: topic.ozg_key is not None,
                         selected=[topic.id for topic in selected])


def _apply_errors(form, error: services.VisitError) -> None:
    """Put a service error's messages on the matching form fields (else on the form)."""
    placed = False
    for name, message in error.errors.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors") and name != "meta":
            field.errors = list(field.errors) + [message]
            placed = True
        else:
            form.form_errors.append(message)
            placed = True
    if not placed:
        form.form_errors.append(error.message)


def _when_default() -> str:
    when = request.args.get("wann", "upcoming")
    return when if when in WHEN_CHOICES else "upcoming"


# --- list and visit pages ----------------------------------------------------------------

@bp.route("")
@login_required
def index():
    """All visits, filtered by city, status and upcoming/past."""
    city_slug = request.args.get("stadt", "")
    status = request.args.get("status", "")
    when = _when_default()
    city = None
    if city_slug:
        city = db.session.scalar(sa.select(City).where(City.slug == city_slug))
        if city is None:
            flash(_("Unbekannte Stadt „%(slug)s“.", slug=city_slug), "warning")
    if status and status not in STATUSES:
        flash(_("Unbekannter Status „%(status)s“.", status=status), "warning")
        status = ""
    query = services.visits_query(city=city, status=status or None,
                                  when=None if when == "all" else when)
    pagination = db.paginate(query.options(*services.list_loads()), page=page_argument(),
                             per_page=PER_PAGE, error_out=False)
    may_create = current_user.is_admin or can_plan_visits_for(current_user, current_user.city)
    # The filter offers the cities that have visits, not every member city.
    cities = list(db.session.scalars(services.visiting_cities_query()))
    return render_template("visits/index.html", visits=pagination.items, pagination=pagination,
                           cities=cities, city_slug=city_slug, status=status, when=when,
                           statuses=STATUS_LABELS, may_create=may_create)


@bp.route("/neu", methods=["GET", "POST"])
@login_required
def new():
    """Plan a new visit with its delegation."""
    if not (current_user.is_admin or can_plan_visits_for(current_user, current_user.city)):
        abort(403)
    form = VisitForm()
    cities = _cities()
    form.host_city.choices = form.visiting_city.choices = city_choices(value="id")
    form.topics.choices = _topic_choices()
    if request.method == "GET":
        own = current_user.city_id
        form.visiting_city.data = own
        others = [city.id for city in cities if city.id != own]
        if request.args.get("gastgeber", type=int):
            form.host_city.data = request.args.get("gastgeber", type=int)
        elif others:
            form.host_city.data = others[0]
        form.status.data = "planned"
    if form.validate_on_submit():
        try:
            visit = services.create_visit(
                current_user, title=form.title.data, host_city=form.host_city.data,
                visiting_city=form.visiting_city.data, starts_at=form.starts_at.data,
                ends_at=form.ends_at.data, place=form.place.data, address=form.address.data,
                status=form.status.data, topics=form.topics.data, notes=form.notes.data,
                members=services.parse_member_lines(form.delegation.data))
        except services.VisitPermissionDenied as error:
            db.session.rollback()
            form.form_errors.append(error.message)
        except services.VisitError as error:
            db.session.rollback()
            if any(key.startswith("members-") for key in error.errors):
                form.delegation.errors = list(form.delegation.errors) + [
                    message for key, message in error.errors.items()
                    if key.startswith("members-")]
                error.errors = {k: v for k, v in error.errors.items()
                                if not k.startswith("members-")}
            if error.errors:
                _apply_errors(form, error)
        else:
            db.session.commit()
            flash(_("Der Besuch wurde angelegt."), "success")
            return redirect(url_for("visits.show", visit_id=visit.id))
    return render_template("visits/form.html", form=form, visit=None), \
        (400 if request.method == "POST" else 200)


@bp.route("/<int:visit_id>")
@login_required
def show(visit_id: int):
    """A visit: facts, agenda with overlap warnings, delegation, outcomes."""
    visit = db.session.scalar(sa.select(Visit).where(Visit.id == visit_id)
                              .options(*services.show_loads()))
    if visit is None:
        abort(404)
    can_edit = can_edit_visit(current_user, visit)
    member_form = MemberForm()
    return render_template(
        "visits/show.html", visit=visit, can_edit=can_edit, overlaps=services.overlaps(visit),
        action_form=ActionForm(), propose_form=ProposeForm(), member_form=member_form,
        side_labels=SIDE_LABELS, agreed_topics=services.agreed_topics(visit),
        can_propose_projects=_can_propose_projects(visit), report=_readable_report(visit),
        report_possible=services.report_possible(visit))


def _readable_report(visit: Visit):
    """The visit's report experience if the current user may read it, else None: the
    other city's draft report must not show its title (or slug) on the visit page."""
    report = visit.report_experience
    if report is None or not can_read_experience(current_user, report):
        return None
    return report


def _can_propose_projects(visit: Visit) -> bool:
    try:
        from ..auth.permissions import can_propose_project
    except ImportError:
        return False
    return any(can_propose_project(current_user, city) for city in visit.cities
               if city.id == current_user.city_id) or bool(current_user.is_admin)


@bp.route("/<int:visit_id>/bearbeiten", methods=["GET", "POST"])
@login_required
def edit(visit_id: int):
    """Edit the visit's facts; sessions must still fit into its time."""
    visit = _editable(visit_id)
    form = VisitForm(obj=visit) if request.method == "GET" else VisitForm()
    del form.delegation
    form.host_city.choices = form.visiting_city.choices = city_choices(value="id")
    form.topics.choices = _topic_choices(visit.topics)
    if request.method == "GET":
        form.host_city.data = visit.host_city_id
        form.visiting_city.data = visit.visiting_city_id
        form.topics.data = [topic.id for topic in visit.topics]
    if form.validate_on_submit():
        try:
            services.update_visit(
                current_user, visit, title=form.title.data, host_city=form.host_city.data,
                visiting_city=form.visiting_city.data, starts_at=form.starts_at.data,
                ends_at=form.ends_at.data, place=form.place.data, address=form.address.data,
                status=form.status.data, topics=form.topics.data, notes=form.notes.data)
        except services.VisitPermissionDenied as error:
            db.session.rollback()
            form.form_errors.append(error.message)
        except services.VisitError as error:
            db.session.rollback()
            _apply_errors(form, error)
        else:
            db.session.commit()
            flash(_("Der Besuch wurde gespeichert."), "success")
            return redirect(url_for("visits.show", visit_id=visit.id))
    return render_template("visits/form.html", form=form, visit=visit), \
        (400 if request.method == "POST" else 200)


def _confirm(visit: Visit, question: str, action: str, back: str, button: str):
    """The confirmation page of a delete (WCAG 3.3.4): GET asks, the POST to the same
    address does it, so nothing is deleted by one click, also without JavaScript."""
    return render_template("visits/confirm.html", visit=visit, question=question,
                           action=action, back=back, button=button, action_form=ActionForm())


@bp.route("/<int:visit_id>/loeschen", methods=["GET", "POST"])
@login_required
def delete(visit_id: int):
    """Delete a visit with its agenda and delegation (GET: the confirmation page)."""
    visit = _editable(visit_id)
    if request.method == "GET":
        return _confirm(visit, Markup(_("Den Besuch „%(title)s“ mit Agenda und Delegation "
                                        "endgültig löschen?", title=user_text(visit.title))),
                        url_for("visits.delete", visit_id=visit.id),
                        url_for("visits.show", visit_id=visit.id), _("Ja, Besuch löschen"))
    if not ActionForm().validate_on_submit():
        abort(400)
    services.delete_visit(current_user, visit)
    db.session.commit()
    flash(_("Der Besuch wurde gelöscht."), "success")
    return redirect(url_for("visits.index"))


# --- agenda ------------------------------------------------------------------------------

@bp.route("/<int:visit_id>/agenda/vorschlag", methods=["POST"])
@login_required
def propose(visit_id: int):
    """Let the app propose an agenda from the two cities' match."""
    visit = _editable(visit_id)
    form = ProposeForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        sessions = propose_agenda(current_user, visit, replace=form.replace.data)
    except services.VisitError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("Die Agenda wurde vorgeschlagen: %(count)s Programmpunkte. Passen Sie sie "
                "nach Bedarf an.", count=len(sessions)), "success")
    return redirect(url_for("visits.show", visit_id=visit.id) + "#agenda")


def _session_form(visit: Visit, session: AgendaSession | None):
    form = SessionForm(obj=session) if request.method == "GET" and session else SessionForm()
    form.topics.choices = _topic_choices(session.topics if session else [])
    if request.method == "GET":
        if session is not None:
            # Generated texts in the editor's language; saved unchanged they stay generated.
            form.title.data, form.description.data = (session.display_title,
                                                      session.display_description)
            form.topics.data = [topic.id for topic in session.topics]
            form.experiences.data = "\n".join(e.slug for e in session.experiences)
        else:
            last = visit.sessions[-1] if visit.sessions else None
            start = last.ends_at if last and last.ends_at < visit.ends_at else visit.starts_at
            form.starts_at.data = start
            form.ends_at.data = min(start + NEW_SESSION_LENGTH, visit.ends_at)
    return form


@bp.route("/<int:visit_id>/sitzungen/neu", methods=["GET", "POST"])
@login_required
def new_session(visit_id: int):
    """Add a session to the agenda."""
    visit = _editable(visit_id)
    form = _session_form(visit, None)
    if form.validate_on_submit():
        try:
            services.add_session(current_user, visit, **form.session_fields())
        except services.VisitError as error:
            db.session.rollback()
            _apply_errors(form, error)
        else:
            db.session.commit()
            flash(_("Der Programmpunkt wurde hinzugefügt."), "success")
            return redirect(url_for("visits.show", visit_id=visit.id) + "#agenda")
    return render_template("visits/session_form.html", form=form, visit=visit, session=None), \
        (400 if request.method == "POST" else 200)


@bp.route("/<int:visit_id>/sitzungen/<int:session_id>/bearbeiten", methods=["GET", "POST"])
@login_required
def edit_session(visit_id: int, session_id: int):
    """Edit a session's time, title, room, topics and questions."""
    visit = _editable(visit_id)
    session = _session_or_404(visit, session_id)
    form = _session_form(visit, session)
    if form.validate_on_submit():
        try:
            services.update_session(current_user, session, **form.session_fields())
        except services.VisitError as error:
            db.session.rollback()
            _apply_errors(form, error)
        else:
            db.session.commit()
            flash(_("Der Programmpunkt wurde gespeichert."), "success")
            return redirect(url_for("visits.show", visit_id=visit.id) + f"#sitzung-{session.id}")
    return render_template("visits/session_form.html", form=form, visit=visit,
                           session=session), (400 if request.method == "POST" else 200)


@bp.route("/<int:visit_id>/sitzungen/<int:session_id>/loeschen", methods=["GET", "POST"])
@login_required
def delete_session(visit_id: int, session_id: int):
    """Remove a session from the agenda (GET: the confirmation page)."""
    visit = _editable(visit_id)
    session = _session_or_404(visit, session_id)
    if request.method == "GET":
        return _confirm(visit, Markup(_("Den Programmpunkt „%(title)s“ aus der Agenda "
                                        "entfernen?", title=shown_text(session, "title"))),
                        url_for("visits.delete_session", visit_id=visit.id,
                                session_id=session.id),
                        url_for("visits.show", visit_id=visit.id) + f"#sitzung-{session.id}",
                        _("Ja, entfernen"))
    if not ActionForm().validate_on_submit():
        abort(400)
    services.remove_session(current_user, session)
    db.session.commit()
    flash(_("Der Programmpunkt wurde entfernt."), "success")
    return redirect(url_for("visits.show", visit_id=visit.id) + "#agenda")


@bp.route("/<int:visit_id>/sitzungen/<int:session_id>/verschieben/<direction>",
          methods=["POST"])
@login_required
def move_session(visit_id: int, session_id: int, direction: str):
    """Move a session one place up ("hoch") or down ("runter")."""
    visit = _editable(visit_id)
    session = _session_or_404(visit, session_id)
    offsets = {"hoch": -1, "runter": 1}
    if direction not in offsets or not ActionForm().validate_on_submit():
        abort(400)
    services.move_session(current_user, session, offsets[direction])
    db.session.commit()
    return redirect(url_for("visits.show", visit_id=visit.id) + f"#sitzung-{session.id}")


# --- delegation --------------------------------------------------------------------------

@bp.route("/<int:visit_id>/mitglieder", methods=["POST"])
@login_required
def add_member(visit_id: int):
    """Add a registered person or an external guest to the delegation."""
    visit = _editable(visit_id)
    form = MemberForm()
    if not form.validate_on_submit():
        abort(400)
    spec = services.MemberSpec(user=(form.email.data or "").strip() or None,
                               guest_name=form.guest_name.data or "", role=form.role.data or "",
                               organisation=form.organisation.data or "", side=form.side.data)
    try:
        member = services.add_member(current_user, visit, spec)
    except services.VisitError as error:
        db.session.rollback()
        flash(error.message, "error")
        return render_template(
            "visits/show.html", visit=visit, can_edit=True, overlaps=services.overlaps(visit),
            action_form=ActionForm(), propose_form=ProposeForm(), member_form=form,
            side_labels=SIDE_LABELS, agreed_topics=services.agreed_topics(visit),
            can_propose_projects=_can_propose_projects(visit),
            report=_readable_report(visit)), 400
    db.session.commit()
    flash(_("%(name)s gehört jetzt zur Delegation.", name=member.name), "success")
    return redirect(url_for("visits.show", visit_id=visit.id) + "#delegation")


@bp.route("/<int:visit_id>/mitglieder/<int:member_id>/entfernen", methods=["GET", "POST"])
@login_required
def remove_member(visit_id: int, member_id: int):
    """Remove a delegation member (GET: the confirmation page)."""
    visit = _editable(visit_id)
    member = db.session.get(VisitMember, member_id)
    if member is None or member.visit_id != visit.id:
        abort(404)
    if request.method == "GET":
        return _confirm(visit, _("%(name)s aus der Delegation entfernen?", name=member.name),
                        url_for("visits.remove_member", visit_id=visit.id, member_id=member.id),
                        url_for("visits.show", visit_id=visit.id) + "#delegation",
                        _("Ja, entfernen"))
    if not ActionForm().validate_on_submit():
        abort(400)
    services.remove_member(current_user, visit, member)
    db.session.commit()
    flash(_("Die Person wurde aus der Delegation entfernt."), "success")
    return redirect(url_for("visits.show", visit_id=visit.id) + "#delegation")


# --- after the visit ---------------------------------------------------------------------

@bp.route("/<int:visit_id>/ergebnisse", methods=["GET", "POST"])
@login_required
def outcomes(visit_id: int):
    """Record the outcomes; then create the report draft or start projects."""
    visit = _editable(visit_id)
    form = OutcomesForm(obj=visit) if request.method == "GET" else OutcomesForm()
    if form.validate_on_submit():
        try:
            services.record_outcomes(current_user, visit, form.outcomes.data)
        except services.VisitError as error:
            db.session.rollback()
            _apply_errors(form, error)
        else:
            db.session.commit()
            flash(_("Die Ergebnisse wurden gespeichert."), "success")
            return redirect(url_for("visits.show", visit_id=visit.id) + "#ergebnisse")
    return render_template("visits/outcomes.html", form=form, visit=visit), \
        (400 if request.method == "POST" else 200)


@bp.route("/<int:visit_id>/bericht", methods=["POST"])
@login_required
def create_report(visit_id: int):
    """Create the visit report draft in the wiki and open it."""
    from ..wiki.services import PermissionDenied, WikiError

    visit = _editable(visit_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        experience = services.create_report_draft(current_user, visit)
    except (services.VisitError, WikiError, PermissionDenied) as error:
        db.session.rollback()
        flash(getattr(error, "message", str(error)), "error")
        return redirect(url_for("visits.show", visit_id=visit.id) + "#ergebnisse")
    db.session.commit()
    flash(_("Der Entwurf des Besuchsberichts wurde angelegt. Ergänzen und veröffentlichen "
            "Sie ihn im Wiki."), "success")
    return redirect(url_for("wiki.show", slug=experience.slug))


@bp.route("/<int:visit_id>/projekt", methods=["POST"])
@login_required
def start_project(visit_id: int):
    """Start a joint project proposal (a draft) from an agreed topic."""
    visit = _editable(visit_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    topic_id = parse_id(request.form.get("topic"))
    topic = db.session.get(Topic, topic_id) if topic_id is not None else None
    if topic is None:
        flash(_("Bitte wählen Sie ein Thema."), "error")
        return redirect(url_for("visits.show", visit_id=visit.id) + "#ergebnisse")
    try:
        from ..projects.services import ProjectError
    except ImportError:  # the projects domain is optional for visits
        ProjectError = ValueError  # noqa: N806
    try:
        project = services.start_project(current_user, visit, topic)
    except (services.VisitError, ProjectError, PermissionError) as error:
        db.session.rollback()
        flash(getattr(error, "message", str(error)), "error")
        return redirect(url_for("visits.show", visit_id=visit.id) + "#ergebnisse")
    db.session.commit()
    flash(_("Der Projektentwurf „%(title)s“ wurde angelegt.", title=project.title), "success")
    if "projects.show" in current_app.view_functions:
        return redirect(url_for("projects.show", project_id=project.id))
    return redirect(url_for("visits.show", visit_id=visit.id) + "#ergebnisse")


# --- dossier and calendar ----------------------------------------------------------------

def _file_name(visit: Visit, extension: str) -> str:
    return f"besuch-{visit.id}-{slugify(visit.title, 60)}.{extension}"


@bp.route("/<int:visit_id>/dossier")
@login_required
def dossier(visit_id: int):
    """The briefing dossier as a printable page."""
    visit = _visit_or_404(visit_id)
    return render_template("visits/dossier.html", dossier=build_dossier(visit), visit=visit)


@bp.route("/<int:visit_id>/dossier.pdf")
@login_required
def dossier_pdf(visit_id: int):
    """The briefing dossier as a PDF download."""
    visit = _visit_or_404(visit_id)
    pdf = render_pdf(build_dossier(visit))
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{_file_name(visit, "pdf")}"'})


@bp.route("/<int:visit_id>.ics")
@login_required
def ics(visit_id: int):
    """The visit and its sessions as an iCalendar file."""
    visit = _visit_or_404(visit_id)
    body = visit_calendar(visit, url=url_for("visits.show", visit_id=visit.id, _external=True))
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": f'attachment; filename="{_file_name(visit, "ics")}"'})


# --- slots on other domains' pages -------------------------------------------------------

@slot("dashboard", "visits", "visits/_slot_dashboard.html", order=40)
def dashboard_visits(user):
    """Upcoming and recent visits involving the user's city."""
    if user is None or user.city is None:
        return None
    return {"city": user.city, "visits": services.upcoming_visits(user.city, SLOT_ITEMS),
            "recent": services.recent_visits(user.city, RECENT_ITEMS, RECENT_DAYS),
            "may_create": can_plan_visits_for(user, user.city)}


@slot("city_page", "visits", "visits/_slot_city.html", order=60)
def city_visits(city, user):
    """Upcoming and recent visits the city hosts or makes."""
    may_create = bool(user.city) and user.city_id != city.id \
        and can_plan_visits_for(user, user.city)
    return {"city": city, "visits": services.upcoming_visits(city, SLOT_ITEMS),
            "recent": services.recent_visits(city, RECENT_ITEMS, RECENT_DAYS),
            "may_create": may_create}
