"""message retention: when a text's words were blanked (MESSAGE_RETENTION_DAYS), and
partial indexes holding only the rows that still have words

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 09:30:00

"""
from alembic import op
import sqlalchemy as sa

import bot.models


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN on SQLite too (no batch rebuild: the triggers of 0013 stay).
    op.add_column(
        'messages', sa.Column('body_removed_at', bot.models.UTCDateTime(timezone=True))
    )
    unblanked = sa.text('body_removed_at IS NULL')
    op.create_index(
        'ix_messages_keeping_words', 'messages', ['created_at'],
        postgresql_where=unblanked, sqlite_where=unblanked,
    )
    with_words = sa.text("body <> ''")
    op.create_index(
        'ix_reminder_deliveries_keeping_words', 'reminder_deliveries', ['created_at'],
        postgresql_where=with_words, sqlite_where=with_words,
    )


def downgrade():
    op.drop_index('ix_reminder_deliveries_keeping_words', 'reminder_deliveries')
    op.drop_index('ix_messages_keeping_words', 'messages')
    op.drop_column('messages', 'body_removed_at')
