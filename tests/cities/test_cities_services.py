"""City and interest services, AGS validation and the municipality directory."""
import pytest
import sqlalchemy as sa

from exchange.cities.models import City, Interest
from exchange.cities.services import (CityError, PermissionDenied, create_city,
                                      municipality_by_ags, municipality_search, remove_interest,
                                      set_interest, update_city, validate_ags)
from exchange.extensions import db


def _count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# --- directory and AGS -----------------------------------------------------------------

def test_municipality_by_ags():
    entry = municipality_by_ags("08111000")
    assert entry["name"] == "Stuttgart, Landeshauptstadt"
    assert entry["short_name"] == "Stuttgart"
    assert entry["state"] == "Baden-Württemberg"
    assert entry["population"] == 613392
    assert municipality_by_ags("99999999") is None
    assert municipality_by_ags("") is None


def test_municipality_search_by_ags_prefix_and_name():
    assert "09162000" in [e["ags"] for e in municipality_search("09162")]
    by_name = municipality_search("münchen")
    assert by_name[0]["ags"] == "09162000"  # the biggest match first
    assert municipality_search("") == []
    assert len(municipality_search("0", limit=5)) == 5


@pytest.mark.parametrize("ags", ["0811100", "081110000", "0811100X", "08 111 00", "", None])
def test_malformed_ags_is_refused(ags):
    with pytest.raises(CityError, match="genau 8 Ziffern"):
        validate_ags(ags)


def test_unknown_ags_is_refused():
    with pytest.raises(CityError, match="gibt es im Gemeindeverzeichnis nicht"):
        validate_ags("08999999")


def test_valid_ags_is_returned_stripped():
    assert validate_ags(" 08111000 ") == "08111000"


# --- create_city -----------------------------------------------------------------------

def test_admin_creates_city_with_slug_from_name(admin):
    city = create_city(admin, "Schwäbisch Gmünd", "Baden-Württemberg", ags="08136065",
                       population=59000, profile="**Stauferstadt**",
                       website="https://www.schwaebisch-gmuend.de")
    assert city.slug == "schwaebisch-gmuend"
    assert city.id is not None and city.ags == "08136065"


def test_operator_without_actor_may_create(app):
    assert create_city(None, "Ulm", "Baden-Württemberg", slug="ulm").slug == "ulm"


@pytest.mark.parametrize("kwargs, message", [
    ({"name": ""}, "Namen der Stadt"),
    ({"name": "x" * 121}, "höchstens 120 Zeichen"),
    ({"state": "Bavaria"}, "Unbekanntes Bundesland"),
    ({"slug": "Mit Leerzeichen"}, "Kurzform"),
    ({"slug": "stuttgart"}, "schon vergeben"),
    ({"ags": "1234"}, "genau 8 Ziffern"),
    ({"ags": "08111000"}, "gehört schon zu Stuttgart"),
    ({"ags": "08999999"}, "gibt es im Gemeindeverzeichnis nicht"),
    ({"population": -5}, "Einwohnerzahl"),
    ({"population": "viele"}, "ganze Zahl"),
    ({"website": "javascript:alert(1)"}, "vollständige Adresse"),
    ({"website": "https://" + "a" * 300 + ".de"}, "vollständige Adresse"),
    ({"profile": "x" * 20_001}, "Profil"),
])
def test_create_city_refuses_bad_input(admin, stuttgart, kwargs, message):
    data = {"name": "Esslingen", "state": "Baden-Württemberg"}
    data.update(kwargs)
    with pytest.raises(CityError, match=message):
        create_city(admin, **data)
    db.session.rollback()
    assert _count(City) == 1


def test_staff_and_city_admin_cannot_create_city(anna, cdo_stuttgart):
    for actor in (anna, cdo_stuttgart):
        with pytest.raises(PermissionDenied):
            create_city(actor, "Esslingen", "Baden-Württemberg")
    assert _count(City) == 1


# --- update_city -----------------------------------------------------------------------

