"""threads: an owner (a staff member assigned to it), the last staff reply's time (so a
thread says who waits on whom: needs us, or waiting on the patient), and each staff
member's own reading of it (thread_reads), instead of one "unread" shared by everyone
(dropped: what was read stays read for every member)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 03:30:00

"""
from alembic import op
import sqlalchemy as sa

import bot.models


# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    # In batch mode: SQLite cannot add a foreign key in place, and rebuilds the table (it
    # has no triggers to lose); PostgreSQL alters it in place.
    with op.batch_alter_table('threads') as batch:
        batch.add_column(sa.Column('owner_id', BIG_ID, nullable=True))
        batch.add_column(sa.Column('assigned_at', bot.models.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('last_staff_at', bot.models.UTCDateTime(), nullable=True))
        batch.create_foreign_key('fk_threads_owner_id_staff_users', 'staff_users',
                                 ['owner_id'], ['id'], ondelete='SET NULL')
    op.create_index('ix_threads_owner_id', 'threads', ['owner_id'])
    op.create_table(
        'thread_reads',
        sa.Column('user_id', BIG_ID, nullable=False),
        sa.Column('thread_id', BIG_ID, nullable=False),
        sa.Column('read_at', bot.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['staff_users.id'],
                                name='fk_thread_reads_user_id_staff_users', ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['thread_id'], ['threads.id'],
                                name='fk_thread_reads_thread_id_threads', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'thread_id', name='pk_thread_reads'),
    )
    # A thread staff have answered waits on the patient when no text came since the reply.
    op.execute(
        "UPDATE threads SET last_staff_at = (SELECT max(m.created_at) FROM messages AS m "
        "WHERE m.phone = threads.phone AND m.sent_by IS NOT NULL) WHERE with_staff"
    )
    # What was read for everyone stays read for everyone: each member has read it.
    op.execute(
        "INSERT INTO thread_reads (user_id, thread_id, read_at) "
        "SELECT u.id, t.id, t.last_in_at FROM staff_users AS u, threads AS t "
        "WHERE NOT t.unread"
    )
    with op.batch_alter_table('threads') as batch:
        batch.drop_column('unread')


def downgrade():
    # Unread for everyone again: what nobody has read since its news.
    op.add_column('threads', sa.Column('unread', sa.Boolean(), nullable=False,
                                       server_default=sa.true()))
    op.execute(
        "UPDATE threads SET unread = false WHERE EXISTS (SELECT 1 FROM thread_reads AS r "
        "WHERE r.thread_id = threads.id AND r.read_at >= threads.last_in_at)"
    )
    op.drop_table('thread_reads')
    op.drop_index('ix_threads_owner_id', table_name='threads')
    with op.batch_alter_table('threads') as batch:
        batch.drop_constraint('fk_threads_owner_id_staff_users', type_='foreignkey')
        batch.drop_column('last_staff_at')
        batch.drop_column('assigned_at')
        batch.drop_column('owner_id')
