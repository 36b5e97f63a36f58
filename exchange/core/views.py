"""Start page (dashboard), language switch and a health check."""
from urllib.parse import urlparse

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from ..extensions import db

bp = Blueprint("core", __name__)

#: Dashboard panels contributed by domains: name -> function(user) returning template data.
DASHBOARD_PANELS: dict = {}


def dashboard_panel(name: str):
    """Register a function that provides data for one dashboard panel."""
    def decorator(function):
        DASHBOARD_PANELS[name] = function
        return function
    return decorator


@bp.route("/")
@login_required
def index():
    """The dashboard: recent changes, upcoming visits, open invitations."""
    panels = {name: provide(current_user) for name, provide in DASHBOARD_PANELS.items()}
    return render_template("core/index.html", panels=panels)


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
