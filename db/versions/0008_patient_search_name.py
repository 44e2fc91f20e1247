"""patients: the name as searched (no case, accents or apostrophes)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 00:20:00

"""
from alembic import op
import sqlalchemy as sa

from bot.text import normalize


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_name', sa.String(length=120), nullable=True))
    patients = sa.table('patients', sa.column('id'), sa.column('name'), sa.column('search_name'))
    conn = op.get_bind()
    rows = conn.execute(sa.select(patients.c.id, patients.c.name)).all()
    for patient_id, name in rows:
        conn.execute(
            patients.update().where(patients.c.id == patient_id)
            .values(search_name=normalize(name or '')[:120])
        )


def downgrade():
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_column('search_name')
