"""Real-browser fixtures: the app served on a free local port with the demo data, and
headless Debian Chromium driven by Playwright (docs/dependencies.md, README "Browser
tests").

The server is werkzeug's, in a thread of the test process, on a temporary instance of
its own (a SQLite file, a search index folder), filled by the same commands an operator
runs: `flask seed-demo` and `flask search reindex`. CSRF protection is on, as in
production: the browser submits the real forms.
"""
import shutil
import threading
from pathlib import Path

import pytest

from browser.support import AXE_SCRIPT, CHROMIUM, CHROMIUM_ARGS, VNU_JAR


def pytest_collection_modifyitems(items):
    """Every test here is a browser test, slow, and in one xdist group (one server)."""
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.xdist_group("browser"))


def _require_tools():
    missing = [str(path) for path in (Path(CHROMIUM), AXE_SCRIPT, VNU_JAR) if not path.exists()]
    if shutil.which("java") is None:
        missing.append("java")
    if missing:
        pytest.fail("browser test tools missing (run `make browser-deps`): " + ", ".join(missing))


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """Base URL of the app with the demo data, served in a thread; stopped at the end."""
    from werkzeug.serving import make_server

    from exchange import create_app
    from exchange.extensions import db

    _require_tools()
    folder = tmp_path_factory.mktemp("browser-instance")
    app = create_app({
        "INSTANCE_PATH": str(folder / "instance"),
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'exchange.db'}",
        "SECRET_KEY": "browser-test-secret",
        "INDEX_DIR": str(folder / "index"),
        "MAIL_LOG": str(folder / "mail.log"),
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "BABEL_DEFAULT_LOCALE": "de",
    })
    with app.app_context():
        db.create_all()
    runner = app.test_cli_runner()
    for command in (["seed-demo"], ["search", "reindex"]):
        result = runner.invoke(args=command)
        assert result.exit_code == 0, (command, result.output, result.exception)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="browser-live-server",
                              daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    base_app = app
    try:
        yield type("LiveServer", (), {"url": base, "app": base_app})()
    finally:
        server.shutdown()
        server.server_close()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium (Playwright's own browser download does not work here)."""
    from playwright.sync_api import sync_playwright

    _require_tools()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def new_context(browser, live_server):
    """Factory of fresh browser contexts (own cookies) on the live server, closed after
    the module.

    bypass_csp: the app sends a strict Content-Security-Policy (script-src 'self'), which
    would block injecting axe-core; bypassing it in the test browser changes nothing the
    page itself does."""
    contexts = []

    def make(**options):
        options.setdefault("viewport", {"width": 1280, "height": 900})
        # German staff's browser: the app picks the language from Accept-Language.
        options.setdefault("locale", "de-DE")
        context = browser.new_context(base_url=live_server.url, bypass_csp=True,
                                      accept_downloads=True, **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
