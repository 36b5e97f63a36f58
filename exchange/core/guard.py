"""Request guards: NUL characters refused with a 400; integer URL parts bounded.

PostgreSQL text cannot hold NUL ("\\x00"): a query parameter, path segment, form field
or JSON string containing one made the database raise and the page answer 500 (SQLite
stored it silently). No person types NUL, so the whole request is refused.
"""
from flask import abort, request
from werkzeug.routing import IntegerConverter
from flask_babel import gettext as _

from ..util import MAX_ID  # largest id a route accepts; larger ones are a plain 404

NUL = "\x00"


class BoundedIntegerConverter(IntegerConverter):
    """The `<int:...>` converter with max defaulting to MAX_ID, so huge ids are a 404."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def _has_nul(value) -> bool:
    """True if a string, or any string inside lists and dicts, contains NUL."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def request_has_nul() -> bool:
    """True if the current request's path, query, form or JSON body contains NUL."""
    if NUL in request.path:
        return True
    for values in (request.args, request.form):
        for key, items in values.lists():
            if NUL in key or any(NUL in item for item in items):
                return True
    if request.is_json:
        return _has_nul(request.get_json(silent=True))
    return False


def refuse_nul_characters():
    """before_request hook: 400 (HTML or JSON, as the error handlers decide)."""
    if request_has_nul():
        abort(400, description=_("Die Anfrage enthält ein unzulässiges Steuerzeichen (NUL)."))
