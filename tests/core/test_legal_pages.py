"""The legal pages (issue 10): open without login, linked in every page's footer, the
operator's texts from LEGAL_DIR by part and language, clear defaults where they are missing."""
from pathlib import Path

import pytest

LEGAL = {"/barrierefreiheit": "Erklärung zur Barrierefreiheit", "/impressum": "Impressum",
         "/datenschutz": "Datenschutzerklärung"}


@pytest.mark.parametrize("url", LEGAL)
def test_legal_pages_open_logged_out_with_defaults_to_complete(client, url):
    response = client.get(url)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f"<h1>{LEGAL[url]}</h1>" in page
    assert "Vom Betreiber zu ergänzen." in page


@pytest.mark.parametrize("url", ["/login", "/registrieren", "/barrierefreiheit", "/nirgends"])
def test_every_page_links_the_legal_pages_in_its_footer(client, url):
    page = client.get(url).get_data(as_text=True)
    footer = page[page.index('<footer class="site-footer">'):]
    for target in LEGAL:
        assert f'href="{target}"' in footer, (url, target)


def test_footer_links_for_members_too(client, auth, anna):
    auth.login()
    footer = client.get("/").get_data(as_text=True).split('<footer class="site-footer">')[1]
    assert all(f'href="{target}"' in footer for target in LEGAL)


def test_statement_names_its_known_limits_and_the_enforcement_body(client):
    page = client.get("/barrierefreiheit").get_data(as_text=True)
    assert "teilweise" in page and "nicht getaggt" in page and "Themenauswahl" in page
    assert 'id="feedback"' in page and 'id="durchsetzung"' in page
    assert "Schlichtungsstelle" in page


def test_privacy_notice_lists_what_is_stored(client):
    page = client.get("/datenschutz").get_data(as_text=True)
    for fact in ("Sitzungscookie", "IP-Adresse", "Postausgang", "/profil/daten.json",
                 "/profil/loeschen", "Löschfrist"):
        assert fact in page, fact


def _write(app, name, text):
    folder = Path(app.instance_path) / "legal"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def test_operator_texts_replace_the_defaults_and_are_sanitised(app, client):
    _write(app, "betreiber.de.md", "**Stadt Musterstadt**, Rathausplatz 1<script>x()</script>")
    _write(app, "durchsetzungsstelle.md", "Landesbeauftragte für Barrierefreiheit, Musterland")
    imprint = client.get("/impressum").get_data(as_text=True)
    assert "<strong>Stadt Musterstadt</strong>" in imprint and "<script>x()" not in imprint
    assert "Vom Betreiber zu ergänzen." in imprint      # the further details are still missing
    assert "<strong>Stadt Musterstadt</strong>" in client.get("/datenschutz").get_data(as_text=True)
    assert "Landesbeauftragte für Barrierefreiheit" in \
        client.get("/barrierefreiheit").get_data(as_text=True)


def test_english_pages_use_the_english_text_or_mark_the_german_one(app, client):
    _write(app, "betreiber.de.md", "Stadt Musterstadt")
    client.get("/lang/en")
    page = client.get("/impressum").get_data(as_text=True)
    assert "<h1>Imprint</h1>" in page and "To be completed by the operator." in page
    assert '<div class="operator-text" lang="de">' in page
    _write(app, "betreiber.en.md", "City of Musterstadt")
    page = client.get("/impressum").get_data(as_text=True)
    assert "City of Musterstadt" in page and 'lang="de"' not in page.split("<main")[1]


def test_an_unreadable_operator_text_falls_back_to_the_default(app, client):
    folder = Path(app.instance_path) / "legal"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "impressum.de.md").write_bytes(b"\xff\xfe kaputt")
    response = client.get("/impressum")
    assert response.status_code == 200
    assert "Vom Betreiber zu ergänzen." in response.get_data(as_text=True)


def test_legal_dir_setting_chooses_the_folder(app, client, tmp_path):
    app.config["LEGAL_DIR"] = str(tmp_path / "texte")
    (tmp_path / "texte").mkdir()
    (tmp_path / "texte" / "kontakt-barrierefreiheit.de.md").write_text("barrierefrei@stadt.example")
    assert "barrierefrei@stadt.example" in client.get("/barrierefreiheit").get_data(as_text=True)
