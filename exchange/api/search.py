"""JSON search: GET /api/v1/search?q=&city=&topic=&kind=&year=&page=&per_page=&sort=."""
from flask import jsonify, request
from flask_babel import gettext as _

from ..search import services
from ..search.engine import FACET_FIELDS, SORTS
from .common import ApiError, api_view, int_arg, unknown_value
from .schemas.common import envelope
from .views import bp

DEFAULT_PER_PAGE = 10


@bp.route("/search")
@api_view
def search():
    """Ranked results (best first), facet counts over all matches, spelling suggestion."""
    page = int_arg("page", 1, minimum=1)
    per_page = int_arg("per_page", DEFAULT_PER_PAGE, minimum=1, maximum=services.MAX_PER_PAGE)
    sort = request.args.get("sort") or "relevance"
    if sort not in SORTS:
        raise ApiError(400, unknown_value("sort", sort, SORTS), problem="validation",
                       errors={"sort": _("unbekannt")})
    filters = {name: request.args.get(name) or None for name in FACET_FIELDS}
    results = services.search(request.args.get("q", ""), page=page, per_page=per_page,
                              sort=sort, **filters)
    # services.SearchError is a DomainError (400): the blueprint's handler answers it.
    if results.unavailable:
        raise ApiError(503, _("Der Suchindex wird neu aufgebaut; bitte versuchen Sie es in "
                              "einer Minute noch einmal."),
                       headers={"Retry-After": str(services.RETRY_AFTER_SECONDS)})
    hits = [
        {
            "slug": hit.slug,
            "title": hit.title,
            "city": hit.city,
            "topics": hit.topics,
            "kind": hit.kind,
            "score": hit.score,
            "snippet": str(hit.snippet),
        }
        for hit in results.hits
    ]
    response = jsonify(envelope(hits, results.total, results.page, per_page, legacy="results",
                                query=results.query, facets=results.facets,
                                suggestion=results.suggestion))
    if results.stale:  # the body's fields are a fixed contract; a header says it
        response.headers["X-Search-Index"] = "stale"
    return response
