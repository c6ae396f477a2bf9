"""personal data kept outside the signed bodies (PIPL erasure)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

Hand-checked: a plain table the app may delete from (erasing a person deletes the row; the
signed body keeps only the salted hash, so every proof still verifies).
"""
import sqlalchemy as sa
from alembic import context, op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "personal_data",
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("ref", name=op.f("pk_personal_data")),
    )
    role = context.config.attributes.get("app_role")
    if role and op.get_bind().dialect.name != "sqlite":
        quoted = '"' + str(role).replace('"', '""') + '"'
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON personal_data TO {quoted}")


def downgrade() -> None:
    op.drop_table("personal_data")
