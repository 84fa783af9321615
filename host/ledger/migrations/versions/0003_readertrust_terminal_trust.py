"""Reader trust: the settings the back office signs into a terminal's day configuration, and the
journal high-water marks a reader reported at each contact (truncation and number reuse found at
collection).

Revision ID: 0003_readertrust
Revises: 0002_personalisation
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_readertrust"
down_revision = "0002_personalisation"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('terminals') as batch:
        batch.add_column(sa.Column('settings', sa.Text(), nullable=True))
    op.create_table('terminal_journal_marks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('terminal_id', sa.Integer(), nullable=False),
    sa.Column('last_number', sa.BigInteger(), nullable=False),
    sa.Column('last_mac', sa.LargeBinary(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'], name=op.f('fk_terminal_journal_marks_terminal_id_terminals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_terminal_journal_marks')),
    sa.UniqueConstraint('terminal_id', 'source', 'last_number', 'last_mac', name='uq_terminal_journal_marks')
    )
    op.create_index(op.f('ix_terminal_journal_marks_terminal_id'), 'terminal_journal_marks', ['terminal_id'],
                    unique=False)


def downgrade():
    op.drop_index(op.f('ix_terminal_journal_marks_terminal_id'), table_name='terminal_journal_marks')
    op.drop_table('terminal_journal_marks')
    with op.batch_alter_table('terminals') as batch:
        batch.drop_column('settings')
