"""City list and pages, city editing, interests, city creation: pages and permissions."""
import re

import pytest
import sqlalchemy as sa

from exchange.cities.models import City, Interest
from exchange.cities.services import set_interest
from exchange.extensions import db


def _count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def topics(make_topic):
    root = make_topic("verwaltungsdigitalisierung", "Verwaltungsdigitalisierung")
    return {
        "root": root,
        "eakte": make_topic("eakte", "eAkte", parent=root, aliases=["E-Akte"],
                            name_en="e-file"),
        "dms": make_topic("dms", "Dokumentenmanagement", parent=root, aliases=["DMS"]),
        "mobilitaet": make_topic("mobilitaet", "Mobilität", name_en="Mobility"),
    }


# --- list ------------------------------------------------------------------------------

def test_city_list_filters_by_state_and_name(client, auth, anna, muenchen, make_city):
    make_city("ulm", "Ulm", "Baden-Württemberg")
    auth.login()
    page = client.get("/staedte").get_data(as_text=True)
    assert "Städte" in page
    assert all(name in page for name in ("Stuttgart", "München", "Ulm"))
    assert "613.392" in page

    page = client.get("/staedte?land=Bayern").get_data(as_text=True)
    assert "München" in page and ">Stuttgart<" not in page and ">Ulm<" not in page

    page = client.get("/staedte?q=ul").get_data(as_text=True)
    assert ">Ulm<" in page and ">Stuttgart<" not in page

    page = client.get("/staedte?q=%25").get_data(as_text=True)  # "%" is not a wildcard
    assert "Keine Stadt gefunden." in page


def test_create_link_only_for_platform_admin(client, auth, anna, admin):
    auth.login()
    assert "/staedte/neu" not in client.get("/staedte").get_data(as_text=True)
    auth.logout()
    auth.login(admin.email)
    assert "/staedte/neu" in client.get("/staedte").get_data(as_text=True)


# --- city page -------------------------------------------------------------------------

def test_city_page_shows_profile_interests_and_experiences(
        client, auth, anna, max_muenchen, stuttgart, cdo_stuttgart, topics, make_experience):
    stuttgart.profile = "**Digital MoveS** <script>alert(1)</script>"
    stuttgart.website = "https://www.stuttgart.de"
    set_interest(None, stuttgart, topics["mobilitaet"], "offers", 5, "Mobilitätsdaten offen")
    set_interest(None, stuttgart, topics["dms"], "seeks", 1)
    db.session.commit()
    make_experience(anna, title="Digitalisierungslotsen in jedem Amt", topics=[topics["eakte"]])
    make_experience(anna, title="Geheimer Entwurf", status="draft")

    auth.login(max_muenchen.email)
    page = client.get("/staedte/stuttgart").get_data(as_text=True)
    assert "<strong>Digital MoveS</strong>" in page and "<script>" not in page
    assert "08111000" in page and "https://www.stuttgart.de" in page and "613.392" in page
    assert "bietet Erfahrung an" in page and "sucht Erfahrung" in page
    assert page.index("Mobilität") < page.index("Dokumentenmanagement")
    assert "Reifegrad 5/5" in page and "Mobilitätsdaten offen" in page
    assert "Digitalisierungslotsen in jedem Amt" in page
    assert "Geheimer Entwurf" not in page  # drafts only for the city's own people
    assert "Profil bearbeiten" not in page

    auth.logout()
    auth.login(anna.email)
    page = client.get("/staedte/stuttgart").get_data(as_text=True)
    assert "Geheimer Entwurf" in page and "Entwurf" in page
    assert "Profil bearbeiten" not in page  # staff do not edit the city

    auth.logout()
    auth.login(cdo_stuttgart.email)
    assert "Profil bearbeiten" in client.get("/staedte/stuttgart").get_data(as_text=True)


