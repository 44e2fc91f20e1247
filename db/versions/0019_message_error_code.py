"""Twilio's error code of a text it reported undelivered or failed (30003, 30005, 30006,
30007...): the carrier's filtering shown to staff and counted

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 17:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN on SQLite too (no batch rebuild: the triggers of 0013 stay).
    op.add_column('messages', sa.Column('error_code', sa.Integer(), nullable=True))


def downgrade():
    op.drop_column('messages', 'error_code')  # SQLite 3.35+: DROP COLUMN in place
