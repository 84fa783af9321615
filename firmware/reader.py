"""The store reader: the USB link commands and the offline debit (docs/reader.md, "The debit").

`Reader.handle(frame)` answers one link request frame with one response or ERROR frame (typed code
and message, never a traceback). Requests that change the reader are carried out only with a valid
link MAC and a fresh counter (firmware/linkauth.py); what the reader may sell is set only by a
day configuration signed by the back office (firmware/dayconfig.py), re-verified at every boot.
The debit writes its write-ahead record to the state ring (firmware/ring.py: pre-erased flash)
before the card write, tells the customer as soon as the card holds the debit, and only then
journals it (PENDING, COMMITTED; at boot from the ring when power failed in between); an
interrupted transaction is resolved when its card is presented again (same transaction, never a
second one). The ring is also the reader's memory of recent cards: a copy of a card older than
what this reader saw is refused, and its own day total per card counts.
"""
import os
from binascii import hexlify, unhexlify

from icpurse.firmware import codec, dayconfig, link, linkauth, purse, purse2
from icpurse.firmware import ring as _ring
from icpurse.firmware.journal import Journal, JournalError, JournalFull
from icpurse.firmware.linkauth import AuthFail, LinkGuard
from icpurse.firmware.mifare import ClassicTag, MifareError
from icpurse.firmware.pn532 import PN532Error
from icpurse.protocol import cardtime

from icpurse.protocol.mpy import const


_FIRMWARE_VERSION = const(2)
_MAX_PENDING = const(8)  # unresolved interrupted transactions before new sales are refused
_POLL_MS = const(25)
_OPERAND_MAX = const(0x7FFFFFFF)  # the tag contract's value operand range
_FETCH_MAX = (codec.LINK_MAX_PAYLOAD - codec.JOURNAL_CHUNK_SIZE) // codec.JOURNAL_RECORD_SIZE

# What a reader sells by, as long as no valid signed day configuration says otherwise.
_UNSIGNED = {  # type: dict
    "issuer": 0, "mode": codec.MODE_POS, "fixed_price": 0, "grace_days": 0, "txn_cap": 0, "daily_cap": 0,
    "transparent": 0, "cutoff": 0, "window": 0, "serial": 0, "signed": "", "balance_cap": 0, "v1_until": 0,
}
DEFAULT_CONFIG = {"terminal": 0, "day_open": 0, "day": 0, "batch": 0, "day_first": 1, "time": 0}  # type: dict
DEFAULT_CONFIG.update(_UNSIGNED)


class LinkFail(Exception):
    def __init__(self, code, message, detail=0):
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail


def _padded_uid(uid):
    return bytes(uid) + bytes(codec.UID_FIELD_SIZE - len(uid))


def _default_random(n):
    try:
        return os.urandom(n)
    except AttributeError:  # a port without os.urandom (the WebAssembly test build)
        import random

        return bytes(random.getrandbits(8) for _ in range(n))


