"""experiences.excerpt: the current revision's plain-text excerpt, stored (issue 9).

List pages rendered the Markdown of every listed body and sanitised it on each request
to show 240 characters of it; the excerpt is now kept with the experience. Existing
rows are filled here, 500 at a time, with the same rule the services and the importer
use (exchange.wiki.models.excerpt_of), so no row is left empty.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 16:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

#: Experiences read and updated per round.
BATCH = 500


def upgrade():
    from exchange.wiki.models import EXCERPT_CHARS, excerpt_of

    with op.batch_alter_table('experiences', schema=None) as batch_op:
        batch_op.add_column(sa.Column('excerpt', sa.String(length=EXCERPT_CHARS + 10),
                                      nullable=False, server_default=''))
    connection = op.get_bind()
    experiences = sa.table('experiences', sa.column('id', sa.Integer),
                           sa.column('current_revision_id', sa.Integer),
                           sa.column('excerpt', sa.String))
    revisions = sa.table('revisions', sa.column('id', sa.Integer), sa.column('body', sa.Text))
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(experiences.c.id, revisions.c.body)
            .join(revisions, revisions.c.id == experiences.c.current_revision_id)
            .where(experiences.c.id > last_id).order_by(experiences.c.id).limit(BATCH)).all()
        if not rows:
            break
        connection.execute(
            experiences.update().where(experiences.c.id == sa.bindparam('row_id'))
            .values(excerpt=sa.bindparam('new_excerpt')),
            [{'row_id': row.id, 'new_excerpt': excerpt_of(row.body)} for row in rows])
        last_id = rows[-1].id


def downgrade():
    with op.batch_alter_table('experiences', schema=None) as batch_op:
        batch_op.drop_column('excerpt')
