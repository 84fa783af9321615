"""Four eyes where money or people are at stake: an operator added or re-roled waits for a second
issuer-admin (`operators.pending`, ...) and has its own PostgreSQL login role (`db_role`); a
non-cash top-up counts as paid once finance confirmed it (`topups.payment_confirmed_*`); closing a
rollback, clone or forgery finding is requested by one operator and confirmed by another of another
role (`recon_exceptions.close_requested_*`).

Revision ID: 0003b_ot_four_eyes
Revises: 0003_ot_sealed_audit
"""
import sqlalchemy as sa
from alembic import op

revision = "0003b_ot_four_eyes"
down_revision = "0003_ot_sealed_audit"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("operators") as batch:
        batch.add_column(sa.Column("pending", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("pending_role", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("requested_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("approved_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("db_role", sa.String(length=63), nullable=True))
        batch.create_foreign_key(op.f("fk_operators_requested_by_operators"), "operators", ["requested_by"], ["id"])
        batch.create_foreign_key(op.f("fk_operators_approved_by_operators"), "operators", ["approved_by"], ["id"])
        batch.create_unique_constraint(op.f("uq_operators_db_role"), ["db_role"])
    with op.batch_alter_table("topups") as batch:
        batch.add_column(sa.Column("payment_confirmed_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("payment_confirmed_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(op.f("fk_topups_payment_confirmed_by_operators"), "operators",
                                 ["payment_confirmed_by"], ["id"])
    with op.batch_alter_table("recon_exceptions") as batch:
        batch.add_column(sa.Column("close_requested_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("close_requested_as", sa.String(length=12), nullable=True))
        batch.add_column(sa.Column("close_requested_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("close_requested_book", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("close_requested_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(op.f("fk_recon_exceptions_close_requested_by_operators"), "operators",
                                 ["close_requested_by"], ["id"])


def downgrade():
    with op.batch_alter_table("recon_exceptions") as batch:
        batch.drop_constraint(op.f("fk_recon_exceptions_close_requested_by_operators"), type_="foreignkey")
        for c in ("close_requested_at", "close_requested_book", "close_requested_reason", "close_requested_as",
                  "close_requested_by"):
            batch.drop_column(c)
    with op.batch_alter_table("topups") as batch:
        batch.drop_constraint(op.f("fk_topups_payment_confirmed_by_operators"), type_="foreignkey")
        batch.drop_column("payment_confirmed_at")
        batch.drop_column("payment_confirmed_by")
    with op.batch_alter_table("operators") as batch:
        batch.drop_constraint(op.f("uq_operators_db_role"), type_="unique")
        batch.drop_constraint(op.f("fk_operators_approved_by_operators"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_operators_requested_by_operators"), type_="foreignkey")
        for c in ("db_role", "approved_by", "requested_by", "pending_role", "pending"):
            batch.drop_column(c)
