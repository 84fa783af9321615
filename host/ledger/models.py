"""Ledger tables (SQLAlchemy 2 ORM). The schema itself is created by the alembic migrations in
migrations/versions; a test checks that migrations and these models agree on both backends.

Money columns are BigInteger fen. Timestamps are timezone-aware UTC.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger, Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, MetaData, String,
    Text, TypeDecorator, UniqueConstraint, true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("seller", "finance", "issuer-admin", "auditor", "terminal-operator", "key-custodian")
CARD_STATES = ("in_stock", "issued_to_point", "sold", "paid", "activated", "in_use",
               "lost", "blocked", "expired", "refunded", "closed")
TOPUP_STATES = ("pending", "confirmed", "reversed", "unconfirmed", "voided")
VOID_STATES = ("pending", "unconfirmed", "confirmed", "cancelled")  # of a void (撤销) of a confirmed top-up
SALE_STATES = ("recorded", "paid", "activated")
PERSONALISATION_STATES = ("started", "done", "damaged")
TERMINAL_STATUSES = ("enabled", "disabled")
TERMINAL_KINDS = ("store", "kiosk")  # a store reader (debits, provisioned over USB) or a top-up kiosk (no device)
ACCOUNT_TYPES = ("asset", "liability", "income", "expense")


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out (SQLite keeps no offset, so store UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime %r: the ledger only stores aware (UTC) timestamps" % (value,))
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


def _in(column, values):
    return "%s IN (%s)" % (column, ", ".join("'%s'" % v for v in values))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Operator(Base):
    __tablename__ = "operators"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32))
    # deferred: loaded only where a password is checked (an operator's database login may not read it)
    password_hash: Mapped[str] = mapped_column(String(255), deferred=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # four eyes (people.py): an addition or a role change waits for a second issuer-admin
    pending: Mapped[str | None] = mapped_column(String(8), nullable=True)  # add | role | password
    pending_role: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # an admin's password reset awaiting the second admin (deferred: only issuer-admins may read it on PostgreSQL)
    pending_password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True, deferred=True)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), nullable=True)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), nullable=True)
    # PostgreSQL: the operator's own login role (`icpurse operator login`); None on SQLite
    db_role: Mapped[str | None] = mapped_column(String(63), nullable=True, unique=True)


class SalesPoint(Base):
    __tablename__ = "sales_points"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())  # disabled: takes no cards


class StockBatch(Base):
    __tablename__ = "stock_batches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    received_by: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    # cards received by count only (UIDs unknown until each card is first read, e.g. at personalisation)
    declared_count: Mapped[int | None] = mapped_column(Integer, nullable=True)


class StockCard(Base):
    """A physical card from receipt into stock to closure; `state` is its lifecycle
    (docs/business-rules.md "Card lifecycle states")."""

    __tablename__ = "stock_cards"
    __table_args__ = (CheckConstraint(_in("state", CARD_STATES), name="state"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(20), unique=True)  # hex, upper case
    batch_id: Mapped[int] = mapped_column(ForeignKey("stock_batches.id"))
    sales_point_id: Mapped[int | None] = mapped_column(ForeignKey("sales_points.id"), nullable=True)
    state: Mapped[str] = mapped_column(String(20))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    batch: Mapped[StockBatch] = relationship()
    sales_point: Mapped[SalesPoint | None] = relationship()


class ProgrammeRecord(Base):
    """A programme the issuer registered (checked, or overridden with a reason)."""

    __tablename__ = "programmes"
    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    profile: Mapped[str] = mapped_column(String(32))
    definition: Mapped[str] = mapped_column(Text)  # the programme table as canonical JSON
    violations: Mapped[str] = mapped_column(Text, default="[]")  # rule ids found at registration (JSON)
    override_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    registered_by: Mapped[int] = mapped_column(ForeignKey("operators.id"))


class Holder(Base):
    """A named card's holder. The ID number is stored only encrypted (AES-GCM under the ledger data
    key) plus a keyed HMAC index for look-ups; never in clear."""

    __tablename__ = "holders"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    id_type: Mapped[str] = mapped_column(String(32), default="resident-id")
    id_number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    id_number_index: Mapped[str] = mapped_column(String(64), index=True)
    contact: Mapped[str] = mapped_column(String(128), default="")
    unit_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Card(Base):
    __tablename__ = "cards"
    __table_args__ = (
        CheckConstraint(_in("kind", ("named", "anonymous")), name="kind"),
        CheckConstraint("face_value > 0", name="face_value_positive"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    card_number: Mapped[str] = mapped_column(String(32), unique=True)
    stock_card_id: Mapped[int] = mapped_column(ForeignKey("stock_cards.id"), unique=True)
    programme_id: Mapped[str] = mapped_column(ForeignKey("programmes.id"))
    kind: Mapped[str] = mapped_column(String(10))
    face_value: Mapped[int] = mapped_column(BigInteger)
    holder_id: Mapped[int | None] = mapped_column(ForeignKey("holders.id"), nullable=True)
    key_version: Mapped[int] = mapped_column(Integer, default=1)
    last_seen_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_seen_balance: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_seen_source: Mapped[str | None] = mapped_column(String(16), nullable=True)  # card | journal
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    stock: Mapped[StockCard] = relationship(lazy="joined")
    holder: Mapped[Holder | None] = relationship(lazy="joined")

    @property
    def uid(self) -> str:
        return self.stock.uid

    @property
    def state(self) -> str:
        return self.stock.state


class Sale(Base):
    __tablename__ = "sales"
    __table_args__ = (
        CheckConstraint(_in("state", SALE_STATES), name="state"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id"), index=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    payment_method: Mapped[str] = mapped_column(String(20))
    buyer_kind: Mapped[str] = mapped_column(String(12))  # individual | unit
    remote: Mapped[bool] = mapped_column(Boolean, default=False)
    buyer_holder_id: Mapped[int | None] = mapped_column(ForeignKey("holders.id"), nullable=True)
    payer_account: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # the agent (经办人): who bought at the counter for the holder or for a unit (real-name data, ID encrypted)
    agent_holder_id: Mapped[int | None] = mapped_column(ForeignKey("holders.id"), nullable=True)
    state: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), nullable=True)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    activated_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), nullable=True)
    activated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Account(Base):
    """Chart of accounts. There is deliberately no forfeiture account: holder money only leaves a
    card's prepaid account through a redemption, a refund, a fee or an explicit discrepancy booking."""

    __tablename__ = "accounts"
    __table_args__ = (CheckConstraint(_in("type", ACCOUNT_TYPES), name="type"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(12))
    category: Mapped[str] = mapped_column(String(24), index=True)
    card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"), nullable=True, unique=True)


class JournalEntry(Base):
    """One booking; `idempotency_key` makes a retried booking return the first one instead of booking twice."""

    __tablename__ = "journal_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"), nullable=True, index=True)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    memo: Mapped[str] = mapped_column(Text, default="")
    postings: Mapped[list[Posting]] = relationship(back_populates="entry", order_by="Posting.line")


