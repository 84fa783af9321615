"""PostgreSQL: the job roles of migration 0003c extended to the daily operations of 0004_operations
(nothing on SQLite: one workstation, its file's owner is trusted). docs/back-office.md has the table.

- every operator reads the new tables (cut-offs, refunds/adjustments, goods-refund references, the
  clearing house's imports and items) and uses their sequences;
- who may write what follows the ledger's own rules (host/ledger/outlets.py, adjustments.py,
  clearing.py, lifecycle_records.py): issuer-admins everything; finance cut-offs, adjustments,
  goods refunds, clearing; the counter roles (seller, terminal-operator) ask for and write
  refunds/adjustments, sign kiosks in and refund goods; the auditor works the clearing lists;
- money out after the cut-off takes two operators, and the server holds to it: a refund/adjustment
  is inserted only as `requested` in the inserting operator's own name; only finance or an
  issuer-admin sets `approved_by`, only to itself and never on its own request (trigger; column
  privileges keep the counter roles off `approved_by`); and its booking (`topup_refund`,
  `topup_debit`, `topup_credit` entries) is accepted only for an adjustment approved that way and
  being written (row-level security on journal_entries);
- a replacement or exchange fee (`fee` entries) is booked by whoever may replace a card (finance,
  issuer-admin);
- an issuer-admin's password reset awaiting approval (`operators.pending_password_hash`) is
  readable and writable by issuer-admins only.

Revision ID: 0004b_operations_pg_roles
Revises: 0004_operations
"""
from alembic import op

revision = "0004b_operations_pg_roles"
down_revision = "0004_operations"
branch_labels = None
depends_on = None

NEW_TABLES = ("cutoffs", "topup_adjustments", "goods_refund_refs", "clearing_imports", "clearing_items")
_ADJ_WRITE = ("state", "card_seq_before", "settled_at", "entry_id")  # asking and writing to the card
_ADJ_APPROVE = _ADJ_WRITE + ("approved_by", "approved_at")
_CLEARING = {"clearing_imports": (True, ()), "clearing_items": (True, ("status", "action", "reason", "resolved_by",
                                                                       "resolved_at"))}
# job -> {table: (insert?, update columns or "*" or ())}
PRIVILEGES = {
    "seller": {"topup_adjustments": (True, _ADJ_WRITE), "goods_refund_refs": (True, ())},
    "terminal-operator": {"topup_adjustments": (True, _ADJ_WRITE), "goods_refund_refs": (True, ())},
    "finance": dict({"cutoffs": (True, "*"), "topup_adjustments": (True, _ADJ_APPROVE),
                     "goods_refund_refs": (True, ())}, **_CLEARING),
    "auditor": dict(_CLEARING),
    "issuer-admin": {t: (True, "*") for t in NEW_TABLES},
}
ADJUSTMENT_KINDS = ("topup_refund", "topup_debit", "topup_credit")
# the entry kinds each job books in addition to 0003c's (row-level security on journal_entries)
BOOKS = {"seller": ADJUSTMENT_KINDS, "terminal-operator": ADJUSTMENT_KINDS, "finance": ADJUSTMENT_KINDS + ("fee",)}
APPROVERS = ("finance", "issuer-admin")


def _role(job):
    return "current_database() || '/%s'" % job


