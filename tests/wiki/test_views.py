"""The wiki's pages: write, edit, history, diff, restore, permissions, XSS, conflicts."""
import re

import pytest
import sqlalchemy as sa

from conftest import session_login

from exchange.extensions import db
from exchange.wiki import services
from exchange.wiki.models import Experience


def form_data(**fields):
    data = {"title": "Digitalisierungslotsen in jedem Amt", "kind": "practice",
            "topics": [], "body": "# Lotsen\n\nJedes Amt hat eine Lotsin.",
            "contact_name": "Anna Schmid", "contact_email": "anna@stuttgart.example",
            "status": "draft", "summary": "", "slug": ""}
    data.update(fields)
    return data


def base_of(html: str) -> str:
    return re.search(r'name="base_revision" type="hidden" value="(\d+)"', html).group(1)


def test_pages_need_login(client, anna, make_experience):
    experience = make_experience(anna)
    for path in ("/erfahrungen", "/erfahrungen/neu", f"/erfahrungen/{experience.slug}",
                 "/aenderungen"):
        response = client.get(path)
        assert response.status_code in (302, 401)


def test_write_edit_history_diff_restore_flow(client, login, anna, topics):
    login(anna)
    response = client.get("/erfahrungen/neu")
    assert response.status_code == 200 and "Neue Erfahrung" in response.text
    assert 'value="Anna Schmid"' in response.text  # contact prefilled

    response = client.post("/erfahrungen/neu",
                           data=form_data(topics=["eakte", "mobilitaet"], summary="Start"))
    assert response.status_code == 302
    slug = "digitalisierungslotsen-in-jedem-amt"
    assert response.headers["Location"].endswith(f"/erfahrungen/{slug}")

    page = client.get(f"/erfahrungen/{slug}").text
    assert "<h1>Lotsen</h1>" in page
    assert "Version 1 von 1" in page and "Entwurf" in page and "Stuttgart" in page
    assert "Mobilität" in page and "Bewährte Praxis" in page

    edit = client.get(f"/erfahrungen/{slug}/bearbeiten").text
    base = base_of(edit)
    response = client.post(f"/erfahrungen/{slug}/bearbeiten", data=form_data(
        body="# Lotsen\n\nJedes Amt hat zwei Lotsinnen.", base_revision=base,
        topics=["eakte"], summary="Zahl korrigiert"))
    assert response.status_code == 302
    page = client.get(f"/erfahrungen/{slug}").text
    assert "zwei Lotsinnen" in page and "Version 2 von 2" in page

    history = client.get(f"/erfahrungen/{slug}/versionen").text
    assert "Zahl korrigiert" in history and "Start" in history
    assert 'name="von" value="1"' in history and 'name="bis" value="2"' in history

    diff = client.get(f"/erfahrungen/{slug}/vergleich?von=1&bis=2").text
    assert '<del class="word">eine Lotsin</del>' in diff
    assert '<ins class="word">zwei Lotsinnen</ins>' in diff

    old = client.get(f"/erfahrungen/{slug}/versionen/1").text
    assert "eine Lotsin" in old and "Version 1" in old

    response = client.post(f"/erfahrungen/{slug}/versionen/1/wiederherstellen")
    assert response.status_code == 302
    experience = services.get_experience(slug)
    db.session.refresh(experience)
    assert [r.number for r in experience.revisions] == [1, 2, 3]
    assert "eine Lotsin" in experience.body
    assert experience.current_revision.restored_from_id == experience.revisions[0].id


def test_publish_unpublish_delete(client, login, anna, max_muenchen, make_experience):
    experience = make_experience(anna, status="draft")
    slug = experience.slug
    login(max_muenchen)
    assert client.get(f"/erfahrungen/{slug}").status_code == 404  # foreign draft
    login(anna)
    assert client.post(f"/erfahrungen/{slug}/veroeffentlichen").status_code == 302
    login(max_muenchen)
    assert client.get(f"/erfahrungen/{slug}").status_code == 200
    login(anna)
    client.post(f"/erfahrungen/{slug}/zurueckziehen")
    db.session.expire_all()
    assert experience.status == "draft"
    client.post(f"/erfahrungen/{slug}/loeschen")
    db.session.expire_all()
    assert experience.deleted_at is not None
    assert client.get(f"/erfahrungen/{slug}").status_code == 404


