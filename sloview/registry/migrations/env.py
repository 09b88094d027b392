"""Alembic's environment for the registry: migrations run on the connection sloview passes in
(`sloview.registry.store.migrate`), never on a URL of their own."""

from __future__ import annotations

from alembic import context

from sloview.registry.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
