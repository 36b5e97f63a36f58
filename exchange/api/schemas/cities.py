"""API schemas of cities, topics and interests (read only)."""
from marshmallow import fields

from ...cities.models import MATURITY_MAX, MATURITY_MIN, STANCES
from ...cities.services import NAME_MAX, NOTE_MAX, POPULATION_MAX, PROFILE_MAX, SLUG_MAX
from .common import QuerySchema, Schema, choice, list_of, page_arguments, text, timestamp

#: Longest text filter (`q`, `state`, `stance`) the list endpoints take.
MAX_QUERY_LENGTH = 200
#: Page sizes: cities are few, topics many (the OZG catalogue alone has 626 entries).
CITY_PER_PAGE, CITY_MAX_PER_PAGE = 50, 200
TOPIC_PER_PAGE, TOPIC_MAX_PER_PAGE = 100, 1000
INTEREST_PER_PAGE, INTEREST_MAX_PER_PAGE = 100, 1000


def _filter(description: str) -> fields.String:
    return text(MAX_QUERY_LENGTH, metadata={"description": description})


class CitySchema(Schema):
    """A city in lists."""

    slug = text(SLUG_MAX, required=True)
    name = text(NAME_MAX, required=True)
    state = fields.String(required=True, allow_none=True)
    ags = fields.String(allow_none=True, metadata={"description": "Amtlicher Gemeindeschlüssel"})
    population = fields.Integer(allow_none=True, metadata={"maximum": POPULATION_MAX})
    website = fields.String(allow_none=True)
    html_url = fields.String(required=True, metadata={"format": "uri"})


class InterestSchema(Schema):
    """One city's stance on one topic."""

    city = fields.String(required=True)
    city_name = fields.String(required=True)
    topic = fields.String(required=True)
    topic_name = fields.String(required=True)
    stance = choice(STANCES, required=True)
    maturity = fields.Integer(allow_none=True, metadata={"minimum": MATURITY_MIN,
                                                         "maximum": MATURITY_MAX})
    note = text(NOTE_MAX, allow_none=True)
    updated_at = timestamp(allow_none=True)


class CityDetailSchema(CitySchema):
    """One city with its Markdown profile and its interests."""

    profile = text(PROFILE_MAX, required=True)
    interests = fields.List(fields.Nested(InterestSchema), required=True)


class TopicSchema(Schema):
    """A topic in lists."""

    slug = fields.String(required=True)
    name_de = fields.String(required=True)
    name_en = fields.String(allow_none=True)
    parent = fields.String(allow_none=True, metadata={"description": "The parent's slug"})
    aliases = fields.List(fields.String(), required=True)
    ozg_key = fields.String(allow_none=True)
    html_url = fields.String(required=True, metadata={"format": "uri"})


class TopicChildSchema(Schema):
    """A child topic named in a topic's detail."""

    slug = fields.String(required=True)
    name_de = fields.String(required=True)
    name_en = fields.String(allow_none=True)


class TopicDetailSchema(TopicSchema):
    """One topic with description, ancestors, children and the cities' interests."""

    description = fields.String(required=True)
    ancestors = fields.List(fields.String(), required=True)
    children = fields.List(fields.Nested(TopicChildSchema), required=True)
    interests = fields.List(fields.Nested(InterestSchema), required=True)


CityListSchema = list_of(CitySchema, "CityList")
TopicListSchema = list_of(TopicSchema, "TopicList")
InterestListSchema = list_of(InterestSchema, "InterestList")

CityQuery = page_arguments(CITY_PER_PAGE, CITY_MAX_PER_PAGE,
                           state=_filter("Federal state (exact, any letter case)"),
                           q=_filter("Part of the name or slug"))
TopicQuery = page_arguments(TOPIC_PER_PAGE, TOPIC_MAX_PER_PAGE,
                            parent=_filter("Slug of the parent topic"),
                            q=_filter("Part of a name, slug or alias"))
InterestQuery = page_arguments(INTEREST_PER_PAGE, INTEREST_MAX_PER_PAGE,
                               city=_filter("City slug"), topic=_filter("Topic slug"),
                               stance=choice(STANCES))

__all__ = ["QuerySchema"]
