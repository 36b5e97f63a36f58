"""topics.description_en: the English description of a topic (issue 10).

English pages showed every topic's German description. The seed fills the English text of
the story topics and of the OZG catalogue's entries; imported or older topics without one
fall back to the German description, marked lang="de".

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 14:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('topics', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description_en', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('topics', schema=None) as batch_op:
        batch_op.drop_column('description_en')
