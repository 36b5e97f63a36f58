"""Start page (dashboard), language switch and a health check."""
from urllib.parse import urlparse

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from ..extensions import db
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
    target = request.args.get("next") or request.referrer or url_for("core.index")
    if urlparse(target).netloc not in ("", request.host):
        target = url_for("core.index")
    return redirect(target)


@bp.route("/healthz")
def health():
    """Liveness probe for the load balancer: the database answers."""
    db.session.execute(db.text("SELECT 1"))
    return jsonify(status="ok")
