"""Voids of top-ups written to the card like a purchase (docs/business-rules.md "Kiosk top-up",
step 5): the void's own state (pending / unconfirmed / confirmed / cancelled), the card counter before
it, when and by whom.

Revision ID: 0002_topup_voids
Revises: 0001_initial
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_topup_voids"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("topups") as batch:
        batch.add_column(sa.Column("void_state", sa.String(length=12), nullable=True))
        batch.add_column(sa.Column("void_card_seq_before", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("void_started_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("void_by", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_topups_void_by_operators"), "operators", ["void_by"], ["id"])
        batch.create_check_constraint(
            op.f("ck_topups_void_state"),
            "void_state IS NULL OR void_state IN ('pending', 'unconfirmed', 'confirmed', 'cancelled')")


def downgrade():
    with op.batch_alter_table("topups") as batch:
        batch.drop_constraint(op.f("ck_topups_void_state"), type_="check")
        batch.drop_constraint(op.f("fk_topups_void_by_operators"), type_="foreignkey")
        batch.drop_column("void_by")
        batch.drop_column("void_started_at")
        batch.drop_column("void_card_seq_before")
        batch.drop_column("void_state")
