"""English catalogue: complete, compiles, loaded at startup, used after /lang/en."""
import gettext
import os
import re
import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale
from flask_babel import gettext as flask_gettext

from exchange import create_app
from exchange.i18n import compile_catalogue, forget_loaded_translations

PO = Path(__file__).resolve().parents[2] / "exchange/translations/en/LC_MESSAGES/messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


@pytest.fixture(scope="module")
def catalogue():
    with PO.open("rb") as handle:
        return read_po(handle, locale="en")


def _forms(value) -> tuple:
    return value if isinstance(value, tuple) else (value,)


def test_every_msgid_has_an_english_translation(catalogue):
    messages = [message for message in catalogue if message.id]
    assert len(messages) > 500
    untranslated = [message.id for message in messages
                    if not all(text and text.strip() for text in _forms(message.string))]
    assert untranslated == []
    assert [message.id for message in messages if message.fuzzy] == []
    for message in messages:
        for source, text in zip(_forms(message.id), _forms(message.string)):
            assert sorted(PLACEHOLDER.findall(source)) == sorted(PLACEHOLDER.findall(text)), \
                message.id
        if message.pluralizable:
            assert len(_forms(message.string)) == 2, message.id
    assert [error for error in catalogue.check() if error[1]] == []


def test_catalogue_compiles_and_reads_back(catalogue, tmp_path):
    mo = tmp_path / "messages.mo"
    compile_catalogue(PO, mo)
    with mo.open("rb") as handle:
        english = gettext.GNUTranslations(handle)
    assert english.gettext("Anmelden") == "Log in"
    assert english.ngettext("%(num)s Erfahrung", "%(num)s Erfahrungen", 1) == "%(num)s experience"
    assert english.ngettext("%(num)s Erfahrung", "%(num)s Erfahrungen", 3) == "%(num)s experiences"
    assert english.gettext("Willkommen, %(name)s") % {"name": "Anna"} == "Welcome, Anna"


@pytest.fixture
def fresh_translation_cache(app):
    """Flask-Babel caches catalogues per process; keep this test's catalogue out of others."""
    forget_loaded_translations(app)
    yield
    forget_loaded_translations(app)


def test_create_app_compiles_a_missing_or_outdated_catalogue(app_config, tmp_path,
                                                             fresh_translation_cache):
    directory = tmp_path / "translations"
    (directory / "en/LC_MESSAGES").mkdir(parents=True)
    po = directory / "en/LC_MESSAGES/messages.po"
    mo = po.with_suffix(".mo")
    shutil.copy(PO, po)
    app_config["BABEL_TRANSLATION_DIRECTORIES"] = str(directory)

    app = create_app(app_config)
    assert mo.exists()
    with app.test_request_context(), force_locale("en"):
        assert flask_gettext("Passwort") == "Password"

    # An edited .po (newer than its .mo) is compiled again on the next start.
    po.write_text(po.read_text(encoding="utf-8").replace('msgstr "Password"',
                                                        'msgstr "Passphrase"'),
                  encoding="utf-8")
    os.utime(mo, (po.stat().st_mtime - 60, po.stat().st_mtime - 60))
    app = create_app(app_config)
    assert mo.stat().st_mtime >= po.stat().st_mtime
    with app.test_request_context(), force_locale("en"):
        assert flask_gettext("Passwort") == "Passphrase"


def test_german_by_default(client, auth, anna):
    html = client.get("/login").text
    assert "<h1>Anmelden</h1>" in html and "E-Mail-Adresse" in html
    auth.login()
    html = client.get("/").text
    assert "Willkommen, Anna Schmid" in html and "Letzte Änderungen" in html


def test_english_after_choosing_it(client, auth, anna):
    assert client.get("/lang/en").status_code == 302
    html = client.get("/login").text
    assert '<html lang="en">' in html
    assert "<h1>Log in</h1>" in html and "E-mail address" in html and "Password" in html
    assert "Anmelden" not in html

    # A German validation message from the form appears in English.
    html = client.post("/login", data={"email": "", "password": ""}).text
    assert "Please enter your e-mail address." in html
    assert "Bitte geben Sie" not in html

    auth.login()
    html = client.get("/").text
    assert "Welcome, Anna Schmid" in html and "Recent changes" in html
    assert "Willkommen" not in html and "Letzte Änderungen" not in html

    # A service's error (translated when raised) is English too.
    html = client.post("/erfahrungen/neu", data={
        "title": "", "kind": "practice", "status": "draft", "body": "Text"}).text
    assert "Please enter a title." in html
    assert "Bitte geben Sie einen Titel ein." not in html

    client.get("/lang/de")
    assert "Willkommen, Anna Schmid" in client.get("/").text
