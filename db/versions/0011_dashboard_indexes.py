"""reminder deliveries: what the carrier said; indexes for the dashboard and its export

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 02:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('reminder_deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivery_status', sa.String(length=20), nullable=True))
        batch_op.create_index('ix_reminder_deliveries_day', ['local_date', 'status', 'delivery_status'], unique=False)
        batch_op.create_index('ix_reminder_deliveries_message_sid', ['message_sid'], unique=False)
    # What the status callback already said, from the conversation's copy of each reminder.
    op.execute(
        "UPDATE reminder_deliveries SET delivery_status = (SELECT messages.status FROM messages "
        "WHERE messages.message_sid = reminder_deliveries.message_sid) "
        "WHERE message_sid IS NOT NULL"
    )
    with op.batch_alter_table('adherence_days', schema=None) as batch_op:
        batch_op.create_index('ix_adherence_days_day', ['local_date', 'pain', 'patient_id'], unique=False)
    with op.batch_alter_table('consent_events', schema=None) as batch_op:
        batch_op.create_index('ix_consent_events_action_created_at', ['action', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('consent_events', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_events_action_created_at')
    with op.batch_alter_table('adherence_days', schema=None) as batch_op:
        batch_op.drop_index('ix_adherence_days_day')
    with op.batch_alter_table('reminder_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_reminder_deliveries_message_sid')
        batch_op.drop_index('ix_reminder_deliveries_day')
        batch_op.drop_column('delivery_status')
