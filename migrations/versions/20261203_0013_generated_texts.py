"""agenda_sessions.generated, notifications.generated: generated texts as message ids (issue 10).

The agenda proposal and the notifications stored finished sentences in the language of
whoever triggered them, so English readers saw German. A JSON column per table keeps,
per field, the message id and its parameters (exchange/generated.py); the plain columns
keep the German rendering. Existing rows get NULL: no generated text, shown as stored.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 15:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

TABLES = ('agenda_sessions', 'notifications')


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('generated', sa.JSON(), nullable=True))


def downgrade():
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('generated')
