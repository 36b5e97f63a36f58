"""City pages, the city directory, interest editing and the topic tree (blueprint "cities")."""
import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy.orm import selectinload

from ..auth import permissions
from ..core.hooks import fill
from ..extensions import db
from ..util import page_argument
from .choices import sorted_topics
from .forms import STANCE_LABELS, CityCreateForm, CityProfileForm, ConfirmForm, InterestForm
from .models import STANCES, City, Interest, Topic
from .services import (STATES, CityError, PermissionDenied, cities_query, city_interests_query,
                       city_stance_counts, create_city, find_interest, first_of_each_stance,
                       interest_counts, municipality_by_ags, municipality_search,
                       remove_interest, set_interest, topic_interests_query,
                       topic_stance_counts, update_city)

bp = Blueprint("cities", __name__)

#: Search terms longer than this are cut; nobody types a 200-character city name.
QUERY_MAX = 100
#: Levels of the topic tree shown open on /themen; deeper levels fold into <details>.
OPEN_TREE_DEPTH = 2
#: Name prefix of the per-process caches of the rendered topic tree (one per language).
TOPIC_TREE_CACHE = "topic_tree"
#: Cities per page of /staedte (11,000 cities rendered at once were 1.75 MB).
CITIES_PER_PAGE = 50
#: Interests shown per stance on a city or topic page; "alle anzeigen" opens the stance.
INTEREST_PREVIEW = 20
#: Interests per page once one stance is chosen (?haltung=).
INTERESTS_PER_PAGE = 50
#: Newest experiences shown on a city or topic page; the wiki list has the rest.
EXPERIENCE_PREVIEW = 10


@bp.before_request
@login_required
def require_login():
    """Every page of this blueprint is for logged-in members."""


def _require(allowed: bool) -> None:
    if not allowed:
        abort(403)


def _locale() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "de")


# --- cities ----------------------------------------------------------------------------

@bp.route("/staedte")
def index():
    """All cities, filtered by federal state and searched by name, a page at a time."""
    state = request.args.get("land", "").strip()
    query = request.args.get("q", "").strip()[:QUERY_MAX]
    pagination = db.paginate(cities_query(state=state, name=query), page=page_argument(),
                             per_page=CITIES_PER_PAGE, error_out=False)
    cities = pagination.items
    return render_template("cities/index.html", cities=cities, pagination=pagination,
                           counts=interest_counts(city.id for city in cities), states=STATES,
                           state=state, query=query,
                           can_create=permissions.can_create_city(current_user))


@bp.route("/staedte/neu", methods=["GET", "POST"])
def new():
    """Platform admins add a city; the AGS fills name, state and population."""
    _require(permissions.can_create_city(current_user))
    form = CityCreateForm()
    candidates = []
    if form.is_submitted() and form.lookup.data:
        candidates = _prefill_from_directory(form)
    elif form.validate_on_submit():
        try:
            city = create_city(current_user, name=form.name.data, state=form.state.data,
                               slug=form.slug.data or None, ags=form.ags.data or None,
                               population=form.population.data, profile=form.profile.data or "",
                               website=form.website.data or None)
        except CityError as error:
            form.form_errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Die Stadt %(name)s wurde angelegt.", name=city.name), "success")
            return redirect(url_for("cities.show", slug=city.slug))
    return render_template("cities/new.html", form=form, candidates=candidates)


def _prefill_from_directory(form: CityCreateForm) -> list[dict]:
    """Fill empty form fields from the directory entry of the given AGS (or list matches)."""
    ags = (form.ags.data or "").strip()
    if ags:
        entry = municipality_by_ags(ags)
        if entry is None:
            form.ags.errors = [_("Diesen Gemeindeschlüssel gibt es im Verzeichnis nicht.")]
            return municipality_search(ags[:5]) if ags.isdigit() else []
        form.ags.data = entry["ags"]
        form.name.data = form.name.data or entry["short_name"]
        form.state.data = entry["state"]
        if not form.population.data and entry["population"]:
            form.population.data = entry["population"]
            # A number field shows what was sent (raw_data, here ""), not .data.
            form.population.raw_data = [str(entry["population"])]
        flash(_("Angaben aus dem Gemeindeverzeichnis übernommen: %(name)s (%(state)s).",
                name=entry["name"], state=entry["state"]), "info")
        return []
    if form.name.data:
        found = municipality_search(form.name.data)
        if not found:
            form.name.errors = [_("Keine Gemeinde dieses Namens im Verzeichnis gefunden.")]
        return found
    form.ags.errors = [_("Bitte geben Sie einen Gemeindeschlüssel oder den Namensanfang ein.")]
    return []


