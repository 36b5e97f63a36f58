"""Cities and their interests: create and edit cities, set a city's stance on topics.

Services take the acting user explicitly, check the permission rules in
exchange/auth/permissions.py, flush and never commit. `actor=None` stands for a trusted
operator (CLI command, import file) and skips the permission check.
"""
import csv
import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

import sqlalchemy as sa
from flask_babel import gettext as _

from ..auth import permissions
from ..errors import DomainError, DomainPermissionError
from ..extensions import db
from ..util import is_single_line, slugify
from .models import MATURITY_MAX, MATURITY_MIN, STANCES, City, Interest, Topic

MUNICIPALITIES_CSV = Path(__file__).resolve().parent.parent / "data" / "municipalities.csv"

#: The 16 German federal states, as the municipality directory spells them.
STATES = (
    "Baden-Württemberg", "Bayern", "Berlin", "Brandenburg", "Bremen", "Hamburg", "Hessen",
    "Mecklenburg-Vorpommern", "Niedersachsen", "Nordrhein-Westfalen", "Rheinland-Pfalz",
    "Saarland", "Sachsen", "Sachsen-Anhalt", "Schleswig-Holstein", "Thüringen",
)
#: Column limits of the cities and interests tables, checked before the database sees them.
NAME_MAX, SLUG_MAX, WEBSITE_MAX = 120, 80, 300
PROFILE_MAX = 20_000
NOTE_MAX = 2_000
#: Larger than any German municipality (Berlin has under 4 million inhabitants).
POPULATION_MAX = 10_000_000
#: How many directory entries a municipality search returns at most.
SEARCH_LIMIT = 20
#: Fields of a city the city's own admin may change; the rest needs a platform admin.
CITY_ADMIN_FIELDS = frozenset({"profile", "website", "population"})
PLATFORM_ADMIN_FIELDS = frozenset({"name", "state", "ags"})

_SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_AGS_RE = re.compile(r"^\d{8}$")


class CityError(DomainError, ValueError):
    """Invalid city or interest data; the (German) message is shown to the user."""

    status = 422


class PermissionDenied(DomainPermissionError):
    """The acting user may not change this city (403)."""


# --- municipality directory ------------------------------------------------------------

@lru_cache(maxsize=1)
def _municipalities() -> dict[str, dict]:
    """The directory of German municipalities by AGS, loaded once per process."""
    with MUNICIPALITIES_CSV.open(encoding="utf-8", newline="") as handle:
        rows = {}
        for row in csv.DictReader(handle):
            population = row.get("population") or ""
            rows[row["ags"]] = {
                "ags": row["ags"],
                "name": row["name"],
                "short_name": row["name"].split(",")[0].strip(),
                "state": row["state"],
                "district": row.get("district") or "",
                "type": row.get("type") or "",
                "population": int(population) if population.isdigit() else None,
                "postcode": row.get("postcode") or "",
            }
        return rows


def municipality_by_ags(ags: str | None) -> dict | None:
    """The directory entry (ags, name, short_name, state, population, ...) or None."""
    entry = _municipalities().get((ags or "").strip())
    return dict(entry) if entry else None


def municipality_search(prefix: str, limit: int = SEARCH_LIMIT) -> list[dict]:
    """Directory entries whose AGS or name starts with `prefix` (case-insensitive)."""
    prefix = (prefix or "").strip()
    if not prefix:
        return []
    if prefix.isdigit():
        matches = (entry for ags, entry in _municipalities().items() if ags.startswith(prefix))
    else:
        folded = prefix.casefold()
        matches = (entry for entry in _municipalities().values()
                   if entry["name"].casefold().startswith(folded))
    found = []
    for entry in matches:
        found.append(dict(entry))
        if len(found) >= limit:
            break
    # Larger places first: "Neustadt" should offer the big Neustadts before hamlets.
    return sorted(found, key=lambda entry: -(entry["population"] or 0))


