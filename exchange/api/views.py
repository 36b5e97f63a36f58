"""The /api/v1 blueprint (flask-smorest, so the OpenAPI document is built from the views);
each domain's endpoints live in their own module of this package."""
from flask import Flask
from flask_smorest import Blueprint

from . import problems

bp = Blueprint("api", __name__, url_prefix="/api/v1",
               description="City Exchange API v1 (docs/api.md)")
problems.register(bp)

#: Modules that add routes to `bp`, one per domain.
ENDPOINT_MODULES = ("cities", "wiki", "search", "matching", "projects", "visits")


def _load_endpoint_modules() -> None:
    from .. import import_domain_module

    for name in ENDPOINT_MODULES:
        import_domain_module("api", name)


def init_app(app: Flask):
    """Build this app's Api (the OpenAPI document at /api/v1/openapi.json) and register
    the blueprint through it, plus the docs page (/api/v1/docs).

    One Api per app, not an unbound one in extensions.py: its spec is filled while
    blueprints are registered, and tests build many apps in one process.
    """
    from . import docs, spec

    api = spec.ExchangeApi(app, spec_kwargs=spec.spec_options(app))
    api.register_blueprint(bp)
    spec.finish(api)
    app.register_blueprint(docs.bp)
    return api


_load_endpoint_modules()
