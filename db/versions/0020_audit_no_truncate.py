"""audit_events: TRUNCATE refused too (PostgreSQL), as UPDATE and DELETE are since 0017

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 17:15:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    # SQLite has no TRUNCATE (its DELETE is refused since 0017).
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
        )


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER audit_events_no_truncate ON audit_events")
