"""Partner pages: "Partner finden" and the matching sections on city and topic pages."""
import sqlalchemy as sa
from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..auth import permissions
from ..cities.choices import city_choices, topic_choices
from ..cities.models import City
from ..core.hooks import slot
from ..extensions import db
from .forms import PartnerFilterForm
from .services import MatchError, explain_pair, find_partners

bp = Blueprint("matching", __name__)

#: Partners shown on the "Partner finden" page.
PAGE_LIMIT = 10
#: Partners shown in the topic page's section.
TOPIC_SLOT_LIMIT = 5
#: Topic levels offered in the filter's list (root, areas, OZG Themenfelder); deeper
#: topics still work through ?topic=<slug>.
TOPIC_CHOICE_DEPTH = 2


def _chosen_city() -> City | None:
    """The city to find partners for: ?stadt= if the user may (admins), else the own city."""
    slug = request.args.get("stadt")
    if slug:
        city = db.one_or_404(sa.select(City).filter_by(slug=slug))
        if permissions.can_find_partners_for(current_user, city):
            return city
    return current_user.city


@bp.route("/partner")
@login_required
def partners():
    """Rank partner cities for the user's city, with filters and reasons."""
    city = _chosen_city()
    form = PartnerFilterForm(request.args)
    form.topic.choices = topic_choices(blank=_("– alle Themen –"), max_depth=TOPIC_CHOICE_DEPTH,
                                       selected=[form.topic.data])
    # Only platform admins see the city list; at 11,000 cities it is the page's slowest part.
    form.stadt.choices = (city_choices(blank=_("– Stadt wählen –")) if current_user.is_admin
                          else [])
    matches, error = [], None
    if city is not None:
        try:
            matches = find_partners(
                city, kind=form.kind.data or None, topic=form.topic.data or None,
                state=form.state.data or None, size_band=form.size_band.data or None,
                limit=PAGE_LIMIT, include_active=bool(form.include_active.data))
        except MatchError as exc:
            error = str(exc)
    status = 422 if error else 200
    return render_template(
        "matching/partners.html", city=city, form=form, matches=matches, error=error,
        can_propose=(city is not None and city == current_user.city
                     and permissions.can_propose_project(current_user, city)),
        selected_topic=form.topic.data or None), status


def _viewer_city(user):
    """The logged-in user's city, or None."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.city


@slot("city_page", "fit", "matching/_slot_city.html", order=40)
def city_fit(city, user):
    """"Warum passt <city> zu meiner Stadt?" on every other city's page."""
    own = _viewer_city(user)
    if own is None or own.id == city.id:
        return None
    return {"city": city, "own": own, "match": explain_pair(own, city),
            "can_propose": permissions.can_propose_project(user, own)}


@slot("topic_page", "partners", "matching/_slot_topic.html", order=40)
def topic_partners(topic, user):
    """Partner cities for the viewer's city on this topic and its sub-topics."""
    own = _viewer_city(user)
    if own is None:
        return None
    return {"topic": topic, "own": own,
            "matches": find_partners(own, topic=topic, limit=TOPIC_SLOT_LIMIT),
            "can_propose": permissions.can_propose_project(user, own)}
