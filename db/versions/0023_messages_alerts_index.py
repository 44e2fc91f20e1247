"""messages: an index of the on-call alerts by time, so the inbox's count of alerts held in
the last day reads the few alerts instead of a day's texts (52 ms a page at 1,000,000
messages, benchmarks/staff_pages.py)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 04:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    alerts = sa.text("kind = 'alert'")
    op.create_index(
        'ix_messages_alerts', 'messages', ['created_at'],
        postgresql_where=alerts, sqlite_where=alerts,
    )


def downgrade():
    op.drop_index('ix_messages_alerts', 'messages')
