"""projects.key, visits.key: a public key per project and visit for the export (issue 11).

Projects and visits have no natural key (a title changes, two visits may share cities
and days), and database ids differ between the database exported and the one a backup
is imported into. Each row now gets a random UUID when it is created, never changed; the
JSON Lines export names projects and visits by it, and the import finds them again by it
(docs/import-export.md). Existing rows get one each here.

The downgrade drops both columns.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 10:00:00
"""
import uuid

from alembic import op
import sqlalchemy as sa

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

TABLES = ('projects', 'visits')


def upgrade():
    bind = op.get_bind()
    for name in TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(sa.Column('key', sa.String(length=64), nullable=True))
        table = sa.table(name, sa.column('id', sa.Integer()), sa.column('key', sa.String()))
        ids = bind.execute(sa.select(table.c.id)).scalars().all()
        if ids:
            bind.execute(table.update().where(table.c.id == sa.bindparam('row_id'))
                         .values(key=sa.bindparam('new_key')),
                         [{'row_id': id_, 'new_key': str(uuid.uuid4())} for id_ in ids])
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.alter_column('key', existing_type=sa.String(length=64), nullable=False)
            batch_op.create_unique_constraint(batch_op.f(f'uq_{name}_key'), ['key'])


def downgrade():
    for name in TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'uq_{name}_key'), type_='unique')
            batch_op.drop_column('key')
