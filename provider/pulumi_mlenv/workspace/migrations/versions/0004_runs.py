"""Runs: an environment, a compute target and a script, recorded.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _table() -> sa.Table:
    # The table as the model declares it (new here, so that is its first shape).
    from pulumi_mlenv.workspace import _run_tables, _tables

    del _run_tables  # imported for its table on the shared metadata
    return _tables.Base.metadata.tables["mlenv_runs"]


def upgrade() -> None:
    _table().create(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    _table().drop(op.get_bind(), checkfirst=True)
