"""daily figures for the dashboard; patients: when the number last texted, kept by a trigger

The dashboard counted every reminder and DONE of its range on each view (a 90-day range
of 10,000 patients: hundreds of thousands of rows); settled days are now added up once
into daily_figures (adherence.roll_up, run by the clock). The patients list sorted by the
number's last text with a subquery on messages per patient; a trigger now copies the time
of each text from the number onto the patient row (and an enrolled patient takes the
number's last text), as migration 0012 does for consent.

On SQLite, a later migration that rebuilds the patients or messages table (batch mode)
drops these triggers with it: such a migration must create them again.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 05:00:00

"""
from alembic import op
import sqlalchemy as sa

import bot.models


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

POSTGRESQL = [
    """
    CREATE FUNCTION patients_follow_texts() RETURNS trigger AS $$
    BEGIN
        UPDATE patients SET last_text_at = NEW.created_at
        WHERE phone = NEW.phone AND (last_text_at IS NULL OR last_text_at < NEW.created_at);
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER messages_to_patients AFTER INSERT ON messages
    FOR EACH ROW WHEN (NEW.direction = 'in') EXECUTE FUNCTION patients_follow_texts()
    """,
    """
    CREATE FUNCTION patients_take_last_text() RETURNS trigger AS $$
    BEGIN
        NEW.last_text_at := (SELECT max(created_at) FROM messages
                             WHERE phone = NEW.phone AND direction = 'in');
        RETURN NEW;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER patients_take_last_text BEFORE INSERT ON patients
    FOR EACH ROW EXECUTE FUNCTION patients_take_last_text()
    """,
]
SQLITE = [
    """
    CREATE TRIGGER messages_to_patients AFTER INSERT ON messages
    WHEN NEW.direction = 'in'
    BEGIN
        UPDATE patients SET last_text_at = NEW.created_at
        WHERE phone = NEW.phone AND (last_text_at IS NULL OR last_text_at < NEW.created_at);
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
BACKFILL = """
    UPDATE patients SET last_text_at = (
        SELECT max(created_at) FROM messages
        WHERE messages.phone = patients.phone AND direction = 'in')
"""


def upgrade():
    op.create_table('daily_figures',
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('sent', sa.Integer(), nullable=False),
    sa.Column('delivered', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('pain_total', sa.Integer(), nullable=False),
    sa.Column('pain_count', sa.Integer(), nullable=False),
    sa.Column('computed_at', bot.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('local_date', name=op.f('pk_daily_figures'))
    )
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_text_at', bot.models.UTCDateTime(timezone=True), nullable=True))
    op.execute(BACKFILL)
    for statement in POSTGRESQL if op.get_bind().dialect.name == 'postgresql' else SQLITE:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER messages_to_patients ON messages")
        op.execute("DROP TRIGGER patients_take_last_text ON patients")
        op.execute("DROP FUNCTION patients_follow_texts()")
        op.execute("DROP FUNCTION patients_take_last_text()")
    else:
        op.execute("DROP TRIGGER messages_to_patients")
        op.execute("DROP TRIGGER patients_take_last_text")
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_column('last_text_at')
    op.drop_table('daily_figures')