def test_munich_staff_may_read_but_not_edit_stuttgart(client, login, anna, max_muenchen,
                                                      make_experience):
    experience = make_experience(anna)
    login(max_muenchen)
    assert client.get(f"/erfahrungen/{experience.slug}").status_code == 200
    assert "Bearbeiten" not in client.get(f"/erfahrungen/{experience.slug}").text
    assert client.get(f"/erfahrungen/{experience.slug}/bearbeiten").status_code == 403
    response = client.post(f"/erfahrungen/{experience.slug}/bearbeiten", data=form_data(
        base_revision=experience.current_revision_id, body="übernommen"))
    assert response.status_code == 403
    for action in ("veroeffentlichen", "zurueckziehen", "loeschen",
                   "versionen/1/wiederherstellen"):
        assert client.post(f"/erfahrungen/{experience.slug}/{action}").status_code == 403
    db.session.expire_all()
    assert experience.body == "Text" and experience.deleted_at is None
    assert len(experience.revisions) == 1


def test_drafts_are_listed_only_for_their_city(client, login, anna, max_muenchen,
                                               make_experience):
    make_experience(anna, title="Geheimer Entwurf", status="draft")
    make_experience(anna, title="Öffentlicher Bericht")
    login(max_muenchen)
    listing = client.get("/erfahrungen").text
    assert "Öffentlicher Bericht" in listing and "Geheimer Entwurf" not in listing
    assert "Geheimer Entwurf" not in client.get("/aenderungen").text
    assert "Geheimer Entwurf" not in client.get("/").text
    login(anna)
    listing = client.get("/erfahrungen?status=draft").text
    assert "Geheimer Entwurf" in listing and "Öffentlicher Bericht" not in listing
    dashboard = client.get("/").text
    assert "Entwürfe Ihrer Stadt" in dashboard and "Geheimer Entwurf" in dashboard


def test_the_city_filter_takes_what_was_typed(client, login, anna, max_muenchen,
                                              make_city, make_user, make_experience):
    make_experience(anna, title="E-Akte in Stuttgart")
    make_experience(max_muenchen, title="DMS in München")
    for slug, state in (("neustadt-holstein", "Schleswig-Holstein"),
                        ("neustadt-weinstrasse", "Rheinland-Pfalz")):
        writer = make_user(f"cdo@{slug}.example", city=make_city(slug, "Neustadt", state))
        make_experience(writer, title=f"Bericht aus {state}")
    login(anna)
    page = client.get("/erfahrungen").text
    assert '<datalist id="wiki-city-names">' in page and '<option value="München">' in page
    page = client.get("/erfahrungen?city=münchen").text  # a name, in any case
    assert "DMS in München" in page and "E-Akte in Stuttgart" not in page
    assert 'name="city" value="München"' in page
    page = client.get("/erfahrungen?city=Münch").text  # part of one
    assert "DMS in München" in page and "E-Akte in Stuttgart" not in page
    page = client.get("/erfahrungen?city=Neustadt&kind=practice").text  # two of that name
    assert "Welche Stadt meinen Sie?" in page and "Bericht aus" not in page
    assert 'href="/erfahrungen?city=neustadt-holstein&amp;kind=practice"' in page
    assert "(Rheinland-Pfalz)" in page


def test_the_city_filter_lists_no_names_when_thousands_write(client, login, anna,
                                                             make_experience, monkeypatch):
    from exchange.wiki import views

    make_experience(anna, title="E-Akte in Stuttgart")
    monkeypatch.setattr(views, "CITY_NAMES_LISTED", 0)
    login(anna)
    page = client.get("/erfahrungen").text
    assert "datalist" not in page and "E-Akte in Stuttgart" in page
    assert "E-Akte in Stuttgart" in client.get("/erfahrungen?city=Stuttgart").text


