"""Web pages of the experience wiki: list, write, edit, history, diff, restore, changes.

All URLs of the wiki:
  /erfahrungen                                        index (filters, pagination)
  /erfahrungen/neu                                    new
  /erfahrungen/<slug>                                 show
  /erfahrungen/<slug>/bearbeiten                      edit (conflict-aware)
  /erfahrungen/<slug>/versionen                       history (pagination)
  /erfahrungen/<slug>/versionen/<n>                   revision
  /erfahrungen/<slug>/vergleich?von=N&bis=M           compare
  /erfahrungen/<slug>/versionen/<n>/wiederherstellen  restore (POST)
  /erfahrungen/<slug>/veroeffentlichen                publish (POST)
  /erfahrungen/<slug>/zurueckziehen                   unpublish (POST)
  /erfahrungen/<slug>/loeschen                        delete (POST)
  /aenderungen                                        changes (all cities, pagination)

Lists load what their templates show (city, topics, current revision, author) with
`selectinload`, so a page issues the same statements for 10 rows as for 500.
"""
from types import SimpleNamespace

import sqlalchemy as sa
from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   url_for)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup, escape
from sqlalchemy.orm import selectinload

from ..auth.permissions import can_edit_experience, can_read_experience, can_write_for_city
from ..core.hooks import fill, slot
from ..extensions import db
from ..formatting import user_text
from ..markup import shorten
from ..util import page_argument, parse_id
from . import changes as recent
from . import services
from .diff import diff_revisions
from .forms import KIND_LABELS, STATUS_LABELS, ActionForm, ExperienceForm
from .models import KINDS, Experience, Revision, experience_topics

bp = Blueprint("wiki", __name__)

PER_PAGE = 20
#: Revisions per page of an experience's history.
HISTORY_PER_PAGE = 50
DASHBOARD_ITEMS = 8
#: The city filter suggests names (a datalist) while at most this many cities write.
CITY_NAMES_LISTED = 200
#: Cities offered to choose from when what was typed fits several.
CITY_CHOICES = 20


def _list_loads() -> tuple:
    """What an experience list shows per row besides its own columns (the stored
    excerpt among them): city and topics.

    Functions, not constants: building loader options configures the mappers, which must
    wait until every domain's models are imported."""
    return (selectinload(Experience.city), selectinload(Experience.topics))


