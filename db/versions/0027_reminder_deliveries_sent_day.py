"""reminder_deliveries: an index of the reminders sent, by day and patient, so the
caseload counts each patient's last 7 days from the index alone (benchmarks/staff_pages.py)

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-04 10:25:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    sent = sa.text("status = 'sent'")
    op.create_index(
        'ix_reminder_deliveries_sent_day', 'reminder_deliveries', ['local_date', 'patient_id'],
        postgresql_where=sent, sqlite_where=sent,
    )


def downgrade():
    op.drop_index('ix_reminder_deliveries_sent_day', 'reminder_deliveries')
