"""custody state on batches, lineage edges, recalls and rule findings

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

Hand-checked: new columns are nullable or defaulted, so existing rows stay valid on SQLite
(batch mode) and PostgreSQL. `findings` and `recalls` are append-only like the ledger tables.
"""
import sqlalchemy as sa
from alembic import context, op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

APPEND_ONLY = ("findings", "recalls", "lineage")


def upgrade() -> None:
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quantity", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("unit", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("status", sa.String(length=16), nullable=False, server_default="held"))
        batch_op.add_column(sa.Column("transit_to", sa.String(length=64), nullable=True))
        # a lot code is unique for the org that created the lot, not for whoever holds it now
        batch_op.add_column(sa.Column("origin_org", sa.String(length=64), nullable=True))
        batch_op.drop_constraint("uq_batches_org_product_lot", type_="unique")
        batch_op.create_unique_constraint("uq_batches_origin_product_lot", ["origin_org", "product", "lot"])
    op.execute("UPDATE batches SET origin_org = org_id")
    op.create_table(
        "lineage",
        sa.Column("child", sa.String(length=64), nullable=False),
        sa.Column("parent", sa.String(length=64), nullable=False),
        sa.Column("via", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.String(length=40), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["child"], ["batches.id"], name=op.f("fk_lineage_child_batches")),
        sa.ForeignKeyConstraint(["parent"], ["batches.id"], name=op.f("fk_lineage_parent_batches")),
        sa.PrimaryKeyConstraint("child", "parent", name=op.f("pk_lineage")),
    )
    op.create_index("ix_lineage_parent", "lineage", ["parent"])
    op.create_table(
        "recalls",
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("recall", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_recalls_batch_id_batches")),
        sa.PrimaryKeyConstraint("batch_id", "recall", name=op.f("pk_recalls")),
    )
    op.create_table(
        "findings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_hash", sa.String(length=64), nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=True),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_findings")),
    )
    op.create_index("ix_findings_batch_id", "findings", ["batch_id"])
    op.create_index("ix_findings_event_hash", "findings", ["event_hash"])
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for table in APPEND_ONLY:
            for verb in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")
        return
    for table in APPEND_ONLY:
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION farmtrace_append_only()")
    role = context.config.attributes.get("app_role")
    if role:
        quoted = '"' + str(role).replace('"', '""') + '"'
        for table in APPEND_ONLY:
            op.execute(f"GRANT SELECT, INSERT ON {table} TO {quoted}")
        op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}")


def downgrade() -> None:
    for table in ("findings", "recalls", "lineage"):
        op.drop_table(table)
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.drop_constraint("uq_batches_origin_product_lot", type_="unique")
        batch_op.create_unique_constraint("uq_batches_org_product_lot", ["org_id", "product", "lot"])
        for column in ("origin_org", "transit_to", "status", "unit", "quantity"):
            batch_op.drop_column(column)
