"""Initial ledger schema: operators, stock, programmes, holders, cards, sales, double-entry
accounts/journal/postings, terminals, top-ups, versioned blacklist, hash-chained audit log.

Revision ID: 0001_initial
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_log',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('at', sa.String(length=32), nullable=False),
    sa.Column('operator', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('card_number', sa.String(length=32), nullable=True),
    sa.Column('terminal_number', sa.String(length=8), nullable=True),
    sa.Column('result', sa.String(length=16), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_log')),
    sa.UniqueConstraint('entry_hash', name=op.f('uq_audit_log_entry_hash')),
    sa.UniqueConstraint('prev_hash', name=op.f('uq_audit_log_prev_hash'))
    )
    op.create_index(op.f('ix_audit_log_card_number'), 'audit_log', ['card_number'], unique=False)
    op.create_table('holders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('id_type', sa.String(length=32), nullable=False),
    sa.Column('id_number_enc', sa.LargeBinary(), nullable=False),
    sa.Column('id_number_index', sa.String(length=64), nullable=False),
    sa.Column('contact', sa.String(length=128), nullable=False),
    sa.Column('unit_name', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_holders'))
    )
    op.create_index(op.f('ix_holders_id_number_index'), 'holders', ['id_number_index'], unique=False)
    op.create_table('operators',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=128), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('seller', 'finance', 'issuer-admin', 'auditor', 'terminal-operator', 'key-custodian')", name=op.f('ck_operators_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operators')),
    sa.UniqueConstraint('username', name=op.f('uq_operators_username'))
    )
    op.create_table('sales_points',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_points')),
    sa.UniqueConstraint('code', name=op.f('uq_sales_points_code'))
    )
    op.create_table('terminals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=8), nullable=False),
    sa.Column('outlet', sa.String(length=128), nullable=False),
    sa.Column('merchant', sa.String(length=128), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('key_version', sa.Integer(), nullable=False),
    sa.Column('fixed_price', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_sign_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('enabled', 'disabled')", name=op.f('ck_terminals_status')),
    sa.CheckConstraint('length(number) = 8', name=op.f('ck_terminals_number_8_digits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_terminals')),
    sa.UniqueConstraint('number', name=op.f('uq_terminals_number'))
    )
    op.create_table('blacklist_versions',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('change', sa.String(length=8), nullable=False),
    sa.Column('card_number', sa.String(length=32), nullable=False),
    sa.Column('operator_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id'], name=op.f('fk_blacklist_versions_operator_id_operators')),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_blacklist_versions'))
    )
    op.create_table('programmes',
    sa.Column('id', sa.String(length=63), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('profile', sa.String(length=32), nullable=False),
    sa.Column('definition', sa.Text(), nullable=False),
    sa.Column('violations', sa.Text(), nullable=False),
    sa.Column('override_reason', sa.Text(), nullable=True),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('registered_by', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['registered_by'], ['operators.id'], name=op.f('fk_programmes_registered_by_operators')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programmes'))
    )
    op.create_table('stock_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_by', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['received_by'], ['operators.id'], name=op.f('fk_stock_batches_received_by_operators')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_batches')),
    sa.UniqueConstraint('reference', name=op.f('uq_stock_batches_reference'))
    )
    op.create_table('blacklist_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('card_number', sa.String(length=32), nullable=False),
    sa.Column('uid', sa.String(length=20), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('added_version', sa.Integer(), nullable=False),
    sa.Column('removed_version', sa.Integer(), nullable=True),
    sa.Column('removal_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['added_version'], ['blacklist_versions.version'], name=op.f('fk_blacklist_entries_added_version_blacklist_versions')),
    sa.ForeignKeyConstraint(['removed_version'], ['blacklist_versions.version'], name=op.f('fk_blacklist_entries_removed_version_blacklist_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blacklist_entries'))
    )
    op.create_index(op.f('ix_blacklist_entries_card_number'), 'blacklist_entries', ['card_number'], unique=False)
    op.create_table('stock_cards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=20), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('sales_point_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('in_stock', 'issued_to_point', 'sold', 'paid', 'activated', 'in_use', 'lost', 'blocked', 'expired', 'refunded', 'closed')", name=op.f('ck_stock_cards_state')),
    sa.ForeignKeyConstraint(['batch_id'], ['stock_batches.id'], name=op.f('fk_stock_cards_batch_id_stock_batches')),
    sa.ForeignKeyConstraint(['sales_point_id'], ['sales_points.id'], name=op.f('fk_stock_cards_sales_point_id_sales_points')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_cards')),
    sa.UniqueConstraint('uid', name=op.f('uq_stock_cards_uid'))
    )
    op.create_table('cards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('card_number', sa.String(length=32), nullable=False),
    sa.Column('stock_card_id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.String(length=63), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('face_value', sa.BigInteger(), nullable=False),
    sa.Column('holder_id', sa.Integer(), nullable=True),
    sa.Column('key_version', sa.Integer(), nullable=False),
    sa.Column('last_seen_seq', sa.BigInteger(), nullable=True),
    sa.Column('last_seen_balance', sa.BigInteger(), nullable=True),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_seen_source', sa.String(length=16), nullable=True),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('named', 'anonymous')", name=op.f('ck_cards_kind')),
    sa.CheckConstraint('face_value > 0', name=op.f('ck_cards_face_value_positive')),
    sa.ForeignKeyConstraint(['holder_id'], ['holders.id'], name=op.f('fk_cards_holder_id_holders')),
    sa.ForeignKeyConstraint(['programme_id'], ['programmes.id'], name=op.f('fk_cards_programme_id_programmes')),
    sa.ForeignKeyConstraint(['stock_card_id'], ['stock_cards.id'], name=op.f('fk_cards_stock_card_id_stock_cards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cards')),
    sa.UniqueConstraint('card_number', name=op.f('uq_cards_card_number')),
    sa.UniqueConstraint('stock_card_id', name=op.f('uq_cards_stock_card_id'))
    )
    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=12), nullable=False),
    sa.Column('category', sa.String(length=24), nullable=False),
    sa.Column('card_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("type IN ('asset', 'liability', 'income', 'expense')", name=op.f('ck_accounts_type')),
    sa.ForeignKeyConstraint(['card_id'], ['cards.id'], name=op.f('fk_accounts_card_id_cards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('card_id', name=op.f('uq_accounts_card_id')),
    sa.UniqueConstraint('code', name=op.f('uq_accounts_code'))
    )
    op.create_index(op.f('ix_accounts_category'), 'accounts', ['category'], unique=False)
    op.create_table('journal_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('card_id', sa.Integer(), nullable=True),
    sa.Column('operator_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('memo', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['card_id'], ['cards.id'], name=op.f('fk_journal_entries_card_id_cards')),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id'], name=op.f('fk_journal_entries_operator_id_operators')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journal_entries')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_journal_entries_idempotency_key'))
    )
    op.create_index(op.f('ix_journal_entries_card_id'), 'journal_entries', ['card_id'], unique=False)
    op.create_table('sales',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('card_id', sa.Integer(), nullable=False),
    sa.Column('seller_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('payment_method', sa.String(length=20), nullable=False),
    sa.Column('buyer_kind', sa.String(length=12), nullable=False),
    sa.Column('remote', sa.Boolean(), nullable=False),
    sa.Column('buyer_holder_id', sa.Integer(), nullable=True),
    sa.Column('payer_account', sa.String(length=128), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_by', sa.Integer(), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('activated_by', sa.Integer(), nullable=True),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('recorded', 'paid', 'activated')", name=op.f('ck_sales_state')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_sales_amount_positive')),
    sa.ForeignKeyConstraint(['activated_by'], ['operators.id'], name=op.f('fk_sales_activated_by_operators')),
    sa.ForeignKeyConstraint(['buyer_holder_id'], ['holders.id'], name=op.f('fk_sales_buyer_holder_id_holders')),
    sa.ForeignKeyConstraint(['card_id'], ['cards.id'], name=op.f('fk_sales_card_id_cards')),
    sa.ForeignKeyConstraint(['confirmed_by'], ['operators.id'], name=op.f('fk_sales_confirmed_by_operators')),
    sa.ForeignKeyConstraint(['seller_id'], ['operators.id'], name=op.f('fk_sales_seller_id_operators')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales'))
    )
    op.create_index(op.f('ix_sales_card_id'), 'sales', ['card_id'], unique=False)
    op.create_table('topups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('txn_id', sa.String(length=64), nullable=False),
    sa.Column('card_id', sa.Integer(), nullable=False),
    sa.Column('terminal_id', sa.Integer(), nullable=True),
    sa.Column('operator_id', sa.Integer(), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('payment_method', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('card_seq_before', sa.BigInteger(), nullable=True),
    sa.Column('card_balance_before', sa.BigInteger(), nullable=True),
    sa.Column('card_seq_after', sa.BigInteger(), nullable=True),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('settled_by', sa.Integer(), nullable=True),
    sa.CheckConstraint("state IN ('pending', 'confirmed', 'reversed', 'unconfirmed', 'voided')", name=op.f('ck_topups_state')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_topups_amount_positive')),
    sa.ForeignKeyConstraint(['card_id'], ['cards.id'], name=op.f('fk_topups_card_id_cards')),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id'], name=op.f('fk_topups_operator_id_operators')),
    sa.ForeignKeyConstraint(['settled_by'], ['operators.id'], name=op.f('fk_topups_settled_by_operators')),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'], name=op.f('fk_topups_terminal_id_terminals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_topups')),
    sa.UniqueConstraint('txn_id', name=op.f('uq_topups_txn_id'))
    )
    op.create_index(op.f('ix_topups_card_id'), 'topups', ['card_id'], unique=False)
    op.create_index(op.f('ix_topups_state'), 'topups', ['state'], unique=False)
    op.create_table('postings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount <> 0', name=op.f('ck_postings_amount_nonzero')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_postings_account_id_accounts')),
    sa.ForeignKeyConstraint(['entry_id'], ['journal_entries.id'], name=op.f('fk_postings_entry_id_journal_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_postings')),
    sa.UniqueConstraint('entry_id', 'line', name='uq_postings_entry_line')
    )
    op.create_index(op.f('ix_postings_account_id'), 'postings', ['account_id'], unique=False)
    op.create_index(op.f('ix_postings_entry_id'), 'postings', ['entry_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_postings_entry_id'), table_name='postings')
    op.drop_index(op.f('ix_postings_account_id'), table_name='postings')
    op.drop_table('postings')
    op.drop_index(op.f('ix_topups_state'), table_name='topups')
    op.drop_index(op.f('ix_topups_card_id'), table_name='topups')
    op.drop_table('topups')
    op.drop_index(op.f('ix_sales_card_id'), table_name='sales')
    op.drop_table('sales')
    op.drop_index(op.f('ix_journal_entries_card_id'), table_name='journal_entries')
    op.drop_table('journal_entries')
    op.drop_index(op.f('ix_accounts_category'), table_name='accounts')
    op.drop_table('accounts')
    op.drop_table('cards')
    op.drop_table('stock_cards')
    op.drop_index(op.f('ix_blacklist_entries_card_number'), table_name='blacklist_entries')
    op.drop_table('blacklist_entries')
    op.drop_table('stock_batches')
    op.drop_table('programmes')
    op.drop_table('blacklist_versions')
    op.drop_table('terminals')
    op.drop_table('sales_points')
    op.drop_table('operators')
    op.drop_index(op.f('ix_holders_id_number_index'), table_name='holders')
    op.drop_table('holders')
    op.drop_index(op.f('ix_audit_log_card_number'), table_name='audit_log')
    op.drop_table('audit_log')
