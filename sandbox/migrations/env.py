"""Alembic environment of the sandbox database: runs on the connection sandbox.migrate passes in."""

from __future__ import annotations

from alembic import context

from sandbox.storage import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # only sandbox.migrate runs these migrations, always on its own open connection
    raise RuntimeError("run sandbox migrations with `python -m sandbox migrate --db PATH`")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