class Posting(Base):
    """A debit (amount > 0) or credit (amount < 0) of one account; an entry's postings sum to zero."""

    __tablename__ = "postings"
    __table_args__ = (
        UniqueConstraint("entry_id", "line", name="uq_postings_entry_line"),
        CheckConstraint("amount <> 0", name="amount_nonzero"),
        # an account's postings after a given one, in one index range: reconciliation adds a card's
        # postings since its checkpoint (reconciliation.py) without reading the card's history; with
        # the amount, balances and the trial balance are summed from the index alone (migration 0008b)
        Index("ix_postings_account_id_id_amount", "account_id", "id", "amount"),
        Index("ix_postings_entry_id_amount", "entry_id", "amount"),  # an entry's postings (unbalanced check)
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))
    line: Mapped[int] = mapped_column(Integer)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    entry: Mapped[JournalEntry] = relationship(back_populates="postings")
    account: Mapped[Account] = relationship()


class Terminal(Base):
    __tablename__ = "terminals"
    __table_args__ = (
        CheckConstraint(_in("status", TERMINAL_STATUSES), name="status"),
        CheckConstraint("length(number) = 8", name="number_8_digits"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(8), unique=True)
    outlet: Mapped[str] = mapped_column(String(128))
    merchant: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(8), default="store", server_default="store")
    key_version: Mapped[int] = mapped_column(Integer, default=1)
    fixed_price: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # fen; None = amount entered
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # what the back office signs into the reader's day configuration at every sign-in (JSON:
    # mode, fixed_price, grace_days, txn_cap, daily_cap, transparent, clock_window); None = defaults
    settings: Mapped[str | None] = mapped_column(Text, nullable=True)


