"""PostgreSQL: operators enforced by the database (nothing on SQLite: one workstation, its file's
owner is trusted). docs/back-office.md has the table of roles and what each may do.

Per ledger database D (role names are cluster-wide, so they carry the database's name):
- `D/operator`: the group of every operator login; may read everything but password hashes, append
  to the audit log — in its own name only (trigger) — and use the sequences. Nobody but the owner may
  UPDATE or DELETE the audit log, journal entries or postings: insert-only.
- one job role per operator role (`D/seller`, `D/finance`, `D/issuer-admin`, `D/auditor`,
  `D/terminal-operator`, `D/key-custodian`), member of `D/operator`, with the table and column
  privileges of that job: a seller may not UPDATE sales (so it cannot confirm a payment) nor book
  anything but top-ups and goods refunds (row-level security on journal_entries: each job books its
  own kinds of entry, in its own name); only issuer-admins change operators (and no operator changes
  its own role or state: trigger); each operator may change its own password hash only (RLS).
- an operator's own LOGIN role (`D.<operator>` by default) is made by `icpurse operator login`
  (host/ledger/pgroles.py), member of its job role; `icpurse_session_operator()` names the operator
  a connection is (operators.db_role = session_user).
The owner of the ledger (who runs this migration: it needs CREATEROLE) keeps every right: the
database administrator is trusted at the database level; the keyed audit chain and its anchored head
(host/ledger/audit.py) are what catch an edit made with those rights.

Revision ID: 0003c_ot_pg_roles
Revises: 0003b_ot_four_eyes
"""
from alembic import op

revision = "0003c_ot_pg_roles"
down_revision = "0003b_ot_four_eyes"
branch_labels = None
depends_on = None

JOBS = ("seller", "finance", "issuer-admin", "auditor", "terminal-operator", "key-custodian")
# the kinds of journal entry each job may book (row-level security on journal_entries)
_TOPUP = ("topup", "topup_reversal", "topup_void")
_GOODS = ("goods_refund", "goods_refund_cash")
BOOKS = {
    "seller": _TOPUP + _GOODS,
    "terminal-operator": _TOPUP + _GOODS,
    "finance": _TOPUP + _GOODS + ("sale", "topup_payment", "redemption", "discrepancy", "redemption_cash",
                                  "redemption_transfer", "refund_transfer_paid", "replacement"),
    "auditor": ("redemption", "discrepancy"),
    "issuer-admin": None,  # every kind
    "key-custodian": (),
}
_OPERATIONAL = ("sales_points", "stock_batches", "stock_cards", "programmes", "holders", "cards", "sales",
                "accounts", "terminals", "topups", "blacklist_versions", "blacklist_entries", "terminal_sign_ins",
                "reader_journal", "terminal_batches", "card_observations", "recon_exceptions", "programme_codes",
                "personalisations")
# job -> {table: (insert?, update columns or "*" or ())}
_ALL = {t: (True, "*") for t in _OPERATIONAL}
PRIVILEGES = {
    "seller": {"sales": (True, ()), "holders": (True, ()), "accounts": (True, ()),
               "stock_cards": (False, ("state", "updated_at", "sales_point_id")),
               "cards": (False, ("holder_id", "key_version", "last_seen_seq", "last_seen_balance", "last_seen_at",
                                 "last_seen_source")),
               "topups": (True, ("state", "card_seq_after", "settled_at", "settled_by", "void_state",
                                 "void_card_seq_before", "void_started_at", "void_by")),
               "card_observations": (True, ()), "recon_exceptions": (True, ())},
    "terminal-operator": {"accounts": (True, ()), "terminal_sign_ins": (True, ()), "reader_journal": (True, ()),
                          "terminal_batches": (True, ()), "card_observations": (True, ()),
                          "recon_exceptions": (True, ()),
                          "terminals": (False, ("last_sign_in_at", "key_version")),
                          "stock_cards": (False, ("state", "updated_at")),
                          "cards": (False, ("key_version", "last_seen_seq", "last_seen_balance", "last_seen_at",
                                            "last_seen_source")),
                          "topups": (True, ("state", "card_seq_after", "settled_at", "settled_by", "void_state",
                                            "void_card_seq_before", "void_started_at", "void_by"))},
    "auditor": {"accounts": (True, ()), "reader_journal": (True, ()), "terminal_batches": (True, ()),
                "card_observations": (True, ()), "recon_exceptions": (True, "*"), "blacklist_versions": (True, ()),
                "blacklist_entries": (True, ()),
                "cards": (False, ("last_seen_seq", "last_seen_balance", "last_seen_at", "last_seen_source"))},
    "finance": {t: v for t, v in _ALL.items() if t not in ("programmes", "sales_points", "terminals")},
    "issuer-admin": _ALL,
    "key-custodian": {},
}
ADMIN_OPERATOR_COLUMNS = ("display_name", "role", "active", "pending", "pending_role", "requested_by",
                          "approved_by", "password_hash")