def validate_ags(ags: str | None) -> str:
    """The AGS, stripped, when it has 8 digits and is in the directory; else CityError."""
    value = (ags or "").strip().replace(" ", "")
    if not _AGS_RE.match(value):
        raise CityError(_("Der Gemeindeschlüssel (AGS) muss aus genau 8 Ziffern bestehen."))
    if value not in _municipalities():
        raise CityError(_("Den Gemeindeschlüssel %(ags)s gibt es im Gemeindeverzeichnis nicht.",
                          ags=value))
    return value


# --- field checks ----------------------------------------------------------------------

def _clean_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise CityError(_("Bitte geben Sie den Namen der Stadt an."))
    if len(name) > NAME_MAX:
        raise CityError(_("Der Name darf höchstens %(max)s Zeichen lang sein.", max=NAME_MAX))
    if not is_single_line(name):
        raise CityError(_("%(label)s darf keine Zeilenumbrüche oder Steuerzeichen enthalten.",
                          label=_("Der Name")))
    return name


def _clean_state(state: str | None) -> str:
    state = (state or "").strip()
    if state not in STATES:
        raise CityError(_("Unbekanntes Bundesland: %(state)s", state=state or "–"))
    return state


def _clean_slug(slug: str | None, name: str, city: City | None = None) -> str:
    slug = (slug or "").strip() or slugify(name, max_length=SLUG_MAX)
    if len(slug) > SLUG_MAX or not _SLUG_RE.match(slug):
        raise CityError(_("Die Kurzform (Slug) darf nur Kleinbuchstaben, Ziffern und "
                          "Bindestriche enthalten und höchstens %(max)s Zeichen lang sein.",
                          max=SLUG_MAX))
    existing = db.session.scalar(sa.select(City).where(City.slug == slug))
    if existing is not None and existing is not city:
        raise CityError(_("Die Kurzform „%(slug)s“ ist schon vergeben.", slug=slug))
    return slug


def _clean_ags(ags: str | None, city: City | None = None) -> str | None:
    if ags is None or not str(ags).strip():
        return None
    value = validate_ags(str(ags))
    existing = db.session.scalar(sa.select(City).where(City.ags == value))
    if existing is not None and existing is not city:
        raise CityError(_("Der Gemeindeschlüssel %(ags)s gehört schon zu %(city)s.",
                          ags=value, city=existing.name))
    return value


def _clean_population(population) -> int | None:
    if population is None or population == "":
        return None
    try:
        value = int(population)
    except (TypeError, ValueError):
        raise CityError(_("Die Einwohnerzahl muss eine ganze Zahl sein.")) from None
    if isinstance(population, bool) or not 0 < value <= POPULATION_MAX:
        raise CityError(_("Die Einwohnerzahl muss zwischen 1 und %(max)s liegen.",
                          max=POPULATION_MAX))
    return value


def _clean_profile(profile: str | None) -> str:
    profile = (profile or "").strip()
    if len(profile) > PROFILE_MAX:
        raise CityError(_("Das Profil darf höchstens %(max)s Zeichen lang sein.", max=PROFILE_MAX))
    return profile


def _clean_website(website: str | None) -> str | None:
    website = (website or "").strip()
    if not website:
        return None
    parsed = urlparse(website)
    if len(website) > WEBSITE_MAX or parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise CityError(_("Bitte geben Sie die Website als vollständige Adresse an "
                          "(https://…, höchstens %(max)s Zeichen).", max=WEBSITE_MAX))
    return website


# --- cities ----------------------------------------------------------------------------

def create_city(actor, name: str, state: str, slug: str | None = None, ags: str | None = None,
                population: int | None = None, profile: str = "",
                website: str | None = None) -> City:
    """Add a city (platform admins only); the slug comes from the name unless given."""
    if actor is not None and not permissions.can_create_city(actor):
        raise PermissionDenied(_("Nur Plattform-Administratoren können Städte anlegen."))
    name = _clean_name(name)
    city = City(
        name=name,
        state=_clean_state(state),
        slug=_clean_slug(slug, name),
        ags=_clean_ags(ags),
        population=_clean_population(population),
        profile=_clean_profile(profile),
        website=_clean_website(website),
    )
    db.session.add(city)
    db.session.flush()
    return city


