"""saved_replies: replies the desk sends often, managed by admins, in English and Spanish,
with merge fields filled for the patient when chosen

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 04:10:00

"""
from alembic import op
import sqlalchemy as sa

import bot.models


# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'saved_replies',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('title', sa.String(length=80), nullable=False),
        sa.Column('body_en', sa.Text(), nullable=False),
        sa.Column('body_es', sa.Text(), nullable=True),
        sa.Column('updated_at', bot.models.UTCDateTime(), nullable=False),
        sa.Column('updated_by', sa.String(length=254), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_saved_replies'),
        sa.UniqueConstraint('title', name='uq_saved_replies_title'),
    )


def downgrade():
    op.drop_table('saved_replies')
