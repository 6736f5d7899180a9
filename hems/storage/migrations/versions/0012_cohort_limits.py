"""The cohort import limit an operator sets (``PUT /admin/cohort/limit``, docs/cohort.md),
kept with the ones cleared before it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cohort_limits",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("limit_kw", sa.Float(), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("end", sa.DateTime(), nullable=False),
        sa.Column("set_by", sa.String(length=200), nullable=False),
        sa.Column("set_at", sa.DateTime(), nullable=False),
        sa.Column("cleared_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_cohort_limits_cleared_at", "cohort_limits", ["cleared_at"])


def downgrade() -> None:
    op.drop_index("ix_cohort_limits_cleared_at", table_name="cohort_limits")
    op.drop_table("cohort_limits")
