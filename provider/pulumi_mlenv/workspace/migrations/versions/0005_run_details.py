"""Runs: what the target recorded beside the lock (a Ray job id, the packages
it added beside the environment, how the environment travelled).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("mlenv_runs")}
    if "details" not in columns:  # 0004 creates the table from the model, which has it
        with op.batch_alter_table("mlenv_runs") as batch:
            batch.add_column(sa.Column("details", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mlenv_runs") as batch:
        batch.drop_column("details")
