"""Visits schema: visits, delegation members, agenda sessions and their links.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 12:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('host_city_id', sa.Integer(), nullable=False),
    sa.Column('visiting_city_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('outcomes', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('report_experience_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('idea', 'planned', 'confirmed', 'done', 'cancelled')", name=op.f('ck_visits_status_known')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_visits_ends_after_start')),
    sa.CheckConstraint('host_city_id <> visiting_city_id', name=op.f('ck_visits_two_cities')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_visits_created_by_id_users')),
    sa.ForeignKeyConstraint(['host_city_id'], ['cities.id'], name=op.f('fk_visits_host_city_id_cities')),
    sa.ForeignKeyConstraint(['report_experience_id'], ['experiences.id'], name=op.f('fk_visits_report_experience_id_experiences')),
    sa.ForeignKeyConstraint(['visiting_city_id'], ['cities.id'], name=op.f('fk_visits_visiting_city_id_cities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visits'))
    )
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_visits_host_city_id'), ['host_city_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_visits_starts_at'), ['starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_visits_visiting_city_id'), ['visiting_city_id'], unique=False)

    op.create_table('agenda_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=False),
    sa.Column('room', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('open_questions', sa.Text(), nullable=False),
    sa.CheckConstraint("kind IN ('welcome', 'transfer_host_offers', 'transfer_guest_offers', 'joint', 'break', 'wrap_up', 'custom')", name=op.f('ck_agenda_sessions_kind_known')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_agenda_sessions_ends_after_start')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_agenda_sessions_visit_id_visits'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agenda_sessions'))
    )
    with op.batch_alter_table('agenda_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agenda_sessions_visit_id'), ['visit_id'], unique=False)

    op.create_table('visit_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('guest_name', sa.String(length=120), nullable=True),
    sa.Column('role', sa.String(length=120), nullable=False),
    sa.Column('organisation', sa.String(length=200), nullable=False),
    sa.Column('side', sa.String(length=10), nullable=False),
    sa.CheckConstraint("side IN ('host', 'guest')", name=op.f('ck_visit_members_side_known')),
    sa.CheckConstraint('user_id IS NOT NULL OR guest_name IS NOT NULL', name=op.f('ck_visit_members_who')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_visit_members_user_id_users')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_visit_members_visit_id_visits'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_members')),
    sa.UniqueConstraint('visit_id', 'user_id', name=op.f('uq_visit_members_visit_id_user_id'))
    )
    with op.batch_alter_table('visit_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_visit_members_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_visit_members_visit_id'), ['visit_id'], unique=False)

    op.create_table('visit_topics',
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['topic_id'], ['topics.id'], name=op.f('fk_visit_topics_topic_id_topics'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_visit_topics_visit_id_visits'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('visit_id', 'topic_id', name=op.f('pk_visit_topics'))
    )
    op.create_table('agenda_session_experiences',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('experience_id', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['experience_id'], ['experiences.id'], name=op.f('fk_agenda_session_experiences_experience_id_experiences'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['agenda_sessions.id'], name=op.f('fk_agenda_session_experiences_session_id_agenda_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', 'experience_id', name=op.f('pk_agenda_session_experiences'))
    )
    op.create_table('agenda_session_topics',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['agenda_sessions.id'], name=op.f('fk_agenda_session_topics_session_id_agenda_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['topic_id'], ['topics.id'], name=op.f('fk_agenda_session_topics_topic_id_topics'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', 'topic_id', name=op.f('pk_agenda_session_topics'))
    )


def downgrade():
    op.drop_table('agenda_session_topics')
    op.drop_table('agenda_session_experiences')
    op.drop_table('visit_topics')
    with op.batch_alter_table('visit_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_visit_members_visit_id'))
        batch_op.drop_index(batch_op.f('ix_visit_members_user_id'))

    op.drop_table('visit_members')
    with op.batch_alter_table('agenda_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agenda_sessions_visit_id'))

    op.drop_table('agenda_sessions')
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_visits_visiting_city_id'))
        batch_op.drop_index(batch_op.f('ix_visits_starts_at'))
        batch_op.drop_index(batch_op.f('ix_visits_host_city_id'))

    op.drop_table('visits')
