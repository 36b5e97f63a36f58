"""Fixtures for export/import tests: a populated database and a way to empty it."""
import io

import pytest

from conftest import empty_all_tables
from exchange.extensions import db
from exchange.transfer import export_jsonl, import_jsonl


def empty_database() -> None:
    """Delete every row (like the app fixture's teardown) so an import starts from nothing."""
    db.session.remove()
    empty_all_tables()


def export_text() -> str:
    """The full export as one string."""
    handle = io.StringIO()
    export_jsonl(handle)
    return handle.getvalue()


def import_text(text: str) -> str:
    """Import a JSON Lines string and commit; returns the summary."""
    summary = import_jsonl(io.StringIO(text))
    db.session.commit()
    return summary


class Transfer:
    """Test helper: export, import and empty the database."""

    export = staticmethod(export_text)
    load = staticmethod(import_text)
    empty = staticmethod(empty_database)


@pytest.fixture
def transfer(app):
    """Export/import helpers bound to the test's app."""
    return Transfer()
