"""How a home's VEN talks, chosen per home: pull (the default) or report-only.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ven_enrolments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("mode", sa.String(length=16), server_default="pull", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("ven_enrolments", schema=None) as batch_op:
        batch_op.drop_column("mode")
