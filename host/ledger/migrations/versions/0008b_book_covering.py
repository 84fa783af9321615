"""Covering indexes for a reconciliation's balance reads (host/ledger/reconciliation.py, books.py):
an account's postings as (account_id, id, amount) — a card's balance (`book_debits`), the trial
balance and the outstanding balance sum `amount` from the index alone, and "an account's postings
after a given one" is still one index range — and an entry's postings as (entry_id, amount) — the
unbalanced-entries check. They replace the indexes of the same leading columns (no extra index to
keep up on writes). PostgreSQL: indexes carry no grants.

Revision ID: 0008b_book
Revises: 0007_cityday
"""
from alembic import op

revision = "0008b_book"
down_revision = "0007_cityday"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_postings_account_id_id_amount", "postings", ["account_id", "id", "amount"])
    op.drop_index("ix_postings_account_id_id", table_name="postings")
    op.create_index("ix_postings_entry_id_amount", "postings", ["entry_id", "amount"])
    op.drop_index("ix_postings_entry_id", table_name="postings")


def downgrade():
    op.create_index("ix_postings_entry_id", "postings", ["entry_id"])
    op.drop_index("ix_postings_entry_id_amount", table_name="postings")
    op.create_index("ix_postings_account_id_id", "postings", ["account_id", "id"])
    op.drop_index("ix_postings_account_id_id_amount", table_name="postings")
