"""Pages of joint projects and the inbox: /projekte, /projekte/<id>[/bearbeiten], /postfach.

The list, the inbox and a project's history are paged; lists load the cities and topics
they show with one statement each (services.list_loads()), not one per project.
"""
import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..auth import permissions
from ..cities.choices import city_choices, topic_choices
from ..core.hooks import slot
from ..extensions import db
from ..util import page_argument, safe_next
from . import services, states
from .forms import (ActionForm, CommentForm, InviteForm, ProjectForm, ProjectTextForm,
                    ResponseForm, is_fine_grained_ozg)

bp = Blueprint("projects", __name__)

PER_PAGE = 20
#: Notifications per page of the inbox.
INBOX_PER_PAGE = 50
#: Entries per page of a project's history; the page opens on the newest entries.
TIMELINE_PER_PAGE = 50
#: Projects per group on the dashboard and on a city page; the list has the rest.
SLOT_ITEMS = 5
#: The list's tabs: which projects, in the user's words.
SCOPES = ("mine", "invitations", "all")


@bp.app_context_processor
def inject_unread_count():
    """`unread_count` for the header's inbox link on every page."""
    if getattr(current_user, "is_authenticated", False):
        return {"unread_count": services.unread_count(current_user)}
    return {"unread_count": 0}


@bp.app_template_global()
def project_state_label(state: str) -> str:
    """The German name of a project state."""
    return str(states.STATE_LABELS.get(state, state))


def _load(project_id: int):
    """The project, or 404 for unknown ones and drafts of other cities."""
    return services.get_visible_project(current_user, project_id) or abort(404)


def _refused(error: Exception, project=None):
    """Turn a refused service call into a flash message and a redirect (403 for permissions)."""
    db.session.rollback()
    flash(str(error), "error")
    if isinstance(error, services.ProjectPermissionError):
        abort(403)
    if project is None:
        return redirect(url_for("projects.index"), code=303)
    target = url_for("projects.show", project_id=project.id)
    return redirect(target, code=303)


@bp.route("/projekte")
@login_required
def index():
    """Projects of my city, open invitations, or all visible ones; filter by state and by
    a participating city (?stadt=<slug>, linked from the city page)."""
    from ..cities.models import City

    scope = request.args.get("scope") or ("mine" if current_user.city_id else "all")
    if scope not in SCOPES:
        scope = "all"
    state = request.args.get("state") or None
    if state not in states.STATES:
        state = None
    city = None
    if request.args.get("stadt"):
        city = db.first_or_404(sa.select(City).where(City.slug == request.args["stadt"]))
    query = services.projects_query(current_user, scope=scope, state=state, city=city)
    pagination = db.paginate(query.options(*services.list_loads()), page=page_argument(),
                             per_page=PER_PAGE, error_out=False)
    return render_template(
        "projects/index.html", projects=pagination.items, pagination=pagination, scope=scope,
        state=state, states=states.STATES, city=city,
        can_propose=(permissions.can_propose_project(current_user, current_user.city)
                     or permissions.can_choose_project_city(current_user)),
    )


@bp.route("/projekte/neu", methods=["GET", "POST"])
@login_required
def new():
    """Propose a joint project; ?partner=<city>&topic=<topic> prefill it from a match.

    Platform admins choose the city the project is for (they may belong to none).
    """
    city = current_user.city
    choose_city = permissions.can_choose_project_city(current_user)
    if not (choose_city or permissions.can_propose_project(current_user, city)):
        flash(_("Nur die Administration einer Stadt kann gemeinsame Projekte vorschlagen."),
              "error")
        abort(403)
    form = ProjectForm()
    partner = request.values.get("partner") or ""
    prefill_topic = request.args.get("topic") or ""
    form.topics.choices = topic_choices(selected=[prefill_topic, *(form.topics.data or [])],
                                        leave_out=is_fine_grained_ozg)
    if choose_city:
        form.city.choices = city_choices(blank="–")
        form.invited_cities.choices = city_choices()
    else:
        del form.city
        form.invited_cities.choices = city_choices(exclude_ids=[city.id])
    if request.method == "GET":
        if partner:
            form.invited_cities.data = [partner]
        if prefill_topic:
            form.topics.data = [prefill_topic]
        if choose_city and city is not None:
            form.city.data = city.slug
    if form.validate_on_submit():
        try:
            project = services.propose_project(
                current_user, form.title.data, form.description.data, form.topics.data,
                form.invited_cities.data, from_match_city=partner or None,
                submit=not form.save_draft.data,
                city=(form.city.data or None) if choose_city else None)
        except services.ProjectError as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Der Vorschlag wurde gesendet.") if project.state == "proposed"
                  else _("Der Entwurf wurde gespeichert."), "success")
            return redirect(url_for("projects.show", project_id=project.id), code=303)
    return render_template("projects/new.html", form=form, partner=partner), (
        422 if form.errors or form.form_errors else 200)