class Reader:
    def __init__(self, pn532, clock, store, ui, journal_dir="/icpurse/journal", fs=os, open_fn=open,
                 journal_capacity=4000, random_bytes=None, flash=None):
        self.pn532 = pn532
        self.clock = clock
        self.store = store
        self.ui = ui
        self.fs = fs
        self.open_fn = open_fn
        self.journal_dir = journal_dir
        self.journal_capacity = journal_capacity
        self.config = dict(DEFAULT_CONFIG)
        self.config.update(store.load_config())
        self._time_base = self.config["time"] or None  # unknown until SET_TIME / SIGN_IN
        self._ticks_base = clock.ticks_ms()
        self.reboot_requested = False
        self.tag = None  # transparent mode: the selected card
        self.journal = None
        self.watchdog = None  # fed while waiting for a card (main.py sets the board's)
        self.guard = LinkGuard(store.nvs, random_bytes or _default_random)
        # No flash partition for the ring in this image (hal.flash() found none): a file instead,
        # reported in INFO (`ring_partition`) so that the back office can tell the board's image lacks it.
        self.ring_partition = flash is not None
        if flash is None:
            flash = _ring.FileFlash(store.path("ring.bin"), open_fn=open_fn)
        self.ring = _ring.Ring(flash).open()
        store.prepare()
        self._load_keys()
        self._reapply_config()
        self._handlers = {
            codec.LINK_CMD_INFO: self.cmd_info,
            codec.LINK_CMD_SET_TIME: self.cmd_set_time,
            codec.LINK_CMD_PROVISION_KEYS: self.cmd_provision_keys,
            codec.LINK_CMD_LOAD_BLACKLIST: self.cmd_load_blacklist,
            codec.LINK_CMD_SIGN_IN: self.cmd_sign_in,
            codec.LINK_CMD_CONFIGURE: self.cmd_configure,
            codec.LINK_CMD_DEBIT: self.cmd_debit,
            codec.LINK_CMD_READ_CARD: self.cmd_read_card,
            codec.LINK_CMD_FETCH_JOURNAL: self.cmd_fetch_journal,
            codec.LINK_CMD_ACK_JOURNAL: self.cmd_ack_journal,
            codec.LINK_CMD_DAY_CLOSE: self.cmd_day_close,
            codec.LINK_CMD_REBOOT: self.cmd_reboot,
            codec.LINK_CMD_CARD_WAIT: self.cmd_card_wait,
            codec.LINK_CMD_CARD_AUTH: self.cmd_card_auth,
            codec.LINK_CMD_CARD_READ: self.cmd_card_read,
            codec.LINK_CMD_CARD_WRITE: self.cmd_card_write,
            codec.LINK_CMD_CARD_VALUE: self.cmd_card_value,
            codec.LINK_CMD_CARD_TRANSFER: self.cmd_card_transfer,
        }
        if self.config["day_open"]:
            self.ui.ready(self._price())
        else:
            self.ui.closed("sign in")

    # --- state --------------------------------------------------------------------------------
    def _load_keys(self):
        self.keyring, self.journal_keys, self.key_version = self.store.keyring()
        self.journal = None
        if self.key_version and self.config["terminal"]:
            old = {}
            for v, k in self.journal_keys.items():
                if v != self.key_version:
                    old[v] = k
            self.journal = Journal(self.journal_dir, self.journal_keys[self.key_version], self.config["terminal"],
                                   self.key_version, old, self.fs, self.open_fn, capacity=self.journal_capacity)
            self.journal.open()
            self._replay_taps()

    def _replay_taps(self):
        """Write-ahead records of debits whose journal record power loss prevented: journal them
        PENDING now, under the number the card carries (the next tap of the card settles them)."""
        for rec in self.ring.taps:
            if rec[_ring.JOURNAL] == self.journal.next_number:
                uid = bytes(rec[_ring.UID])[:rec[_ring.UID_LEN]]
                self.journal.begin(codec.TXN_DEBIT, uid, rec[_ring.SEQ], rec[_ring.AMOUNT], rec[_ring.BALANCE],
                                   rec[_ring.TIME])
        self.ring.taps = []

    def _save(self):
        self.config["time"] = self.now()
        self.store.save_config(self.config)

    def _config_keys(self):
        """{key version: configuration key} of the versions this reader holds."""
        out = {}
        for v in self.store.key_versions():
            keys = self.guard.keys(v)
            if keys is not None:
                out[v] = keys[1]
        return out

    def _settings_from(self, rec, raw):
        c = self.config
        c.update(issuer=rec[dayconfig.ISSUER], mode=rec[dayconfig.MODE], fixed_price=rec[dayconfig.FIXED_PRICE],
                 grace_days=rec[dayconfig.GRACE_DAYS], txn_cap=rec[dayconfig.TXN_CAP],
                 daily_cap=rec[dayconfig.DAILY_CAP], transparent=rec[dayconfig.TRANSPARENT],
                 cutoff=rec[dayconfig.CUTOFF], window=rec[dayconfig.CLOCK_WINDOW], serial=rec[dayconfig.SERIAL],
                 balance_cap=rec[dayconfig.BALANCE_CAP], v1_until=rec[dayconfig.V1_UNTIL], signed=hexlify(raw).decode())

    def _reapply_config(self):
        """At boot: the settings are what the stored signed configuration says -- whatever else the
        settings file holds. A configuration that no longer verifies closes the day."""
        c = self.config
        serial = c["serial"]
        raw = None
        if c["signed"]:
            try:
                raw = unhexlify(c["signed"])
                rec = dayconfig.verify(raw, c["terminal"], self._config_keys())
            except (ValueError, AuthFail):
                raw = None
        for k, v in _UNSIGNED.items():
            c[k] = v
        c["serial"] = serial  # the replay guard survives a bad record
        if raw is None:
            if c["day_open"]:
                c["day_open"] = 0
                self._save()
            return
        self._settings_from(rec, raw)

    def _apply_config(self, raw):
        """A signed configuration from SIGN_IN / CONFIGURE: verified, newer than the one in force, for
        the blacklist this reader holds -- then applied exactly, its signed time included."""
        c = self.config
        rec = dayconfig.verify(raw, c["terminal"], self._config_keys())
        if rec[dayconfig.SERIAL] <= c["serial"]:
            raise AuthFail(codec.LINK_ERR_REPLAYED, "day configuration %d is not newer than %d in force: a replay"
                           % (rec[dayconfig.SERIAL], c["serial"]))
        version, entries = self.store.blacklist()
        digest = dayconfig.blacklist_digest(version.to_bytes(4, "little") + entries)
        if version != rec[dayconfig.BLACKLIST_VERSION] or digest != rec[dayconfig.BLACKLIST_DIGEST]:
            raise AuthFail(codec.LINK_ERR_BAD_CONFIG, "the reader's blacklist (version %d) is not the signed one "
                           "(version %d): load the blacklist again" % (version, rec[dayconfig.BLACKLIST_VERSION]))
        self._set_time(rec[dayconfig.TIME])
        self._settings_from(rec, raw)
        c["day"] = rec[dayconfig.DAY]
        return rec

    def today(self):
        """The business day for card expiry and daily caps: the signed one while a signed
        configuration is in force, else the clock's."""
        if self.config["serial"] and self.config["day"]:
            return self.config["day"]
        return cardtime.day_of_seconds(self.now())

    def now(self):
        """Seconds since 2000-01-01 UTC (0 while the clock was never set)."""
        if self._time_base is None:
            return 0
        return self._time_base + self.clock.ticks_diff(self.clock.ticks_ms(), self._ticks_base) // 1000

    def _set_time(self, t):
        self._time_base = t
        self._ticks_base = self.clock.ticks_ms()

    def policy(self):
        c = self.config
        return purse.Policy(c["grace_days"], c["txn_cap"], c["daily_cap"], c["balance_cap"])

    def _price(self):
        return self.config["fixed_price"] if self.config["mode"] == codec.MODE_FIXED_PRICE else 0

    def _need_journal(self):
        if self.journal is None:
            raise LinkFail(codec.LINK_ERR_NOT_PROVISIONED, "reader not provisioned: run `icpurse terminal provision`")

    def _need_day(self):
        self._need_journal()
        if not self.config["day_open"]:
            raise LinkFail(codec.LINK_ERR_DAY_NOT_OPEN, "day not open: sign in first")

    def _need_sales(self):
        """An open day before its signed cut-off."""
        self._need_day()
        cutoff = self.config["cutoff"]
        if cutoff and self.now() >= cutoff:
            raise LinkFail(codec.LINK_ERR_DAY_NOT_OPEN, "the business day ended at its cut-off: sign in again")

    # --- link ---------------------------------------------------------------------------------
    def handle(self, frame):
        """One request frame -> one response frame (bytes)."""
        seq, cmd = frame.seq, frame.command
        try:
            if frame.version != codec.LINK_VERSION:
                raise LinkFail(codec.LINK_ERR_UNSUPPORTED_VERSION, "link version %d not supported" % frame.version)
            if frame.kind != codec.LINK_KIND_REQUEST:
                raise LinkFail(codec.LINK_ERR_BAD_FRAME, "not a request")
            handler = self._handlers.get(cmd)
            if handler is None:
                raise LinkFail(codec.LINK_ERR_UNKNOWN_COMMAND, "unknown command 0x%02x" % cmd)
            if not linkauth.authenticated(cmd):
                return link.encode_frame(codec.LINK_KIND_RESPONSE, seq, cmd, handler(frame.payload))
            terminal = self.config["terminal"]  # the one the request was MAC'd for (provisioning changes it)
            body, key, counter = self.guard.open(cmd, frame.payload, terminal, self.key_version)
            out = handler(body)
            return link.encode_frame(codec.LINK_KIND_RESPONSE, seq, cmd, self.guard.seal(key, cmd, terminal, counter, out))
        except LinkFail as e:
            return link.encode_error(seq, cmd, e.code, e.message, e.detail)
        except AuthFail as e:
            return link.encode_error(seq, cmd, e.code, e.message)
        except purse.Refused as e:
            return link.encode_error(seq, cmd, codec.LINK_ERR_REFUSAL_BASE + e.code, e.message, e.code)
        except JournalFull:
            return link.encode_error(seq, cmd, codec.LINK_ERR_JOURNAL_FULL, "journal full: collect the journal")
        except (MifareError, PN532Error) as e:
            status = e.status if e.status is not None else 0
            return link.encode_error(seq, cmd, codec.LINK_ERR_CARD, "card: %s" % e, status & 0xFF)
        except ValueError as e:
            return link.encode_error(seq, cmd, codec.LINK_ERR_BAD_PAYLOAD, "bad payload: %s" % e)
        except Exception as e:  # never a traceback on the link
            return link.encode_error(seq, cmd, codec.LINK_ERR_INTERNAL, "internal error: %s" % type(e).__name__)

    def _decode(self, decode, size, payload):
        if len(payload) != size:
            raise ValueError("expected %d bytes, got %d" % (size, len(payload)))
        return decode(payload)

    # --- commands -----------------------------------------------------------------------------
    def cmd_info(self, payload):
        c = self.config
        current, previous = self.store.key_versions()
        j = self.journal
        g = self.guard
        return codec.encode_reader_info(
            codec.LINK_VERSION, _FIRMWARE_VERSION, c["terminal"], current, previous, self.store.blacklist()[0],
            j.next_number if j else 1, j.acked if j else 0, len(j.pending()) if j else 0, self.now(),
            c["day_open"], c["mode"], c["fixed_price"], g.state(current), g.nonce, g.counter, c["serial"], c["day"],
            j.last_mac if j else bytes(codec.LINK_MAC_SIZE), 1 if self.ring_partition else 0)

    def cmd_set_time(self, payload):
        (t,) = self._decode(codec.decode_set_time, codec.SET_TIME_SIZE, payload)
        now = self.now()
        if self.config["serial"] and now and t + self.config["window"] < now:
            raise LinkFail(codec.LINK_ERR_CLOCK, "the clock may go back %d s at most without a signed time (asked: "
                           "%d s): sign in" % (self.config["window"], now - t))
        self._set_time(t)
        self._save()
        return b""

    def cmd_provision_keys(self, payload):
        terminal, version, make_current, sector_a, purse_mac, journal_key, link_key, config_key = self._decode(
            codec.decode_provision_keys, codec.PROVISION_KEYS_SIZE, payload)
        if self.config["day_open"]:
            raise LinkFail(codec.LINK_ERR_DAY_OPEN, "close the day before provisioning keys")
        if not 1 <= terminal <= 99999999:
            raise ValueError("terminal number must have 8 digits at most and not be 0")
        old = self.config["terminal"]
        if old and old != terminal and self.journal is not None and self.journal.acked < self.journal.next_number - 1:
            raise LinkFail(codec.LINK_ERR_BAD_ORDER, "journal of terminal %d not collected yet" % old)
        if not 1 <= version <= 255:
            raise ValueError("key version must be 1..255")
        self.guard.save_keys(version, link_key, config_key)
        self.store.save_keys(version, sector_a, purse_mac, journal_key, bool(make_current))
        self.guard.erase_transport_key()  # single use: from now on the terminal's link key
        if old != terminal:
            for k, v in _UNSIGNED.items():  # the old terminal's settings are not this one's
                if k != "serial":
                    self.config[k] = v
        self.config["terminal"] = terminal
        self._save()
        self._load_keys()
        return b""

    def cmd_load_blacklist(self, payload):
        if len(payload) < codec.BLACKLIST_HEADER_SIZE:
            raise ValueError("short blacklist chunk")
        version, total, offset, count = codec.decode_blacklist_header(payload)
        entries = payload[codec.BLACKLIST_HEADER_SIZE:]
        if len(entries) != count * codec.BLACKLIST_ENTRY_SIZE or offset + count > total:
            raise ValueError("blacklist chunk does not match its header")
        self.store.stage_blacklist_chunk(offset, entries)
        if offset + count == total and not self.store.commit_blacklist(version, total):
            raise LinkFail(codec.LINK_ERR_BAD_ORDER, "blacklist chunks missing: send it again from offset 0")
        return b""

    def cmd_sign_in(self, payload):
        """Day open with the back office's signed day configuration (firmware/dayconfig.py)."""
        self._need_journal()
        if len(payload) != codec.SIGN_IN_SIZE + dayconfig.SIZE:
            raise ValueError("expected %d bytes, got %d" % (codec.SIGN_IN_SIZE + dayconfig.SIZE, len(payload)))
        self._apply_config(payload[codec.SIGN_IN_SIZE:])
        c = self.config
        c["day_open"] = 1
        c["batch"] += 1
        c["day_first"] = self.journal.next_number
        self._save()
        self.ui.ready(self._price())
        return codec.encode_sign_in_result(c["day"], c["batch"], c["day_first"])

    def cmd_configure(self, payload):
        """A signed configuration without opening the day (provisioning; issuance readers)."""
        if not self.key_version:
            raise LinkFail(codec.LINK_ERR_NOT_PROVISIONED, "reader not provisioned: run `icpurse terminal provision`")
        self._apply_config(payload)
        self._save()
        return b""

    def cmd_debit(self, payload):
        amount, pos_ref, timeout_ms = self._decode(codec.decode_debit_request, codec.DEBIT_REQUEST_SIZE, payload)
        view, slot, number, recovered = self.debit(amount, timeout_ms)
        return codec.encode_debit_result(view.card_number, amount, slot[codec.PURSE_SLOT_BALANCE],
                                         slot[codec.PURSE_SLOT_SEQ], number, 1 if recovered else 0)

    def cmd_read_card(self, payload):
        self._need_journal()
        (timeout_ms,) = self._decode(codec.decode_read_card_request, codec.READ_CARD_REQUEST_SIZE, payload)
        tag = self._wait_card(timeout_ms)
        access, keys, kv = purse.open_card(tag, self.keyring)
        view = purse.read_card(access, keys, kv)
        log = purse.read_log(access, keys, view)
        out = codec.encode_card_summary(view.card_number, len(view.uid), _padded_uid(view.uid), view.balance,
                                        view.seq, view.expiry, kv, len(log))
        for e in log:
            out += codec.encode_log_entry(*e)
        return out

    def cmd_fetch_journal(self, payload):
        self._need_journal()
        first, maximum = self._decode(codec.decode_fetch_journal, codec.FETCH_JOURNAL_SIZE, payload)
        maximum = min(maximum or _FETCH_MAX, _FETCH_MAX)
        chunks = []
        for raw in self.journal.records(max(first, self.journal.base + 1), raw=True):
            chunks.append(bytes(raw))
            if len(chunks) >= maximum:
                break
        return codec.encode_journal_chunk(len(chunks)) + b"".join(chunks)

    def cmd_ack_journal(self, payload):
        self._need_journal()
        (up_to,) = self._decode(codec.decode_ack_journal, codec.ACK_JOURNAL_SIZE, payload)
        if up_to >= self.journal.next_number:
            raise LinkFail(codec.LINK_ERR_BAD_ORDER, "record %d was never sent" % up_to)
        self.journal.acknowledge(up_to)
        # keep the open day's records: DAY_CLOSE totals them from the journal itself
        self.journal.compact(self.config["day_first"] if self.config["day_open"] else None)
        return b""

    def cmd_day_close(self, payload):
        self._need_day()
        c = self.config
        first, last = c["day_first"], self.journal.next_number - 1
        totals = self.journal.totals(first - 1) if first - 1 >= self.journal.base else {}
        count, total = totals.get(codec.TXN_DEBIT, (0, 0))
        c["day_open"] = 0
        self._save()
        self.ui.closed("day closed")
        return codec.encode_day_totals(c["day"], c["batch"], count, total, first, last)

    def cmd_reboot(self, payload):
        self.reboot_requested = True
        return b""

    # --- transparent card access (issuance readers only) ----------------------------------------
    def _transparent(self):
        if not self.config["transparent"]:
            raise LinkFail(codec.LINK_ERR_NOT_PROVISIONED, "transparent card access is disabled on this reader")

    def _card(self):
        self._transparent()
        if self.tag is None:
            raise LinkFail(codec.LINK_ERR_NO_CARD, "no card selected: CARD_WAIT first")
        return self.tag

    def cmd_card_wait(self, payload):
        self._transparent()
        (timeout_ms,) = self._decode(codec.decode_card_wait, codec.CARD_WAIT_SIZE, payload)
        self.tag = self._wait_card(timeout_ms)
        return codec.encode_card_found(len(self.tag.uid), _padded_uid(self.tag.uid), self.tag.atqa, self.tag.sak)

    def cmd_card_auth(self, payload):
        block, key_type, key = self._decode(codec.decode_card_auth, codec.CARD_AUTH_SIZE, payload)
        self._card().authenticate(block, key, key_type)
        return b""

    def cmd_card_read(self, payload):
        (block,) = self._decode(codec.decode_card_block, codec.CARD_BLOCK_SIZE, payload)
        return codec.encode_card_data(self._card().read_block(block))

    def cmd_card_write(self, payload):
        block, data = self._decode(codec.decode_card_write, codec.CARD_WRITE_SIZE, payload)
        self._card().write_block(block, data)
        return b""

    def cmd_card_value(self, payload):
        op, block, operand = self._decode(codec.decode_card_value, codec.CARD_VALUE_SIZE, payload)
        tag = self._card()
        if operand > _OPERAND_MAX and (op == codec.MF_INCREMENT or op == codec.MF_DECREMENT):
            # bit 31 set: sent as given, to measure what a card makes of a "negative" operand
            # (tests/hil; transparent access is an issuance reader's, by its signed configuration)
            tag.value_raw(op, block, operand)
        elif op == codec.MF_INCREMENT:
            tag.increment(block, operand)
        elif op == codec.MF_DECREMENT:
            tag.decrement(block, operand)
        elif op == codec.MF_RESTORE:
            tag.restore(block)
        else:
            raise ValueError("value operation 0x%02x unknown" % op)
        return b""

    def cmd_card_transfer(self, payload):
        (block,) = self._decode(codec.decode_card_block, codec.CARD_BLOCK_SIZE, payload)
        self._card().transfer(block)
        return b""

    # --- the debit ----------------------------------------------------------------------------
    def _wait_card(self, timeout_ms):
        """Bounded wait for a card in the field; LinkFail(NO_CARD) after `timeout_ms`."""
        start = self.clock.ticks_ms()
        while True:
            if self.watchdog is not None:
                self.watchdog.feed()  # a wait for a card may outlast the watchdog's timeout
            found = self.pn532.list_passive_target(min(timeout_ms, 200) or 1)
            if found is not None:
                uid, atqa, sak = found
                return ClassicTag(self.pn532, uid, atqa, sak)
            if self.clock.ticks_diff(self.clock.ticks_ms(), start) >= timeout_ms:
                raise LinkFail(codec.LINK_ERR_NO_CARD, "no card presented within %d ms" % timeout_ms)
            self.clock.sleep_ms(_POLL_MS)

    def _resolve_pending(self, view, access):
        """Finish or roll back this card's interrupted transactions (same transaction, never a new
        one) by purse.find_txn. True if one was completed."""
        completed = False
        uid = _padded_uid(view.uid)
        terminal = self.config["terminal"]
        for rec in self.journal.pending():
            if bytes(rec[codec.JOURNAL_RECORD_UID]) != uid:
                continue
            outcome = purse.find_txn(access, view, terminal, rec[codec.JOURNAL_RECORD_NUMBER],
                                     rec[codec.JOURNAL_RECORD_KIND], rec[codec.JOURNAL_RECORD_AMOUNT],
                                     rec[codec.JOURNAL_RECORD_CARD_SEQ])
            if outcome == purse.UNKNOWN:
                continue  # the card no longer tells: left to reconciliation
            if outcome == purse.COMMITTED:
                self.journal.commit(rec, self.now())
                completed = True
            else:
                # ABSENT, or OLD_COPY: this copy of the card never got it. The reader settles what
                # the card in its field shows; the PENDING record keeps the counter it expected,
                # so the back office sees the counter go backwards.
                self.journal.roll_back(rec, self.now())
                self._forget_tap(view, rec)
        return completed

    def debit(self, amount, timeout_ms):
        """Find a card and debit `amount` fen. Returns (view, slot, journal number, recovered)."""
        self._need_sales()
        if amount <= 0:
            raise purse.Refused(codec.R_BAD_AMOUNT, "amount must be a positive number of fen")
        tag = self._wait_card(timeout_ms)
        # LED only: the display is drawn when the customer has been told (ui.busy draws nothing slow)
        self.ui.busy(amount)
        try:
            return self._debit_card(tag, amount)
        except purse.Refused as e:
            self.ui.refused(e.code, e.message)
            raise
        except (MifareError, PN532Error):
            self.ui.refused(codec.R_WRITE_FAILED, "present again")
            raise

    # --- per-card memory (firmware/ring.py) ---------------------------------------------------
    def _older_than_memory(self, view):
        """True if the card shows an older state than this reader last saw or left on it."""
        rec = self.ring.latest(view.uid)
        if rec is None:
            return False
        if rec[_ring.LAYOUT] != view.layout:
            return view.layout < rec[_ring.LAYOUT]  # back to v1 after migrating: an old copy
        # an unsettled write-ahead allows the state before it (the debit may never have landed)
        ref = rec[_ring.SEQ_BEFORE] if rec[_ring.KIND] == _ring.TAP else rec[_ring.SEQ]
        if view.layout == codec.LAYOUT_VERSION:
            return view.seq < ref
        g_v, g_r = purse2.gen_of_seq(view.seq), purse2.gen_of_seq(ref)
        if g_v == g_r:
            return (view.seq & 0xFFFFFF) < (ref & 0xFFFFFF)
        return purse2.gen_after(g_r, g_v)

    def _remember(self, view, day, day_total):
        """A STATE record: what the reader left on (or saw of) the card."""
        self.ring.append(_ring.STATE, view.uid, view.layout, view.key_version, view.seq, view.balance, view.seq,
                         view.balance, day, day_total, 0, 0, self.now())

    def _forget_tap(self, view, rec):
        """A journalled debit that did not land: the day total goes back down."""
        tap = self.ring.latest(view.uid)
        if tap is not None and tap[_ring.KIND] == _ring.TAP and tap[_ring.JOURNAL] == rec[codec.JOURNAL_RECORD_NUMBER]:
            total = tap[_ring.DAY_TOTAL] - tap[_ring.AMOUNT]
            self._remember(view, tap[_ring.DAY], total if total > 0 else 0)

    def _check_card(self, view, today):
        """Refusals the programme and the reader's memory add to the purse's own (nothing written)."""
        c = self.config
        if view.layout == codec.LAYOUT_VERSION:
            if c["issuer"] and view.identity[codec.IDENTITY_ISSUER] != c["issuer"]:
                raise purse.Refused(codec.R_UNKNOWN_CARD, "card of issuer %d" % view.identity[codec.IDENTITY_ISSUER])
            if c["v1_until"] and today > c["v1_until"]:
                raise purse.Refused(codec.R_TRANSITION_OVER, "a layout v1 card after the programme's last day for "
                                                            "them: the issuer moves it to v2 at its next top-up")
        if self._older_than_memory(view):
            raise purse.Refused(codec.R_OLDER_STATE, "the card shows an older state than this reader saw: a copy "
                                                     "restored from an old dump? report the card")
        if c["balance_cap"] and view.balance > c["balance_cap"]:
            raise purse.Refused(codec.R_OVER_BALANCE_CAP, "balance %d fen above the programme's cap of %d fen: "
                                                          "report the card" % (view.balance, c["balance_cap"]))

    def _debit_card(self, tag, amount):
        c = self.config
        access, keys, kv = purse.open_card(tag, self.keyring)
        view = purse.read_card(access, keys, kv)
        now = self.now()
        today = self.today()  # the signed business day (expiry, day totals)
        recovered = self._resolve_pending(view, access)
        policy = self.policy()
        # blacklist and expiry first: a blacklisted card is refused as such wherever it shows up
        purse.check_usable(view, policy, today, self.store.blacklisted(view.card_number))
        self._check_card(view, today)
        purse.recover(access, view)
        recovered = recovered or view.repaired
        uid = _padded_uid(view.uid)
        if len(self.journal.pending()) >= _MAX_PENDING and not [
                r for r in self.journal.pending() if bytes(r[codec.JOURNAL_RECORD_UID]) == uid]:
            raise LinkFail(codec.LINK_ERR_PENDING, "too many interrupted sales: present those cards again")
        txn = self.journal.next_number
        plan = purse.plan_debit(view, amount, policy, today, c["terminal"], txn, self.ring.day_total(view.uid, today))
        # write-ahead: one page program into erased flash, before the first card write
        self.ring.tap(view.uid, view.layout, kv, view.seq, view.balance, plan, txn, now)
        written = True
        try:
            slot = purse.commit(access, view, plan, now, log=False)
        except (MifareError, PN532Error):
            if purse.find_txn(access, view, c["terminal"], txn, codec.TXN_DEBIT, amount, plan[0]) == purse.COMMITTED:
                # The commit point is on the card; the rest is repaired at the next tap. (The view
                # holds what commit wrote, so this reads nothing from a card that may be gone.)
                slot = view.slot
                written = False
            else:
                # outcome decided when the card is presented again: journal it now
                self.journal.begin(codec.TXN_DEBIT, view.uid, plan[0], amount, plan[1], now)
                raise
        self.ui.success(amount, slot[codec.PURSE_SLOT_BALANCE])  # <- the customer is told here
        pending = self.journal.begin(codec.TXN_DEBIT, view.uid, plan[0], amount, plan[1], now)
        self.journal.commit(pending, now)
        self._remember(view, today, plan[3])
        if written and view.layout == codec.LAYOUT_VERSION:
            # After the customer was told: the log is history, never a decision; a card already
            # gone simply misses this entry (the slot and the journal hold the transaction).
            try:
                purse.write_log(access, view, slot, now)
            except (MifareError, PN532Error):
                pass
        self.ui.show()
        self.ring.maintain()
        return view, slot, pending[codec.JOURNAL_RECORD_NUMBER], recovered

    def poll_fixed_price(self, timeout_ms=200):
        """Standalone canteen/vending mode: debit the configured price from any card presented."""
        if self.config["mode"] != codec.MODE_FIXED_PRICE or not self.config["day_open"]:
            return None
        try:
            return self.debit(self.config["fixed_price"], timeout_ms)
        except LinkFail as e:
            if e.code != codec.LINK_ERR_NO_CARD:
                self.ui.refused(e.code, e.message)
            return None
        except (purse.Refused, MifareError, PN532Error, JournalError):
            return None
