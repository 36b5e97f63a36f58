"""JSON search: GET /api/v1/search?q=&city=&topic=&kind=&year=&page=&per_page=&sort=."""
from flask import jsonify, request

from ..search import services
from ..search.engine import FACET_FIELDS, SORTS
from .common import ApiError, api_view, int_arg
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
    return jsonify({
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