@bp.route("/projekte/<int:project_id>")
@login_required
def show(project_id: int):
    """A proposal: text, participants with answers, history (a page at a time, the newest
    first shown), comments and allowed actions."""
    project = services.load_participants(_load(project_id))
    events, page, pages = services.timeline_page(
        project, page_argument() if request.args.get("page") else None, TIMELINE_PER_PAGE)
    my_city = current_user.city
    participant = project.participant(my_city)
    can_manage = permissions.can_manage_project(current_user, project)
    can_answer = (permissions.can_respond(current_user, project, my_city)
                  and participant.response == "pending"
                  and project.state in states.ANSWERABLE_STATES)
    invite_form = None
    if can_manage and project.state in states.INVITABLE_STATES:
        invite_form = InviteForm()
        taken = [p.city_id for p in project.participants]
        invite_form.city.choices = city_choices(blank="–", exclude_ids=taken)
    return render_template(
        "projects/show.html", project=project, participant=participant,
        events=events, timeline_page=page, timeline_pages=pages,
        transitions=states.manual_targets(project.state) if can_manage else [],
        action_labels=states.ACTION_LABELS,
        response_form=ResponseForm() if can_answer else None,
        comment_form=(CommentForm() if permissions.can_comment_project(current_user, project)
                      and project.state in states.COMMENTABLE_STATES else None),
        invite_form=invite_form, action_form=ActionForm(),
        can_edit=can_manage and project.state in states.EDITABLE_STATES,
        can_write_report=(project.state == "completed"
                          and permissions.can_write_project_report(current_user, project)),
        report=readable_report(project.report_experience),
    )


def readable_report(experience):
    """The report experience if the current user may read it, else None: another city's
    draft report must not show its title (or slug) on the project page."""
    if experience is None or not permissions.can_read_experience(current_user, experience):
        return None
    return experience


@bp.route("/projekte/<int:project_id>/bearbeiten", methods=["GET", "POST"])
@login_required
def edit(project_id: int):
    """Change title, description and topics while the project is not finished."""
    project = _load(project_id)
    try:
        services.check_editable(current_user, project)
    except (services.ProjectError, services.ProjectPermissionError) as error:
        return _refused(error, project)
    form = ProjectTextForm(obj=project)
    current_topics = [topic.slug for topic in project.topics]
    form.topics.choices = topic_choices(selected=[*current_topics, *(form.topics.data or [])],
                                        leave_out=is_fine_grained_ozg)
    if request.method == "GET":
        form.topics.data = current_topics
    if form.validate_on_submit():
        try:
            services.update_project(current_user, project, title=form.title.data,
                                    description=form.description.data or "",
                                    topics=form.topics.data or [])
        except (services.ProjectConflict, services.ProjectPermissionError) as error:
            return _refused(error, project)
        except services.ProjectError as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Das Projekt wurde gespeichert."), "success")
            return redirect(url_for("projects.show", project_id=project.id), code=303)
    return render_template("projects/edit.html", form=form, project=project), (
        422 if form.errors or form.form_errors else 200)


@bp.route("/projekte/<int:project_id>/antwort", methods=["POST"])
@login_required
def respond(project_id: int):
    """Accept or decline an invitation for my city, with a message."""
    project = _load(project_id)
    form = ResponseForm()
    if not form.validate_on_submit():
        return _refused(services.ProjectError(_("Die Nachricht ist zu lang.")), project)
    if not (form.accept.data or form.decline.data):
        return _refused(services.ProjectError(_("Bitte nehmen Sie an oder lehnen Sie ab.")),
                        project)
    try:
        services.respond(current_user, project, bool(form.accept.data), form.message.data or "")
    except (services.ProjectError, services.ProjectPermissionError) as error:
        return _refused(error, project)
    db.session.commit()
    flash(_("Ihre Antwort wurde gespeichert.") if not form.accept.data
          else _("Sie haben die Einladung angenommen."), "success")
    return redirect(url_for("projects.show", project_id=project.id), code=303)


@bp.route("/projekte/<int:project_id>/status", methods=["POST"])
@login_required
def transition(project_id: int):
    """Submit, complete or withdraw the project (button per allowed transition)."""
    project = _load(project_id)
    target = request.form.get("to", "")
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.transition(current_user, project, target)
    except (services.ProjectError, services.ProjectPermissionError) as error:
        return _refused(error, project)
    db.session.commit()
    flash(_("Das Projekt ist jetzt: %(state)s.", state=states.STATE_LABELS[project.state]),
          "success")
    return redirect(url_for("projects.show", project_id=project.id), code=303)


