"""Incremental reconciliation (host/ledger/reconciliation.py): a keyed watermark per terminal
(`recon_terminals`), where the last run stopped in the ledger's own logs (`recon_marks`), the cards
it has seen (`recon_cards`); postings indexed by (account, id) for balances by account; collected records by (terminal, txn)
for what resolves an interrupted sale.
PostgreSQL: every operator reads them, the jobs that reconcile (auditor, finance, issuer-admin:
migration 0003c) write them.

Revision ID: 0005_sc_recon_marks
Revises: 0004b_operations_pg_roles
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_sc_recon_marks"
down_revision = "0004b_operations_pg_roles"
branch_labels = None
depends_on = None

TABLES = ("recon_terminals", "recon_marks", "recon_cards")
RECONCILERS = ("auditor", "finance", "issuer-admin")


def upgrade():
    op.create_table(
        "recon_terminals",
        sa.Column("terminal_id", sa.Integer(), nullable=False),
        sa.Column("record_upto", sa.BigInteger(), nullable=False),
        sa.Column("pending_from", sa.BigInteger(), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["terminal_id"], ["terminals.id"], name=op.f("fk_recon_terminals_terminal_id_terminals")),
        sa.PrimaryKeyConstraint("terminal_id", name=op.f("pk_recon_terminals")),
    )
    op.create_table(
        "recon_marks",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("audit_upto", sa.BigInteger(), nullable=False),
        sa.Column("entry_upto", sa.BigInteger(), nullable=False),
        sa.Column("observation_upto", sa.BigInteger(), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recon_marks")),
    )
    op.create_table(
        "recon_cards",
        sa.Column("card_id", sa.Integer(), nullable=False),
        sa.Column("mismatched", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["card_id"], ["cards.id"], name=op.f("fk_recon_cards_card_id_cards")),
        sa.PrimaryKeyConstraint("card_id", name=op.f("pk_recon_cards")),
    )
    with op.batch_alter_table("postings") as batch:
        batch.create_index("ix_postings_account_id_id", ["account_id", "id"], unique=False)
        batch.drop_index(op.f("ix_postings_account_id"))
    op.create_index("ix_reader_journal_terminal_txn", "reader_journal", ["terminal_id", "txn"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        _grant()


def _grant():
    """Like 0003c: role names carry the database's name; nothing to do where the roles are absent."""
    def grant(sql, job):
        op.execute("""DO $$ BEGIN
                        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_database() || '/%(job)s') THEN
                          EXECUTE format('%(sql)s', current_database() || '/%(job)s');
                        END IF;
                      END $$""" % {"job": job, "sql": sql})

    grant("GRANT SELECT ON %s TO %%I" % ", ".join(TABLES), "operator")
    for job in RECONCILERS:
        grant("GRANT INSERT, UPDATE, DELETE ON %s TO %%I" % ", ".join(TABLES), job)


def downgrade():
    op.drop_index("ix_reader_journal_terminal_txn", table_name="reader_journal")
    with op.batch_alter_table("postings") as batch:
        batch.create_index(op.f("ix_postings_account_id"), ["account_id"], unique=False)
        batch.drop_index("ix_postings_account_id_id")
    for table in reversed(TABLES):
        op.drop_table(table)
