"""The /api/v1 blueprint; each domain's endpoints live in their own module of this package."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

#: Modules that add routes to `bp`, one per domain.
ENDPOINT_MODULES = ("cities", "wiki", "search", "matching", "projects", "visits")


def _load_endpoint_modules() -> None:
    from .. import import_domain_module

    for name in ENDPOINT_MODULES:
        import_domain_module("api", name)


_load_endpoint_modules()
