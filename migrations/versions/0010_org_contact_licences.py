"""orgs' contact details and licence numbers (the admin pages, issue 13)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

Hand-checked.
- `orgs.contact_name`, `orgs.contact_phone`, `orgs.address`: who to call at an org (nullable: orgs
  made before this revision have none until an admin fills them in on /admin or with
  `farmtrace org edit`).
- `org_licences(org_id, kind, number)`: an org's licence numbers, one per named kind (`sc` 食品生产
  许可证, `jy` 食品经营许可证, `slaughter` 生猪定点屠宰证, `animal_epidemic` 动物防疫条件合格证;
  farmtrace.services.orgs.LICENCE_KINDS). A row per licence, not a JSON column, so both databases
  read it the same way; recorded by the operator (docs/admin.md), replaced or removed when the
  licence is renewed or withdrawn, so the app's role may update and delete it.
`orgs` is referred to by other tables, so its columns are added in place, never by recreating it.
"""
import sqlalchemy as sa
from alembic import context, op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orgs", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("contact_name", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("contact_phone", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("address", sa.String(length=200), nullable=True))
    op.create_table(
        "org_licences",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_org_licences_org_id_orgs")),
        sa.PrimaryKeyConstraint("org_id", "kind", name=op.f("pk_org_licences")),
    )
    role = context.config.attributes.get("app_role")
    if role and op.get_bind().dialect.name != "sqlite":
        quoted = '"' + str(role).replace('"', '""') + '"'
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON org_licences TO {quoted}")


def downgrade() -> None:
    op.drop_table("org_licences")
    with op.batch_alter_table("orgs", recreate="never") as batch_op:
        batch_op.drop_column("address")
        batch_op.drop_column("contact_phone")
        batch_op.drop_column("contact_name")
