"""Alembic's entry point: runs on the connection ``workspace.schema`` hands
over (inside its lock and transaction), never from an ini file."""

from __future__ import annotations

from alembic import context

from pulumi_mlenv.workspace._tables import Base

connection = context.config.attributes["connection"]
# render_as_batch: SQLite alters tables by copying them; alembic does it for us.
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
