"""Store operations: reader sign-ins, collected reader journals, day-close batches, card
observations and the reconciliation exception list.

Revision ID: 0002_store_operations
Revises: 0002_topup_voids
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_store_operations"
down_revision = "0002_topup_voids"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('reader_journal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('terminal_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.Integer(), nullable=False),
    sa.Column('state', sa.Integer(), nullable=False),
    sa.Column('key_version', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=20), nullable=False),
    sa.Column('card_seq', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('balance_after', sa.BigInteger(), nullable=False),
    sa.Column('txn', sa.BigInteger(), nullable=False),
    sa.Column('reader_time', sa.BigInteger(), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.Column('collected_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'], name=op.f('fk_reader_journal_terminal_id_terminals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reader_journal')),
    sa.UniqueConstraint('terminal_id', 'number', name='uq_reader_journal_terminal_number')
    )
    op.create_index(op.f('ix_reader_journal_terminal_id'), 'reader_journal', ['terminal_id'], unique=False)
    op.create_index(op.f('ix_reader_journal_uid'), 'reader_journal', ['uid'], unique=False)
    op.create_table('recon_exceptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('card_number', sa.String(length=32), nullable=True),
    sa.Column('terminal_number', sa.String(length=8), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=True),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('proposal', sa.String(length=16), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.Integer(), nullable=True),
    sa.Column('close_reason', sa.Text(), nullable=True),
    sa.Column('blacklist_version', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('open', 'approved', 'dismissed', 'resolved')", name=op.f('ck_recon_exceptions_status')),
    sa.ForeignKeyConstraint(['closed_by'], ['operators.id'], name=op.f('fk_recon_exceptions_closed_by_operators')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recon_exceptions')),
    sa.UniqueConstraint('fingerprint', name=op.f('uq_recon_exceptions_fingerprint'))
    )
    op.create_index(op.f('ix_recon_exceptions_card_number'), 'recon_exceptions', ['card_number'], unique=False)
    op.create_index(op.f('ix_recon_exceptions_kind'), 'recon_exceptions', ['kind'], unique=False)
    op.create_index(op.f('ix_recon_exceptions_status'), 'recon_exceptions', ['status'], unique=False)
    op.create_table('terminal_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('terminal_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Integer(), nullable=False),
    sa.Column('batch', sa.Integer(), nullable=False),
    sa.Column('first_number', sa.BigInteger(), nullable=False),
    sa.Column('last_number', sa.BigInteger(), nullable=False),
    sa.Column('reader_count', sa.Integer(), nullable=False),
    sa.Column('reader_sum', sa.BigInteger(), nullable=False),
    sa.Column('journal_count', sa.Integer(), nullable=False),
    sa.Column('journal_sum', sa.BigInteger(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'], name=op.f('fk_terminal_batches_terminal_id_terminals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_terminal_batches')),
    sa.UniqueConstraint('terminal_id', 'batch', name='uq_terminal_batches_terminal_batch')
    )
    op.create_index(op.f('ix_terminal_batches_terminal_id'), 'terminal_batches', ['terminal_id'], unique=False)
    op.create_table('terminal_sign_ins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('terminal_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reader_time', sa.BigInteger(), nullable=False),
    sa.Column('blacklist_version', sa.Integer(), nullable=False),
    sa.Column('day', sa.Integer(), nullable=False),
    sa.Column('batch', sa.Integer(), nullable=False),
    sa.Column('first_number', sa.BigInteger(), nullable=False),
    sa.Column('operator_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id'], name=op.f('fk_terminal_sign_ins_operator_id_operators')),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'], name=op.f('fk_terminal_sign_ins_terminal_id_terminals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_terminal_sign_ins'))
    )
    op.create_index(op.f('ix_terminal_sign_ins_terminal_id'), 'terminal_sign_ins', ['terminal_id'], unique=False)
    op.create_table('card_observations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('card_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('ref', sa.String(length=128), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('balance', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.Integer(), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=True),
    sa.Column('terminal', sa.BigInteger(), nullable=True),
    sa.Column('txn', sa.BigInteger(), nullable=True),
    sa.Column('observed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['card_id'], ['cards.id'], name=op.f('fk_card_observations_card_id_cards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_observations')),
    sa.UniqueConstraint('ref', name=op.f('uq_card_observations_ref'))
    )
    op.create_index(op.f('ix_card_observations_card_id'), 'card_observations', ['card_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_card_observations_card_id'), table_name='card_observations')
    op.drop_table('card_observations')
    op.drop_index(op.f('ix_terminal_sign_ins_terminal_id'), table_name='terminal_sign_ins')
    op.drop_table('terminal_sign_ins')
    op.drop_index(op.f('ix_terminal_batches_terminal_id'), table_name='terminal_batches')
    op.drop_table('terminal_batches')
    op.drop_index(op.f('ix_recon_exceptions_status'), table_name='recon_exceptions')
    op.drop_index(op.f('ix_recon_exceptions_kind'), table_name='recon_exceptions')
    op.drop_index(op.f('ix_recon_exceptions_card_number'), table_name='recon_exceptions')
    op.drop_table('recon_exceptions')
    op.drop_index(op.f('ix_reader_journal_uid'), table_name='reader_journal')
    op.drop_index(op.f('ix_reader_journal_terminal_id'), table_name='reader_journal')
    op.drop_table('reader_journal')
