"""JSON API of cities, the topic taxonomy and interests (read only)."""
import sqlalchemy as sa
from flask import request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from ..cities.models import STANCES, City, Interest, Topic, TopicAlias
from ..extensions import db
from ..util import slugify
from .common import ApiError, api_view, page_of, slug_arg, unknown_value, utc_iso
from .schemas.cities import (CITY_MAX_PER_PAGE, CITY_PER_PAGE, INTEREST_MAX_PER_PAGE,
                             INTEREST_PER_PAGE, MAX_QUERY_LENGTH, TOPIC_MAX_PER_PAGE,
                             TOPIC_PER_PAGE, CityDetailSchema, CityListSchema, CityQuery,
                             InterestListSchema, InterestQuery, TopicDetailSchema,
                             TopicListSchema, TopicQuery)
from .schemas.common import paginated
from .views import bp


def _text_arg(name: str) -> str | None:
    """A stripped text query argument (None when absent or empty), or a 400 error."""
    value = (request.args.get(name) or "").strip()
    if len(value) > MAX_QUERY_LENGTH:
        raise ApiError(400, _("Der Abfrageparameter %(name)s darf höchstens %(max)s Zeichen "
                              "lang sein.", name=repr(name), max=MAX_QUERY_LENGTH),
                       problem="validation")
    return value or None


def _like(text: str) -> str:
    """A case-insensitive LIKE pattern matching `text` anywhere (wildcards escaped)."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _slug_like(text: str) -> str:
    """A LIKE pattern on slugs: "ÜBERSICHT" finds "uebersicht" even where SQL lower()
    only knows ASCII (SQLite)."""
    slug = slugify(text, max_length=MAX_QUERY_LENGTH * 2)
    # slugify() answers "eintrag" for text without letters or digits; search that text as is.
    return _like(slug if slug != "eintrag" or "eintrag" in text.lower() else text)


# --- serialisation -----------------------------------------------------------------------

def city_json(city: City) -> dict:
    """A city in lists."""
    return {"slug": city.slug, "name": city.name, "state": city.state, "ags": city.ags,
            "population": city.population, "website": city.website,
            "html_url": url_for("cities.show", slug=city.slug, _external=True)}


def topic_json(topic: Topic, parent_slug: str | None = None) -> dict:
    """A topic in lists: names, parent slug and aliases."""
    if parent_slug is None and topic.parent_id is not None:
        parent_slug = topic.parent.slug
    return {"slug": topic.slug, "name_de": topic.name_de, "name_en": topic.name_en,
            "parent": parent_slug, "aliases": [alias.alias for alias in topic.aliases],
            "ozg_key": topic.ozg_key,
            "html_url": url_for("cities.topic", slug=topic.slug, _external=True)}


def interest_json(interest: Interest) -> dict:
    """One city's stance on one topic."""
    return {"city": interest.city.slug, "city_name": interest.city.name,
            "topic": interest.topic.slug, "topic_name": interest.topic.name_de,
            "stance": interest.stance, "maturity": interest.maturity, "note": interest.note,
            "updated_at": utc_iso(interest.updated_at)}


def _ordered_interests(query):
    return (query.options(selectinload(Interest.city), selectinload(Interest.topic))
            .join(City, Interest.city_id == City.id).join(Topic, Interest.topic_id == Topic.id)
            .order_by(Interest.stance, Interest.maturity.desc(), City.slug, Topic.slug))


def _interests(query) -> list[Interest]:
    return db.session.scalars(_ordered_interests(query)).all()


# --- cities ------------------------------------------------------------------------------

@bp.route("/cities", tags=["Cities"])
@api_view
@bp.arguments(CityQuery, location="query", error_status_code=400)
@bp.response(200, CityListSchema)
def list_cities(_args):
    """Cities, filtered by federal state (`state`) and name or slug (`q`)."""
    query = sa.select(City)
    state = _text_arg("state")
    if state:
        query = query.where(sa.func.lower(City.state) == state.lower())
    text = _text_arg("q")
    if text:
        pattern = _like(text)
        query = query.where(sa.or_(sa.func.lower(City.name).like(pattern, escape="\\"),
                                   City.slug.like(_slug_like(text), escape="\\")))
    cities = page_of(query.order_by(City.name, City.slug), CITY_PER_PAGE, CITY_MAX_PER_PAGE)
    return paginated(cities, [city_json(city) for city in cities.items])


