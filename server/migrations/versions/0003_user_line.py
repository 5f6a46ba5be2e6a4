"""One line per user: ``users.active_call_id``, claimed by a call while it rings or runs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("active_call_id", sa.String(length=32), nullable=True))
    # Calls active at upgrade time hold their parties' lines from now on.
    op.execute(
        "UPDATE users SET active_call_id = ("
        " SELECT calls.id FROM calls"
        " WHERE calls.status IN ('RINGING', 'IN_PROGRESS')"
        " AND (calls.caller_id = users.id OR calls.callee_id = users.id)"
        " ORDER BY calls.created_at DESC LIMIT 1)"
    )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("active_call_id")
