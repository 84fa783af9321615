"""Daily operations: sales points that can be disabled, kiosk terminals, cut-offs per programme or
outlet, the agent (经办人) of a sale, payer account and real-name capture of a top-up, top-up
refunds and adjustments (four eyes), goods refunds tied to the store purchase, clearing-house
reconciliation (对账), an issuer-admin's password reset awaiting a second issuer-admin
(`operators.pending_password_hash`, four eyes as for every change to an operator). The PostgreSQL
privileges of these are migration 0004b_operations_pg_roles.

Revision ID: 0004_operations
Revises: 0003c_ot_pg_roles
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_operations"
down_revision = "0003c_ot_pg_roles"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("operators") as batch:
        batch.add_column(sa.Column("pending_password_hash", sa.String(length=255), nullable=True))
    with op.batch_alter_table("sales_points") as batch:
        batch.add_column(sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False))
    with op.batch_alter_table("terminals") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=8), server_default="store", nullable=False))
    with op.batch_alter_table("sales") as batch:
        batch.add_column(sa.Column("agent_holder_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_sales_agent_holder_id_holders"), "holders", ["agent_holder_id"], ["id"])
    with op.batch_alter_table("topups") as batch:
        batch.add_column(sa.Column("payer_account", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("real_name_holder_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_topups_real_name_holder_id_holders"), "holders", ["real_name_holder_id"],
                                 ["id"])
    op.create_table(
        "cutoffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("target", sa.String(length=128), nullable=False),
        sa.Column("at", sa.String(length=5), nullable=False),
        sa.Column("set_by", sa.Integer(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("scope IN ('ledger', 'programme', 'outlet')", name=op.f("ck_cutoffs_scope")),
        sa.ForeignKeyConstraint(["set_by"], ["operators.id"], name=op.f("fk_cutoffs_set_by_operators")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cutoffs")),
        sa.UniqueConstraint("scope", "target", name="uq_cutoffs_scope_target"),
    )
    op.create_table(
        "topup_adjustments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topup_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("card_seq_before", sa.BigInteger(), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("kind IN ('refund', 'credit', 'debit')", name=op.f("ck_topup_adjustments_kind")),
        sa.CheckConstraint("state IN ('requested', 'approved', 'rejected', 'pending', 'unconfirmed', 'confirmed', "
                           "'cancelled')", name=op.f("ck_topup_adjustments_state")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_topup_adjustments_amount_positive")),
        sa.ForeignKeyConstraint(["topup_id"], ["topups.id"], name=op.f("fk_topup_adjustments_topup_id_topups")),
        sa.ForeignKeyConstraint(["requested_by"], ["operators.id"],
                                name=op.f("fk_topup_adjustments_requested_by_operators")),
        sa.ForeignKeyConstraint(["approved_by"], ["operators.id"],
                                name=op.f("fk_topup_adjustments_approved_by_operators")),
        sa.ForeignKeyConstraint(["entry_id"], ["journal_entries.id"],
                                name=op.f("fk_topup_adjustments_entry_id_journal_entries")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topup_adjustments")),
    )
    op.create_index(op.f("ix_topup_adjustments_topup_id"), "topup_adjustments", ["topup_id"], unique=False)
    op.create_index(op.f("ix_topup_adjustments_state"), "topup_adjustments", ["state"], unique=False)
    op.create_table(
        "goods_refund_refs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("card_id", sa.Integer(), nullable=False),
        sa.Column("terminal_id", sa.Integer(), nullable=False),
        sa.Column("journal_number", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["journal_entries.id"],
                                name=op.f("fk_goods_refund_refs_entry_id_journal_entries")),
        sa.ForeignKeyConstraint(["card_id"], ["cards.id"], name=op.f("fk_goods_refund_refs_card_id_cards")),
        sa.ForeignKeyConstraint(["terminal_id"], ["terminals.id"],
                                name=op.f("fk_goods_refund_refs_terminal_id_terminals")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goods_refund_refs")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_goods_refund_refs_entry_id")),
    )
    op.create_index(op.f("ix_goods_refund_refs_card_id"), "goods_refund_refs", ["card_id"], unique=False)
    op.create_table(
        "clearing_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("imported_by", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["imported_by"], ["operators.id"],
                                name=op.f("fk_clearing_imports_imported_by_operators")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clearing_imports")),
        sa.UniqueConstraint("business_date", "digest", name="uq_clearing_imports_business_date"),
    )
    op.create_index(op.f("ix_clearing_imports_business_date"), "clearing_imports", ["business_date"], unique=False)
    op.create_table(
        "clearing_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("txn_id", sa.String(length=64), nullable=False),
        sa.Column("terminal_number", sa.String(length=8), nullable=True),
        sa.Column("card_number", sa.String(length=32), nullable=True),
        sa.Column("our_amount", sa.BigInteger(), nullable=True),
        sa.Column("their_amount", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('long', 'short', 'amount_mismatch')", name=op.f("ck_clearing_items_kind")),
        sa.CheckConstraint("status IN ('open', 'resolved')", name=op.f("ck_clearing_items_status")),
        sa.ForeignKeyConstraint(["import_id"], ["clearing_imports.id"],
                                name=op.f("fk_clearing_items_import_id_clearing_imports")),
        sa.ForeignKeyConstraint(["resolved_by"], ["operators.id"],
                                name=op.f("fk_clearing_items_resolved_by_operators")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clearing_items")),
    )
    op.create_index(op.f("ix_clearing_items_import_id"), "clearing_items", ["import_id"], unique=False)
    op.create_index(op.f("ix_clearing_items_status"), "clearing_items", ["status"], unique=False)


def downgrade():
    for table, indexes in (("clearing_items", ("status", "import_id")), ("clearing_imports", ("business_date",)),
                           ("goods_refund_refs", ("card_id",)), ("topup_adjustments", ("state", "topup_id"))):
        for col in indexes:
            op.drop_index(op.f("ix_%s_%s" % (table, col)), table_name=table)
        op.drop_table(table)
    op.drop_table("cutoffs")
    with op.batch_alter_table("topups") as batch:
        batch.drop_constraint(op.f("fk_topups_real_name_holder_id_holders"), type_="foreignkey")
        batch.drop_column("real_name_holder_id")
        batch.drop_column("payer_account")
    with op.batch_alter_table("sales") as batch:
        batch.drop_constraint(op.f("fk_sales_agent_holder_id_holders"), type_="foreignkey")
        batch.drop_column("agent_holder_id")
    with op.batch_alter_table("terminals") as batch:
        batch.drop_column("kind")
    with op.batch_alter_table("sales_points") as batch:
        batch.drop_column("active")
    with op.batch_alter_table("operators") as batch:
        batch.drop_column("pending_password_hash")
