"""clock beats: the clock process's heartbeat after every sweep, for /readyz

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 06:40:00

"""
from alembic import op
import sqlalchemy as sa

import bot.models


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('clock_beats',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('beat_at', bot.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sweep_result', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_clock_beats'))
    )


def downgrade():
    op.drop_table('clock_beats')
