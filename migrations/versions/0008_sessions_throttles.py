"""session generations, shared throttle counters, token creators and the audit trail

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

Hand-checked.
- `users.session_generation`: part of every session id; bumped by logout and a password change,
  so a session cookie copied before either is refused after it.
- `api_tokens.created_by`: the user who made the token (NULL: the command line).
- `throttle_counts`: failure and append counters shared by every worker, one row per
  (scope, key, fixed window); pruned by the app an hour after their window.
- `audit_log`: who did what to whom (e.g. an admin minting a token for another org's user, a
  token revoked because it was seen in a URL). Append-only: triggers refuse UPDATE and DELETE,
  and the app role may only SELECT and INSERT.
"""
import sqlalchemy as sa
import sqlmodel
from alembic import context, op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", recreate="never") as batch_op:  # other tables refer to users
        batch_op.add_column(sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.add_column(sa.Column("created_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f("fk_api_tokens_created_by_users"), "users", ["created_by"], ["id"])
    op.create_table(
        "throttle_counts",
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", "window_start", name=op.f("pk_throttle_counts")),
    )
    op.create_index("ix_throttle_counts_window_start", "throttle_counts", ["window_start"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_audit_log_actor_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                       "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")
    else:
        op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION farmtrace_append_only()")
    role = context.config.attributes.get("app_role")
    if role and bind.dialect.name != "sqlite":
        quoted = '"' + str(role).replace('"', '""') + '"'
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON throttle_counts TO {quoted}")
        op.execute(f"GRANT SELECT, INSERT ON audit_log TO {quoted}")
        op.execute(f"GRANT USAGE, SELECT ON SEQUENCE audit_log_id_seq TO {quoted}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_log_no_{verb}")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_throttle_counts_window_start", table_name="throttle_counts")
    op.drop_table("throttle_counts")
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.drop_constraint(op.f("fk_api_tokens_created_by_users"), type_="foreignkey")
        batch_op.drop_column("created_by")
    with op.batch_alter_table("users", recreate="never") as batch_op:  # other tables refer to users
        batch_op.drop_column("session_generation")