def test_list_filters_and_pagination(client, login, anna, max_muenchen, topics,
                                     make_experience):
    make_experience(anna, title="E-Akte in Stuttgart", topics=[topics["eakte"]])
    make_experience(max_muenchen, title="DMS in München", topics=[topics["dms"]],
                    kind="project_report")
    login(anna)
    page = client.get("/erfahrungen?city=muenchen").text
    assert "DMS in München" in page and "E-Akte in Stuttgart" not in page
    page = client.get("/erfahrungen?topic=eakte").text
    assert "E-Akte in Stuttgart" in page and "DMS in München" not in page
    page = client.get("/erfahrungen?kind=project_report").text
    assert "DMS in München" in page and "E-Akte in Stuttgart" not in page
    page = client.get("/erfahrungen?city=atlantis")
    assert page.status_code == 200 and "gibt es nicht" in page.text
    for number in range(21):
        make_experience(anna, title=f"Bericht Nummer {number:02d}")
    first = client.get("/erfahrungen").text
    second = client.get("/erfahrungen?page=2").text
    assert "Seite 1 von 2" in first and "Seite 2 von 2" in second
    assert client.get("/erfahrungen?page=abc").status_code == 200


def test_recent_changes_newest_first(client, login, anna, max_muenchen, make_experience):
    first = make_experience(anna, title="Erste Erfahrung")
    make_experience(max_muenchen, title="Zweite Erfahrung")
    services.update_experience(anna, first, first.current_revision_id, body="neu",
                               summary="Nachtrag")
    db.session.commit()
    login(max_muenchen)
    page = client.get("/aenderungen").text
    # Each page once: the edited one first (with its latest summary), then the other.
    assert page.index("Erste Erfahrung") < page.index("Nachtrag") < page.index(
        "Zweite Erfahrung")


def test_recent_changes_group_the_revisions_of_a_page(client, login, anna, max_muenchen,
                                                      make_experience, make_user, stuttgart):
    """Issue 12: a page edited five times was listed five times; now once, with the count,
    a link comparing the window's first and last version, and who wrote them."""
    from datetime import timedelta

    from exchange.util import utcnow

    eva = make_user("eva@stuttgart.example", city=stuttgart, display_name="Eva Roth")
    experience = make_experience(anna, title="Oft bearbeitet")
    for number in range(2, 6):
        author = anna if number % 2 else eva
        services.update_experience(author, experience, experience.current_revision_id,
                                   body=f"Fassung {number}", summary=f"Runde {number}")
    make_experience(max_muenchen, title="Einmal angelegt")
    db.session.commit()
    login(anna)
    page = client.get("/aenderungen").text
    assert page.count("Oft bearbeitet") == 1 and page.count("Einmal angelegt") == 1
    assert "5 Änderungen" in page and "Runde 5" in page and "Runde 4" not in page
    assert "Anna Schmid, Eva Roth" in page  # most recent author first
    assert "2 Erfahrungen geändert" in page
    # Older revisions fall out of the window: only the last two are within a week.
    revisions = sorted(experience.revisions, key=lambda r: r.number)
    for revision in revisions[:3]:
        revision.created_at = utcnow() - timedelta(days=10)
    db.session.commit()
    week = client.get("/aenderungen?tage=7").text
    assert "2 Änderungen" in week
    assert "von=3&amp;bis=5" in week
    month = client.get("/aenderungen?tage=30").text
    assert "5 Änderungen" in month
    assert client.get("/aenderungen?tage=abc").status_code == 200


@pytest.mark.parametrize("fields, message", [
    ({"title": ""}, "Bitte geben Sie einen Titel ein."),
    ({"title": "x" * 201}, "200"),
    ({"contact_email": "nicht-gueltig"}, "gültige E-Mail-Adresse"),
    ({"topics": ["gibt-es-nicht"]}, "Unbekannte Themen"),
    ({"kind": "klatsch"}, "Keine gültige Auswahl"),
])
def test_new_form_shows_errors_and_stores_nothing(client, login, anna, topics, fields,
                                                  message):
    login(anna)
    response = client.post("/erfahrungen/neu", data=form_data(**fields))
    assert response.status_code == 200
    assert message in response.text
    assert db.session.scalar(sa.select(sa.func.count(Experience.id))) == 0


def test_duplicate_explicit_slug_is_a_form_error(client, login, anna, make_experience):
    existing = make_experience(anna)
    login(anna)
    response = client.post("/erfahrungen/neu", data=form_data(slug=existing.slug))
    assert "schon vergeben" in response.text


