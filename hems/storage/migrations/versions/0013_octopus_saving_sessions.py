"""Saving sessions fetched from Octopus (``hems/octopus_sessions.py``): where a session came
from (``consumer`` or ``octopus``) and Octopus's event id, unique per home so a re-fetch adds
nothing twice; sessions stored before are the consumer's.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("saving_sessions") as batch:
        batch.add_column(
            sa.Column("source", sa.String(length=16), nullable=False, server_default="consumer")
        )
        batch.add_column(sa.Column("octopus_event_id", sa.String(length=64), nullable=True))
        batch.create_unique_constraint(
            "uq_saving_sessions_home_octopus_event", ["home_id", "octopus_event_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("saving_sessions") as batch:
        batch.drop_constraint("uq_saving_sessions_home_octopus_event", type_="unique")
        batch.drop_column("octopus_event_id")
        batch.drop_column("source")
