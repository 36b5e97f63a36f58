"""The "Partner finden" page and the matching sections on city and topic pages."""
import pytest


def test_partner_page_needs_login(client, world):
    response = client.get("/partner")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_partner_page_ranks_muenchen_first_with_reasons(client, auth, anna, world,
                                                        make_experience, make_user):
    author = make_user("autorin@muenchen.example", city=world.muenchen)
    make_experience(author, title="muenchen.digital: Relaunch des Stadtportals",
                    topics=[world.web])
    auth.login()
    response = client.get("/partner")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Partner finden: Stuttgart" in html
    assert html.index("München") < html.index("Ulm")
    assert "Wissenstransfer" in html and "Gemeinsames Projekt" in html
    assert ("München bietet Erfahrung zu Innovation-Center (Reife 5), Stuttgart sucht sie "
            "(Reife 1)") in html
    assert "muenchen.digital: Relaunch des Stadtportals" in html
    assert "/erfahrungen/muenchen-digital-relaunch-des-stadtportals" in html


def test_partner_page_filters(client, auth, anna, world):
    auth.login()
    html = client.get("/partner?kind=joint").get_data(as_text=True)
    assert "Karlsruhe" in html and "Ulm" not in html
    html = client.get("/partner?state=Bayern").get_data(as_text=True)
    assert "München" in html and "Karlsruhe" not in html
    html = client.get("/partner?size_band=gross&topic=ozg").get_data(as_text=True)
    assert "Karlsruhe" in html and "München" not in html


@pytest.mark.parametrize("query, message", [
    ("kind=freundschaft", "Unbekannte Art der Passung"),
    ("topic=gibt-es-nicht", "Unbekanntes Thema"),
    ("size_band=riesig", "Unbekannte Größenklasse"),
    ("state=Atlantis", "Unbekanntes Bundesland"),
])
def test_partner_page_explains_bad_filters(client, auth, anna, world, query, message):
    auth.login()
    response = client.get(f"/partner?{query}")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_partner_page_without_a_city(client, auth, admin, world):
    auth.login("admin@city-exchange.example")
    html = client.get("/partner").get_data(as_text=True)
    assert "Bitte wählen Sie die Stadt" in html
    html = client.get("/partner?stadt=muenchen").get_data(as_text=True)
    assert "Partner finden: München" in html
    assert html.index("Stuttgart") < html.index("Ulm")
    assert client.get("/partner?stadt=atlantis").status_code == 404


def test_staff_cannot_switch_city(client, auth, anna, world):
    auth.login()
    html = client.get("/partner?stadt=muenchen").get_data(as_text=True)
    assert "Partner finden: Stuttgart" in html


def test_propose_link_for_city_admins(client, auth, cdo_stuttgart, world):
    auth.login("cdo@stuttgart.example")
    html = client.get("/partner").get_data(as_text=True)
    assert "Projekt vorschlagen" in html
    assert "/projekte/neu?partner=muenchen&amp;topic=" in html


def test_no_propose_link_for_staff(client, auth, anna, world):
    auth.login()
    assert "Projekt vorschlagen" not in client.get("/partner").get_data(as_text=True)


def test_city_page_explains_the_fit(client, auth, anna, world):
    auth.login()
    html = client.get("/staedte/muenchen").get_data(as_text=True)
    assert "Warum passt München zu meiner Stadt?" in html
    assert "Stuttgart bietet Erfahrung zu Mobilität (Reife 5), München sucht sie" in html
    own = client.get("/staedte/stuttgart").get_data(as_text=True)
    assert "Warum passt" not in own


def test_city_page_without_common_topics(client, auth, anna, world, make_city):
    make_city("bremen", "Bremen", "Bremen")
    auth.login()
    html = client.get("/staedte/bremen").get_data(as_text=True)
    assert "Warum passt Bremen zu meiner Stadt?" in html
    assert "Keine gemeinsamen Themen gefunden." in html


def test_topic_page_lists_partners_for_the_topic(client, auth, anna, world):
    auth.login()
    html = client.get("/themen/ozg").get_data(as_text=True)
    assert "Passende Partner für Stuttgart zu diesem Thema" in html
    section = html[html.index("Passende Partner für Stuttgart"):]
    assert "München" in section and "Karlsruhe" in section and "Ulm" not in section


def test_admin_without_city_sees_no_fit_sections(client, auth, admin, world):
    auth.login("admin@city-exchange.example")
    assert "Warum passt" not in client.get("/staedte/muenchen").get_data(as_text=True)
    assert "Passende Partner" not in client.get("/themen/ozg").get_data(as_text=True)


def test_who_may_look_for_partners_for_a_city(anna, admin, world):
    from exchange.auth.permissions import can_find_partners_for

    assert can_find_partners_for(anna, world.stuttgart)
    assert not can_find_partners_for(anna, world.muenchen)
    assert can_find_partners_for(admin, world.muenchen)
    assert not can_find_partners_for(None, world.stuttgart)


def test_partner_page_formats_population_for_the_language(client, auth, anna, world):
    auth.login()
    assert "1.388.308 Einwohner" in client.get("/partner").get_data(as_text=True)
    client.get("/lang/en")
    html = client.get("/partner").get_data(as_text=True)
    assert "1,388,308" in html and "1.388.308" not in html
