"""Shared API plumbing: authentication, JSON errors, request parsing, pagination."""
from datetime import datetime
from functools import wraps

import sqlalchemy as sa
from flask import abort, g, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.permissions import is_member
from ..extensions import csrf, db
from ..util import MAX_ID


class ApiError(Exception):
    """A client error with a status code, a message and optional details."""

    def __init__(self, status: int, message: str, **details):
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details


def error_response(status: int, message: str, **details):
    """The JSON body every API error has: {"error": {"status", "message", ...}}."""
    body = {"status": status, "message": str(message)}
    body.update(details)
    return jsonify(error=body), status


def token_refused():
    """The API's answer when the request's token logged nobody in for a reason worth
    telling (auth/login.py sets g.token_refusal), else None: 401 for a revoked or expired
    token, 403 for a read-only token on a request that writes."""
    refusal = g.get("token_refusal")
    if refusal == "revoked":
        return error_response(401, _("Dieser Token wurde widerrufen. Bitte erstellen Sie "
                                     "im Profil einen neuen."))
    if refusal == "expired":
        return error_response(401, _("Dieser Token ist abgelaufen. Bitte erstellen Sie im "
                                     "Profil einen neuen."))
    if refusal == "read_only":
        return error_response(403, _("Dieser Token darf nur lesen."))
    return None


def api_view(function):
    """Decorator for every API view: login required, ApiError turned into JSON."""
    @wraps(function)
    def wrapper(*args, **kwargs):
        if not is_member(current_user):
            return token_refused() or error_response(
                401, "authentication required: log in or send 'Authorization: Bearer <token>'")
        if request.method not in ("GET", "HEAD", "OPTIONS") and not g.get("token_auth"):
            # Session-authenticated writes must be JSON: browsers cannot send that
            # cross-site without a CORS preflight, which this API never grants.
            if not request.is_json:
                return error_response(415, "send the request body as application/json")
        try:
            return function(*args, **kwargs)
        except ApiError as error:
            return error_response(error.status, error.message, **error.details)
    # Token clients have no CSRF token; see the content-type rule above.
    return csrf.exempt(wrapper)


def json_body() -> dict:
    """The request's JSON object, or a 400 error."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "request body must be a JSON object")
    return data


def int_arg(name: str, default: int, minimum: int = 1, maximum: int = MAX_ID) -> int:
    """An integer query argument within bounds, or a 400 error.

    `maximum` is never above MAX_ID: larger numbers would overflow the database.
    """
    maximum = min(maximum, MAX_ID)
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"query parameter {name!r} must be an integer") from None
    if not minimum <= value <= maximum:
        raise ApiError(400, f"query parameter {name!r} must be between {minimum} and {maximum}")
    return value


def page_of(query, default_per_page: int, max_per_page: int):
    """One page of the select `query` as asked by ?page= and ?per_page= (400 when out of
    bounds); a flask_sqlalchemy Pagination (.items, .total, .page, .per_page). A page
    past the end has no items."""
    page = int_arg("page", 1)
    per_page = int_arg("per_page", default_per_page, maximum=max_per_page)
    return db.paginate(query, page=page, per_page=per_page, max_per_page=None,
                       error_out=False)


def slug_arg(model, name: str, fields: dict | None = None):
    """The `model` row (City, Topic) whose slug query argument `name` gives; None without it.

    An unknown slug is a 400 error "unknown <name> '<slug>'"; with `fields` given, the
    message is put there under `name` instead (for views that report all bad filters at
    once) and None is returned.
    """
    slug = (request.args.get(name) or "").strip()
    if not slug:
        return None
    found = db.session.scalar(sa.select(model).filter_by(slug=slug))
    if found is None:
        message = f"unknown {name} {slug!r}"
        if fields is None:
            raise ApiError(400, message)
        fields[name] = message
    return found


def utc_iso(value: datetime | None) -> str | None:
    """A stored naive-UTC datetime as ISO 8601 to the second with a "Z" (None stays None)."""
    return value.isoformat(timespec="seconds") + "Z" if value is not None else None


def not_found(what: str):
    """Raise a 404 API error naming what was not found."""
    raise ApiError(404, f"{what} not found")


def forbidden(message: str = "you may not do this"):
    """Raise a 403 API error."""
    raise ApiError(403, message)


__all__ = ["ApiError", "api_view", "error_response", "json_body", "int_arg", "page_of",
           "slug_arg", "not_found", "forbidden", "utc_iso", "abort"]
