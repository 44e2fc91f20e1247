"""schedule_changes.reason: why staff paused a patient's reminders ("surgery on Dec 8"),
kept with the pause and shown on the patient's page

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04 10:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('schedule_changes') as batch_op:
        batch_op.add_column(sa.Column('reason', sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table('schedule_changes') as batch_op:
        batch_op.drop_column('reason')
