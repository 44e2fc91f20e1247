"""import_jobs.kind: an import of a file, or a run sending the invitations still waiting
(the button on an import's page), one of which runs at a time

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04 10:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('import_jobs') as batch_op:
        batch_op.add_column(
            sa.Column('kind', sa.String(length=16), nullable=False, server_default='import')
        )


def downgrade():
    with op.batch_alter_table('import_jobs') as batch_op:
        batch_op.drop_column('kind')
