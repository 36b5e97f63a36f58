"""api_tokens.scopes, api_tokens.expires_at: what a token may do and until when (issue 11).

A token could do everything its owner may do, for ever. It now carries scopes ("read",
or "read write": write implies read) and an expiry: new tokens work 90 days unless their
owner picks another last day, one year at most (exchange/auth/services.py).

Existing tokens get what they could do before, "read write", so no script loses write
access at the upgrade. They get the longest life a new token may have: they expire at
the first midnight (UTC) a year after this upgrade, not never. "Never" would leave forgotten tokens
working for ever and make every check and the profile page handle a missing date;
a year gives their owners time to replace them with scoped tokens, and after it every
token in the database follows the same rule. The profile page and `flask tokens list`
show the date.

The downgrade drops both columns: tokens then work without limit again.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 17:00:00
"""
from datetime import datetime, timedelta, timezone

from alembic import op
import sqlalchemy as sa

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

#: Scopes of the tokens that exist at the upgrade: everything, as before.
EXISTING_SCOPES = 'read write'
#: Days the existing tokens keep working after the upgrade (services.MAX_TOKEN_DAYS).
EXISTING_DAYS = 365


def upgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scopes', sa.String(length=40), nullable=False,
                                      server_default=EXISTING_SCOPES))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))
    today = datetime.now(timezone.utc).replace(tzinfo=None, hour=0, minute=0, second=0,
                                               microsecond=0)
    tokens = sa.table('api_tokens', sa.column('expires_at', sa.DateTime()))
    op.get_bind().execute(tokens.update().values(
        expires_at=today + timedelta(days=EXISTING_DAYS + 1)))
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        # The default was only for the existing rows; the application always sets both.
        batch_op.alter_column('scopes', existing_type=sa.String(length=40),
                              existing_nullable=False, server_default=None)
        batch_op.alter_column('expires_at', existing_type=sa.DateTime(), nullable=False)


def downgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
        batch_op.drop_column('scopes')
