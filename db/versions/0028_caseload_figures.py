"""caseload_figures: each patient's counts of the caseload's settled days, written by the
clock every hour, so the caseload counts only the last two days live
(benchmarks/staff_pages.py: 97 ms a page at 10,000 patients counting the whole week)

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-04 10:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'caseload_figures',
        sa.Column('patient_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  nullable=False),
        sa.Column('through', sa.Date(), nullable=False),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('sent', sa.Integer(), nullable=False),
        sa.Column('pain_total', sa.Integer(), nullable=False),
        sa.Column('pain_count', sa.Integer(), nullable=False),
        sa.Column('last_done', sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(['patient_id'], ['patients.id'],
                                name=op.f('fk_caseload_figures_patient_id_patients'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('patient_id', name=op.f('pk_caseload_figures')),
    )


def downgrade():
    op.drop_table('caseload_figures')