def _pages(total: int, per_page: int = PER_PAGE) -> int:
    return max(1, -(-total // per_page))


def _load(slug: str) -> Experience:
    """The experience if the user may read it; drafts of other cities look like 404."""
    experience = services.get_experience(slug)
    if experience is None or not can_read_experience(current_user, experience):
        abort(404)
    return experience


def _load_for_edit(slug: str) -> Experience:
    experience = _load(slug)
    if not can_edit_experience(current_user, experience):
        abort(403)
    return experience


def _revision(experience: Experience, number: int) -> Revision:
    revision = services.get_revision(experience, number)
    if revision is None:
        abort(404, description=_("Version %(number)s gibt es nicht.", number=number))
    return revision


@bp.app_context_processor
def wiki_labels():
    """Kind and status labels for every template (lists elsewhere show them too)."""
    return {"kind_labels": KIND_LABELS, "status_labels": STATUS_LABELS}


@bp.app_template_filter("wiki_excerpt")
def wiki_excerpt(experience: Experience, length: int = 240) -> str:
    """Plain-text teaser of an experience, from its stored excerpt (no Markdown is
    rendered per row; escaped by Jinja like any string)."""
    return shorten(experience.excerpt or "", length)


@bp.app_template_global("revision_summary")
def revision_summary(revision: Revision, restored_numbers: dict) -> Markup:
    """A revision's summary for the history. A restore without a summary of its own says
    "Version 2 wiederhergestellt" once, in the reader's language (the stored text is the
    restorer's); a typed summary is shown as written, with the version it came from."""
    summary = revision.summary or ""
    if revision.restored_from_id is None:
        return user_text(summary)

    def with_note(note: str) -> Markup:
        return user_text(summary) + Markup(' <span class="meta">(%s)</span>') % note

    number = restored_numbers.get(revision.restored_from_id)
    if number is None:
        return with_note(_("wiederhergestellt"))
    automatic = set()
    for locale in current_app.config["LANGUAGES"]:
        with force_locale(locale):
            automatic.add(_("Version %(number)s wiederhergestellt", number=number))
    if not summary or summary in automatic:
        return escape(_("Version %(number)s wiederhergestellt", number=number))
    return with_note(_("aus Version %(number)s wiederhergestellt", number=number))


@bp.route("/erfahrungen")
@login_required
def index():
    """All experiences the user may read, filtered by city, topic, kind and status.

    ?city= takes a slug or what the user typed into the city field: a name (several
    cities of that name are offered to choose from) or part of one."""
    from ..cities.models import City, Topic
    from ..cities.services import cities_named

    city = topic = None
    city_choices = []
    if request.args.get("city"):
        found = cities_named(request.args["city"], limit=CITY_CHOICES)
        if len(found) == 1:
            city = found[0]
        else:
            city_choices = found
    if request.args.get("topic"):
        topic = db.session.scalar(sa.select(Topic).where(Topic.slug == request.args["topic"]))
    kind = request.args.get("kind") if request.args.get("kind") in KINDS else None
    status = request.args.get("status") if request.args.get("status") in STATUS_LABELS else None
    unknown = (request.args.get("city") and not city and not city_choices) or (
        request.args.get("topic") and topic is None)
    page = page_argument()
    if unknown or city_choices:
        items, total = [], 0
    else:
        pagination = db.paginate(
            services.experiences_query(current_user, city=city, topic=topic, kind=kind,
                                       status=status).options(*_list_loads()),
            page=page, per_page=PER_PAGE, error_out=False)
        items, total = pagination.items, pagination.total
    # Names to pick from while typing, only while they are few: at Germany scale
    # thousands of cities write, and listing them all made the page 550 KB.
    writing = sa.select(City.name).where(City.id.in_(
        sa.select(Experience.city_id).where(services.visible_condition(current_user))))
    city_names = db.session.scalars(
        writing.order_by(City.name).limit(CITY_NAMES_LISTED + 1)).all()
    if len(city_names) > CITY_NAMES_LISTED:
        city_names = []
    used_topics = db.session.scalars(
        sa.select(Topic).where(Topic.id.in_(
            sa.select(experience_topics.c.topic_id)))
        .order_by(Topic.name_de)).all()
    filters = {key: request.args[key] for key in ("city", "topic", "kind", "status")
               if request.args.get(key)}
    return render_template(
        "wiki/index.html", experiences=items, total=total, page=page, pages=_pages(total),
        city=city, city_names=city_names, city_choices=city_choices, topics=used_topics,
        filters=filters, unknown_filter=unknown,
        can_write=current_user.city is not None or current_user.is_admin)


def _city_choices() -> list:
    """Cities the user may write for in the form: their own, or all for admins."""
    from ..cities.models import City

    if current_user.is_admin:
        cities = db.session.scalars(sa.select(City).order_by(City.name)).all()
    else:
        cities = [current_user.city] if current_user.city else []
    return cities


@bp.route("/erfahrungen/neu", methods=["GET", "POST"])
@login_required
def new():
    """Write a new experience for the user's city."""
    form = ExperienceForm()
    cities = _city_choices()
    if not cities:
        abort(403)
    if request.method == "GET":
        form.contact_name.data = current_user.display_name
        form.contact_email.data = current_user.email
    if form.validate_on_submit():
        # Staff always write for their own city; only admins choose (unknown: error).
        city = cities[0]
        if len(cities) > 1:
            city = next((c for c in cities if c.slug == request.form.get("city")), None)
        try:
            experience = services.create_experience(
                current_user, city, form.title.data, form.body.data, kind=form.kind.data,
                topics=form.topics.data, status=form.status.data, slug=form.slug.data or None,
                contact_name=form.contact_name.data, contact_email=form.contact_email.data,
                summary=form.summary.data)
        except services.WikiError as error:
            db.session.rollback()
            form.add_errors(error.errors or {None: error.message})
        except services.PermissionDenied:
            db.session.rollback()
            abort(403)
        else:
            db.session.commit()
            flash(_("Die Erfahrung wurde gespeichert."), "success")
            return redirect(url_for("wiki.show", slug=experience.slug))
    return render_template("wiki/form.html", form=form, experience=None, cities=cities,
                           conflict=None)


@bp.route("/erfahrungen/<slug>")
@login_required
def show(slug: str):
    """One experience: rendered text, facts, actions and other domains' sections."""
    experience = _load(slug)
    return render_template(
        "wiki/show.html", experience=experience, revision=experience.current_revision,
        revision_count=services.revision_count(experience),
        can_edit=can_edit_experience(current_user, experience), action_form=ActionForm(),
        sections=fill("experience_page", experience=experience, user=current_user))


def _fill_from(form: ExperienceForm, experience: Experience) -> None:
    form.title.data = experience.title
    form.body.data = experience.body
    form.kind.data = experience.kind
    form.status.data = experience.status
    form.topics.data = [topic.slug for topic in experience.topics]
    form.contact_name.data = experience.contact_name or ""
    form.contact_email.data = experience.contact_email or ""
    form.base_revision.data = str(experience.current_revision_id)


@bp.route("/erfahrungen/<slug>/bearbeiten", methods=["GET", "POST"])
@login_required
def edit(slug: str):
    """Edit against the revision the form was loaded from; a stale base is a conflict."""
    experience = _load_for_edit(slug)
    form = ExperienceForm()
    conflict = None
    if request.method == "GET":
        _fill_from(form, experience)
    elif form.validate_on_submit():
        base_id = form.base_revision.data
        try:
            services.update_experience(
                current_user, experience, base_id, title=form.title.data,
                body=form.body.data, topics=form.topics.data, kind=form.kind.data,
                status=form.status.data, contact_name=form.contact_name.data,
                contact_email=form.contact_email.data, summary=form.summary.data)
        except services.EditConflict as error:
            db.session.rollback()
            conflict = _conflict_view(experience, base_id, error.current, form)
            # The next submit is based on what is stored now; the user's text stays.
            form.base_revision.data = str(error.current.id)
        except services.WikiError as error:
            db.session.rollback()
            form.add_errors(error.errors or {None: error.message})
        except services.PermissionDenied:
            db.session.rollback()
            abort(403)
        else:
            db.session.commit()
            flash(_("Die Änderungen wurden gespeichert."), "success")
            return redirect(url_for("wiki.show", slug=experience.slug))
    return render_template("wiki/form.html", form=form, experience=experience, cities=None,
                           conflict=conflict)


def _conflict_view(experience: Experience, base_id, current: Revision, form) -> dict:
    """What the conflict page shows: their change (base→current) and yours (base→form)."""
    base_id = parse_id(base_id)
    base = db.session.get(Revision, base_id) if base_id is not None else None
    if base is None or base.experience_id != experience.id:
        base = current
    yours = SimpleNamespace(title=form.title.data or "", body=form.body.data or "")
    return {"base": base, "current": current,
            "theirs": diff_revisions(base, current), "yours": diff_revisions(base, yours)}


@bp.route("/erfahrungen/<slug>/versionen")
@login_required
def history(slug: str):
    """The revisions, newest first and a page at a time, with radio buttons to compare two."""
    experience = _load(slug)
    pagination = db.paginate(
        services.revisions_query(experience).options(selectinload(Revision.author)),
        page=page_argument(), per_page=HISTORY_PER_PAGE, error_out=False)
    sources = {revision.restored_from_id for revision in pagination.items
               if revision.restored_from_id is not None}
    restored_numbers = dict(db.session.execute(
        sa.select(Revision.id, Revision.number).where(Revision.id.in_(sources))).all()
    ) if sources else {}
    return render_template("wiki/history.html", experience=experience,
                           revisions=pagination.items, pagination=pagination,
                           restored_numbers=restored_numbers,
                           can_edit=can_edit_experience(current_user, experience),
                           action_form=ActionForm())


@bp.route("/erfahrungen/<slug>/versionen/<int:number>")
@login_required
def revision(slug: str, number: int):
    """An old revision, rendered as it read then."""
    experience = _load(slug)
    old = _revision(experience, number)
    return render_template("wiki/revision.html", experience=experience, revision=old,
                           can_edit=can_edit_experience(current_user, experience),
                           action_form=ActionForm())


@bp.route("/erfahrungen/<slug>/vergleich")
@login_required
def compare(slug: str):
    """The difference between revisions `von` and `bis` (defaults: previous and current)."""
    experience = _load(slug)
    current_number = experience.current_revision.number

    def number_arg(name: str, default: int) -> int:
        raw = request.args.get(name, "")
        if raw == "":
            return default
        number = parse_id(raw)
        if number is None:
            abort(404, description=_("„%(value)s“ ist keine Versionsnummer.", value=raw))
        return number

    new_number = number_arg("bis", current_number)
    old_number = number_arg("von", max(1, new_number - 1))
    old, new = _revision(experience, old_number), _revision(experience, new_number)
    return render_template("wiki/compare.html", experience=experience,
                           diff=diff_revisions(old, new))


@bp.route("/erfahrungen/<slug>/versionen/<int:number>/wiederherstellen", methods=["POST"])
@login_required
def restore(slug: str, number: int):
    """Make an old revision current again (as a new revision)."""
    experience = _load_for_edit(slug)
    old = _revision(experience, number)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.restore_revision(current_user, experience, old, summary=form.summary.data)
    except services.WikiError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("wiki.history", slug=slug))
    db.session.commit()
    flash(_("Version %(number)s wurde als neue Version wiederhergestellt.", number=number),
          "success")
    return redirect(url_for("wiki.show", slug=slug))


def _status_action(slug: str, action, message: str):
    experience = _load_for_edit(slug)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        action(current_user, experience)
    except services.WikiError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(message, "success")
    return experience


@bp.route("/erfahrungen/<slug>/veroeffentlichen", methods=["POST"])
@login_required
def publish(slug: str):
    """Publish a draft."""
    _status_action(slug, services.publish, _("Die Erfahrung ist jetzt für alle sichtbar."))
    return redirect(url_for("wiki.show", slug=slug))


@bp.route("/erfahrungen/<slug>/zurueckziehen", methods=["POST"])
@login_required
def unpublish(slug: str):
    """Turn a published experience back into a draft."""
    _status_action(slug, services.unpublish,
                   _("Die Erfahrung ist wieder ein Entwurf und nur für Ihre Stadt sichtbar."))
    return redirect(url_for("wiki.show", slug=slug))


@bp.route("/erfahrungen/<slug>/loeschen", methods=["POST"])
@login_required
def delete(slug: str):
    """Soft-delete an experience; its history is kept."""
    _status_action(slug, services.delete_experience, _("Die Erfahrung wurde gelöscht."))
    return redirect(url_for("wiki.index"))


@bp.route("/aenderungen")
@login_required
def changes():
    """Recent changes across all cities, one row per page the user may read: its latest
    change and how many there were in the chosen window (?tage=, default 30 days)."""
    page = page_argument()
    days = request.args.get("tage", type=int)
    if days not in recent.DAY_CHOICES:
        days = recent.DEFAULT_DAYS
    total, pages_changed = recent.recent_changes(
        current_user, recent.window_start(days), limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    return render_template("wiki/changes.html", changes=pages_changed, total=total,
                           page=page, pages=_pages(total), days=days,
                           day_choices=recent.DAY_CHOICES)


@slot("dashboard", "recent_changes", "wiki/_slot_dashboard.html", order=10)
def dashboard_section(user):
    """The latest changes anywhere and the drafts of the user's city."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    _total, latest = recent.recent_changes(user, recent.window_start(recent.DEFAULT_DAYS),
                                           limit=DASHBOARD_ITEMS)
    drafts = []
    if user.city_id is not None:
        drafts = db.session.scalars(
            services.experiences_query(user, city=user.city, status="draft")
            .limit(DASHBOARD_ITEMS)).all()
    return {"recent": latest, "drafts": drafts,
            "can_write": can_write_for_city(user, user.city) if user.city else user.is_admin}
