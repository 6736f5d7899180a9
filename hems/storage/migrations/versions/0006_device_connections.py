"""A device's connection (its protocol, address and credentials) and the identity it gave
(manufacturer, model, serial), for devices registered through the API.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("connection", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("identity", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("identity")
        batch.drop_column("connection")
