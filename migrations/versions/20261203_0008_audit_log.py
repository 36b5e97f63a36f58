"""The audit log (issue 9): who changed what, when and from where.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 11:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('object_type', sa.String(length=30), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=True),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('city_id', sa.Integer(), nullable=True),
    sa.Column('other_city_id', sa.Integer(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('via', sa.String(length=10), nullable=False),
    sa.Column('address', sa.String(length=45), nullable=True),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_events_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['city_id'], ['cities.id'], name=op.f('fk_audit_events_city_id_cities'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['other_city_id'], ['cities.id'], name=op.f('fk_audit_events_other_city_id_cities'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    op.create_index('ix_audit_events_at', 'audit_events', ['at'])
    op.create_index('ix_audit_events_actor_id', 'audit_events', ['actor_id'])
    op.create_index('ix_audit_events_city_id_at', 'audit_events', ['city_id', 'at'])
    op.create_index('ix_audit_events_other_city_id_at', 'audit_events', ['other_city_id', 'at'])


def downgrade():
    op.drop_index('ix_audit_events_other_city_id_at', table_name='audit_events')
    op.drop_index('ix_audit_events_city_id_at', table_name='audit_events')
    op.drop_index('ix_audit_events_actor_id', table_name='audit_events')
    op.drop_index('ix_audit_events_at', table_name='audit_events')
    op.drop_table('audit_events')
