"""patients: each number's last opt-in or opt-out by text, kept by triggers

The staff pages count and filter thousands of patients by status, which depends on the
number's last opt-in or opt-out in consent_events: reading the whole history for each page
cost tens of milliseconds. Database triggers copy it onto the patient row: on every
consent event (whoever writes it: the webhook's one statement, a carrier's refusal, a
replayed spool) and when a patient is enrolled. The copy follows the event ids, so two
events written at once end with the later one. Sending still reads consent_events.

On SQLite, a later migration that rebuilds the patients or consent_events table (batch
mode) drops these triggers with it: such a migration must create them again.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 02:50:00

"""
from alembic import op
import sqlalchemy as sa

import bot.models


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

SMS = "('opt_in', 'opt_out')"

POSTGRESQL = [
    f"""
    CREATE FUNCTION patients_follow_consent() RETURNS trigger AS $$
    BEGIN
        IF NEW.action IN {SMS} THEN
            UPDATE patients
            SET sms_consent = NEW.action, sms_consent_at = NEW.created_at,
                sms_consent_id = NEW.id
            WHERE phone = NEW.phone AND (sms_consent_id IS NULL OR sms_consent_id < NEW.id);
        END IF;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER consent_events_to_patients AFTER INSERT ON consent_events
    FOR EACH ROW EXECUTE FUNCTION patients_follow_consent()
    """,
    f"""
    CREATE FUNCTION patients_take_consent() RETURNS trigger AS $$
    BEGIN
        SELECT id, action, created_at
        INTO NEW.sms_consent_id, NEW.sms_consent, NEW.sms_consent_at
        FROM consent_events WHERE phone = NEW.phone AND action IN {SMS}
        ORDER BY id DESC LIMIT 1;
        RETURN NEW;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER patients_take_consent BEFORE INSERT ON patients
    FOR EACH ROW EXECUTE FUNCTION patients_take_consent()
    """,
]
SQLITE = [
    f"""
    CREATE TRIGGER consent_events_to_patients AFTER INSERT ON consent_events
    WHEN NEW.action IN {SMS}
    BEGIN
        UPDATE patients
        SET sms_consent = NEW.action, sms_consent_at = NEW.created_at, sms_consent_id = NEW.id
        WHERE phone = NEW.phone AND (sms_consent_id IS NULL OR sms_consent_id < NEW.id);
    END
    """,
    f"""
    CREATE TRIGGER patients_take_consent AFTER INSERT ON patients
    BEGIN
        UPDATE patients
        SET (sms_consent_id, sms_consent, sms_consent_at) = (
            SELECT id, action, created_at FROM consent_events
            WHERE phone = NEW.phone AND action IN {SMS} ORDER BY id DESC LIMIT 1)
        WHERE id = NEW.id;
    END
    """,
]
BACKFILL = f"""
    UPDATE patients SET
        sms_consent_id = (SELECT max(id) FROM consent_events
                          WHERE consent_events.phone = patients.phone AND action IN {SMS}),
        sms_consent = (SELECT action FROM consent_events
                       WHERE consent_events.phone = patients.phone AND action IN {SMS}
                       ORDER BY id DESC LIMIT 1),
        sms_consent_at = (SELECT created_at FROM consent_events
                          WHERE consent_events.phone = patients.phone AND action IN {SMS}
                          ORDER BY id DESC LIMIT 1)
"""


def upgrade():
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sms_consent', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('sms_consent_at', bot.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sms_consent_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
    op.execute(BACKFILL)
    for statement in POSTGRESQL if op.get_bind().dialect.name == 'postgresql' else SQLITE:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER consent_events_to_patients ON consent_events")
        op.execute("DROP TRIGGER patients_take_consent ON patients")
        op.execute("DROP FUNCTION patients_follow_consent()")
        op.execute("DROP FUNCTION patients_take_consent()")
    else:
        op.execute("DROP TRIGGER consent_events_to_patients")
        op.execute("DROP TRIGGER patients_take_consent")
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_column('sms_consent_id')
        batch_op.drop_column('sms_consent_at')
        batch_op.drop_column('sms_consent')
