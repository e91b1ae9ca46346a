"""DEFECT: rewrite death declarations without their date of death (eventDetails.date)

A deliberately broken migration, as opencrvs-core #11115 (the 1.9.1 migration lost the date of death of every
death declaration). It is a branch off the clean line, never part of it: `sandbox migrate` goes to the clean
head unless told `--to 9001_drop_date_of_death`, which is how a demo candidate ships it.

Revision ID: 9001_drop_date_of_death
Revises: 0002_sorted_declarations
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "9001_drop_date_of_death"
down_revision: str | None = "0002_sorted_declarations"
branch_labels: str | Sequence[str] | None = ("defect",)
depends_on: str | Sequence[str] | None = None

_SQLITE = (
    """UPDATE "event" SET declaration = json_remove(declaration, '$."eventDetails.date"'), event_date = NULL
       WHERE type = 'death'""",
    """UPDATE "action" SET payload = json_remove(payload, '$.declaration."eventDetails.date"')
       WHERE event_id IN (SELECT id FROM "event" WHERE type = 'death')""",
)
_POSTGRES = (
    """UPDATE "event" SET declaration = (declaration::jsonb - 'eventDetails.date')::text, event_date = NULL
       WHERE type = 'death'""",
    """UPDATE "action" SET payload = (payload::jsonb #- '{declaration,eventDetails.date}')::text
       WHERE event_id IN (SELECT id FROM "event" WHERE type = 'death')""",
)


def upgrade() -> None:
    """Drop eventDetails.date from every death declaration, on the event and in its actions."""
    conn = op.get_bind()
    for statement in _POSTGRES if conn.dialect.name == "postgresql" else _SQLITE:
        conn.execute(text(statement))


def downgrade() -> None:
    """The dates are gone; only a restore from backup brings them back."""
    raise RuntimeError("9001_drop_date_of_death cannot be undone: restore the database from a backup")
