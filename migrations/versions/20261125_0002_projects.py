"""Projects schema: joint projects, participants, comments, history and notifications.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 12:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'projects',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('initiator_city_id', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('from_match_city_id', sa.Integer(), nullable=True),
        sa.Column('report_experience_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "state IN ('draft', 'proposed', 'active', 'declined', 'completed', 'withdrawn')",
            name=op.f('ck_projects_state_known')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_projects_created_by_id_users')),
        sa.ForeignKeyConstraint(['from_match_city_id'], ['cities.id'],
                                name=op.f('fk_projects_from_match_city_id_cities')),
        sa.ForeignKeyConstraint(['initiator_city_id'], ['cities.id'],
                                name=op.f('fk_projects_initiator_city_id_cities')),
        sa.ForeignKeyConstraint(['report_experience_id'], ['experiences.id'],
                                name=op.f('fk_projects_report_experience_id_experiences')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_projects')),
    )
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_projects_initiator_city_id'),
                              ['initiator_city_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_projects_state'), ['state'], unique=False)

    op.create_table(
        'notifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('link', sa.String(length=300), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('read_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_user_id'), ['user_id'], unique=False)

    op.create_table(
        'project_topics',
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('topic_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'],
                                name=op.f('fk_project_topics_project_id_projects'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['topic_id'], ['topics.id'],
                                name=op.f('fk_project_topics_topic_id_topics'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('project_id', 'topic_id', name=op.f('pk_project_topics')),
    )

    op.create_table(
        'project_participants',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('city_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('response', sa.String(length=20), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('invited_at', sa.DateTime(), nullable=False),
        sa.Column('responded_at', sa.DateTime(), nullable=True),
        sa.Column('responded_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("role IN ('initiator', 'invited')",
                           name=op.f('ck_project_participants_role_known')),
        sa.CheckConstraint("response IN ('pending', 'accepted', 'declined')",
                           name=op.f('ck_project_participants_response_known')),
        sa.ForeignKeyConstraint(['city_id'], ['cities.id'],
                                name=op.f('fk_project_participants_city_id_cities')),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'],
                                name=op.f('fk_project_participants_project_id_projects'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['responded_by_id'], ['users.id'],
                                name=op.f('fk_project_participants_responded_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_project_participants')),
        sa.UniqueConstraint('project_id', 'city_id',
                            name=op.f('uq_project_participants_project_id_city_id')),
    )
    with op.batch_alter_table('project_participants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_participants_city_id'), ['city_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_project_participants_project_id'), ['project_id'],
                              unique=False)

    op.create_table(
        'project_comments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['author_id'], ['users.id'],
                                name=op.f('fk_project_comments_author_id_users')),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'],
                                name=op.f('fk_project_comments_project_id_projects'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_project_comments')),
    )
    with op.batch_alter_table('project_comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_comments_project_id'), ['project_id'],
                              unique=False)

    op.create_table(
        'project_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('city_id', sa.Integer(), nullable=True),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('comment_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('created', 'proposed', 'invited', 'accepted', 'declined', 'commented', "
            "'activated', 'rejected', 'completed', 'withdrawn', 'report', 'edited')",
            name=op.f('ck_project_events_kind_known')),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'],
                                name=op.f('fk_project_events_actor_id_users')),
        sa.ForeignKeyConstraint(['city_id'], ['cities.id'],
                                name=op.f('fk_project_events_city_id_cities')),
        sa.ForeignKeyConstraint(['comment_id'], ['project_comments.id'],
                                name=op.f('fk_project_events_comment_id_project_comments'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'],
                                name=op.f('fk_project_events_project_id_projects'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_project_events')),
    )
    with op.batch_alter_table('project_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_events_project_id'), ['project_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('project_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_events_project_id'))
    op.drop_table('project_events')
    with op.batch_alter_table('project_comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_comments_project_id'))
    op.drop_table('project_comments')
    with op.batch_alter_table('project_participants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_participants_project_id'))
        batch_op.drop_index(batch_op.f('ix_project_participants_city_id'))
    op.drop_table('project_participants')
    op.drop_table('project_topics')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_user_id'))
    op.drop_table('notifications')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_projects_state'))
        batch_op.drop_index(batch_op.f('ix_projects_initiator_city_id'))
    op.drop_table('projects')
