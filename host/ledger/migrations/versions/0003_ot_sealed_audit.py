"""The keyed audit log that seals the books (host/ledger/audit.py): each entry's hash scheme
(`hmac` from now on; the entries written before stay `sha256`, the unkeyed chain), the highest
journal-entry id sealed so far and the seal itself (SHA-256 of the bookings it covers).

Revision ID: 0003_ot_sealed_audit
Revises: 0002_personalisation
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_ot_sealed_audit"
down_revision = "0002_personalisation"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("scheme", sa.String(length=8), nullable=False, server_default="sha256"))
        batch.add_column(sa.Column("sealed_upto", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("seal", sa.String(length=64), nullable=True))
    # the existing rows keep 'sha256'; new rows say what they are (no default from here on)
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("scheme", server_default=None)


def downgrade():
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("seal")
        batch.drop_column("sealed_upto")
        batch.drop_column("scheme")
