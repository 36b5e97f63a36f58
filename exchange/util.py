"""Small helpers shared by all domains: time, slugs, pagination arguments, safe redirects."""
import re
import unicodedata
import uuid
from datetime import datetime, timezone
from urllib.parse import urlsplit, urlunsplit

from flask import request

#: Largest id (and page or version number) we pass to the database: PostgreSQL's
#: INTEGER. Larger numbers name nothing, and the database would raise (SQLite:
#: OverflowError, PostgreSQL: "out of range") instead of finding nothing.
MAX_ID = 2**31 - 1

_GERMAN_TRANSLITERATION = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"}
)


#: What a one-line text (a title, a name, a place) may not hold: control characters
#: (line breaks, tabs, escapes: Unicode category Cc) and the line and paragraph
#: separators. A line break in a project title or a display name broke the mail header
#: it went into, and in a calendar name the .ics line.
_NOT_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def is_single_line(text: str) -> bool:
    """True when `text` has no line break, tab or other control character."""
    return _NOT_ONE_LINE.search(text) is None


def utcnow() -> datetime:
    """Current time as a naive UTC datetime (stored the same on SQLite and PostgreSQL)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


#: Longest public key (a UUID has 36 characters; hand-written import lines may use a slug).
PUBLIC_KEY_MAX = 64


def public_key() -> str:
    """A new public key for a row that has no natural one (a project, a visit): a random
    UUID, the same in every database the row is exported to (docs/import-export.md)."""
    return str(uuid.uuid4())


def slugify(text: str, max_length: int = 80) -> str:
    """URL slug with German transliteration: "Bürgerbüro München" -> "buergerbuero-muenchen"."""
    text = text.translate(_GERMAN_TRANSLITERATION)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^a-zA-Z0-9]+", "-", text).strip("-").lower()
    return text[:max_length].rstrip("-") or "eintrag"


def parse_id(value) -> int | None:
    """`value` (an int or a string of digits, as sent by a form) as an id from 1 to MAX_ID;
    None for anything else, which then finds no row instead of overflowing the database."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value.isascii() or not value.isdigit():
            return None
        value = int(value)
    if not isinstance(value, int) or not 1 <= value <= MAX_ID:
        return None
    return value


def page_argument(name: str = "page") -> int:
    """The page number in the query argument `name` of a web page: 1 when it is missing,
    not a number or below 1; at most MAX_ID (a page past the end shows no items)."""
    raw = request.args.get(name, "").strip()
    if not raw.isascii() or not raw.isdigit():
        return 1
    return min(max(int(raw), 1), MAX_ID)


#: Longer redirect targets are refused: no page of ours has a path and query this long.
MAX_NEXT_LENGTH = 2000


def safe_next(value, fallback):
    r"""`value` as a path on this site if it names one, else `fallback` (no open redirects).

    For every `next=` argument and every redirect built from request data (the referrer,
    a stored notification link). Accepted: a local path ("/staedte?land=Bayern"), or an
    absolute http(s) URL whose host is this request's host, reduced to its path, so the
    redirect never names a host. Refused: a scheme or host of any other kind
    ("https:evil.example", "//evil.example", "javascript:…"), backslashes (browsers read
    "/\evil.example" as "//evil.example"), whitespace and control characters (browsers
    drop tabs and line breaks, so "/\t/evil.example" would become "//evil.example"),
    anything not starting with "/" (also "%2F%2Fevil.example") and over-long values.
    """
    if not isinstance(value, str) or not value or len(value) > MAX_NEXT_LENGTH:
        return fallback
    if "\\" in value or any(char.isspace() or unicodedata.category(char).startswith("C")
                             for char in value):
        return fallback
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. "http://[::1" (an unclosed IPv6 host)
        return fallback
    if parts.scheme or parts.netloc:
        if parts.scheme not in ("http", "https") or parts.netloc.lower() != request.host.lower():
            return fallback
        value = urlunsplit(("", "", parts.path or "/", parts.query, parts.fragment))
    if not value.startswith("/") or value.startswith("//"):
        return fallback
    return value