class Topup(Base):
    """A kiosk/counter top-up (docs/business-rules.md "Kiosk top-up"): booked when pending, settled
    by the card write."""

    __tablename__ = "topups"
    __table_args__ = (
        CheckConstraint(_in("state", TOPUP_STATES), name="state"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("void_state IS NULL OR " + _in("void_state", VOID_STATES), name="void_state"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    txn_id: Mapped[str] = mapped_column(String(64), unique=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id"), index=True)
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("terminals.id"), nullable=True)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), nullable=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    payment_method: Mapped[str] = mapped_column(String(20))
    payer_account: Mapped[str | None] = mapped_column(String(128), nullable=True)  # non-cash: who paid, from where
    # real-name capture of the person topping up a named card (the holder, or an agent)
    real_name_holder_id: Mapped[int | None] = mapped_column(ForeignKey("holders.id"), nullable=True)
    state: Mapped[str] = mapped_column(String(12), index=True)
    card_seq_before: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    card_balance_before: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    card_seq_after: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    business_date: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    settled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    settled_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), nullable=True)
    # A void is written to the card like a purchase: pending -> confirmed (money booked back, state
    # `voided`), or cancelled (write failed / card shows no void), or unconfirmed until re-confirmed.
    void_state: Mapped[str | None] = mapped_column(String(12), nullable=True)
    void_card_seq_before: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    void_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    void_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), nullable=True)
    # a non-cash payment counts as received only once finance confirmed it (topup_records.py)
    payment_confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), nullable=True)
    payment_confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    card: Mapped[Card] = relationship()
    terminal: Mapped[Terminal | None] = relationship()


class BlacklistVersion(Base):
    """Each blacklist change gets the next version number; readers fetch the list at sign-in."""

    __tablename__ = "blacklist_versions"
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    change: Mapped[str] = mapped_column(String(8))  # add | remove
    card_number: Mapped[str] = mapped_column(String(32))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class BlacklistEntry(Base):
    """A card on the blacklist from `added_version` until `removed_version` (exclusive)."""

    __tablename__ = "blacklist_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    card_number: Mapped[str] = mapped_column(String(32), index=True)
    uid: Mapped[str | None] = mapped_column(String(20), nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    added_version: Mapped[int] = mapped_column(ForeignKey("blacklist_versions.version"))
    removed_version: Mapped[int | None] = mapped_column(ForeignKey("blacklist_versions.version"), nullable=True)
    removal_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class AuditEntry(Base):
    """Append-only, keyed, hash-chained operator log that also seals the books:
    entry_hash = HMAC-SHA256(audit key, prev_hash || canonical content) (audit.py)."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(32))  # canonical UTC text, hashed as stored
    operator: Mapped[str | None] = mapped_column(String(64), nullable=True)
    action: Mapped[str] = mapped_column(String(64))
    card_number: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    terminal_number: Mapped[str | None] = mapped_column(String(8), nullable=True)
    result: Mapped[str] = mapped_column(String(16))
    details: Mapped[str] = mapped_column(Text)  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)  # one successor per entry: no forks
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scheme: Mapped[str] = mapped_column(String(8), default="hmac")  # hmac (keyed) | sha256 (before keying)
    sealed_upto: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # highest journal entry id sealed
    seal: Mapped[str | None] = mapped_column(String(64), nullable=True)  # SHA-256 of the entries it seals


# --- store operations: reader journals, sign-ins, day close, card observations, reconciliation ---

EXCEPTION_STATUSES = ("open", "approved", "dismissed", "resolved")


class TerminalSignIn(Base):
    """A reader's day open (签到): the blacklist version it holds from then on."""

    __tablename__ = "terminal_sign_ins"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reader_time: Mapped[int] = mapped_column(BigInteger)  # seconds since 2000-01-01 UTC, as the reader keeps it
    blacklist_version: Mapped[int] = mapped_column(Integer)
    day: Mapped[int] = mapped_column(Integer)
    batch: Mapped[int] = mapped_column(Integer)
    first_number: Mapped[int] = mapped_column(BigInteger)  # the reader's next journal number: its day starts here
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), nullable=True)