def test_city_page_includes_slot_sections(client, auth, anna, stuttgart, monkeypatch):
    from exchange.core import hooks

    monkeypatch.setattr(hooks, "_PROVIDERS", {})
    seen = {}

    @hooks.slot("city_page", "test", "cities/_interest_list.html")
    def provider(city, user):
        seen.update(city=city, user=user)
        return {"marker": True}

    auth.login()
    page = client.get("/staedte/stuttgart").get_data(as_text=True)
    assert seen == {"city": stuttgart, "user": anna}
    assert page.count('class="interest-list"') == 4  # three stances plus the slot


def test_unknown_city_and_topic_are_404(client, auth, anna):
    auth.login()
    assert client.get("/staedte/atlantis").status_code == 404
    assert client.get("/staedte/atlantis/bearbeiten").status_code == 404
    assert client.get("/themen/nichts").status_code == 404


def test_pages_need_login(client, stuttgart, make_topic):
    make_topic()
    for url in ("/staedte", "/staedte/stuttgart", "/staedte/neu", "/themen", "/themen/eakte",
                "/staedte/stuttgart/interessen"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- edit ------------------------------------------------------------------------------

def test_city_admin_edits_profile(client, auth, cdo_stuttgart, stuttgart):
    auth.login(cdo_stuttgart.email)
    page = client.get("/staedte/stuttgart/bearbeiten").get_data(as_text=True)
    assert "Stuttgart bearbeiten" in page and "Einwohnerzahl" in page
    response = client.post("/staedte/stuttgart/bearbeiten", data={
        "population": "630000", "website": "https://www.stuttgart.de",
        "profile": "Digital MoveS"})
    assert response.status_code == 302
    assert (stuttgart.population, stuttgart.website, stuttgart.profile) == (
        630000, "https://www.stuttgart.de", "Digital MoveS")


@pytest.mark.parametrize("data, message", [
    ({"population": "-3"}, "Bitte eine Zahl zwischen 1 und"),
    ({"population": "viele"}, "Keine gültige, ganze Zahl"),
    ({"website": "javascript:alert(1)"}, "vollständige Adresse"),
    ({"website": "https://" + "a" * 300 + ".de"}, "Höchstens 300 Zeichen"),
    ({"profile": "x" * 20_001}, "Höchstens 20000 Zeichen"),
])
def test_bad_city_edit_is_a_form_error(client, auth, cdo_stuttgart, stuttgart, data, message):
    auth.login(cdo_stuttgart.email)
    form = {"population": "613392", "website": "", "profile": "Neu"}
    form.update(data)
    response = client.post("/staedte/stuttgart/bearbeiten", data=form)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert stuttgart.profile == ""


@pytest.mark.parametrize("who", ["anna", "cdo_muenchen", "planer"])
def test_others_may_not_edit_city_or_interests(client, auth, who, anna, stuttgart, muenchen,
                                               make_user, topics):
    users = {
        "anna": anna,
        "cdo_muenchen": make_user("cdo@muenchen.example", city=muenchen, role="city_admin"),
        "planer": make_user("planer@stuttgart.example", city=stuttgart, role="visit_planner"),
    }
    set_interest(None, stuttgart, topics["dms"], "seeks", 1)
    db.session.commit()
    auth.login(users[who].email)
    assert client.get("/staedte/stuttgart/bearbeiten").status_code == 403
    assert client.post("/staedte/stuttgart/bearbeiten",
                       data={"profile": "Gekapert"}).status_code == 403
    assert client.get("/staedte/stuttgart/interessen").status_code == 403
    assert client.post("/staedte/stuttgart/interessen", data={
        "topic": "eakte", "stance": "offers", "maturity": "3"}).status_code == 403
    assert client.post("/staedte/stuttgart/interessen/dms/entfernen").status_code == 403
    assert client.get("/staedte/neu").status_code == 403
    assert client.post("/staedte/neu", data={"name": "Esslingen",
                                             "state": "Baden-Württemberg"}).status_code == 403
    db.session.expire_all()
    assert stuttgart.profile == "" and _count(Interest) == 1 and _count(City) == 2


# --- interests -------------------------------------------------------------------------

def test_interest_form_lists_topics_grouped_by_tree(client, auth, cdo_stuttgart, topics):
    auth.login(cdo_stuttgart.email)
    page = client.get("/staedte/stuttgart/interessen").get_data(as_text=True)
    assert '<optgroup label="Verwaltungsdigitalisierung">' in page
    assert '<option value="eakte">\u2003eAkte</option>' in page
    assert "Noch keine Interessen eingetragen." in page


def test_city_admin_adds_changes_and_removes_interest(client, auth, cdo_stuttgart, stuttgart,
                                                      topics):
    auth.login(cdo_stuttgart.email)
    response = client.post("/staedte/stuttgart/interessen", data={
        "topic": "eakte", "stance": "working_on", "maturity": "3", "note": "Pilot"})
    assert response.status_code == 302
    page = client.get("/staedte/stuttgart/interessen").get_data(as_text=True)
    assert "Interesse an „eAkte“ gespeichert." in page and "Pilot" in page

    page = client.get("/staedte/stuttgart/interessen?thema=eakte").get_data(as_text=True)
    assert '<option selected value="working_on">' in page
    assert '<option selected value="eakte">' in page

    client.post("/staedte/stuttgart/interessen", data={
        "topic": "eakte", "stance": "offers", "maturity": "5", "note": ""})
    interest = db.session.scalar(sa.select(Interest))
    assert _count(Interest) == 1
    assert (interest.stance, interest.maturity, interest.note) == ("offers", 5, "")

    response = client.post("/staedte/stuttgart/interessen/eakte/entfernen")
    assert response.status_code == 302
    assert _count(Interest) == 0
    page = client.get("/staedte/stuttgart/interessen").get_data(as_text=True)
    assert "Interesse an „eAkte“ entfernt." in page

    client.post("/staedte/stuttgart/interessen/eakte/entfernen")
    assert "hat zu diesem Thema keinen Eintrag" in client.get(
        "/staedte/stuttgart/interessen").get_data(as_text=True)


@pytest.mark.parametrize("data, message", [
    ({"topic": "gibt-es-nicht"}, "Dieses Thema gibt es nicht."),
    ({"topic": ""}, "Bitte wählen Sie ein Thema."),
    ({"stance": "teaches"}, "Keine gültige Auswahl"),
    ({"maturity": "9"}, "Keine gültige Auswahl"),
    ({"maturity": "hoch"}, "Ungültige Auswahl: Konnte nicht umwandeln"),
    ({"note": "n" * 2001}, "Höchstens 2000 Zeichen"),
])
def test_bad_interest_input_is_a_form_error(client, auth, cdo_stuttgart, topics, data, message):
    auth.login(cdo_stuttgart.email)
    form = {"topic": "eakte", "stance": "offers", "maturity": "3", "note": ""}
    form.update(data)
    response = client.post("/staedte/stuttgart/interessen", data=form)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _count(Interest) == 0


def test_platform_admin_may_edit_any_city(client, auth, admin, muenchen, topics):
    auth.login(admin.email)
    assert client.post("/staedte/muenchen/interessen", data={
        "topic": "mobilitaet", "stance": "seeks", "maturity": "2"}).status_code == 302
    assert _count(Interest) == 1


# --- create ----------------------------------------------------------------------------

def test_admin_creates_city(client, auth, admin):
    auth.login(admin.email)
    assert "Amtlicher Gemeindeschlüssel" in client.get("/staedte/neu").get_data(as_text=True)
    response = client.post("/staedte/neu", data={
        "ags": "08212000", "name": "Karlsruhe", "state": "Baden-Württemberg", "slug": "",
        "population": "300000", "website": "https://www.karlsruhe.de", "profile": "Fächerstadt"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/staedte/karlsruhe"
    city = db.session.scalar(sa.select(City).where(City.slug == "karlsruhe"))
    assert (city.ags, city.population, city.state) == ("08212000", 300000, "Baden-Württemberg")
    assert "Die Stadt Karlsruhe wurde angelegt." in client.get(
        "/staedte/karlsruhe").get_data(as_text=True)


def test_lookup_prefills_from_directory_without_creating(client, auth, admin):
    auth.login(admin.email)
    page = client.post("/staedte/neu", data={"ags": "08212000", "lookup": "1"}
                       ).get_data(as_text=True)
    assert 'value="Karlsruhe"' in page
    assert '<option selected value="Baden-Württemberg">' in page
    assert "Angaben aus dem Gemeindeverzeichnis übernommen" in page
    assert _count(City) == 0
    # The browser sends the empty fields too; the directory's population fills them
    # (issue 12: name and state were filled, the population stayed empty).
    page = client.post("/staedte/neu", data={"ags": "08212000", "lookup": "1", "name": "",
                                             "population": "", "slug": ""}
                       ).get_data(as_text=True)
    assert 'value="Karlsruhe"' in page and 'value="297488"' in page
    # What the person typed stays.
    page = client.post("/staedte/neu", data={"ags": "08212000", "lookup": "1",
                                             "population": "300000"}).get_data(as_text=True)
    assert 'value="300000"' in page

    page = client.post("/staedte/neu", data={"name": "Karlsr", "lookup": "1"}
                       ).get_data(as_text=True)
    assert "08212000" in page and "Passende Einträge" in page

    page = client.post("/staedte/neu", data={"ags": "08299999", "lookup": "1"}
                       ).get_data(as_text=True)
    assert "Diesen Gemeindeschlüssel gibt es im Verzeichnis nicht." in page


@pytest.mark.parametrize("data, message", [
    ({"ags": "0821200"}, "Der AGS besteht aus genau 8 Ziffern."),
    ({"ags": "08299999"}, "gibt es im Gemeindeverzeichnis nicht"),
    ({"ags": "08111000"}, "gehört schon zu Stuttgart"),
    ({"slug": "stuttgart"}, "schon vergeben"),
    ({"slug": "Gross Buchstaben"}, "Nur Kleinbuchstaben"),
    ({"name": ""}, "Bitte geben Sie den Namen an."),
    ({"name": "K" * 121}, "Höchstens 120 Zeichen"),
    ({"state": "Bavaria"}, "Keine gültige Auswahl"),
    ({"state": ""}, "Bitte wählen Sie das Bundesland."),
])
def test_bad_city_creation_is_a_form_error(client, auth, admin, stuttgart, data, message):
    auth.login(admin.email)
    form = {"ags": "", "name": "Karlsruhe", "state": "Baden-Württemberg", "slug": "",
            "population": "", "website": "", "profile": ""}
    form.update(data)
    response = client.post("/staedte/neu", data=form)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _count(City) == 1


@pytest.mark.parametrize("url, current", [
    ("/staedte", "Städte"), ("/staedte/stuttgart", "Städte"),
    ("/themen", "Themen"), ("/themen/eakte", "Themen"),
])
def test_main_navigation_marks_only_the_current_section(client, auth, anna, make_topic, url,
                                                        current):
    """Cities and topics share a blueprint; the header still marks just one of them."""
    make_topic("eakte", "eAkte")
    auth.login()
    page = client.get(url).get_data(as_text=True)
    marked = re.findall(r'<a href="[^"]*"\s+aria-current="page">([^<]+)</a>', page)
    assert marked == [current]


def test_inbox_marks_no_main_section(client, auth, anna):
    """The inbox lives in the projects blueprint but is not the "Projekte" section."""
    auth.login()
    page = client.get("/postfach").get_data(as_text=True)
    assert 'aria-current="page"' not in page


def test_population_follows_the_interface_language(client, auth, anna, stuttgart):
    """613.392 in German, 613,392 in English."""
    auth.login()
    assert "613.392" in client.get("/staedte/stuttgart").get_data(as_text=True)
    client.get("/lang/en")
    page = client.get("/staedte/stuttgart").get_data(as_text=True)
    assert "613,392" in page and "613.392" not in page
    assert "613,392" in client.get("/staedte").get_data(as_text=True)