READABLE_OPERATOR_COLUMNS = ("id", "username", "display_name", "role", "active", "created_at", "pending",
                             "pending_role", "requested_by", "approved_by", "db_role")


def _role(job):
    """A job role's name: '<database>/<job>' (an operator's login is '<database>.<operator>')."""
    return "current_database() || '/%s'" % job


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    x = op.execute
    # roles (cluster-wide, named after the database) and what each may do in this database
    for job in ("operator",) + JOBS:
        x("""DO $$ BEGIN
               IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s) THEN
                 EXECUTE format('CREATE ROLE %%I NOLOGIN', %s);
               END IF;
             END $$""" % (_role(job), _role(job)))
    for job in JOBS:
        x("DO $$ BEGIN EXECUTE format('GRANT %%I TO %%I', %s, %s); END $$" % (_role("operator"), _role(job)))

    def grant(sql_fmt, *roles):
        x("DO $$ BEGIN EXECUTE format(%r, %s); END $$" % (sql_fmt, ", ".join(_role(r) for r in roles)))

    x("DO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), "
      "current_database() || '/operator'); END $$")
    grant("GRANT USAGE ON SCHEMA public TO %I", "operator")
    grant("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO %I", "operator")
    tables = _OPERATIONAL + ("audit_log", "journal_entries", "postings", "alembic_version")
    grant("GRANT SELECT ON %s TO %%I" % ", ".join(tables), "operator")
    grant("GRANT SELECT (%s) ON operators TO %%I" % ", ".join(READABLE_OPERATOR_COLUMNS), "operator")
    grant("GRANT INSERT ON audit_log TO %I", "operator")
    grant("GRANT UPDATE (password_hash) ON operators TO %I", "operator")  # its own row only (RLS below)
    for job, tables_ in PRIVILEGES.items():
        for table, (ins, cols) in tables_.items():
            if ins:
                grant("GRANT INSERT ON %s TO %%I" % table, job)
            if cols == "*":
                grant("GRANT UPDATE ON %s TO %%I" % table, job)
            elif cols:
                grant("GRANT UPDATE (%s) ON %s TO %%I" % (", ".join(cols), table), job)
        if BOOKS[job] != ():
            grant("GRANT INSERT ON journal_entries, postings TO %I", job)
    grant("GRANT INSERT, UPDATE (%s) ON operators TO %%I" % ", ".join(ADMIN_OPERATOR_COLUMNS), "issuer-admin")

    # who this connection is
    x("""CREATE OR REPLACE FUNCTION icpurse_operator_login() RETURNS boolean
         LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_catalog AS $$
           SELECT NOT r.rolsuper AND pg_has_role(session_user, current_database() || '/operator', 'MEMBER')
           FROM pg_roles r WHERE r.rolname = session_user $$""")
    x("""CREATE OR REPLACE FUNCTION icpurse_session_operator() RETURNS text
         LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_catalog AS $$
           SELECT username FROM operators WHERE db_role = session_user $$""")
    x("""CREATE OR REPLACE FUNCTION icpurse_session_operator_id() RETURNS integer
         LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_catalog AS $$
           SELECT id FROM operators WHERE db_role = session_user $$""")
    grant("GRANT EXECUTE ON FUNCTION icpurse_operator_login(), icpurse_session_operator(), "
          "icpurse_session_operator_id() TO %I", "operator")

    # the audit log: an operator login appends in its own name only
    x("""CREATE OR REPLACE FUNCTION icpurse_audit_as_session() RETURNS trigger
         LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_catalog AS $$
         DECLARE me text;
         BEGIN
           IF icpurse_operator_login() THEN
             me := icpurse_session_operator();
             IF me IS NULL OR NEW.operator IS DISTINCT FROM me THEN
               RAISE EXCEPTION 'audit entry in the name of %, but this database login is operator %',
                 coalesce(NEW.operator, 'no operator'), coalesce(me, 'unknown') USING ERRCODE = '42501';
             END IF;
           END IF;
           RETURN NEW;
         END $$""")
    x("CREATE TRIGGER icpurse_audit_as_session BEFORE INSERT ON audit_log "
      "FOR EACH ROW EXECUTE FUNCTION icpurse_audit_as_session()")

    # operators: no one changes their own role, state or approval; admins change the others
    x("""CREATE OR REPLACE FUNCTION icpurse_operators_guard() RETURNS trigger
         LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_catalog AS $$
         BEGIN
           IF icpurse_operator_login() AND OLD.db_role = session_user AND (
                NEW.role IS DISTINCT FROM OLD.role OR NEW.active IS DISTINCT FROM OLD.active
                OR NEW.pending IS DISTINCT FROM OLD.pending OR NEW.pending_role IS DISTINCT FROM OLD.pending_role
                OR NEW.approved_by IS DISTINCT FROM OLD.approved_by) THEN
             RAISE EXCEPTION 'operator % cannot change its own role, state or approval', OLD.username
               USING ERRCODE = '42501';
           END IF;
           RETURN NEW;
         END $$""")
    x("CREATE TRIGGER icpurse_operators_guard BEFORE UPDATE ON operators "
      "FOR EACH ROW EXECUTE FUNCTION icpurse_operators_guard()")
    x("ALTER TABLE operators ENABLE ROW LEVEL SECURITY")
    grant("CREATE POLICY operators_read ON operators FOR SELECT TO %I USING (true)", "operator")
    grant("CREATE POLICY operators_own_password ON operators FOR UPDATE TO %I "
          "USING (db_role = session_user) WITH CHECK (db_role = session_user)", "operator")
    grant("CREATE POLICY operators_admin_insert ON operators FOR INSERT TO %I WITH CHECK (true)", "issuer-admin")
    grant("CREATE POLICY operators_admin_update ON operators FOR UPDATE TO %I USING (true) WITH CHECK (true)",
          "issuer-admin")

    # journal entries: each job books its own kinds, in its own name
    x("ALTER TABLE journal_entries ENABLE ROW LEVEL SECURITY")
    grant("CREATE POLICY journal_read ON journal_entries FOR SELECT TO %I USING (true)", "operator")
    for job, kinds in BOOKS.items():
        if kinds == ():
            continue
        check = "operator_id = icpurse_session_operator_id()"
        if kinds is not None:
            check += " AND kind IN (%s)" % ", ".join("''%s''" % k for k in kinds)
        x("DO $$ BEGIN EXECUTE format('CREATE POLICY %%I ON journal_entries FOR INSERT TO %%I WITH CHECK (%s)', "
          "'books_' || replace('%s', '-', '_'), %s); END $$" % (check, job, _role(job)))


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    x = op.execute
    x("DROP TRIGGER IF EXISTS icpurse_audit_as_session ON audit_log")
    x("DROP TRIGGER IF EXISTS icpurse_operators_guard ON operators")
    for table in ("operators", "journal_entries"):
        x("ALTER TABLE %s DISABLE ROW LEVEL SECURITY" % table)
    for name, table in (("operators_read", "operators"), ("operators_own_password", "operators"),
                        ("operators_admin_insert", "operators"), ("operators_admin_update", "operators"),
                        ("journal_read", "journal_entries")):
        x("DROP POLICY IF EXISTS %s ON %s" % (name, table))
    for job in BOOKS:
        x("DROP POLICY IF EXISTS books_%s ON journal_entries" % job.replace("-", "_"))
    for fn in ("icpurse_audit_as_session()", "icpurse_operators_guard()", "icpurse_session_operator_id()",
               "icpurse_session_operator()", "icpurse_operator_login()"):
        x("DROP FUNCTION IF EXISTS %s" % fn)
