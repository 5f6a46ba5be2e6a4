"""Access that can be taken away: ``users.disabled_at``, the sign-in sessions
(``auth_sessions``) and, per socket, its session and its token's expiry.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("disabled_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("connections") as batch:
        batch.add_column(sa.Column("session_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("expires_at", sa.DateTime(), nullable=True))
        batch.create_index("ix_connections_session_id", ["session_id"])
    op.create_table(
        "auth_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("renewed_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_auth_sessions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_sessions")),
    )
    op.create_index("ix_auth_sessions_user_id", "auth_sessions", ["user_id"])
    op.create_index("ix_auth_sessions_address", "auth_sessions", ["address"])
    op.create_index("ix_auth_sessions_created_at", "auth_sessions", ["created_at"])


def downgrade() -> None:
    op.drop_table("auth_sessions")
    with op.batch_alter_table("connections") as batch:
        batch.drop_index("ix_connections_session_id")
        batch.drop_column("expires_at")
        batch.drop_column("session_id")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("disabled_at")
