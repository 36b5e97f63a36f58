"""Start page (dashboard), language switch and a health check."""
from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..util import safe_next
from .hooks import fill

bp = Blueprint("core", __name__)

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