def _policy(job):
    return "books_ops_" + job.replace("-", "_")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    x = op.execute

    def grant(sql_fmt, *roles):
        x("DO $$ BEGIN EXECUTE format(%r, %s); END $$" % (sql_fmt, ", ".join(_role(r) for r in roles)))

    grant("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO %I", "operator")
    grant("GRANT SELECT ON %s TO %%I" % ", ".join(NEW_TABLES), "operator")
    for job, tables in PRIVILEGES.items():
        for table, (ins, cols) in tables.items():
            if ins:
                grant("GRANT INSERT ON %s TO %%I" % table, job)
            if cols == "*":
                grant("GRANT UPDATE ON %s TO %%I" % table, job)
            elif cols:
                grant("GRANT UPDATE (%s) ON %s TO %%I" % (", ".join(cols), table), job)
    # a kiosk signs in in the ledger (outlets.sign_in_kiosk): the counter roles and finance too
    for job in ("seller", "finance"):
        grant("GRANT INSERT ON terminal_sign_ins TO %I", job)
        grant("GRANT UPDATE (last_sign_in_at) ON terminals TO %I", job)
    grant("GRANT SELECT (pending_password_hash), UPDATE (pending_password_hash) ON operators TO %I", "issuer-admin")

    # refunds/adjustments: four eyes held by the server
    x("""CREATE OR REPLACE FUNCTION icpurse_adjustment_guard() RETURNS trigger
         LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_catalog AS $$
         DECLARE me integer; my_role text;
         BEGIN
           IF NOT icpurse_operator_login() THEN
             RETURN NEW;
           END IF;
           me := icpurse_session_operator_id();
           SELECT role INTO my_role FROM operators WHERE id = me;
           IF TG_OP = 'INSERT' THEN
             IF NEW.state <> 'requested' OR NEW.requested_by IS DISTINCT FROM me OR NEW.approved_by IS NOT NULL THEN
               RAISE EXCEPTION 'a refund/adjustment is asked for unapproved, in the asking operator own name'
                 USING ERRCODE = '42501';
             END IF;
             RETURN NEW;
           END IF;
           IF OLD.state = 'requested' AND NEW.state IN ('approved', 'rejected') THEN
             IF NEW.approved_by IS DISTINCT FROM me OR me = NEW.requested_by
                OR my_role NOT IN ('finance', 'issuer-admin') THEN
               RAISE EXCEPTION 'refund/adjustment %: approved or rejected only by finance or an issuer-admin other than the operator who asked for it, in its own name', OLD.id
                 USING ERRCODE = '42501';
             END IF;
           ELSIF NEW.approved_by IS DISTINCT FROM OLD.approved_by OR NEW.requested_by IS DISTINCT FROM OLD.requested_by
                 OR NEW.amount IS DISTINCT FROM OLD.amount OR NEW.kind IS DISTINCT FROM OLD.kind
                 OR NEW.topup_id IS DISTINCT FROM OLD.topup_id
                 OR (NEW.state IS DISTINCT FROM OLD.state AND (OLD.state, NEW.state) NOT IN (
                       ('approved', 'pending'), ('pending', 'confirmed'), ('pending', 'unconfirmed'),
                       ('pending', 'approved'), ('unconfirmed', 'confirmed'), ('unconfirmed', 'approved'))) THEN
             RAISE EXCEPTION 'refund/adjustment %: % -> % is not a step of its write to the card', OLD.id, OLD.state,
               NEW.state USING ERRCODE = '42501';
           END IF;
           RETURN NEW;
         END $$""")
    x("CREATE TRIGGER icpurse_adjustment_guard BEFORE INSERT OR UPDATE ON topup_adjustments "
      "FOR EACH ROW EXECUTE FUNCTION icpurse_adjustment_guard()")

    # bookings: the new kinds, in the booking operator's own name; an adjustment's only once approved
    approved = ("EXISTS (SELECT 1 FROM topup_adjustments a JOIN topups t ON t.id = a.topup_id "
                "WHERE a.state IN (''pending'', ''unconfirmed'') AND a.approved_by IS NOT NULL "
                "AND a.approved_by <> a.requested_by "
                "AND journal_entries.idempotency_key = ''topup:'' || t.txn_id || '':adjustment:'' || a.id)")
    for job, kinds in BOOKS.items():
        adj = [k for k in kinds if k in ADJUSTMENT_KINDS]
        other = [k for k in kinds if k not in ADJUSTMENT_KINDS]
        parts = ["(kind IN (%s) AND %s)" % (", ".join("''%s''" % k for k in adj), approved)]
        if other:
            parts.append("kind IN (%s)" % ", ".join("''%s''" % k for k in other))
        check = "operator_id = icpurse_session_operator_id() AND (%s)" % " OR ".join(parts)
        x("DO $$ BEGIN EXECUTE format('CREATE POLICY %%I ON journal_entries FOR INSERT TO %%I WITH CHECK (%s)', "
          "'%s', %s); END $$" % (check, _policy(job), _role(job)))
    # issuer-admins book every kind already (0003c); their adjustment bookings are checked all the same
    # by the trigger's approval (no journal policy can narrow a permissive one)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    x = op.execute
    for job in BOOKS:
        x("DROP POLICY IF EXISTS %s ON journal_entries" % _policy(job))
    x("DROP TRIGGER IF EXISTS icpurse_adjustment_guard ON topup_adjustments")
    x("DROP FUNCTION IF EXISTS icpurse_adjustment_guard()")
    grant_fmt = "DO $$ BEGIN EXECUTE format('REVOKE ALL ON %s FROM %%I', %s); END $$"
    for job in ("operator",) + tuple(PRIVILEGES):
        for table in NEW_TABLES:
            x(grant_fmt % (table, _role(job)))
