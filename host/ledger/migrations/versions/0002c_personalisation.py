"""Personalisation journal (started before the first card write, done after verification),
programme numbers written on cards, and stock batches received by count only.

Revision ID: 0002_personalisation
Revises: 0002_store_operations
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_personalisation"
down_revision = "0002_store_operations"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('stock_batches', sa.Column('declared_count', sa.Integer(), nullable=True))
    op.create_table('programme_codes',
    sa.Column('code', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('programme_id', sa.String(length=63), nullable=False),
    sa.ForeignKeyConstraint(['programme_id'], ['programmes.id'], name=op.f('fk_programme_codes_programme_id_programmes')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_programme_codes')),
    sa.UniqueConstraint('programme_id', name=op.f('uq_programme_codes_programme_id'))
    )
    op.create_table('personalisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=20), nullable=False),
    sa.Column('card_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('key_version', sa.Integer(), nullable=False),
    sa.Column('identity', sa.Text(), nullable=False),
    sa.Column('card_time', sa.BigInteger(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_by', sa.Integer(), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_by', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.CheckConstraint("state IN ('started', 'done', 'damaged')", name=op.f('ck_personalisations_state')),
    sa.ForeignKeyConstraint(['card_id'], ['cards.id'], name=op.f('fk_personalisations_card_id_cards')),
    sa.ForeignKeyConstraint(['finished_by'], ['operators.id'], name=op.f('fk_personalisations_finished_by_operators')),
    sa.ForeignKeyConstraint(['started_by'], ['operators.id'], name=op.f('fk_personalisations_started_by_operators')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_personalisations')),
    sa.UniqueConstraint('card_id', name=op.f('uq_personalisations_card_id')),
    sa.UniqueConstraint('uid', name=op.f('uq_personalisations_uid'))
    )
    op.create_index(op.f('ix_personalisations_state'), 'personalisations', ['state'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_personalisations_state'), table_name='personalisations')
    op.drop_table('personalisations')
    op.drop_table('programme_codes')
    with op.batch_alter_table('stock_batches') as batch:
        batch.drop_column('declared_count')
