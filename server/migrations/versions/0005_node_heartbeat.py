"""Liveness per node, not per socket: ``nodes.last_seen``; ``connections.last_seen`` goes.

A node's heartbeat rewrote every one of its sockets' rows; with thousands of sockets on SQLite
that held the write lock long enough to stall calls for most of a second every 30 s.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 01:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nodes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nodes")),
    )
    # Sockets of the old scheme belong to no node row: they read as offline and are swept.
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.drop_column("last_seen")


def downgrade() -> None:
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_seen", sa.DateTime(), nullable=True))
    op.drop_table("nodes")
