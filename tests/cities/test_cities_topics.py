"""The topic tree (/themen) and topic pages (/themen/<slug>)."""
import re

import pytest

from exchange.cities.services import set_interest
from exchange.extensions import db


@pytest.fixture
def tree(make_topic):
    root = make_topic("verwaltungsdigitalisierung", "Verwaltungsdigitalisierung",
                      name_en="Digital administration")
    ozg = make_topic("ozg-umsetzung", "OZG-Umsetzung", parent=root,
                     aliases=["OZG", "Onlinezugangsgesetz"])
    feld = make_topic("ozg-mobilitaet-reisen", "Mobilität & Reisen", parent=ozg)
    lage = make_topic("ozg-lebenslage-auto", "Auto", parent=feld)
    make_topic("ozg-leistung-zulassung", "Fahrzeugzulassung", parent=lage)
    eakte = make_topic("eakte", "eAkte", parent=root, name_en="e-file",
                       aliases=["E-Akte", "elektronische Akte"])
    return {"root": root, "ozg": ozg, "feld": feld, "lage": lage, "eakte": eakte}


def test_topic_tree_with_counts_and_collapsed_deep_levels(
        client, auth, anna, stuttgart, muenchen, tree):
    set_interest(None, stuttgart, tree["eakte"], "working_on", 3)
    set_interest(None, muenchen, tree["eakte"], "working_on", 2)
    set_interest(None, stuttgart, tree["ozg"], "offers", 4)
    set_interest(None, muenchen, tree["ozg"], "seeks", 1)
    db.session.commit()
    auth.login()
    page = client.get("/themen").get_data(as_text=True)
    assert "6 Themen" in page
    eakte = page[page.index('href="/themen/eakte"'):]
    assert re.match(r'href="/themen/eakte">eAkte</a> <span class="counts"> '
                    r'<span class="stance-working_on" title="arbeiten daran">●2</span>', eakte)
    ozg = page[page.index('href="/themen/ozg-umsetzung"'):]
    assert "▲1" in ozg[:400] and "▼1" in ozg[:400]
    # Root and its children are open; the Themenfeld (depth 2) folds its Lebenslagen away.
    # The Themenfeld's link stands before its <details>, outside the <summary> (a link
    # inside a summary would nest interactive elements); its Lebenslage follows inside.
    summary = page.index("<summary>")
    assert page.index('href="/themen/ozg-umsetzung"') < summary
    assert page.index('href="/themen/ozg-mobilitaet-reisen"') < summary
    assert page.index("</summary>") < page.index('href="/themen/ozg-lebenslage-auto"')
    assert "<a " not in page[summary:page.index("</summary>")]
    assert page.count("<details>") == 2  # Themenfeld and Lebenslage have children


def test_the_rendered_tree_follows_changes_of_counts_names_and_slugs(
        client, auth, anna, stuttgart, muenchen, tree):
    """The tree is rendered once per process and version: every change must show."""
    auth.login()
    assert "class=\"counts\"" not in client.get("/themen").get_data(as_text=True)
    set_interest(None, stuttgart, tree["eakte"], "working_on", 3)
    db.session.commit()
    assert "●1" in client.get("/themen").get_data(as_text=True)
    set_interest(None, muenchen, tree["eakte"], "working_on", 2)
    db.session.commit()
    assert "●2" in client.get("/themen").get_data(as_text=True)
    tree["eakte"].name_de = "Elektronische Akte"
    db.session.commit()
    page = client.get("/themen").get_data(as_text=True)
    assert 'href="/themen/eakte">Elektronische Akte</a>' in page and ">eAkte<" not in page
    tree["eakte"].slug = "e-akte"
    db.session.commit()
    assert 'href="/themen/e-akte">' in client.get("/themen").get_data(as_text=True)


def test_topic_tree_and_subtopics_sort_like_a_german_dictionary(client, auth, anna, tree,
                                                                make_topic):
    """Issue 12: /themen sorted by character code (IT-Sicherheit before Innovation-Center,
    eAkte after the OZG subtree); case and umlauts are folded now (DIN 5007-1)."""
    root = tree["root"]
    make_topic("it-sicherheit", "IT-Sicherheit", parent=root)
    make_topic("innovation-center", "Innovation-Center", parent=root)
    make_topic("oeffentlichkeit", "Öffentlichkeitsarbeit", parent=root)
    db.session.commit()
    auth.login()
    expected = ["/themen/eakte", "/themen/innovation-center", "/themen/it-sicherheit",
                "/themen/oeffentlichkeit", "/themen/ozg-umsetzung"]
    for url in ("/themen", "/themen/verwaltungsdigitalisierung"):
        page = client.get(url).get_data(as_text=True)
        positions = [page.index(f'href="{href}"') for href in expected]
        assert positions == sorted(positions), url


