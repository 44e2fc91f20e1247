"""patient state: the state whose sending hours hold for the patient (bot/quiet_hours.py)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 08:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN on SQLite too (no batch rebuild: the triggers of 0012 stay).
    op.add_column('patients', sa.Column('state', sa.String(length=2), nullable=True))


def downgrade():
    with op.batch_alter_table('patients') as batch_op:
        batch_op.drop_column('state')