def test_city_admin_updates_profile(cdo_stuttgart, stuttgart):
    update_city(cdo_stuttgart, stuttgart, profile="Digital MoveS", website="https://stuttgart.de",
                population=630000)
    assert (stuttgart.profile, stuttgart.website, stuttgart.population) == (
        "Digital MoveS", "https://stuttgart.de", 630000)


def test_bad_field_leaves_city_untouched(cdo_stuttgart, stuttgart):
    with pytest.raises(CityError):
        update_city(cdo_stuttgart, stuttgart, profile="Neu", website="kein link")
    assert stuttgart.profile == "" and stuttgart.website is None


def test_city_admin_cannot_rename_or_edit_other_city(cdo_stuttgart, stuttgart, muenchen):
    with pytest.raises(PermissionDenied):
        update_city(cdo_stuttgart, stuttgart, name="Stuttgart am Neckar")
    with pytest.raises(PermissionDenied):
        update_city(cdo_stuttgart, muenchen, profile="Gekapert")
    assert stuttgart.name == "Stuttgart" and muenchen.profile == ""


def test_staff_cannot_update_city(anna, stuttgart):
    with pytest.raises(PermissionDenied):
        update_city(anna, stuttgart, profile="x")


def test_admin_may_change_ags_but_not_to_a_taken_one(admin, stuttgart, muenchen):
    with pytest.raises(CityError, match="gehört schon zu München"):
        update_city(admin, stuttgart, ags="09162000")
    update_city(admin, stuttgart, ags="08111000", name="Stuttgart")  # its own AGS is fine
    with pytest.raises(CityError, match="lassen sich nicht ändern"):
        update_city(admin, stuttgart, slug="neu")


# --- interests -------------------------------------------------------------------------

def test_set_interest_creates_then_updates_one_row(cdo_stuttgart, stuttgart, make_topic):
    eakte = make_topic("eakte", "eAkte")
    first = set_interest(cdo_stuttgart, stuttgart, eakte, "working_on", 2, "Pilot im Bürgerbüro")
    second = set_interest(cdo_stuttgart, stuttgart, eakte, "offers", 4)
    assert first is second
    assert _count(Interest) == 1
    assert (second.stance, second.maturity, second.note) == ("offers", 4, "")


@pytest.mark.parametrize("stance, maturity, note, message", [
    ("teaches", 3, "", "Unbekannte Haltung"),
    ("offers", 0, "", "Reifegrad"),
    ("offers", 6, "", "Reifegrad"),
    ("offers", "hoch", "", "Reifegrad"),
    ("offers", 3, "n" * 2001, "Notiz"),
])
def test_set_interest_refuses_bad_input(cdo_stuttgart, stuttgart, make_topic, stance, maturity,
                                        note, message):
    eakte = make_topic("eakte", "eAkte")
    with pytest.raises(CityError, match=message):
        set_interest(cdo_stuttgart, stuttgart, eakte, stance, maturity, note)
    assert _count(Interest) == 0


def test_only_the_city_admin_sets_interests(anna, cdo_muenchen, stuttgart, make_topic):
    eakte = make_topic("eakte", "eAkte")
    for actor in (anna, cdo_muenchen):
        with pytest.raises(PermissionDenied):
            set_interest(actor, stuttgart, eakte, "offers")
    assert _count(Interest) == 0


def test_remove_interest(cdo_stuttgart, stuttgart, make_topic, anna):
    eakte = make_topic("eakte", "eAkte")
    set_interest(cdo_stuttgart, stuttgart, eakte, "seeks", 1)
    db.session.commit()
    with pytest.raises(PermissionDenied):
        remove_interest(anna, stuttgart, eakte)
    remove_interest(cdo_stuttgart, stuttgart, eakte)
    db.session.commit()
    assert _count(Interest) == 0
    with pytest.raises(CityError, match="keinen Eintrag"):
        remove_interest(cdo_stuttgart, stuttgart, eakte)
