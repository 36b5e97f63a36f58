"""Shared API plumbing: authentication, API errors, request parsing, pagination."""
from datetime import datetime
from functools import wraps

import sqlalchemy as sa
from flask import abort, g, request
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.permissions import is_member
from ..extensions import csrf, db
from ..util import MAX_ID
from .problems import problem_response


class ApiError(Exception):
    """A client error of the API layer with a status, a message and optional details.

    The domains raise DomainError (exchange/errors.py); this is for what only the API
    checks (query arguments, body shape). `problem` names the problem type (problems.py),
    `headers` are added to the answer; `fields` / `errors` details are field errors.
    """

    def __init__(self, status: int, message, problem: str | None = None,
                 headers: dict | None = None, **details):
        super().__init__(str(message))
        self.status = status
        self.message = message
        self.problem = problem
        self.headers = headers or {}
        self.details = details


def error_response(status: int, message, problem: str | None = None, **details):
    """The problem document of one error (problems.problem_response)."""
    errors = details.pop("errors", None) or details.pop("fields", None)
    return problem_response(status, message, problem=problem, errors=errors, **details)


def token_refused():
    """The API's answer when the request's token logged nobody in for a reason worth
    telling (auth/login.py sets g.token_refusal), else None: 401 for a revoked or expired
    token, 403 for a read-only token on a request that writes."""
    refusal = g.get("token_refusal")
    if refusal == "revoked":
        return error_response(401, _("Dieser Token wurde widerrufen. Bitte erstellen Sie "
                                     "im Profil einen neuen."), problem="token-revoked")
    if refusal == "expired":
        return error_response(401, _("Dieser Token ist abgelaufen. Bitte erstellen Sie im "
                                     "Profil einen neuen."), problem="token-expired")
    if refusal == "read_only":
        return error_response(403, _("Dieser Token darf nur lesen."), problem="token-read-only")
    return None


def api_view(function):
    """Decorator for every API view: login required, session writes only as JSON.

    Errors the view raises (DomainError, ApiError, validation and HTTP errors) are
    answered by the blueprint's one handler (problems.handle_error).
    """
    @wraps(function)
    def wrapper(*args, **kwargs):
        if not is_member(current_user):
            return token_refused() or error_response(
                401, _("Anmeldung erforderlich: melden Sie sich an oder senden Sie "
                       "\"Authorization: Bearer <Token>\"."))
        if request.method not in ("GET", "HEAD", "OPTIONS") and not g.get("token_auth"):
            # Session-authenticated writes must be JSON: browsers cannot send that
            # cross-site without a CORS preflight, which this API never grants.
            if not request.is_json:
                return error_response(415, _("Senden Sie den Inhalt der Anfrage als "
                                             "application/json."))
        return function(*args, **kwargs)
    # Token clients have no CSRF token; see the content-type rule above.
    return csrf.exempt(wrapper)


def json_body() -> dict:
    """The request's JSON object, or a 400 error."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, not_an_object_message())
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
        raise ApiError(400, _("Der Abfrageparameter %(name)s muss eine ganze Zahl sein.",
                              name=repr(name)), errors={name: _("keine ganze Zahl")}) from None
    if not minimum <= value <= maximum:
        raise ApiError(400, _("Der Abfrageparameter %(name)s muss zwischen %(minimum)s und "
                              "%(maximum)s liegen.", name=repr(name), minimum=minimum,
                              maximum=maximum),
                       errors={name: _("muss zwischen %(minimum)s und %(maximum)s liegen",
                                       minimum=minimum, maximum=maximum)})
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
        message = _("Unbekannt: %(name)s %(slug)s", name=name, slug=repr(slug))
        if fields is None:
            raise ApiError(400, message, errors={name: message})
        fields[name] = message
    return found


def utc_iso(value: datetime | None) -> str | None:
    """A stored naive-UTC datetime as ISO 8601 to the second with a "Z" (None stays None)."""
    return value.isoformat(timespec="seconds") + "Z" if value is not None else None


def unknown_value(name: str, value, allowed) -> str:
    """The message for a query argument or field outside its list of values."""
    return _("Unbekannter Wert für %(name)s: %(value)s; erlaubt: %(allowed)s",
             name=repr(name), value=repr(value), allowed=", ".join(allowed))


def not_an_object_message() -> str:
    """The message for a body that is no JSON object."""
    return _("Der Inhalt der Anfrage muss ein JSON-Objekt sein.")


def not_found(what: str):
    """Raise a 404 API error naming what was not found (`what` already translated)."""
    raise ApiError(404, _("%(what)s nicht gefunden", what=what))


def forbidden(message=None):
    """Raise a 403 API error."""
    raise ApiError(403, message or _("Sie dürfen das nicht."))


__all__ = ["ApiError", "api_view", "error_response", "json_body", "int_arg", "page_of",
           "slug_arg", "not_found", "forbidden", "utc_iso", "abort"]
