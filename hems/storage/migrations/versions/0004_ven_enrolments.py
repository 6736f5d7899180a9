"""A home's enrolment in the DSRSP's programme (withdrawn by the consumer or operator, or
cancelled by the VTN), so a withdrawn home's VEN stays deregistered across restarts.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ven_enrolments",
        sa.Column("home_id", sa.Integer(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=True),
        sa.Column("withdrawn_by", sa.String(length=64), nullable=False),
        sa.Column("cancelled_by_vtn_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["home_id"], ["homes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("home_id"),
    )


def downgrade() -> None:
    op.drop_table("ven_enrolments")