def test_xss_does_not_survive_rendering(client, login, anna, make_experience):
    body = ('Hallo <script>alert("x")</script>\n\n<img src="x" onerror="alert(1)">\n\n'
            '[klick](javascript:alert(1)) <a href="javascript:alert(2)">b</a>')
    experience = make_experience(anna, title='<script>alert("t")</script>', body=body)
    services.update_experience(anna, experience, experience.current_revision_id,
                               body=body + "\n<script>neu()</script>")
    db.session.commit()
    login(anna)
    slug = experience.slug
    for path in (f"/erfahrungen/{slug}", f"/erfahrungen/{slug}/versionen/1",
                 f"/erfahrungen/{slug}/vergleich?von=1&bis=2", f"/erfahrungen/{slug}/versionen",
                 "/erfahrungen", "/aenderungen", "/"):
        # Our one script file is allowed (the page's own, from /static); nothing else.
        html = client.get(path).text.replace('<script src="/static/app.js" defer></script>', "")
        assert "<script" not in html.lower(), path
        assert not re.search(r"<[^>]*\sonerror\s*=", html, re.IGNORECASE), path
        assert not re.search(r"href\s*=\s*[\"']?\s*javascript:", html, re.IGNORECASE), path
    page = client.get(f"/erfahrungen/{slug}").text
    assert "&lt;script&gt;alert(&#34;t&#34;)&lt;/script&gt;" in page  # title shown as text


def test_conflict_keeps_users_text_and_shows_other_change(client, login, anna, cdo_stuttgart,
                                                          make_experience):
    experience = make_experience(anna, body="Absatz eins.\n\nAbsatz zwei.")
    slug = experience.slug
    login(anna)
    base = base_of(client.get(f"/erfahrungen/{slug}/bearbeiten").text)
    # Meanwhile the CDO saves a change.
    services.update_experience(cdo_stuttgart, experience, int(base),
                               body="Absatz eins.\n\nAbsatz zwei, vom CDO ergänzt.")
    db.session.commit()
    response = client.post(f"/erfahrungen/{slug}/bearbeiten", data=form_data(
        title=experience.title, body="Absatz eins, von Anna.\n\nAbsatz zwei.",
        base_revision=base))
    assert response.status_code == 200
    html = response.text
    assert "Bearbeitungskonflikt" in html and "NICHT gespeichert" in html
    assert "Dr. Thomas Berger" in html
    assert '<ins class="word">, vom CDO ergänzt</ins>' in html or "vom CDO" in html
    assert "Absatz eins, von Anna." in html  # the user's text is still in the form
    db.session.expire_all()
    assert experience.body == "Absatz eins.\n\nAbsatz zwei, vom CDO ergänzt."
    new_base = base_of(html)
    assert new_base == str(experience.current_revision_id) != base
    # Merged text against the new base saves.
    response = client.post(f"/erfahrungen/{slug}/bearbeiten", data=form_data(
        title=experience.title, body="Absatz eins, von Anna.\n\nAbsatz zwei, vom CDO ergänzt.",
        base_revision=new_base))
    assert response.status_code == 302
    db.session.expire_all()
    assert experience.current_revision.number == 3
    assert experience.body == "Absatz eins, von Anna.\n\nAbsatz zwei, vom CDO ergänzt."


def test_bad_revision_numbers_are_404(client, login, anna, make_experience):
    experience = make_experience(anna)
    login(anna)
    slug = experience.slug
    assert client.get(f"/erfahrungen/{slug}/versionen/9").status_code == 404
    response = client.get(f"/erfahrungen/{slug}/vergleich?von=1&bis=7")
    assert response.status_code == 404
    assert client.get(f"/erfahrungen/{slug}/vergleich?von=abc").status_code == 404
    assert client.post(f"/erfahrungen/{slug}/versionen/5/wiederherstellen").status_code == 404
    assert client.get("/erfahrungen/gibt-es-nicht").status_code == 404


def test_restore_of_current_text_is_a_message_not_an_error(client, login, anna,
                                                           make_experience):
    experience = make_experience(anna)
    login(anna)
    response = client.post(f"/erfahrungen/{experience.slug}/versionen/1/wiederherstellen",
                           follow_redirects=True)
    assert response.status_code == 200
    assert "entspricht bereits der aktuellen Fassung" in response.text


