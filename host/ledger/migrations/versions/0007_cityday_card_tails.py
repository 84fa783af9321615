"""Incremental card threading (host/ledger/reconciliation.py): per card, the newest state of its one
clean history as the last reconciliation left it (`recon_card_tails`: the collected record it reached,
a digest of the other observations threaded, the tail observation, keyed with the audit key), so a
run threads only the card's new records. PostgreSQL: like 0005 (every operator reads, the jobs that
reconcile write).

Revision ID: 0007_cityday
Revises: 0006_readertrust
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_cityday"
down_revision = "0006_readertrust"
branch_labels = None
depends_on = None

RECONCILERS = ("auditor", "finance", "issuer-admin")


def upgrade():
    op.create_table(
        "recon_card_tails",
        sa.Column("card_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("record_upto", sa.BigInteger(), nullable=False),
        sa.Column("others", sa.String(length=64), nullable=False),
        sa.Column("tail", sa.Text(), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["card_id"], ["cards.id"], name=op.f("fk_recon_card_tails_card_id_cards")),
        sa.PrimaryKeyConstraint("card_id", name=op.f("pk_recon_card_tails")),
    )
    if op.get_bind().dialect.name == "postgresql":
        _grant()


def _grant():
    """Like 0005: role names carry the database's name; nothing to do where the roles are absent."""
    def grant(sql, job):
        op.execute("""DO $$ BEGIN
                        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_database() || '/%(job)s') THEN
                          EXECUTE format('%(sql)s', current_database() || '/%(job)s');
                        END IF;
                      END $$""" % {"job": job, "sql": sql})

    grant("GRANT SELECT ON recon_card_tails TO %I", "operator")
    for job in RECONCILERS:
        grant("GRANT INSERT, UPDATE, DELETE ON recon_card_tails TO %I", job)


def downgrade():
    op.drop_table("recon_card_tails")
