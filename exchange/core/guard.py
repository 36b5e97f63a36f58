"""Request guards: characters no text can hold and over-deep JSON refused with a 400;
JSON bodies only for the API; integer URL parts bounded.

PostgreSQL text cannot hold NUL ("\\x00"): a query parameter, path segment, form field
or JSON string containing one made the database raise and the page answer 500 (SQLite
stored it silently). A lone UTF-16 surrogate ("\\ud800", which only a JSON escape can
produce) cannot be encoded as UTF-8, so both databases refused it with a 500. No person
types either, so the whole request is refused.

JSON nested deeper than Python's recursion limit made `request.get_json` raise
RecursionError (a 500 on any path, before authentication); no endpoint takes more than a
few levels, so a body nested deeper than MAX_JSON_DEPTH is refused before any view
walks it. The checks walk the parsed body with an explicit stack, never recursively.
"""
import re

from flask import abort, request
from werkzeug.routing import IntegerConverter
from flask_babel import gettext as _

from ..util import MAX_ID  # largest id a route accepts; larger ones are a plain 404

NUL = "\x00"
#: NUL or a lone surrogate: characters that no stored text may contain.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
#: Levels of arrays and objects a JSON body may have. The deepest body any endpoint
#: takes is three levels (a visit with a list of member objects); 32 leaves room for
#: clients that wrap their data and stays far below Python's recursion limit.
MAX_JSON_DEPTH = 32
#: Paths whose views read JSON bodies; elsewhere (HTML forms) a JSON write is refused.
JSON_PATHS = ("/api/",)
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class BoundedIntegerConverter(IntegerConverter):
    """The `<int:...>` converter with max defaulting to MAX_ID, so huge ids are a 404."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def unstorable(text: str) -> str | None:
    """"nul" or "surrogate" when `text` holds a character no stored text may hold, else None."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    return "nul" if found.group() == NUL else "surrogate"


def json_problem(value, max_depth: int = MAX_JSON_DEPTH) -> str | None:
    """"depth", "nul" or "surrogate" for the first problem in a parsed JSON value, else None.

    Iterative: the value may be nested as deeply as the parser allowed."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            problem = unstorable(item)
            if problem:
                return problem
        elif isinstance(item, (dict, list)):
            if depth > max_depth:
                return "depth"
            if isinstance(item, dict):
                for key, member in item.items():
                    problem = unstorable(key)
                    if problem:
                        return problem
                    stack.append((member, depth + 1))
            else:
                stack.extend((member, depth + 1) for member in item)
    return None


def _text_problem() -> str | None:
    """The first problem in the path, query string or form fields, else None."""
    problem = unstorable(request.path)
    if problem:
        return problem
    for values in (request.args, request.form):
        for key, items in values.lists():
            for text in (key, *items):
                problem = unstorable(text)
                if problem:
                    return problem
    return None


def request_problem() -> str | None:
    """What is wrong with the current request: "json_page", "depth", "nul", "surrogate"
    or None."""
    problem = _text_problem()
    if problem:
        return problem
    if not request.is_json:
        return None
    if (request.method in WRITE_METHODS and request.url_rule is not None
            and not request.path.startswith(JSON_PATHS)):
        # Flask-WTF would read the JSON as form data: a list body raised a 500, other
        # values reached the fields with types no form expects.
        return "json_page"
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        return "depth"
    return json_problem(data)


def _messages() -> dict:
    return {
        "nul": (400, _("Die Anfrage enthält ein unzulässiges Steuerzeichen (NUL).")),
        "surrogate": (400, _("Die Anfrage enthält ein ungültiges Zeichen (ein einzelnes "
                             "UTF-16-Ersatzzeichen, z. B. \\ud800).")),
        "depth": (400, _("Die JSON-Daten sind zu tief verschachtelt (höchstens %(max)s "
                         "Ebenen).", max=MAX_JSON_DEPTH)),
        "json_page": (415, _("Diese Seite nimmt Formulardaten an, kein JSON; die JSON-"
                             "Schnittstelle liegt unter /api/v1/.")),
    }


def refuse_bad_requests():
    """before_request hook: 400/415 (HTML or JSON, as the error handlers decide)."""
    problem = request_problem()
    if problem:
        status, message = _messages()[problem]
        abort(status, description=message)


#: The name create_app() registers; the guard has grown beyond NUL characters.
refuse_nul_characters = refuse_bad_requests
