"""Alembic migrations of the workspace schema, shipped in the package and run
by ``workspace.schema.upgrade`` when a workspace is opened (docs/workspace.md)."""