@bp.route("/cities/<slug>", tags=["Cities"])
@api_view
@bp.response(200, CityDetailSchema)
def get_city(slug: str):
    """One city with its Markdown profile and its interests."""
    city = db.one_or_404(sa.select(City).filter_by(slug=slug),
                         description=_("Stadt %(slug)s nicht gefunden", slug=repr(slug)))
    data = city_json(city)
    data["profile"] = city.profile or ""
    data["interests"] = [interest_json(interest) for interest in
                         _interests(sa.select(Interest).where(Interest.city_id == city.id))]
    return data


# --- topics ------------------------------------------------------------------------------

@bp.route("/topics", tags=["Topics"])
@api_view
@bp.arguments(TopicQuery, location="query", error_status_code=400)
@bp.response(200, TopicListSchema)
def list_topics(_args):
    """The topic tree as a flat list, filtered by `parent` slug and `q` (names, aliases)."""
    query = sa.select(Topic)
    parent_topic = slug_arg(Topic, "parent")
    if parent_topic is not None:
        query = query.where(Topic.parent_id == parent_topic.id)
    text = _text_arg("q")
    if text:
        pattern = _like(text)
        query = query.where(sa.or_(
            sa.func.lower(Topic.name_de).like(pattern, escape="\\"),
            sa.func.lower(Topic.name_en).like(pattern, escape="\\"),
            Topic.slug.like(_slug_like(text), escape="\\"),
            Topic.id.in_(sa.select(TopicAlias.topic_id).where(
                sa.func.lower(TopicAlias.alias).like(pattern, escape="\\"))),
        ))
    pagination = page_of(query.options(selectinload(Topic.aliases)).order_by(Topic.slug),
                         TOPIC_PER_PAGE, TOPIC_MAX_PER_PAGE)
    topics = pagination.items
    parents = dict(db.session.execute(
        sa.select(Topic.id, Topic.slug).where(Topic.id.in_(
            {topic.parent_id for topic in topics if topic.parent_id}))).all())
    return paginated(pagination, [topic_json(topic, parents.get(topic.parent_id))
                                  for topic in topics])


@bp.route("/topics/<slug>", tags=["Topics"])
@api_view
@bp.response(200, TopicDetailSchema)
def get_topic(slug: str):
    """One topic with description, ancestors, children and the cities' interests in it."""
    topic = db.one_or_404(sa.select(Topic).filter_by(slug=slug),
                          description=_("Thema %(slug)s nicht gefunden", slug=repr(slug)))
    data = topic_json(topic)
    data["description"] = topic.description or ""
    data["ancestors"] = [ancestor.slug for ancestor in topic.ancestors()]
    data["children"] = [
        {"slug": child.slug, "name_de": child.name_de, "name_en": child.name_en}
        for child in sorted(topic.children, key=lambda child: child.slug)
    ]
    data["interests"] = [interest_json(interest) for interest in
                         _interests(sa.select(Interest).where(Interest.topic_id == topic.id))]
    return data


# --- interests ---------------------------------------------------------------------------

@bp.route("/interests", tags=["Interests"])
@api_view
@bp.arguments(InterestQuery, location="query", error_status_code=400)
@bp.response(200, InterestListSchema)
def list_interests(_args):
    """Interests, filtered by `city`, `topic` (slugs) and `stance`."""
    query = sa.select(Interest)
    city = slug_arg(City, "city")
    if city is not None:
        query = query.where(Interest.city_id == city.id)
    topic = slug_arg(Topic, "topic")
    if topic is not None:
        query = query.where(Interest.topic_id == topic.id)
    stance = _text_arg("stance")
    if stance is not None:
        if stance not in STANCES:
            raise ApiError(400, unknown_value("stance", stance, STANCES),
                           problem="validation", errors={"stance": _("unbekannt")})
        query = query.where(Interest.stance == stance)
    interests = page_of(_ordered_interests(query), INTEREST_PER_PAGE, INTEREST_MAX_PER_PAGE)
    return paginated(interests, [interest_json(interest) for interest in interests.items])
