"""ledger integrity: decisions.signature, and a baseline binding rows written before rows were imaged

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 10:00:00.000000

From this revision every write's audit event carries the after-image of the rows it wrote (release/ledger/
integrity.py), and `audit verify`, `status` and `promote` compare every deciding row with those images. Rows
written before it have no image, so this migration appends one `ledger.integrity_baseline` event holding the image
of every existing row: from here on, any change to them is caught. It trusts the rows as they are now, so run
`release audit verify` before upgrading. A fresh ledger has no rows and gets no baseline event.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTOR = "release-migration"
SUBJECT = "0002_ledger_integrity"


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signature', sa.Text(), nullable=True))
    _baseline(op.get_bind())


def _baseline(conn: sa.Connection) -> None:
    """Append one audit event with the image of every deciding row (none on an empty ledger)."""
    from release.gates.canonical import ZERO_HASH, canonical_json
    from release.ledger import integrity
    from release.ledger.audit import event_hash
    from release.ledger.schema import AuditEventRow

    entries = []
    inspector = sa.inspect(conn)
    for name, table in integrity.COVERED.items():
        if not inspector.has_table(name):
            continue  # a table a later migration creates (record_versions, 0003) has no rows to bind yet
        present = {c["name"] for c in inspector.get_columns(name)}
        columns = [c for c in table.columns if c.name in present]  # a column added later is NULL in this image
        for row in conn.execute(sa.select(*columns).order_by(table.c.id)):
            entries.append({"table": name, "values": integrity.image_of(table, row._mapping)})
    if not entries:
        return
    events: sa.Table = AuditEventRow.__table__  # type: ignore[assignment]
    prev = conn.execute(sa.select(events.c.hash).order_by(events.c.seq.desc()).limit(1)).scalar() or ZERO_HASH
    at = datetime.now(UTC)
    text = canonical_json({integrity.ROWS_KEY: entries, "migration": revision,
                           "note": "rows written before revision 0002, bound to the chain as they were"})
    payload = json.loads(text)
    inserted = conn.execute(sa.insert(events).values(at=at, actor=ACTOR, action=integrity.BASELINE_ACTION,
                                                     subject=SUBJECT, payload=text, prev_hash=prev, hash=""))
    seq = int(inserted.inserted_primary_key[0])  # type: ignore[index]
    digest = event_hash(prev, seq, at, ACTOR, integrity.BASELINE_ACTION, SUBJECT, payload)
    conn.execute(sa.update(events).where(events.c.seq == seq).values(hash=digest))


def downgrade() -> None:
    """Revert this revision (the baseline event stays: the audit chain is append-only)."""
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_column('signature')