def _stance_argument() -> str | None:
    """The stance chosen with ?haltung=, or None for the overview of all three."""
    stance = request.args.get("haltung", "")
    return stance if stance in STANCES else None


def _interests_by_stance(query_for_stance, stance: str | None):
    """Interests to show per stance: a page of the chosen stance, else the first few of each.

    Returns (by_stance, pagination); pagination is None in the overview."""
    if stance is None:
        return first_of_each_stance(query_for_stance(None), INTEREST_PREVIEW), None
    pagination = db.paginate(query_for_stance(stance), page=page_argument(),
                             per_page=INTERESTS_PER_PAGE, error_out=False)
    return {stance: pagination.items}, pagination


@bp.route("/staedte/<slug>")
def show(slug: str):
    """A city's profile, its interests by stance, its newest experiences and other domains'
    sections; ?haltung=<stance> pages through the interests of one stance."""
    from ..wiki.models import Experience
    from ..wiki.services import experiences_query

    city = db.one_or_404(sa.select(City).filter_by(slug=slug))
    stance = _stance_argument()
    by_stance, interest_pages = _interests_by_stance(
        lambda chosen: city_interests_query(city, chosen), stance)
    experiences = db.paginate(
        experiences_query(current_user, city=city).options(selectinload(Experience.topics)),
        page=1, per_page=EXPERIENCE_PREVIEW, error_out=False)
    return render_template(
        "cities/show.html", city=city, by_stance=by_stance, stance=stance,
        stance_counts=city_stance_counts(city), interest_pages=interest_pages,
        stance_labels=STANCE_LABELS, experiences=experiences.items,
        experience_total=experiences.total,
        can_edit=permissions.can_edit_city(current_user, city),
        sections=fill("city_page", city=city, user=current_user._get_current_object()),
        locale=_locale(),
    )


@bp.route("/staedte/<slug>/bearbeiten", methods=["GET", "POST"])
def edit(slug: str):
    """City admins edit the profile, website and population."""
    city = db.one_or_404(sa.select(City).filter_by(slug=slug))
    _require(permissions.can_edit_city(current_user, city))
    form = CityProfileForm(obj=city)
    if form.validate_on_submit():
        try:
            update_city(current_user, city, profile=form.profile.data or "",
                        website=form.website.data or None, population=form.population.data)
        except CityError as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Das Profil wurde gespeichert."), "success")
            return redirect(url_for("cities.show", slug=city.slug))
    return render_template("cities/edit.html", city=city, form=form)


@bp.route("/staedte/<slug>/interessen", methods=["GET", "POST"])
def interests(slug: str):
    """City admins list, add, change and remove the city's interests."""
    city = db.one_or_404(sa.select(City).filter_by(slug=slug))
    _require(permissions.can_edit_city(current_user, city))
    form = InterestForm()
    if request.method == "GET" and request.args.get("thema"):
        topic = db.session.scalar(sa.select(Topic).where(Topic.slug == request.args["thema"]))
        existing = find_interest(city, topic) if topic else None
        if existing is not None:
            form.topic.data, form.stance.data = topic.slug, existing.stance
            form.maturity.data, form.note.data = existing.maturity, existing.note
    if form.validate_on_submit():
        try:
            set_interest(current_user, city, form.topic_obj, form.stance.data,
                         form.maturity.data, form.note.data or "")
        except (CityError, PermissionDenied) as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Interesse an „%(topic)s“ gespeichert.", topic=form.topic_obj.name_de),
                  "success")
            return redirect(url_for("cities.interests", slug=city.slug))
    rows = db.session.scalars(
        city_interests_query(city).order_by(None).order_by(Topic.name_de, Topic.id)).all()
    return render_template("cities/interests.html", city=city, form=form, rows=rows,
                           stance_labels=STANCE_LABELS, confirm=ConfirmForm())


