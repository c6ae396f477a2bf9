"""rule findings keep their Chinese words beside the English

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

Hand-checked.
- `findings.message_zh`: the Chinese of a rule's message (rules say everything in both languages,
  farmtrace.rules.declare.Said); `message` keeps the English the API has always returned. NULL for
  findings written before this revision: pages then show the English.
`findings` is append-only (triggers), so the column is added in place, never by recreating the table.
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("findings", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("message_zh", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("findings", recreate="never") as batch_op:
        batch_op.drop_column("message_zh")
