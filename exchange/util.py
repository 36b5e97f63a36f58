"""Small helpers shared by all domains: time, slugs, pagination arguments."""
import re
import unicodedata
from datetime import datetime, timezone

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
