"""Schemas every domain's API uses: problem documents, list envelopes, paging arguments."""
import marshmallow as ma
from marshmallow import fields, validate

from ...util import MAX_ID


class Schema(ma.Schema):
    """Base of the API's schemas: fields keep their declared order in the document."""

    class Meta:
        ordered = True


class BodySchema(Schema):
    """A request body: unknown members are refused (422), as the endpoints always did."""

    class Meta:
        ordered = True
        unknown = ma.RAISE


class LenientBodySchema(Schema):
    """A request body whose unknown members are ignored (wiki, new projects: clients send
    back what they read, with html_url and the like)."""

    class Meta:
        ordered = True
        unknown = ma.EXCLUDE


class QuerySchema(Schema):
    """Query arguments; unknown ones are ignored, as they always were."""

    class Meta:
        ordered = True
        unknown = ma.EXCLUDE


def text(maximum: int | None = None, **kwargs) -> fields.String:
    """A string field; `maximum` documents the domain's limit (the service enforces it)."""
    metadata = dict(kwargs.pop("metadata", {}))
    if maximum is not None:
        metadata["maxLength"] = maximum
    return fields.String(metadata=metadata, **kwargs)


def choice(values, **kwargs) -> fields.String:
    """A string that is one of `values` (documented as an enum)."""
    metadata = dict(kwargs.pop("metadata", {}))
    metadata["enum"] = list(values) + ([None] if kwargs.get("allow_none") else [])
    return fields.String(metadata=metadata, **kwargs)


def timestamp(**kwargs) -> fields.String:
    """An ISO 8601 timestamp as the API writes it (UTC with "Z", or a Berlin offset)."""
    return fields.String(metadata={"format": "date-time"}, **kwargs)


def page_arguments(default_per_page: int, max_per_page: int, **extra) -> type[QuerySchema]:
    """A query schema with `page` and `per_page` (bounds as the endpoint checks them)."""
    attributes = {
        "page": fields.Integer(load_default=1, validate=validate.Range(1, MAX_ID),
                               metadata={"description": "Page number, from 1"}),
        "per_page": fields.Integer(load_default=default_per_page,
                                   validate=validate.Range(1, max_per_page),
                                   metadata={"description": "Items per page"}),
        **extra,
    }
    return QuerySchema.from_dict(attributes)


def list_of(item_schema, name: str, *, legacy: str | None = None, **extra) -> type[Schema]:
    """A list envelope: `items`, `total`, `page`, `per_page` (plus `legacy`, the list's
    old key with the same items, and `extra` fields)."""
    attributes = {
        "items": fields.List(fields.Nested(item_schema), required=True),
        "total": fields.Integer(required=True, metadata={"description": "All matches"}),
        "page": fields.Integer(required=True),
        "per_page": fields.Integer(required=True),
    }
    if legacy:
        attributes[legacy] = fields.List(fields.Nested(item_schema), required=True,
                                         metadata={"description": "The same as items "
                                                   "(the list's name before API v1.1)"})
    attributes.update(extra)
    return Schema.from_dict(attributes, name=name)


def envelope(items, total: int, page: int = 1, per_page: int | None = None,
             legacy: str | None = None, **extra) -> dict:
    """The body of a list answer (see list_of)."""
    items = list(items)
    body = {"items": items, "total": total, "page": page,
            "per_page": per_page if per_page is not None else max(len(items), 1)}
    if legacy:
        body[legacy] = items
    body.update(extra)
    return body


def paginated(pagination, items, legacy: str | None = None, **extra) -> dict:
    """The list body of a flask_sqlalchemy Pagination whose items are serialised."""
    return envelope(items, pagination.total, pagination.page, pagination.per_page,
                    legacy=legacy, **extra)


class LegacyErrorSchema(Schema):
    """The `error` member of every error answer, as it was before problem documents."""

    status = fields.Integer(required=True)
    message = fields.String(required=True)
    name = fields.String(metadata={"description": "HTTP errors: the status's name"})
    fields_ = fields.Dict(keys=fields.String(), values=fields.String(), data_key="fields",
                          metadata={"description": "Field errors, one text per field"})
    errors = fields.Dict(keys=fields.String(), values=fields.String(),
                         metadata={"description": "The same as fields"})


class ProblemSchema(Schema):
    """An RFC 9457 problem document (application/problem+json), plus the old `error`."""

    type = fields.String(required=True, metadata={
        "format": "uri-reference", "description": "/api/v1/problems/<slug> (docs/api.md)"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "Field errors: field -> messages"})
    error = fields.Nested(LegacyErrorSchema, required=True)
    current_revision = fields.Integer(metadata={"description": "Edit conflicts only"})
    base_revision = fields.Integer(metadata={"description": "Edit conflicts only"})
    experience = fields.Dict(metadata={"description": "Edit conflicts only: the current "
                                                      "state of the experience"})
