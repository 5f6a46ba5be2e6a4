"""Rejoin grace: per-party deadlines of an answered call whose media dropped.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 22:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("caller_grace_until", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("callee_grace_until", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("callee_grace_until")
        batch_op.drop_column("caller_grace_until")
