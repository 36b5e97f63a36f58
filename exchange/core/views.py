"""Start page (dashboard), language switch, health check and the legal pages."""
from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..util import safe_next
from . import accessibility
from .hooks import fill
from .legal import legal_texts

bp = Blueprint("core", __name__)
bp.record_once(lambda state: accessibility.init_app(state.app))

@bp.route("/")
@login_required
def index():
    """The dashboard: recent changes, upcoming visits, open invitations."""
    sections = fill("dashboard", user=current_user)
    return render_template("core/index.html", sections=sections)


@bp.route("/lang/<code>")
def set_language(code: str):
    """Switch the interface language and go back where the user came from."""
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next") or request.referrer,
                              url_for("core.index")))


def _legal_page(template: str):
    """A legal page: our text plus the operator's parts (exchange/core/legal.py)."""
    return render_template(template, legal=legal_texts(str(get_locale())))


@bp.route("/barrierefreiheit")
def accessibility_statement():
    """Erklärung zur Barrierefreiheit (BITV 2.0 § 7): status, known limits, feedback,
    enforcement body. Open without login, linked in every page's footer."""
    return _legal_page("core/legal_accessibility.html")


@bp.route("/impressum")
def imprint():
    """Impressum: the operator's details (instance/legal/betreiber.*.md, impressum.*.md)."""
    return _legal_page("core/legal_imprint.html")


@bp.route("/datenschutz")
def privacy():
    """Datenschutzerklärung: what the application stores, plus the operator's part."""
    return _legal_page("core/legal_privacy.html")


@bp.route("/healthz")
def health():
    """Health check: 200 while the database answers (the app serves), 503 when not.

    `status` is "degraded" when search lags or cannot be updated: index damaged or
    unavailable, index folder read-only or full, outbox lag, a dead, stuck or failing
    worker (details under `search`); or when mail waits too long (under `mail`). A load
    balancer keeps the server on "degraded"; monitoring alerts on it.
    """
    from ..projects.mail import health as mail_health
    from ..search.worker import health as search_health

    try:
        db.session.execute(db.text("SELECT 1"))
    except SQLAlchemyError as error:
        db.session.rollback()
        current_app.logger.error("health check: database unavailable: %s", error)
        return jsonify(status="error", database="unavailable"), 503
    try:
        search = search_health()
    except SQLAlchemyError as error:
        current_app.logger.error("health check: search state unreadable: %s", error)
        search = {"status": "degraded", "error": "search state unreadable"}
    try:
        mail = mail_health()
    except SQLAlchemyError as error:
        current_app.logger.error("health check: mail queue unreadable: %s", error)
        mail = {"status": "degraded", "error": "mail queue unreadable"}
    states = (search.pop("status"), mail.pop("status"))
    return jsonify(status="degraded" if "degraded" in states else "ok", database="ok",
                   search=search, mail=mail)