def update_city(actor, city: City, **fields) -> City:
    """Change a city's fields; city admins edit profile, website and population."""
    unknown = set(fields) - CITY_ADMIN_FIELDS - PLATFORM_ADMIN_FIELDS
    if unknown:
        raise CityError(_("Diese Angaben lassen sich nicht ändern: %(fields)s",
                          fields=", ".join(sorted(unknown))))
    if actor is not None:
        if not permissions.can_edit_city(actor, city):
            raise PermissionDenied(_("Nur der Admin dieser Stadt kann sie bearbeiten."))
        if set(fields) & PLATFORM_ADMIN_FIELDS and not permissions.can_create_city(actor):
            raise PermissionDenied(_("Name, Bundesland und Gemeindeschlüssel ändern nur "
                                     "Plattform-Administratoren."))
    cleaners = {
        "name": _clean_name,
        "state": _clean_state,
        "ags": lambda value: _clean_ags(value, city),
        "population": _clean_population,
        "profile": _clean_profile,
        "website": _clean_website,
    }
    # Check everything before changing anything, so a bad field leaves the city untouched.
    cleaned = {key: cleaners[key](value) for key, value in fields.items()}
    for key, value in cleaned.items():
        setattr(city, key, value)
    db.session.flush()
    return city


# --- interests -------------------------------------------------------------------------

def find_interest(city: City, topic: Topic) -> Interest | None:
    """The city's interest row for this topic, if any."""
    return db.session.scalar(
        sa.select(Interest).where(Interest.city_id == city.id, Interest.topic_id == topic.id)
    )


def set_interest(actor, city: City, topic: Topic, stance: str, maturity: int = 3,
                 note: str = "") -> Interest:
    """Record the city's stance on a topic; setting it again updates the one row."""
    if actor is not None and not permissions.can_edit_city(actor, city):
        raise PermissionDenied(_("Nur der Admin dieser Stadt kann ihre Interessen pflegen."))
    if topic is None or topic.id is None:
        raise CityError(_("Unbekanntes Thema."))
    if stance not in STANCES:
        raise CityError(_("Unbekannte Haltung: %(stance)s", stance=stance or "–"))
    try:
        maturity = int(maturity)
    except (TypeError, ValueError):
        maturity = None
    if maturity is None or not MATURITY_MIN <= maturity <= MATURITY_MAX:
        raise CityError(_("Der Reifegrad muss zwischen %(min)s und %(max)s liegen.",
                          min=MATURITY_MIN, max=MATURITY_MAX))
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise CityError(_("Die Notiz darf höchstens %(max)s Zeichen lang sein.", max=NOTE_MAX))
    interest = find_interest(city, topic)
    if interest is None:
        interest = Interest(city=city, topic=topic)
        db.session.add(interest)
    interest.stance = stance
    interest.maturity = maturity
    interest.note = note
    db.session.flush()
    return interest


def remove_interest(actor, city: City, topic: Topic) -> None:
    """Delete the city's interest in a topic; CityError when there is none."""
    if actor is not None and not permissions.can_edit_city(actor, city):
        raise PermissionDenied(_("Nur der Admin dieser Stadt kann ihre Interessen pflegen."))
    interest = find_interest(city, topic)
    if interest is None:
        raise CityError(_("%(city)s hat zu diesem Thema keinen Eintrag.", city=city.name))
    if interest in city.interests:
        city.interests.remove(interest)  # delete-orphan cascade deletes the row
    else:
        db.session.delete(interest)
    db.session.flush()


# --- lists -----------------------------------------------------------------------------
# Queries for the paged lists of the city directory, the city page and the topic page.
# Each list loads the relationships its template shows in the same or one extra
# statement, and counts come from GROUP BY queries, never from loading every row.

