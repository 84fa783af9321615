"""Reader trust: the settings the back office signs into a terminal's day configuration, and the
journal high-water marks a reader reported at each contact (truncation and number reuse found at
collection). On PostgreSQL the job roles of 0003c get the new table: every operator reads it; the
jobs that contact readers (provision, sign-in, collection, day close, terminal audits) add marks.

Revision ID: 0006_readertrust
Revises: 0005_sc_recon_marks
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_readertrust"
down_revision = "0005_sc_recon_marks"
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
    if op.get_bind().dialect.name == "postgresql":
        _grant("GRANT SELECT ON terminal_journal_marks TO %I", "operator")
        _grant("GRANT USAGE, SELECT ON SEQUENCE terminal_journal_marks_id_seq TO %I", "operator")
        for job in MARK_WRITERS:
            _grant("GRANT INSERT ON terminal_journal_marks TO %I", job)


# the job roles (0003c) whose operators contact readers and so record their high-water marks
MARK_WRITERS = ("terminal-operator", "issuer-admin", "finance", "auditor")


def _grant(sql_fmt, job):
    op.execute("DO $$ BEGIN EXECUTE format(%r, current_database() || '/%s'); END $$" % (sql_fmt, job))


def downgrade():
    op.drop_index(op.f('ix_terminal_journal_marks_terminal_id'), table_name='terminal_journal_marks')
    op.drop_table('terminal_journal_marks')
    with op.batch_alter_table('terminals') as batch:
        batch.drop_column('settings')
