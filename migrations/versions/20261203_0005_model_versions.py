"""Model versions: a change counter per derived model (the matching snapshot).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 12:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('model_versions',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_model_versions'))
    )


def downgrade():
    op.drop_table('model_versions')