class ReaderJournalRecord(Base):
    """One collected reader journal record: the 54 stored bytes (evidence, re-verifiable) and their
    decoded fields. One record per (terminal, number): re-collecting is a no-op."""

    __tablename__ = "reader_journal"
    __table_args__ = (UniqueConstraint("terminal_id", "number", name="uq_reader_journal_terminal_number"),
                      # the records of one reader transaction: what resolves an interrupted sale (reconciliation.py)
                      Index("ix_reader_journal_terminal_txn", "terminal_id", "txn"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"), index=True)
    number: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[int] = mapped_column(Integer)
    state: Mapped[int] = mapped_column(Integer)
    key_version: Mapped[int] = mapped_column(Integer)
    uid: Mapped[str] = mapped_column(String(20), index=True)  # hex, upper case ('' = no card)
    card_seq: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)  # fen
    balance_after: Mapped[int] = mapped_column(BigInteger)  # fen
    txn: Mapped[int] = mapped_column(BigInteger)
    reader_time: Mapped[int] = mapped_column(BigInteger)  # seconds since 2000-01-01 UTC
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    collected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class TerminalJournalMark(Base):
    """A reader's journal high-water mark, as it reported it at one contact: its last record number
    and that record's MAC. Once collected, the record under that number must carry that MAC; a reader
    reporting less than the highest mark has lost records (truncation), one reporting another MAC
    has reused numbers."""

    __tablename__ = "terminal_journal_marks"
    __table_args__ = (UniqueConstraint("terminal_id", "source", "last_number", "last_mac",
                                       name="uq_terminal_journal_marks"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"), index=True)
    last_number: Mapped[int] = mapped_column(BigInteger)  # journal_next - 1 (0: no record yet)
    last_mac: Mapped[bytes] = mapped_column(LargeBinary)  # 8 bytes (zeros while there is no record)
    source: Mapped[str] = mapped_column(String(16))  # provision | sign-in | collect | day-close
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class TerminalBatch(Base):
    """A day close (日切): the reader's batch totals and the collected journal's, side by side."""

    __tablename__ = "terminal_batches"
    __table_args__ = (UniqueConstraint("terminal_id", "batch", name="uq_terminal_batches_terminal_batch"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"), index=True)
    day: Mapped[int] = mapped_column(Integer)
    batch: Mapped[int] = mapped_column(Integer)
    first_number: Mapped[int] = mapped_column(BigInteger)
    last_number: Mapped[int] = mapped_column(BigInteger)
    reader_count: Mapped[int] = mapped_column(Integer)
    reader_sum: Mapped[int] = mapped_column(BigInteger)
    journal_count: Mapped[int] = mapped_column(Integer)
    journal_sum: Mapped[int] = mapped_column(BigInteger)
    closed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class CardObservation(Base):
    """A card state read directly (audit, top-up, reader READ_CARD): seq, balance and the slot's
    transaction. Journal records are observations too; they stay in reader_journal."""

    __tablename__ = "card_observations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str] = mapped_column(String(128), unique=True)  # idempotency: the same reading once
    seq: Mapped[int] = mapped_column(BigInteger)
    balance: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[int | None] = mapped_column(Integer, nullable=True)
    amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    terminal: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    txn: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    observed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ReconException(Base):
    """A reconciliation finding on the exception list, with its evidence (JSON). `fingerprint` makes
    a re-run find the same finding instead of adding it twice."""

    __tablename__ = "recon_exceptions"
    __table_args__ = (CheckConstraint(_in("status", EXCEPTION_STATUSES), name="status"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    card_number: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    terminal_number: Mapped[str | None] = mapped_column(String(8), nullable=True)
    amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # fen, when the finding is about money
    summary: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text, default="{}")  # canonical JSON
    proposal: Mapped[str | None] = mapped_column(String(16), nullable=True)  # 'blacklist' or None
    status: Mapped[str] = mapped_column(String(12), index=True)
    business_date: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), nullable=True)
    close_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    blacklist_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # four eyes (store.py): closing a rollback, clone or forgery finding is requested by one operator
    # and confirmed by a second one of another role
    close_requested_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), nullable=True)
    close_requested_as: Mapped[str | None] = mapped_column(String(12), nullable=True)
    close_requested_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    close_requested_book: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # discrepancy fen
    close_requested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ReconTerminal(Base):
    """Reconciliation's watermark for one terminal (reconciliation.py): the highest collected record
    (reader_journal.id) whose debits are booked. `mac` keys the row to the audit key: only a key
    holder writes a watermark the next run accepts (a forged one is ignored: that run starts over)."""

    __tablename__ = "recon_terminals"
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"), primary_key=True, autoincrement=False)
    record_upto: Mapped[int] = mapped_column(BigInteger)
    pending_from: Mapped[int] = mapped_column(BigInteger)  # its oldest interrupted sale still unresolved (id)
    mac: Mapped[str] = mapped_column(String(64))


class ReconMark(Base):
    """Where the last reconciliation stopped in the ledger's own logs (one row, id 1): audit entries,
    journal entries and card observations up to these ids were looked at; a card named after them is
    looked at again. Keyed like ReconTerminal."""

    __tablename__ = "recon_marks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    audit_upto: Mapped[int] = mapped_column(BigInteger)
    entry_upto: Mapped[int] = mapped_column(BigInteger)
    observation_upto: Mapped[int] = mapped_column(BigInteger)
    mac: Mapped[str] = mapped_column(String(64))


class ReconCard(Base):
    """A card reconciliation has seen, and whether its newest state disagreed with the ledger at the
    last run that looked at it (the run's totals without re-threading every card)."""

    __tablename__ = "recon_cards"
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id"), primary_key=True, autoincrement=False)
    mismatched: Mapped[bool] = mapped_column(Boolean)


class ReconCardTail(Base):
    """Where the last reconciliation left a card whose history was one clean line (reconciliation.py):
    its newest observation (`tail`, canonical JSON), the highest collected record (reader_journal.id)
    of its debits threaded, and a digest of its other observations and confirmed top-ups threaded.
    The next run threads only what came after (the same result: engine.py). Keyed like ReconTerminal:
    a row that does not verify is ignored (the card is threaded with its whole history)."""

    __tablename__ = "recon_card_tails"
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id"), primary_key=True, autoincrement=False)
    record_upto: Mapped[int] = mapped_column(BigInteger)
    others: Mapped[str] = mapped_column(String(64))
    tail: Mapped[str] = mapped_column(Text)
    mac: Mapped[str] = mapped_column(String(64))


class ProgrammeCode(Base):
    """The programme number written on cards (identity record `programme`, u16), one per programme,
    assigned at its first personalisation and never reused."""

    __tablename__ = "programme_codes"
    code: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    programme_id: Mapped[str] = mapped_column(ForeignKey("programmes.id"), unique=True)


class Personalisation(Base):
    """The personalisation journal of one physical card: `started` is committed BEFORE the first
    write to the card (card number reserved, exact identity fields and issue time kept so a resumed
    run writes the same image), `done` after the card was read back and verified; `damaged` when the
    card cannot be finished (a sector no key opens, e.g. a torn trailer write)."""

    __tablename__ = "personalisations"
    __table_args__ = (CheckConstraint(_in("state", PERSONALISATION_STATES), name="state"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(20), unique=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id"), unique=True)
    state: Mapped[str] = mapped_column(String(10), index=True)
    key_version: Mapped[int] = mapped_column(Integer)
    identity: Mapped[str] = mapped_column(Text)  # identity fields without MAC, codec order (JSON; bytes as hex)
    card_time: Mapped[int] = mapped_column(BigInteger)  # time of the ISSUE log entry written to the card
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    started_by: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    card: Mapped[Card] = relationship(lazy="joined")


# --- daily operations: cut-offs, top-up adjustments, goods refunds, clearing-house reconciliation ---

CUTOFF_SCOPES = ("ledger", "programme", "outlet")
ADJUSTMENT_KINDS = ("refund", "credit", "debit")
ADJUSTMENT_STATES = ("requested", "approved", "rejected", "pending", "unconfirmed", "confirmed", "cancelled")
CLEARING_ITEM_KINDS = ("long", "short", "amount_mismatch")
CLEARING_ITEM_STATUSES = ("open", "resolved")


class CutOff(Base):
    """The daily cut-off (日切) time set for the whole ledger, a programme or an outlet (the most
    specific one applies: outlet, then programme, then ledger, then the ledger's built-in 23:00)."""

    __tablename__ = "cutoffs"
    __table_args__ = (UniqueConstraint("scope", "target", name="uq_cutoffs_scope_target"),
                      CheckConstraint(_in("scope", CUTOFF_SCOPES), name="scope"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(10))
    target: Mapped[str] = mapped_column(String(128))  # programme id, outlet name, '' for the ledger
    at: Mapped[str] = mapped_column(String(5))  # HH:MM business time
    set_by: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    set_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class TopupAdjustment(Base):
    """A refund or adjustment of a confirmed top-up after the cut-off (no void possible any more):
    requested by one operator, approved by another (four eyes), then written to the card like a
    void (pending -> confirmed / cancelled / unconfirmed). Money is booked when the card shows it."""

    __tablename__ = "topup_adjustments"
    __table_args__ = (CheckConstraint(_in("kind", ADJUSTMENT_KINDS), name="kind"),
                      CheckConstraint(_in("state", ADJUSTMENT_STATES), name="state"),
                      CheckConstraint("amount > 0", name="amount_positive"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topup_id: Mapped[int] = mapped_column(ForeignKey("topups.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # refund (money back to the payer) | credit | debit (correction)
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), index=True)
    requested_by: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), nullable=True)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    card_seq_before: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    settled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"), nullable=True)
    topup: Mapped[Topup] = relationship()


class GoodsRefundRef(Base):
    """The store purchase a goods refund refers to (terminal + reader journal number): refunds
    against one purchase never add up to more than it."""

    __tablename__ = "goods_refund_refs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), unique=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id"), index=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    journal_number: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)


class ClearingImport(Base):
    """A clearing house's daily file (对账文件), imported once per business day and file digest."""

    __tablename__ = "clearing_imports"
    __table_args__ = (UniqueConstraint("business_date", "digest", name="uq_clearing_imports_business_date"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    business_date: Mapped[dt.date] = mapped_column(Date, index=True)
    source: Mapped[str] = mapped_column(String(255))  # file name as given
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the file
    rows: Mapped[int] = mapped_column(Integer)
    matched: Mapped[int] = mapped_column(Integer)
    imported_by: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ClearingItem(Base):
    """One difference found by a clearing-house reconciliation: long (ours only), short (theirs
    only) or an amount mismatch; open until resolved with an audited action and reason."""

    __tablename__ = "clearing_items"
    __table_args__ = (CheckConstraint(_in("kind", CLEARING_ITEM_KINDS), name="kind"),
                      CheckConstraint(_in("status", CLEARING_ITEM_STATUSES), name="status"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("clearing_imports.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    txn_id: Mapped[str] = mapped_column(String(64))
    terminal_number: Mapped[str | None] = mapped_column(String(8), nullable=True)
    card_number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    our_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    their_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    status: Mapped[str] = mapped_column(String(10), index=True)
    action: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), nullable=True)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
