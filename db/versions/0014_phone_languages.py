"""phone languages: the language a number that is not a patient's asked for by text

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 05:20:00

"""
from alembic import op
import sqlalchemy as sa

import bot.models


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('phone_languages',
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('changed_at', bot.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('phone', name=op.f('pk_phone_languages'))
    )


def downgrade():
    op.drop_table('phone_languages')
