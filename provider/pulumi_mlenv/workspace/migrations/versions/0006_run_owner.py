"""Runs: who runs them (host, process id and its start time) and their
heartbeat, so that a run whose process died is recorded ``lost``.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("owner", sa.String(512)),
    ("heartbeat_at", sa.String(40)),
)


def _present() -> set[str]:
    # 0004 creates the table as the model declares it: a fresh database has them.
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns("mlenv_runs")}


def upgrade() -> None:
    present = _present()
    missing = [(name, kind) for name, kind in _COLUMNS if name not in present]
    if missing:
        with op.batch_alter_table("mlenv_runs") as batch:
            for name, kind in missing:
                batch.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mlenv_runs") as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
