"""Small helpers shared by all domains: time, slugs, pagination arguments."""
import re
import unicodedata
from datetime import datetime, timezone

from flask import request

#: Largest id (and page or version number) we pass to the database: PostgreSQL's
#: INTEGER. Larger numbers name nothing, and the database would raise (SQLite:
#: OverflowError, PostgreSQL: "out of range") instead of finding nothing.
MAX_ID = 2**31 - 1

_GERMAN_TRANSLITERATION = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"}
)


def utcnow() -> datetime:
    """Current time as a naive UTC datetime (stored the same on SQLite and PostgreSQL)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


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
