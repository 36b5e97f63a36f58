"""JSON search: GET /api/v1/search?q=&city=&topic=&kind=&year=&page=&per_page=&sort=."""
from flask import jsonify, request

from ..search import services
from ..search.engine import FACET_FIELDS, SORTS
from .common import ApiError, api_view, error_response, int_arg
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
        raise ApiError(400, f"query parameter 'sort' must be one of {', '.join(SORTS)}")
    filters = {name: request.args.get(name) or None for name in FACET_FIELDS}
    try:
        results = services.search(request.args.get("q", ""), page=page, per_page=per_page,
                                  sort=sort, **filters)
    except services.SearchError as error:
        raise ApiError(400, str(error)) from None
    if results.unavailable:
        response, status = error_response(
            503, "the search index is being rebuilt; try again in a minute")
        response.headers["Retry-After"] = str(services.RETRY_AFTER_SECONDS)
        return response, status
    response = jsonify({
        "query": results.query,
        "total": results.total,
        "page": results.page,
        "results": [
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
        ],
        "facets": results.facets,
        "suggestion": results.suggestion,
    })
    if results.stale:  # the body's fields are a fixed contract; a header says it
        response.headers["X-Search-Index"] = "stale"
    return response
