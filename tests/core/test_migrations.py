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


def test_existing_tokens_keep_their_rights_for_a_year(empty_database_url, tmp_path):
    """0014: tokens from before scopes get "read write" (what they could do) and expire
    one year after the upgrade; the downgrade removes both columns again."""
    from datetime import datetime, timedelta

    from exchange.util import utcnow

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url,
                      "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path / "instance")})
    with app.app_context():
        upgrade(revision="0013")
        now = utcnow()
        with db.engine.begin() as connection:
            meta = sa.MetaData()
            users = sa.Table("users", meta, autoload_with=connection)
            tokens = sa.Table("api_tokens", meta, autoload_with=connection)
            user_id = connection.execute(users.insert().values(
                email="anna@stuttgart.example", display_name="Anna", role="staff",
                is_admin=False, is_approved=True, created_at=now)).inserted_primary_key[0]
            connection.execute(tokens.insert().values(
                user_id=user_id, name="Skript", token_hash="a" * 64, prefix="cx_abcdefg",
                created_at=now))
        upgrade()
        with db.engine.connect() as connection:
            scopes, expires_at = connection.execute(
                sa.text("SELECT scopes, expires_at FROM api_tokens")).one()
        assert scopes == "read write"
        if isinstance(expires_at, str):  # SQLite through a text query
            expires_at = datetime.fromisoformat(expires_at)
        assert timedelta(days=365) <= expires_at - now <= timedelta(days=367)
        downgrade(revision="0013")
        with db.engine.connect() as connection:
            columns = {column["name"] for column in sa.inspect(connection).get_columns("api_tokens")}
        assert not {"scopes", "expires_at"} & columns and "token_hash" in columns
        downgrade(revision="base")
        db.engine.dispose()
