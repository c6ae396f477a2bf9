"""codes printed under bottle caps, stored only as keyed hashes

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

Hand-checked: one new table.
- `cap_codes`: the code printed under a bottle's cap (or inside its label), one per serial of a
  lot's `commissioned` ranges, kept only as an HMAC-SHA-256 under a key derived from the instance
  secret (farmtrace.core.cap_codes); "I opened it" needs it. Not a ledger table.
"""
import sqlalchemy as sa
import sqlmodel
from alembic import context, op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cap_codes",
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("serial", sa.String(length=20), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_cap_codes_batch_id_batches")),
        sa.PrimaryKeyConstraint("batch_id", "serial", name=op.f("pk_cap_codes")),
    )
    role = context.config.attributes.get("app_role")
    if role and op.get_bind().dialect.name != "sqlite":
        quoted = '"' + str(role).replace('"', '""') + '"'
        op.execute(f"GRANT SELECT, INSERT ON cap_codes TO {quoted}")


def downgrade() -> None:
    op.drop_table("cap_codes")
