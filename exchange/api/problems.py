"""API errors as RFC 9457 problem documents, from one handler for every kind of error.

Domain refusals (exchange.errors.DomainError), validation errors of the request's
arguments and body (marshmallow, through webargs), our ApiError and HTTP errors
(404, 405, 413, 415, 401, 403, ...) all become one body:

    {"type": "/api/v1/problems/validation", "title": "...", "status": 422,
     "detail": "...", "errors": {"title": ["..."]},
     "error": {"status": 422, "message": "...", "fields": {...}, "errors": {...}}}

served as `application/problem+json`. `error` is the body this API answered before
problem documents; clients read `error.message`, `error.fields` and `error.errors`, so it
stays beside the new members with the same content. `title` and `detail` are in the
caller's language (Accept-Language or the user's setting). The list of types is
PROBLEM_TYPES (and docs/api.md).
"""
import json

from flask import jsonify, request
from flask_babel import lazy_gettext
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from ..errors import DomainError
from ..extensions import db

#: Where problem types live: relative URIs under the API, stable across releases.
PROBLEM_BASE = "/api/v1/problems/"
#: Media type of every error answer of the API (RFC 9457, section 3).
PROBLEM_MEDIA_TYPE = "application/problem+json"

#: The problem types this API answers with: slug -> (status, title). A client tells
#: them apart by `type`; `title` is the type's name in the caller's language.
PROBLEM_TYPES = {
    "bad-request": (400, lazy_gettext("Ungültige Anfrage")),
    "validation": (422, lazy_gettext("Ungültige Eingabe")),
    "authentication-required": (401, lazy_gettext("Anmeldung erforderlich")),
    "token-revoked": (401, lazy_gettext("Token widerrufen")),
    "token-expired": (401, lazy_gettext("Token abgelaufen")),
    "forbidden": (403, lazy_gettext("Nicht erlaubt")),
    "token-read-only": (403, lazy_gettext("Token darf nur lesen")),
    "not-found": (404, lazy_gettext("Nicht gefunden")),
    "method-not-allowed": (405, lazy_gettext("Methode nicht erlaubt")),
    "conflict": (409, lazy_gettext("Konflikt mit dem aktuellen Zustand")),
    "edit-conflict": (409, lazy_gettext("Bearbeitungskonflikt")),
    "payload-too-large": (413, lazy_gettext("Anfrage zu groß")),
    "unsupported-media-type": (415, lazy_gettext("Nicht unterstütztes Format")),
    "service-unavailable": (503, lazy_gettext("Vorübergehend nicht verfügbar")),
    "internal": (500, lazy_gettext("Interner Fehler")),
}
#: The type of an error that names none, by status.
TYPE_FOR_STATUS = {
    400: "bad-request", 401: "authentication-required", 403: "forbidden", 404: "not-found",
    405: "method-not-allowed", 409: "conflict", 413: "payload-too-large",
    415: "unsupported-media-type", 422: "validation", 500: "internal",
    503: "service-unavailable",
}


def problem_uri(slug: str) -> str:
    """The `type` URI of a problem slug."""
    return PROBLEM_BASE + slug


