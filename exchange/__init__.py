"""City Exchange: create_app() builds the Flask application from small configure steps."""
import importlib
import importlib.util
import logging
import os
from pathlib import Path

from urllib.parse import unquote, urlsplit

from flask import (Flask, current_app, flash, has_request_context, jsonify, redirect,
                   render_template, request, session, url_for)
from flask_babel import get_locale, lazy_gettext
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest, HTTPException, SecurityError

from .config import apply_layers
from .extensions import babel, csrf, db, login_manager, migrate
from .util import safe_next

ROOT = Path(__file__).resolve().parent.parent

#: Domain packages, in dependency order. Each may have `models`, `views` (a blueprint
#: named `bp`) and `cli` (a `register(app)` function); create_app() wires what exists.
DOMAINS = ("core", "auth", "cities", "wiki", "search", "matching", "projects", "visits", "audit",
           "api")

log = logging.getLogger(__name__)


def create_app(config: dict | None = None) -> Flask:
    """Application factory: config layers, extensions, blueprints, CLI, error pages."""
    instance_path = (config or {}).get("INSTANCE_PATH") or os.environ.get("EXCHANGE_INSTANCE_PATH")
    app = Flask(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    apply_layers(app, config)
    configure_request_guards(app)
    configure_extensions(app)
    configure_domains(app)
    configure_templates(app)
    configure_errors(app)
    configure_security_headers(app)
    from . import cli

    cli.register(app)
    return app


def configure_request_guards(app: Flask) -> None:
    """Bounded `<int:...>` URL parts and refusal of NUL characters, for every route."""
    from .core.guard import BoundedIntegerConverter, refuse_nul_characters

    app.url_map.converters["int"] = BoundedIntegerConverter
    app.before_request(refuse_nul_characters)


def import_domain_module(domain: str, name: str):
    """Import exchange.<domain>.<name> if that module exists, else return None."""
    qualified = f"{__name__}.{domain}.{name}"
    if importlib.util.find_spec(qualified) is None:
        return None
    return importlib.import_module(qualified)


def import_models() -> None:
    """Import every domain's models so the metadata knows all tables."""
    for domain in DOMAINS:
        import_domain_module(domain, "models")


def configure_extensions(app: Flask) -> None:
    """Bind the unbound extensions from extensions.py."""
    import_models()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    login_manager.login_message = lazy_gettext("Bitte melden Sie sich an, um diese Seite zu sehen.")
    from .auth import login  # noqa: F401  (registers the user loaders)
    babel.init_app(app, locale_selector=select_locale)
    from .i18n import ensure_compiled

    ensure_compiled(app)  # a missing or outdated .mo would silently show German


def select_locale() -> str:
    """German first: explicit choice, then the user's setting, then the browser, then de."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        # Services and CLI commands translate messages too; they get the default.
        return languages[0]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if current_user and getattr(current_user, "is_authenticated", False):
        if current_user.locale in languages:
            return current_user.locale
    return request.accept_languages.best_match(languages) or languages[0]


def configure_domains(app: Flask) -> None:
    """Register each domain's blueprint."""
    for domain in DOMAINS:
        module = import_domain_module(domain, "views")
        if module is not None and hasattr(module, "init_app"):
            module.init_app(app)  # the API: registered through flask-smorest's Api
        elif module is not None and hasattr(module, "bp"):
            app.register_blueprint(module.bp)
    from .auth import privacy

    app.register_blueprint(privacy.bp)


def configure_templates(app: Flask) -> None:
    """Jinja helpers available in every template."""
    from . import formatting
    from .markup import render_markdown

    formatting.register(app)

    def has_endpoint(endpoint: str) -> bool:
        return endpoint in app.view_functions

    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.globals["has_endpoint"] = has_endpoint
    from .auth.permissions import can_review_registrations

    # The header links the approval queue for those who have one (issue 12).
    app.jinja_env.globals["can_review_registrations"] = can_review_registrations
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.add_extension("jinja2.ext.do")

    @app.context_processor
    def inject_layout():
        return {"languages": app.config["LANGUAGES"]}


def configure_security_headers(app: Flask) -> None:
    """Security headers on every response: pages, JSON, files, redirects and errors.

    The policy allows only our own files (no inline script or style: templates use
    static/app.js and static/style.css), no plugins, no framing by other sites, forms
    and <base> only to us (docs/OPERATIONS.md, "Reverse proxy", for HSTS).
    """
    headers = {
        "Content-Security-Policy": app.config["CONTENT_SECURITY_POLICY"],
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
        "Referrer-Policy": app.config["REFERRER_POLICY"],
    }

    @app.after_request
    def add_security_headers(response):
        for name, value in headers.items():
            if value:
                response.headers.setdefault(name, value)
        return response


def wants_json() -> bool:
    """API paths and clients that ask for JSON get JSON errors."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


#: Flask-WTF's reasons for refusing a form that a person's own browser runs into: the
#: form was open longer than WTF_CSRF_TIME_LIMIT, or the session changed since it was
#: loaded (a login or logout, also in another tab, starts a fresh session and token).
CSRF_EXPIRED = "The CSRF token has expired."
CSRF_SESSION_CHANGED = ("The CSRF session token is missing.", "The CSRF tokens do not match.")


def refused_form(error: CSRFError):
    """A form refused by the CSRF check. A stale form (expired, or from before a login or
    logout) is a person's: they are sent back to the page with the form and a message
    (nothing was changed). A form without a valid token at all is a forgery or a broken
    client: 400 with the message, as JSON for API clients."""
    stale = True
    if error.description == CSRF_EXPIRED:
        message = _("Das Formular war zu lange geöffnet und ist aus Sicherheitsgründen "
                    "abgelaufen; Ihre Eingaben wurden nicht gespeichert. Bitte senden Sie "
                    "es noch einmal ab.")
    elif error.description in CSRF_SESSION_CHANGED:
        message = _("Sie haben sich an- oder abgemeldet, seit das Formular geladen wurde; "
                    "Ihre Eingaben wurden nicht gespeichert. Bitte senden Sie es noch "
                    "einmal ab.")
    else:
        stale = False
        message = _("Das Formular konnte nicht überprüft werden (CSRF-Schutz: das "
                    "Sicherheitsmerkmal fehlt oder ist ungültig). Bitte laden Sie die Seite "
                    "neu und senden Sie das Formular noch einmal ab.")
    if wants_json():
        return jsonify(error={"status": 400, "name": "Bad Request", "message": message}), 400
    if not stale:
        return render_template("errors.html", error=BadRequest(message)), 400
    flash(message, "error")
    return redirect(form_page(), code=303)


def form_page() -> str:
    """The page a refused form was on: the referrer, else the form's own URL, if it is a
    page of ours that answers GET; else the dashboard."""
    adapter = current_app.create_url_adapter(request)
    for candidate in (request.referrer, request.full_path):
        path = safe_next(candidate, None)
        if path is None:
            continue
        try:
            adapter.match(unquote(urlsplit(path).path), method="GET")
        except HTTPException:  # not found, POST only, or a redirect
            continue
        return path
    return url_for("core.index")


def configure_errors(app: Flask) -> None:
    """HTML error pages for people, JSON errors for API clients."""

    app.register_error_handler(CSRFError, refused_form)

    from .api import problems

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if problems.is_api_request():
            return problems.handle_error(error)  # routes not found, 405, 413: problems too
        if wants_json():
            response = jsonify(error={"status": error.code, "name": error.name,
                                      "message": error.description})
            return response, error.code
        if isinstance(error, SecurityError):
            # A Host header not in TRUSTED_HOSTS: no URL can be built for it, so no page.
            return (_("Diese Adresse bedient der Server nicht (Host nicht vertrauenswürdig)."),
                    error.code, {"Content-Type": "text/plain; charset=utf-8"})
        return render_template("errors.html", error=error), error.code

    from .core import lost_connection

    lost_connection.install(app)
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:  # outermost: the client address and scheme are known before anything else
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        if lost_connection.is_lost_connection(error):
            return lost_connection.lost_connection(error)
        log.exception("Unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        if problems.is_api_request():
            return problems.problem_response(500, _("Ein unerwarteter Fehler ist aufgetreten."),
                                             name="Internal Server Error")
        if wants_json():
            return jsonify(error={"status": 500, "name": "Internal Server Error",
                                  "message": "An unexpected error occurred."}), 500
        return render_template("errors.html", error=None), 500
