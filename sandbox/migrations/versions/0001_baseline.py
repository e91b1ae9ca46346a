"""baseline: the schema Store.create_schema makes (tables, indexes, the registration counter)

Revision ID: 0001_baseline
Revises: (none)
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from sandbox import storage

revision: str = "0001_baseline"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create today's schema; idempotent, so a database Store.create_schema made is already at this revision."""
    storage.create_schema_on(op.get_bind())


def downgrade() -> None:
    """Drop every sandbox table."""
    storage.metadata.drop_all(op.get_bind())
