"""patients: a number a removed patient had can be enrolled for a new person, on a new
record (a recycled number); history_from bounds what of the number's texts and consents
is the new record's

Only one patient at a time holds a number (a unique index on phone among those not
removed); a removed patient's record stays with its number beside the new one.

On SQLite the patients table is rebuilt to drop its unique constraint, which drops the
triggers on it (0012, 0013): they are created again here; those of consent_events and
messages that write to patients stay.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 19:20:00

"""
from alembic import op
import sqlalchemy as sa

import bot.models


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

NOT_REMOVED = sa.text("removed_at IS NULL")
SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER patients_take_consent AFTER INSERT ON patients
    BEGIN
        UPDATE patients
        SET (sms_consent_id, sms_consent, sms_consent_at) = (
            SELECT id, action, created_at FROM consent_events
            WHERE phone = NEW.phone AND action IN ('opt_in', 'opt_out') ORDER BY id DESC LIMIT 1)
        WHERE id = NEW.id;
    END
    """,
    """
    CREATE TRIGGER patients_take_last_text AFTER INSERT ON patients
    BEGIN
        UPDATE patients SET last_text_at = (
            SELECT max(created_at) FROM messages WHERE phone = NEW.phone AND direction = 'in')
        WHERE id = NEW.id;
    END
    """,
]


def _rebuild_patients(change) -> None:
    """Run ``change`` on the patients table; SQLite rebuilds the table: its triggers are
    dropped before and created again after."""
    sqlite = op.get_bind().dialect.name == 'sqlite'
    if sqlite:
        op.execute("DROP TRIGGER patients_take_consent")
        op.execute("DROP TRIGGER patients_take_last_text")
        # The triggers of consent_events and messages name patients, which is missing
        # for a moment while the rebuilt table takes its name: SQLite must not check them.
        op.execute("PRAGMA legacy_alter_table = ON")
    with op.batch_alter_table('patients', schema=None) as batch_op:
        change(batch_op)
    if sqlite:
        op.execute("PRAGMA legacy_alter_table = OFF")
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def upgrade():
    def change(batch_op):
        batch_op.add_column(sa.Column('history_from', bot.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.drop_constraint('uq_patients_phone', type_='unique')
        batch_op.create_index('ix_patients_phone', ['phone'], unique=False)
        batch_op.create_index(
            'uq_patients_phone_enrolled', ['phone'], unique=True,
            postgresql_where=NOT_REMOVED, sqlite_where=NOT_REMOVED,
        )

    _rebuild_patients(change)


def downgrade():
    def change(batch_op):
        batch_op.drop_index('uq_patients_phone_enrolled')
        batch_op.drop_index('ix_patients_phone')
        batch_op.create_unique_constraint('uq_patients_phone', ['phone'])
        batch_op.drop_column('history_from')

    _rebuild_patients(change)
