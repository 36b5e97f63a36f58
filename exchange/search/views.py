"""The search page.

All URLs of the search domain:
  /suche?q=&city=&topic=&kind=&year=&page=&sort=    search (results, facets, suggestion)
  /api/v1/search                                     JSON, see exchange/api/search.py
"""
import sqlalchemy as sa
from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from ..extensions import db
from ..util import page_argument
from . import services
from .engine import FACET_FIELDS

bp = Blueprint("search", __name__)

PER_PAGE = 10


def facet_labels(facets: dict[str, dict[str, int]]) -> dict[str, dict[str, str]]:
    """Human names for facet values: city and topic names, kind labels."""
    from ..cities.models import City, Topic
    from ..wiki.forms import KIND_LABELS

    labels = {name: {} for name in FACET_FIELDS}
    cities = list(facets.get("city", {}))
    if cities:
        for slug, name in db.session.execute(sa.select(City.slug, City.name)
                                             .where(City.slug.in_(cities))):
            labels["city"][slug] = name
    topics = list(facets.get("topic", {}))
    if topics:
        for topic in db.session.scalars(sa.select(Topic).where(Topic.slug.in_(topics))):
            labels["topic"][topic.slug] = topic.name(str(_locale()))
    for kind in facets.get("kind", {}):
        labels["kind"][kind] = str(KIND_LABELS.get(kind, kind))
    for year in facets.get("year", {}):
        labels["year"][year] = year
    return labels


def _locale():
    from flask_babel import get_locale

    return get_locale() or "de"


@bp.route("/suche")
@login_required
def search():
    """Search results with facets, pagination, sorting and a spelling suggestion."""
    query = request.args.get("q", "")
    filters = {name: request.args.get(name) or None for name in FACET_FIELDS}
    sort = request.args.get("sort", "relevance")
    if sort not in ("relevance", "date"):
        sort = "relevance"
    results = services.search(query, page=page_argument(), per_page=PER_PAGE, sort=sort,
                              **filters)
    if results.total and results.page > results.pages:
        results = services.search(query, page=results.pages, per_page=PER_PAGE, sort=sort,
                                  **filters)
    facet_titles = {"city": _("Stadt"), "topic": _("Thema"), "kind": _("Art"),
                    "year": _("Jahr")}
    active = {name: value for name, value in filters.items() if value}

    def search_url(**changes):
        """This search's URL with some arguments changed (None removes one)."""
        arguments = {"q": query, "sort": sort if sort != "relevance" else None, **active}
        arguments.update(changes)
        return url_for("search.search",
                       **{key: value for key, value in arguments.items() if value})

    page = render_template("search/search.html", results=results,
                           labels=facet_labels(results.facets), facet_titles=facet_titles,
                           active=active, sort=sort, search_url=search_url)
    if results.unavailable:
        return page, 503, {"Retry-After": str(services.RETRY_AFTER_SECONDS)}
    return page
