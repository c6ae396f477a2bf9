"""public links (GTIN + lot, unguessable tokens) and consumer scans

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24

Hand-checked: new tables only.
- `gtin_lots`: which batch a GS1 Digital Link `/01/{gtin}/10/{lot}` names; written by the append
  of a `packed` event that carries a GTIN (one batch per GTIN + lot); filled here from the
  packed events already in the log.
- `public_tokens`: the unguessable `/p/{token}` of a batch, made when its label is first printed.
- `scans`: consumer scans and "I opened it" marks of serialised units; counted, never signed
  (domain.md: a scan is not a ledger event).
"""
import json

import sqlalchemy as sa
import sqlmodel
from alembic import context, op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gtin_lots",
        sa.Column("gtin", sa.String(length=14), nullable=False),
        sa.Column("lot", sa.String(length=20), nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_gtin_lots_batch_id_batches")),
        sa.PrimaryKeyConstraint("gtin", "lot", name=op.f("pk_gtin_lots")),
    )
    op.create_index("ix_gtin_lots_batch_id", "gtin_lots", ["batch_id"])
    op.create_table(
        "public_tokens",
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_public_tokens_batch_id_batches")),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_public_tokens")),
        sa.UniqueConstraint("token", name=op.f("uq_public_tokens_token")),
    )
    op.create_table(
        "scans",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("serial", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("place", sa.String(length=32), nullable=False),
        sa.Column("client", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_scans_batch_id_batches")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scans")),
    )
    op.create_index("ix_scans_batch_serial", "scans", ["batch_id", "serial"])
    op.create_index("ix_scans_at", "scans", ["at"])
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT e.batch_id, e.canonical, b.lot FROM events e JOIN batches b ON b.id = e.batch_id "
                                "WHERE e.type = 'packed' ORDER BY e.seq")).fetchall()
    seen: set[tuple[str, str]] = set()
    for batch_id, canonical, lot in rows:
        data = json.loads(canonical).get("data", {})
        gtin, lot = data.get("gtin"), data.get("lot") or lot
        if isinstance(gtin, str) and isinstance(lot, str) and (gtin, lot) not in seen:
            seen.add((gtin, lot))
            bind.execute(sa.text("INSERT INTO gtin_lots (gtin, lot, batch_id) VALUES (:g, :l, :b)"),
                         {"g": gtin, "l": lot, "b": batch_id})
    role = context.config.attributes.get("app_role")
    if role and bind.dialect.name != "sqlite":
        quoted = '"' + str(role).replace('"', '""') + '"'
        op.execute(f"GRANT SELECT, INSERT ON gtin_lots, public_tokens, scans TO {quoted}")
        op.execute(f"GRANT USAGE, SELECT ON SEQUENCE scans_id_seq TO {quoted}")


def downgrade() -> None:
    op.drop_index("ix_scans_at", table_name="scans")
    op.drop_index("ix_scans_batch_serial", table_name="scans")
    op.drop_table("scans")
    op.drop_table("public_tokens")
    op.drop_index("ix_gtin_lots_batch_id", table_name="gtin_lots")
    op.drop_table("gtin_lots")