def flat_field_errors(messages, prefix: str = "") -> dict[str, list[str]]:
    """{field: [messages]} from a marshmallow message tree or a {field: text} map;
    nested fields are joined with dots ("members.0.user")."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                flat.update(flat_field_errors(value, name))
            elif isinstance(value, (list, tuple)):
                texts = [item for item in value if not isinstance(item, dict)]
                for item in value:
                    if isinstance(item, dict):
                        flat.update(flat_field_errors(item, name))
                if texts:
                    flat[name] = [str(text) for text in texts]
            else:
                flat[name] = [str(value)]
    elif messages:
        flat[prefix or "_schema"] = [str(text) for text in messages] if isinstance(
            messages, (list, tuple)) else [str(messages)]
    return flat


def problem_response(status: int, message, *, problem: str | None = None,
                     errors: dict | None = None, headers: dict | None = None, **legacy):
    """The problem document for one error (see the module docstring).

    `errors` is {field: message or [messages]}; it fills the new `errors` member and the
    old `error.fields` / `error.errors` members (one text per field, as before).
    `legacy` adds members to the old `error` object only (e.g. "name" of HTTP errors).
    """
    slug = problem or TYPE_FOR_STATUS.get(status, "bad-request" if status < 500 else "internal")
    _status, title = PROBLEM_TYPES.get(slug, (status, ""))
    detail = str(message)
    body = {"type": problem_uri(slug), "title": str(title), "status": status, "detail": detail}
    old = {"status": status, "message": detail}
    old.update(legacy)
    if errors:
        flat = flat_field_errors(errors)
        body["errors"] = flat
        joined = {name: " ".join(texts) for name, texts in flat.items()}
        old.setdefault("fields", joined)
        old.setdefault("errors", joined)
    body["error"] = old
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_MEDIA_TYPE
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


# --- the handler -------------------------------------------------------------------------

def _validation_messages(error: HTTPException):
    """The marshmallow messages webargs attached to its 4xx (location level removed)."""
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") or {}
    if isinstance(messages, dict) and len(messages) == 1 and next(iter(messages)) in (
            "json", "query", "view_args", "form", "headers"):
        messages = next(iter(messages.values()))
    return messages


def handle_error(error: Exception):
    """Every error an API view raises, as a problem document (nothing half-done stays)."""
    from .common import ApiError

    if isinstance(error, DomainError):
        db.session.rollback()
        return problem_response(error.status, error.message, problem=error.problem,
                                errors=error.errors or None)
    if isinstance(error, ApiError):
        db.session.rollback()
        details = dict(error.details)
        errors = details.pop("errors", None) or details.pop("fields", None)
        extra = details.pop("extra", None) or {}
        response = problem_response(error.status, error.message, problem=error.problem,
                                    errors=errors, headers=error.headers, **details)
        if extra:  # members beside the problem's (an edit conflict's current state)
            response.set_data(json.dumps({**response.get_json(), **extra}))
        return response
    if isinstance(error, ValidationError):
        return problem_response(422, invalid_input_message(), errors=error.messages)
    if isinstance(error, HTTPException):
        messages = _validation_messages(error)
        if messages:
            return problem_response(error.code, invalid_input_message(), problem="validation",
                                    errors=messages)
        headers = {}
        if error.code == 405 and error.valid_methods:
            headers["Allow"] = ", ".join(error.valid_methods)
        return problem_response(error.code, http_message(error), name=error.name,
                                headers=headers)
    raise error


def invalid_input_message() -> str:
    """The top-level message of a request whose fields failed validation."""
    from flask_babel import gettext as _

    return _("Die Eingaben sind ungültig; siehe die Fehler der einzelnen Felder.")


def http_message(error: HTTPException) -> str:
    """An HTTP error's message in the caller's language (werkzeug's text is English)."""
    from flask_babel import gettext as _

    if error.description and error.description != type(error).description:
        return error.description  # a message of ours (abort(404, description=...))
    texts = {
        400: _("Die Anfrage ist fehlerhaft."),
        401: _("Anmeldung erforderlich."),
        403: _("Sie dürfen das nicht."),
        404: _("Diese Adresse gibt es in der API nicht."),
        405: _("Diese Methode ist für diese Adresse nicht erlaubt."),
        413: _("Die Anfrage ist zu groß."),
        415: _("Dieses Format nimmt die API nicht an; senden Sie application/json."),
    }
    return texts.get(error.code, error.description or error.name)


def is_api_request() -> bool:
    """Requests whose errors are problem documents: every path under /api/."""
    return request.path.startswith("/api/")


def register(blueprint) -> None:
    """One handler for the API blueprint. Errors raised before a view was found (404,
    405 and 413 of unknown routes) reach the app's HTTP error handler, which asks
    is_api_request and answers with handle_error too (exchange/__init__.py)."""
    from .common import ApiError

    for kind in (DomainError, ApiError, ValidationError, HTTPException):
        blueprint.register_error_handler(kind, handle_error)
