"""Alembic environment: always run programmatically by icpurse.host.ledger.db.migrate, which
passes an open connection in config.attributes["connection"]."""
from alembic import context

from icpurse.host.ledger.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run ledger migrations through icpurse.host.ledger.open_ledger / db.migrate")
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
