"""per-user API tokens, stored as SHA-256 hashes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24

Hand-checked: a new table only. The clear token is shown once and never stored; `token_hash`
is unique (the lookup), `prefix` is for display. The app may update a token (revoked_at,
last_used_at) but never deletes one: a revoked token stays as a record.
"""
import sqlalchemy as sa
import sqlmodel
from alembic import context, op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    role = context.config.attributes.get("app_role")
    if role and op.get_bind().dialect.name != "sqlite":
        quoted = '"' + str(role).replace('"', '""') + '"'
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON api_tokens TO {quoted}")
        op.execute(f"GRANT USAGE, SELECT ON SEQUENCE api_tokens_id_seq TO {quoted}")


def downgrade() -> None:
    op.drop_index("ix_api_tokens_user_id", table_name="api_tokens")
    op.drop_table("api_tokens")
