"""record versions and the notification outbox

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 02:15:00.000000

record_versions holds each rendered change record (written once, bound to the audit chain like the other deciding
rows: its body is imaged as a digest); notify_outbox holds one row per webhook delivery, written in the same
transaction as the event it announces (docs/notifications.md); decisions.via says whether a decision was made
in the CLI or the web UI.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('record_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('record_hash', sa.String(length=64), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('candidate_sha', sa.String(length=64), nullable=True),
    sa.Column('verdict', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('created_by', sa.String(length=320), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['release_id'], ['releases.id'], name=op.f('fk_record_versions_release_id_releases'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_versions')),
    sa.UniqueConstraint('record_hash', name=op.f('uq_record_versions_record_hash')),
    sa.UniqueConstraint('release_id', 'n', name=op.f('uq_record_versions_release_id_n'))
    )
    op.create_index(op.f('ix_record_versions_release_id'), 'record_versions', ['release_id'], unique=False)
    op.create_table('notify_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.String(length=64), nullable=False),
    sa.Column('webhook', sa.String(length=128), nullable=False),
    sa.Column('event', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=512), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('audit_seq', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notify_outbox')),
    sa.UniqueConstraint('delivery_id', name=op.f('uq_notify_outbox_delivery_id'))
    )
    op.create_index(op.f('ix_notify_outbox_status'), 'notify_outbox', ['status'], unique=False)
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('via', sa.String(length=16), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_column('via')
    op.drop_index(op.f('ix_notify_outbox_status'), table_name='notify_outbox')
    op.drop_table('notify_outbox')
    op.drop_index(op.f('ix_record_versions_release_id'), table_name='record_versions')
    op.drop_table('record_versions')
