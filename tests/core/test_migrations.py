"""Migrations build exactly the models' schema and downgrade cleanly, on both databases."""
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from conftest import fresh_database_url
from exchange import create_app
from exchange.extensions import db


@pytest.fixture
def empty_database_url(tmp_path):
    """A database with no tables at all."""
    with fresh_database_url(tmp_path / "migrate.db", "m_") as url:
        yield url


def test_upgrade_matches_models_and_downgrade_removes_everything(empty_database_url, tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url,
                      "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path / "instance")})
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": False}
            )
            differences = compare_metadata(context, db.metadata)
        assert differences == []
        downgrade(revision="base")
        with db.engine.connect() as connection:
            remaining = set(sa.inspect(connection).get_table_names()) - {"alembic_version"}
        assert remaining == set()
        upgrade()
        db.engine.dispose()