@bp.route("/projekte/<int:project_id>/kommentare", methods=["POST"])
@login_required
def comment(project_id: int):
    """Add a comment to the project."""
    project = _load(project_id)
    form = CommentForm()
    if not form.validate_on_submit():
        message = next(iter(form.body.errors), _("Bitte schreiben Sie einen Kommentar."))
        return _refused(services.ProjectError(message), project)
    try:
        services.comment(current_user, project, form.body.data)
    except (services.ProjectError, services.ProjectPermissionError) as error:
        return _refused(error, project)
    db.session.commit()
    return redirect(url_for("projects.show", project_id=project.id, _anchor="verlauf"), code=303)


@bp.route("/projekte/<int:project_id>/einladen", methods=["POST"])
@login_required
def invite(project_id: int):
    """Invite one more city."""
    project = _load(project_id)
    city = request.form.get("city", "")
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.invite_city(current_user, project, city)
    except (services.ProjectError, services.ProjectPermissionError) as error:
        return _refused(error, project)
    db.session.commit()
    flash(_("Die Einladung wurde verschickt."), "success")
    return redirect(url_for("projects.show", project_id=project.id), code=303)


@bp.route("/projekte/<int:project_id>/bericht", methods=["POST"])
@login_required
def report(project_id: int):
    """Create (or open) the project report draft in the wiki."""
    project = _load(project_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        experience = services.create_project_report(current_user, project)
    except (services.ProjectError, services.ProjectPermissionError) as error:
        return _refused(error, project)
    db.session.commit()
    return redirect(url_for("wiki.edit", slug=experience.slug), code=303)


@bp.route("/postfach")
@login_required
def inbox():
    """My notifications, newest first, a page at a time."""
    unread_only = request.args.get("ungelesen") == "1"
    pagination = db.paginate(services.notifications_query(current_user, unread_only=unread_only),
                             page=page_argument(), per_page=INBOX_PER_PAGE, error_out=False)
    return render_template(
        "projects/inbox.html", unread_only=unread_only, action_form=ActionForm(),
        notifications=pagination.items, pagination=pagination)


@bp.route("/postfach/<int:notification_id>/oeffnen")
@login_required
def open_notification(notification_id: int):
    """Mark a notification read and go to what it is about."""
    notification = services.get_notification(current_user, notification_id) or abort(404)
    services.mark_read(current_user, notification)
    db.session.commit()
    return redirect(safe_next(notification.link, url_for("projects.inbox")))


@bp.route("/postfach/<int:notification_id>/gelesen", methods=["POST"])
@login_required
def mark_read(notification_id: int):
    """Mark one notification read."""
    notification = services.get_notification(current_user, notification_id) or abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    services.mark_read(current_user, notification)
    db.session.commit()
    return redirect(url_for("projects.inbox"), code=303)


@bp.route("/postfach/alle-gelesen", methods=["POST"])
@login_required
def mark_all_read():
    """Mark every notification read."""
    if not ActionForm().validate_on_submit():
        abort(400)
    count = services.mark_all_read(current_user)
    db.session.commit()
    flash(_("%(count)s Benachrichtigung(en) als gelesen markiert.", count=count), "success")
    return redirect(url_for("projects.inbox"), code=303)


# --- sections on other domains' pages ---------------------------------------------------

@slot("dashboard", "projects", "projects/_slot_dashboard.html", order=30)
def dashboard_section(user):
    """Open invitations, the city's own proposals awaiting answers, and running projects."""
    if user.city is None:
        return None
    # One more than shown tells whether the list behind the "alle" link has more.
    invitations = services.open_invitations(user.city, limit=SLOT_ITEMS + 1)
    proposed = services.city_projects(user.city, ("proposed",), limit=SLOT_ITEMS + 1)
    active = services.city_projects(user.city, ("active",), limit=SLOT_ITEMS + 1)
    return {"invitations": invitations[:SLOT_ITEMS], "proposed": proposed[:SLOT_ITEMS],
            "active": active[:SLOT_ITEMS],
            "more": {"invitations": len(invitations) > SLOT_ITEMS,
                     "proposed": len(proposed) > SLOT_ITEMS,
                     "active": len(active) > SLOT_ITEMS},
            "can_propose": permissions.can_propose_project(user, user.city)}


@slot("city_page", "projects", "projects/_slot_city.html", order=40)
def city_section(city, user):
    """The city's newest joint projects (proposed, running and completed) with their partner
    cities; the project list filtered by the city has them all."""
    projects = services.city_projects(city, limit=SLOT_ITEMS + 1)
    return {"city": city, "projects": projects[:SLOT_ITEMS],
            "more": len(projects) > SLOT_ITEMS,
            "partners": {project.id: services.partner_cities(project, city)
                         for project in projects[:SLOT_ITEMS]}}