def test_topic_tree_in_english_uses_english_names(client, auth, anna, tree):
    auth.login()
    client.get("/lang/en")
    page = client.get("/themen").get_data(as_text=True)
    assert ">Digital administration</a>" in page and ">e-file</a>" in page
    # falls back to German, marked as German for screen readers (WCAG 3.1.2)
    assert '><span lang="de">OZG-Umsetzung</span></a>' in page


def test_topic_page(client, auth, anna, max_muenchen, stuttgart, muenchen, tree,
                    make_experience):
    set_interest(None, stuttgart, tree["ozg"], "working_on", 3, "50 Online-Dienste live")
    set_interest(None, muenchen, tree["ozg"], "offers", 5)
    db.session.commit()
    make_experience(anna, title="OZG-Umsetzung: Erfahrungen mit den ersten 50 Online-Diensten",
                    topics=[tree["ozg"]])
    make_experience(anna, title="Unveröffentlichter OZG-Entwurf", topics=[tree["ozg"]],
                    status="draft")
    make_experience(max_muenchen, title="Innovation-Center", topics=[tree["eakte"]])

    auth.login()
    page = client.get("/themen/ozg-umsetzung").get_data(as_text=True)
    assert "<h1>OZG-Umsetzung</h1>" in page
    assert 'Onlinezugangsgesetz' in page and '>OZG</span>' in page
    assert '<a href="/themen/verwaltungsdigitalisierung">Verwaltungsdigitalisierung</a>' in page
    assert "Unterthemen" in page and "Mobilität &amp; Reisen" in page
    offers = page[page.index("bietet Erfahrung an"):page.index("sucht Erfahrung")]
    assert "München" in offers and "Reifegrad 5/5" in offers and "Stuttgart" not in offers
    working = page[page.index("arbeitet daran"):]
    assert "Stuttgart" in working and "50 Online-Dienste live" in working
    assert "Erfahrungen mit den ersten 50 Online-Diensten" in page
    assert "Unveröffentlichter OZG-Entwurf" not in page
    assert "Innovation-Center" not in page


def test_topic_page_english_name_and_empty_state(client, auth, anna, tree):
    auth.login()
    page = client.get("/themen/eakte").get_data(as_text=True)
    assert 'Englisch: <span lang="en">e-file</span>' in page
    client.get("/lang/en")
    english = client.get("/themen/eakte").get_data(as_text=True)
    assert 'German: <span lang="de">eAkte</span>' in english
    client.get("/lang/de")
    assert "E-Akte" in page and "elektronische Akte" in page
    assert "Zu diesem Thema gibt es noch keine veröffentlichten Erfahrungen." in page


def test_full_taxonomy_renders(client, auth, anna):
    from exchange.cities.taxonomy import seed_taxonomy

    seed_taxonomy()
    db.session.commit()
    auth.login()
    response = client.get("/themen")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page.count("<li>") > 600
    assert 'href="/themen/ozg-mobilitaet-reisen"' in page
    assert page.count("<details>") > 50
    form = client.get("/staedte/stuttgart/interessen")
    assert form.status_code == 403  # anna is staff; the form itself is tested elsewhere


def test_topic_pickers_follow_new_renamed_and_moved_topics(app, make_topic, tree):
    """The pickers' tree order is kept per process while the taxonomy does not move."""
    from exchange.cities.choices import INDENT, topic_choices
    from exchange.cities.models import Topic

    def labels():
        return [choice.label for choice in topic_choices()]

    before = labels()
    assert labels() == before
    make_topic("e-rechnung", "E-Rechnung", parent=tree["root"])  # committed
    assert INDENT + "E-Rechnung" in labels()
    tree["eakte"].name_de = "Akte, elektronisch"
    db.session.commit()
    assert INDENT + "Akte, elektronisch" in labels()
    tree["eakte"].parent = tree["lage"]  # moved two levels down
    db.session.commit()
    assert INDENT * 4 + "Akte, elektronisch" in labels()
    # A topic added in the open transaction is offered by that transaction at once.
    db.session.add(Topic(slug="neu-offen", name_de="Noch nicht gespeichert"))
    db.session.flush()
    assert "Noch nicht gespeichert" in labels()
    db.session.rollback()
    assert "Noch nicht gespeichert" not in labels()
