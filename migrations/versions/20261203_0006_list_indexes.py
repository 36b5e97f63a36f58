"""Indexes for the lists at Germany scale: topic pages, /themen, newest-first lists.

Measured on SQLite with 11,270 cities, 169,265 interests and 50,000 experiences
(docs/performance.md): /themen 668 -> 65 ms, a popular topic page 227 -> 29 ms,
/aenderungen 172 -> 13 ms, the dashboard 157 -> 7 ms.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 11:00:00
"""
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

INDEXES = [
    ('ix_interests_topic_id_stance', 'interests', ['topic_id', 'stance']),
    ('ix_experience_topics_topic_id', 'experience_topics', ['topic_id', 'experience_id']),
    ('ix_experiences_updated_at', 'experiences', ['updated_at', 'id']),
    ('ix_revisions_created_at', 'revisions', ['created_at', 'id']),
    ('ix_project_topics_topic_id', 'project_topics', ['topic_id']),
    ('ix_visit_topics_topic_id', 'visit_topics', ['topic_id']),
    ('ix_agenda_session_topics_topic_id', 'agenda_session_topics', ['topic_id']),
    ('ix_agenda_session_experiences_experience_id', 'agenda_session_experiences',
     ['experience_id']),
]


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade():
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