def _literal(text: str) -> str:
    """`text` as a LIKE pattern that matches itself (%, _ and \\ escaped with \\)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _name_contains(column, text: str):
    """SQL condition: `column` contains `text` case-insensitively, % and _ taken literally."""
    return column.ilike(f"%{_literal(text)}%", escape="\\")


def size_band_condition(size_band: str | None):
    """SQL condition on City.population for a size band of exchange.matching (None: any).

    Cities without a known population are in no band."""
    from ..matching.services import SIZE_BANDS

    if size_band not in SIZE_BANDS:
        return sa.true()
    low, high = SIZE_BANDS[size_band]
    condition = City.population >= low
    return condition if high is None else condition & (City.population < high)


def cities_query(state: str | None = None, name: str | None = None):
    """Cities by name, optionally of one federal state and with `name` in their name."""
    statement = sa.select(City).order_by(City.name, City.id)
    if state:
        statement = statement.where(City.state == state)
    if name:
        statement = statement.where(_name_contains(City.name, name))
    return statement


def cities_named(text: str, limit: int = 20) -> list[City]:
    """Cities a filter field means: the one with this slug, else those with exactly this
    name (case-insensitive; "Neustadt" has several), else up to `limit` containing it."""
    text = (text or "").strip()
    if not text:
        return []
    city = db.session.scalar(sa.select(City).where(City.slug == text))
    if city is not None:
        return [city]
    same = db.session.scalars(cities_query().where(City.name.ilike(_literal(text), escape="\\"))
                              .limit(limit)).all()
    return same or db.session.scalars(cities_query(name=text).limit(limit)).all()


def interest_counts(city_ids) -> dict[int, int]:
    """How many interests each of the given cities has (one GROUP BY query)."""
    city_ids = list(city_ids)
    if not city_ids:
        return {}
    return dict(db.session.execute(
        sa.select(Interest.city_id, sa.func.count()).where(Interest.city_id.in_(city_ids))
        .group_by(Interest.city_id)).all())


def _stance_filter(statement, stance: str | None):
    return statement.where(Interest.stance == stance) if stance in STANCES else statement


def topic_interests_query(topic: Topic, stance: str | None = None, state: str | None = None,
                          size_band: str | None = None):
    """Interests in `topic` with their cities loaded (most mature first, then by name),
    filtered by stance, the city's federal state and its size band."""
    from sqlalchemy.orm import contains_eager

    statement = (sa.select(Interest).join(Interest.city).options(contains_eager(Interest.city))
                 .where(Interest.topic_id == topic.id, size_band_condition(size_band)))
    if state:
        statement = statement.where(City.state == state)
    return _stance_filter(statement, stance).order_by(
        Interest.maturity.desc(), City.name, City.id)


def topic_stance_counts(topic: Topic, state: str | None = None,
                        size_band: str | None = None) -> dict[str, int]:
    """Per stance: how many cities (within the filters) have an interest in `topic`."""
    statement = (sa.select(Interest.stance, sa.func.count()).join(Interest.city)
                 .where(Interest.topic_id == topic.id, size_band_condition(size_band))
                 .group_by(Interest.stance))
    if state:
        statement = statement.where(City.state == state)
    counts = dict(db.session.execute(statement).all())
    return {stance: counts.get(stance, 0) for stance in STANCES}


def city_interests_query(city: City, stance: str | None = None):
    """The city's interests with their topics loaded, most mature first, then by name."""
    from sqlalchemy.orm import contains_eager

    statement = (sa.select(Interest).join(Interest.topic)
                 .options(contains_eager(Interest.topic))
                 .where(Interest.city_id == city.id))
    return _stance_filter(statement, stance).order_by(
        Interest.maturity.desc(), Topic.name_de, Topic.id)


def city_stance_counts(city: City) -> dict[str, int]:
    """Per stance: how many topics `city` offers, seeks or works on."""
    counts = dict(db.session.execute(
        sa.select(Interest.stance, sa.func.count()).where(Interest.city_id == city.id)
        .group_by(Interest.stance)).all())
    return {stance: counts.get(stance, 0) for stance in STANCES}


def first_of_each_stance(statement, limit: int) -> dict[str, list[Interest]]:
    """The first `limit` rows of an interests query for each stance (one query per stance)."""
    return {stance: list(db.session.scalars(_stance_filter(statement, stance).limit(limit)))
            for stance in STANCES}
