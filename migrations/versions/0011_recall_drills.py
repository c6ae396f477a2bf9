"""mock recall drills (the regulator's desk, issue 14)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

Hand-checked.
- `recall_drills(id, batch_id, run_at, run_by, org_id, lots, holders, micros)`: one row per mock recall
  run from the desk (`POST /desk/batches/<id>/drill`): which batch, who ran it, how many lots and
  holders the recall query listed and how long it took (microseconds, BIGINT). Not a ledger event: a
  drill flags nothing. Kept as a record, so the app's role may insert and read it, never change it.
"""
import sqlalchemy as sa
from alembic import context, op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recall_drills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("run_at", sa.DateTime(), nullable=False),
        sa.Column("run_by", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("lots", sa.Integer(), nullable=False),
        sa.Column("holders", sa.Integer(), nullable=False),
        sa.Column("micros", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_recall_drills_batch_id_batches")),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_recall_drills_org_id_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall_drills")),
    )
    op.create_index(op.f("ix_recall_drills_batch_id"), "recall_drills", ["batch_id"], unique=False)
    role = context.config.attributes.get("app_role")
    if role and op.get_bind().dialect.name != "sqlite":
        quoted = '"' + str(role).replace('"', '""') + '"'
        op.execute(f"GRANT SELECT, INSERT ON recall_drills TO {quoted}")
        op.execute(f"GRANT USAGE, SELECT ON SEQUENCE recall_drills_id_seq TO {quoted}")


def downgrade() -> None:
    op.drop_index(op.f("ix_recall_drills_batch_id"), table_name="recall_drills")
    op.drop_table("recall_drills")
