"""JSON API of matchmaking: ranked partner cities with scores and reasons."""
import sqlalchemy as sa
from flask import jsonify, request, url_for

from ..cities.models import City
from ..extensions import db
from ..matching.services import KINDS, MAX_LIMIT, Match, find_partners
from .common import ApiError, api_view, int_arg
from .schemas.common import envelope
from .views import bp

DEFAULT_LIMIT = 10
TRUE_VALUES = ("1", "true", "yes", "ja")
FALSE_VALUES = ("", "0", "false", "no", "nein")


def _experience_url(slug: str) -> str:
    """Link to an experience's page."""
    return url_for("wiki.show", slug=slug, _external=True)


def match_json(match: Match) -> dict:
    """The API representation of one partner with its reasons."""
    return {
        "city": match.city.slug,
        "name": match.city.name,
        "score": match.score,
        "transfer_score": match.transfer_score,
        "joint_score": match.joint_score,
        "score_share": match.score_share,
        "reasons": [{
            "topic": reason.topic.slug,
            "topic_name": reason.topic.name_de,
            "direction": reason.direction,
            "weight": reason.weight,
            "share": reason.share,
            "their_maturity": reason.their_maturity,
            "our_maturity": reason.our_maturity,
            "inferred_from_wiki": reason.inferred_from_wiki,
            "evidence": [{"slug": e.slug, "title": e.title, "html_url": _experience_url(e.slug)}
                         for e in reason.evidence],
            "text": reason.text,
        } for reason in match.reasons],
    }


def _bool_arg(name: str) -> bool:
    """A yes/no query argument, or a 400 error."""
    raw = (request.args.get(name) or "").strip().lower()
    if raw in TRUE_VALUES:
        return True
    if raw in FALSE_VALUES:
        return False
    raise ApiError(400, f"query parameter {name!r} must be true or false")


@bp.route("/cities/<slug>/matches")
@api_view
def city_matches(slug: str):
    """Ranked partner cities for a city: ?kind=&topic=&limit=&state=&size_band=&include_active=."""
    city = db.one_or_404(sa.select(City).filter_by(slug=slug), description="city not found")
    kind = request.args.get("kind") or None
    if kind is not None and kind not in KINDS:
        raise ApiError(400, "query parameter 'kind' must be one of: " + ", ".join(KINDS))
    limit = int_arg("limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)
    include_active = _bool_arg("include_active")
    # MatchError (400) and UnknownTopic (422) are DomainErrors: the blueprint's handler.
    matches = find_partners(
        city, kind=kind, topic=request.args.get("topic") or None,
        state=request.args.get("state") or None,
        size_band=request.args.get("size_band") or None,
        limit=limit, include_active=include_active)
    items = [match_json(m) for m in matches]
    return jsonify(envelope(items, len(items), per_page=limit, legacy="matches", city=city.slug))
