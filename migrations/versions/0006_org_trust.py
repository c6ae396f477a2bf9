"""labs (CMA number), GS1 company prefixes of orgs

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

Hand-checked.
- `orgs.cma_number`: a lab's 资质认定 (CMA) certificate number, 12 digits; a `sample` may name
  only an org of kind `lab` that has one (farmtrace.core.custody). Nullable: existing labs get
  theirs with `farmtrace org cma ORG NUMBER`.
- `org_prefixes`: the GS1 company prefixes an org has registered (4-12 digits, GTIN-13 form);
  a `packed` GTIN must lie under one of the packing org's. One owner per prefix (primary key);
  overlapping prefixes of different orgs are refused by the core. Written by the operator (CLI).
"""
import sqlalchemy as sa
from alembic import context, op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orgs", recreate="never") as batch_op:  # other tables refer to orgs
        batch_op.add_column(sa.Column("cma_number", sa.String(length=32), nullable=True))
    op.create_table(
        "org_prefixes",
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_org_prefixes_org_id_orgs")),
        sa.PrimaryKeyConstraint("prefix", name=op.f("pk_org_prefixes")),
    )
    op.create_index("ix_org_prefixes_org_id", "org_prefixes", ["org_id"])
    role = context.config.attributes.get("app_role")
    if role and op.get_bind().dialect.name != "sqlite":
        quoted = '"' + str(role).replace('"', '""') + '"'
        op.execute(f"GRANT SELECT, INSERT ON org_prefixes TO {quoted}")


def downgrade() -> None:
    op.drop_index("ix_org_prefixes_org_id", table_name="org_prefixes")
    op.drop_table("org_prefixes")
    with op.batch_alter_table("orgs", recreate="never") as batch_op:
        batch_op.drop_column("cma_number")