def test_csrf_protects_wiki_forms(app_config, anna, make_experience):
    from exchange import create_app

    experience = make_experience(anna)
    app_config["WTF_CSRF_ENABLED"] = True
    csrf_app = create_app(app_config)
    client = session_login(csrf_app.test_client(), anna)
    with csrf_app.app_context():
        response = client.post(f"/erfahrungen/{experience.slug}/loeschen")
        assert response.status_code == 400
        response = client.post("/erfahrungen/neu", data=form_data())
        assert response.status_code in (200, 400)
        assert db.session.scalar(sa.select(sa.func.count(Experience.id))) == 1


def test_platform_admin_chooses_the_city(client, login, admin, stuttgart, muenchen):
    login(admin)
    page = client.get("/erfahrungen/neu").text
    assert 'name="city"' in page and "München" in page
    response = client.post("/erfahrungen/neu", data=form_data(city="muenchen"))
    assert response.status_code == 302
    experience = services.get_experience("digitalisierungslotsen-in-jedem-amt")
    assert experience.city == muenchen and experience.current_revision.author == admin
    assert client.get("/").status_code == 200


def test_staff_cannot_smuggle_another_city_into_the_form(client, login, anna, muenchen):
    login(anna)
    response = client.post("/erfahrungen/neu", data=form_data(city="muenchen"))
    assert response.status_code == 302
    assert services.get_experience("digitalisierungslotsen-in-jedem-amt").city == anna.city


def test_user_without_city_cannot_open_the_form(client, login, make_user):
    loner = make_user("ohne@stadt.example")
    login(loner)
    assert client.get("/erfahrungen/neu").status_code == 403
    assert "Neue Erfahrung" not in client.get("/erfahrungen").text


def test_compare_counts_lines_in_singular_and_plural(client, login, anna, make_experience):
    experience = make_experience(anna, body="Eins.\n\nZwei.")
    services.update_experience(anna, experience, experience.current_revision_id,
                               body="Eins.\n\nZwei, geändert.\n\nDrei.\n\nVier.")
    db.session.commit()
    login(anna)
    html = client.get(f"/erfahrungen/{experience.slug}/vergleich?von=1&bis=2").text
    assert "1 Zeile entfernt, 5 Zeilen hinzugefügt" in html


def test_times_are_shown_in_german_local_time(client, login, anna, make_experience):
    from datetime import datetime

    experience = make_experience(anna)
    # Stored as naive UTC: 23:30 UTC on 25 November is 00:30 on the 26th in Berlin.
    experience.current_revision.created_at = datetime(2026, 11, 25, 23, 30)
    experience.created_at = experience.updated_at = datetime(2026, 11, 25, 23, 30)
    experience.published_at = datetime(2026, 11, 25, 23, 30)
    db.session.commit()
    login(anna)
    assert "26.11.2026, 00:30" in client.get(f"/erfahrungen/{experience.slug}/versionen").text
    assert "26.11.2026, 00:30" in client.get("/aenderungen").text
    page = client.get(f"/erfahrungen/{experience.slug}").text
    assert "26.11.2026, 00:30" in page and "25.11.2026" not in page


def test_history_names_a_restore_once(client, login, anna, make_experience):
    """Issue 12: a restored revision read "Version 1 wiederhergestellt (wiederhergestellt)"."""
    experience = make_experience(anna, title="Wiederherstellen", body="Erste Fassung")
    services.update_experience(anna, experience, experience.current_revision_id,
                               body="Zweite Fassung", summary="Überarbeitet")
    first, second = sorted(experience.revisions, key=lambda r: r.number)
    services.restore_revision(anna, experience, first)
    services.update_experience(anna, experience, experience.current_revision_id,
                               body="Vierte Fassung", summary="Weiter")
    services.restore_revision(anna, experience, second,
                              summary="Zurück zur überarbeiteten Fassung")
    db.session.commit()
    login(anna)
    page = client.get(f"/erfahrungen/{experience.slug}/versionen").text
    assert page.count("Version 1 wiederhergestellt") == 1
    assert "(wiederhergestellt)" not in page
    assert "Zurück zur überarbeiteten Fassung" in page
    assert "(aus Version 2 wiederhergestellt)" in page
    client.get("/lang/en")
    english = client.get(f"/erfahrungen/{experience.slug}/versionen").text
    assert "Version 1 restored" in english and "(restored from version 2)" in english
