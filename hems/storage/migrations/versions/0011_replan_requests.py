"""A re-plan asked of a home by a replica that does not run it (an API call that landed on
another replica), kept on the home's lease until its owner takes it
(``hems/storage/leases.py``).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("home_leases") as batch:
        batch.add_column(sa.Column("replan_asked", sa.String(length=400), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("home_leases") as batch:
        batch.drop_column("replan_asked")
