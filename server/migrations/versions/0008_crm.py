"""The CRM's side: users' role and disabled/deleted marks, tenants' call outcomes, a call's CRM
context and note, webhook endpoints and their delivery outbox.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-02 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as users:
        users.add_column(
            sa.Column("role", sa.String(length=16), nullable=False, server_default="member")
        )
        users.add_column(sa.Column("deleted_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("tenants") as tenants:
        tenants.add_column(sa.Column("call_outcomes", sa.String(length=1000), nullable=True))
    with op.batch_alter_table("calls") as calls:
        calls.add_column(sa.Column("context_type", sa.String(length=64), nullable=True))
        calls.add_column(sa.Column("context_id", sa.String(length=128), nullable=True))
        calls.add_column(sa.Column("context_label", sa.String(length=200), nullable=True))
        calls.add_column(sa.Column("outcome", sa.String(length=64), nullable=True))
        calls.add_column(sa.Column("note", sa.String(length=4000), nullable=True))
        calls.add_column(sa.Column("note_by", sa.String(length=32), nullable=True))
        calls.add_column(sa.Column("note_at", sa.DateTime(), nullable=True))
    op.create_index("ix_calls_tenant_created", "calls", ["tenant_id", "created_at", "id"])
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("event_types", sa.String(length=500), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("failing_since", sa.DateTime(), nullable=True),
        sa.Column("disabled_reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_webhook_endpoints_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_index("ix_webhook_endpoints_tenant_id", "webhook_endpoints", ["tenant_id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("endpoint_id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("call_id", sa.String(length=32), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("response_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name=op.f("fk_webhook_deliveries_endpoint_id_webhook_endpoints"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index("ix_webhook_deliveries_state_due", "webhook_deliveries", ["state", "due_at"])
    op.create_index(
        "ix_webhook_deliveries_endpoint_call",
        "webhook_deliveries",
        ["endpoint_id", "call_id", "id"],
    )


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
    op.drop_index("ix_calls_tenant_created", table_name="calls")
    with op.batch_alter_table("calls") as calls:
        for name in ("note_at", "note_by", "note", "outcome"):
            calls.drop_column(name)
        for name in ("context_label", "context_id", "context_type"):
            calls.drop_column(name)
    with op.batch_alter_table("tenants") as tenants:
        tenants.drop_column("call_outcomes")
    with op.batch_alter_table("users") as users:
        for name in ("deleted_at", "role"):
            users.drop_column(name)
