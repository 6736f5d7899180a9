"""Consumer DSR sessions (Octopus Saving Sessions style) the consumer enters: the half-hours,
the reward and the baseline fixed at entry, see ``hems/storage/saving_sessions.py``.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "saving_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("home_id", sa.Integer(), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("end", sa.DateTime(), nullable=False),
        sa.Column("reward_p_per_kwh", sa.Float(), nullable=False),
        sa.Column("baseline_kw", sa.JSON(), nullable=False),
        sa.Column("baseline_method", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["home_id"], ["homes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_saving_sessions_home_id", "saving_sessions", ["home_id"])


def downgrade() -> None:
    op.drop_index("ix_saving_sessions_home_id", table_name="saving_sessions")
    op.drop_table("saving_sessions")