@bp.route("/staedte/<slug>/interessen/<topic_slug>/entfernen", methods=["POST"])
def remove_interest_view(slug: str, topic_slug: str):
    """Remove one interest (POST with CSRF token)."""
    city = db.one_or_404(sa.select(City).filter_by(slug=slug))
    _require(permissions.can_edit_city(current_user, city))
    topic = db.one_or_404(sa.select(Topic).filter_by(slug=topic_slug))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        remove_interest(current_user, city, topic)
    except CityError as error:
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("Interesse an „%(topic)s“ entfernt.", topic=topic.name_de), "success")
    return redirect(url_for("cities.interests", slug=city.slug))


# --- topics ----------------------------------------------------------------------------

def _stance_counts() -> dict[int, dict[str, int]]:
    """Per topic id: how many cities offer, seek or work on it."""
    counts: dict[int, dict[str, int]] = {}
    for topic_id, stance, number in db.session.execute(
        sa.select(Interest.topic_id, Interest.stance, sa.func.count())
        .group_by(Interest.topic_id, Interest.stance)
    ):
        counts.setdefault(topic_id, {})[stance] = number
    return counts


@bp.route("/themen")
def topics():
    """The topic tree with counts; top levels open, deeper levels collapsible."""
    total, tree = _topic_tree(str(_locale()))
    return render_template("cities/topics.html", total=total, tree=tree)


def _topic_tree(locale: str) -> tuple[int, Markup]:
    """(number of topics, the tree's HTML) in `locale`, rendered once per process while
    the taxonomy (names, slugs, parents) and the interests' counts do not change.

    The tree is the same for everyone; rendering its 642 nodes cost ~80 ms per view.
    """
    from ..matching.models import MATCHING, TAXONOMY
    from ..matching.snapshot import cache, current_versions

    versions = current_versions((TAXONOMY, MATCHING))
    version = (versions[TAXONOMY], versions[MATCHING])

    def build():
        all_topics = sorted_topics(db.session.scalars(sa.select(Topic)).all(), locale)
        children: dict[int | None, list[Topic]] = {}
        for topic in all_topics:
            children.setdefault(topic.parent_id, []).append(topic)
        html = render_template("cities/_topic_tree.html", roots=children.get(None, []),
                               children=children, counts=_stance_counts(),
                               open_depth=OPEN_TREE_DEPTH, locale=locale)
        return version, (len(all_topics), Markup(html))

    return cache(f"{TOPIC_TREE_CACHE}:{locale}").get(version, build)


@bp.route("/themen/<slug>")
def topic(slug: str):
    """One topic: names, aliases, place in the tree, interested cities by stance (filtered by
    ?land= and ?groesse=, ?haltung= pages through one stance), newest experiences."""
    from ..matching.services import SIZE_BAND_LABELS
    from ..wiki.models import Experience
    from ..wiki.services import published_on_topic_query

    topic = db.one_or_404(sa.select(Topic).filter_by(slug=slug).options(
        selectinload(Topic.aliases), selectinload(Topic.children)))
    state = request.args.get("land", "")
    state = state if state in STATES else ""
    size_band = request.args.get("groesse", "")
    size_band = size_band if size_band in SIZE_BAND_LABELS else ""
    stance = _stance_argument()
    by_stance, interest_pages = _interests_by_stance(
        lambda chosen: topic_interests_query(topic, chosen, state=state or None,
                                             size_band=size_band or None), stance)
    experiences = db.paginate(
        published_on_topic_query(topic).options(selectinload(Experience.city)),
        page=1, per_page=EXPERIENCE_PREVIEW, error_out=False)
    return render_template(
        "cities/topic.html", topic=topic, by_stance=by_stance, stance=stance,
        stance_counts=topic_stance_counts(topic, state=state or None,
                                          size_band=size_band or None),
        interest_pages=interest_pages, stance_labels=STANCE_LABELS, states=STATES,
        state=state, size_bands=SIZE_BAND_LABELS, size_band=size_band,
        experiences=experiences.items, experience_total=experiences.total,
        sections=fill("topic_page", topic=topic, user=current_user._get_current_object()),
        locale=_locale(),
    )
