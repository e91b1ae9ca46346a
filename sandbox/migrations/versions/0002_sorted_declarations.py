"""sorted declarations: rewrite every stored declaration with its keys in sorted order (content unchanged)

A clean data migration: it touches every record, and a rehearsal that compares values, not stored bytes, must
find nothing lost.

Revision ID: 0002_sorted_declarations
Revises: 0001_baseline
"""
from __future__ import annotations

import json
from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0002_sorted_declarations"
down_revision: str | None = "0001_baseline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def _sorted(declaration: str) -> str:
    return json.dumps(json.loads(declaration or "{}"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def upgrade() -> None:
    """Rewrite event.declaration in id order, a batch at a time."""
    conn = op.get_bind()
    last = ""
    while True:
        rows = conn.execute(text('SELECT id, declaration FROM "event" WHERE id > :last ORDER BY id LIMIT :n'),
                            {"last": last, "n": BATCH}).all()
        if not rows:
            return
        conn.execute(text('UPDATE "event" SET declaration = :declaration WHERE id = :id'),
                     [{"id": row.id, "declaration": _sorted(row.declaration)} for row in rows])
        last = rows[-1].id


def downgrade() -> None:
    """Nothing to undo: the declarations hold the same values in either order."""
