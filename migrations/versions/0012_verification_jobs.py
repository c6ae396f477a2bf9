"""whole-log verification jobs started from the regulator's desk (issue 14)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03

Hand-checked.
- `verification_jobs(id, running, state, started_by, started_at, heartbeat_at, finished_at, phase, done,
  total, ok, report)`: one row per whole-log verification run from `/desk/verification`. `running` is 1
  while the job runs and NULL afterwards; its unique constraint is what makes "one at a time" hold across
  every worker process on both databases (NULLs never collide). `heartbeat_at` is written by the job's
  thread every few seconds: a running row whose heartbeat went stale died with its process and is shown
  as interrupted. `report` keeps the VerificationReport as JSON. Not a ledger table: the job updates its
  own row, so the app's role may insert, read and update it (never delete).
"""
import sqlalchemy as sa
from alembic import context, op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verification_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("running", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started_by", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("done", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=True),
        sa.Column("report", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_jobs")),
        sa.UniqueConstraint("running", name=op.f("uq_verification_jobs_running")),
    )
    role = context.config.attributes.get("app_role")
    if role and op.get_bind().dialect.name != "sqlite":
        quoted = '"' + str(role).replace('"', '""') + '"'
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON verification_jobs TO {quoted}")
        op.execute(f"GRANT USAGE, SELECT ON SEQUENCE verification_jobs_id_seq TO {quoted}")


def downgrade() -> None:
    op.drop_table("verification_jobs")
