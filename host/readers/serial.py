"""The icpurse ESP32 reader over its USB link (pyserial), from the host.

`LinkClient` sends requests and returns response payloads, raising `ReaderLinkError` for an ERROR
frame (typed code, detail, message). Requests that change nothing are retried after a lost or
damaged answer; a DEBIT is never sent twice (its outcome is read back from the journal instead).
After `authenticate(link_key)` every state-changing request is signed (firmware/linkauth.py: a fresh
counter and a MAC under the reader's link key) and the reader's MAC on its answer is checked; an
answer that fails it raises `AnswerNotAuthentic`.
`SerialTag` is the tag contract (firmware/tag.py) over the transparent CARD_* commands, so personalisation and
top-ups run through an issuance reader exactly as through PC/SC.
"""
import time

from icpurse.firmware import link, linkauth
from icpurse.host import codec
from icpurse.host.codec import ST_TIMEOUT
from icpurse.firmware.tag import Tag, TagGone, card_error

_SAFE_TO_RETRY = {codec.LINK_CMD_INFO, codec.LINK_CMD_FETCH_JOURNAL, codec.LINK_CMD_READ_CARD,
                  codec.LINK_CMD_SET_TIME, codec.LINK_CMD_CONFIGURE, codec.LINK_CMD_ACK_JOURNAL,
                  codec.LINK_CMD_CARD_READ}


class ReaderLinkError(Exception):
    """The reader answered with an ERROR frame."""

    def __init__(self, code, detail, message, command):
        super().__init__(message)
        self.code, self.detail, self.message, self.command = code, detail, message, command

    @property
    def exit_code(self):
        """The icpurse command's exit code: 4 when the reader refused the card, 5 when it refused a
        request's MAC or signed configuration (wrong keys, or not from this back office), else 1."""
        if self.refusal:
            return 4
        if self.code in (codec.LINK_ERR_UNAUTHENTICATED, codec.LINK_ERR_BAD_CONFIG):
            return 5
        return 1

    @property
    def refusal(self):
        """The purse refusal code (codec.R_*) when the reader refused a card, else None."""
        return self.detail if self.code >= codec.LINK_ERR_REFUSAL_BASE else None


class AnswerNotAuthentic(Exception):
    """The answer to a signed request does not carry the reader's MAC: another device answered, or
    the link was tampered with. What the reader did is unknown: ask it again (INFO, collect)."""

    exit_code = 5

    def __init__(self, message, command):
        super().__init__(message)
        self.command = command


class LinkTimeout(Exception):
    """No valid answer from the reader in time (unplugged, wrong port, not an icpurse reader)."""

    exit_code = 3  # no reader / device (the icpurse command's exit code)


class ReaderGone(LinkTimeout):
    """The serial port failed mid-command: the reader was unplugged or reset (not retried)."""


class LinkClient:
    def __init__(self, port, baud=115200, timeout=5.0):
        import serial  # pyserial

        self.path = port
        try:
            self.serial = serial.Serial(port, baud, timeout=0.05)
        except serial.SerialException as e:
            raise LinkTimeout("cannot open %s: %s" % (port, e))
        self.timeout = timeout
        self.frames = link.FrameReader()
        self._seq = 0
        self.authenticate(None)

    def close(self):
        self.serial.close()

    def _exchange(self, command, payload, timeout):
        import serial  # pyserial

        try:
            return self._exchange_on_port(command, payload, timeout)
        except (serial.SerialException, OSError) as e:
            raise ReaderGone("reader on %s disconnected during command 0x%02x (%s): plug it back in and "
                             "repeat; a sale's outcome is kept in the reader's journal" % (self.path, command, e))

    def _exchange_on_port(self, command, payload, timeout):
        self._seq = (self._seq + 1) & 0xFF
        seq = self._seq
        self.serial.write(link.encode_frame(codec.LINK_KIND_REQUEST, seq, command, payload))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = self.serial.read(self.serial.in_waiting or 1)  # returns as soon as bytes are there
            if data:
                self.frames.feed(data)
            while True:
                frame = self.frames.next()
                if frame is None:
                    break
                if frame.seq == seq and frame.command == command:
                    return frame
                # an answer to an earlier, abandoned request: ignore it
        raise LinkTimeout("no answer from the reader on %s within %.1f s (command 0x%02x)" % (self.path, timeout, command))

    # --- link authentication ----------------------------------------------------------------
    def authenticate(self, key):
        """Sign state-changing requests with `key` from now on: the reader's link key (or, for a
        blank reader's first provisioning, the transport key of the lab ceremony); None: unsigned.
        The reader's terminal, nonce and counter are read from its INFO at the next signed request."""
        self._link_key = None if key is None else bytes(key)
        self.signer = None

    def _signer(self):
        if self.signer is None:
            info = self.info()
            self.signer = linkauth.Signer(self._link_key, info["terminal"], info["link_nonce"], info["link_counter"])
        return self.signer

    def request(self, command, payload=b"", timeout=None):
        timeout = timeout or self.timeout
        signed = self._link_key is not None and linkauth.authenticated(command)
        tries = 3 if command in _SAFE_TO_RETRY else 1
        fresh = False  # counter re-read from INFO after a REPLAYED answer
        attempt = 0
        while True:
            # a retry is signed again under a new counter: the first attempt may have been carried out
            body = self._signer().sign(command, payload) if signed else payload
            try:
                frame = self._exchange(command, body, timeout)
            except ReaderGone:
                raise
            except LinkTimeout:
                attempt += 1
                if attempt >= tries:
                    raise
                continue
            if frame.kind != codec.LINK_KIND_ERROR:
                break
            code, detail, message = link.decode_error(frame.payload)
            if code == codec.LINK_ERR_BAD_FRAME and command in _SAFE_TO_RETRY and attempt + 1 < tries:
                attempt += 1
                continue
            if code == codec.LINK_ERR_REPLAYED and signed and not fresh:
                # another workstation signed requests meanwhile: start after the reader's counter
                fresh = True
                self.signer = None
                continue
            raise ReaderLinkError(code, detail, message, command)
        if not signed:
            return frame.payload
        try:
            return self.signer.open_response(command, frame.payload)
        except ValueError as e:
            raise AnswerNotAuthentic("%s: check the reader with `icpurse terminal collect` (its journal is MAC'd)"
                                     % e, command) from None

    # --- typed commands -----------------------------------------------------------------------
    def info(self):
        raw = self.request(codec.LINK_CMD_INFO)
        return dict(zip(codec.READER_INFO_FIELDS, codec.decode_reader_info(raw)))

    def set_time(self, t):
        self.request(codec.LINK_CMD_SET_TIME, codec.encode_set_time(t))

    def provision_keys(self, terminal, version, sector_a, purse_mac, journal, link_key, config_key, make_current=True):
        self.request(codec.LINK_CMD_PROVISION_KEYS, codec.encode_provision_keys(
            terminal, version, 1 if make_current else 0, sector_a, purse_mac, journal, link_key, config_key))
        self.signer = None  # the reader may sign with another key now: re-read its state

    def configure(self, record):
        """Apply a signed day configuration (firmware/dayconfig.py) without opening the day."""
        self.request(codec.LINK_CMD_CONFIGURE, bytes(record))

    def load_blacklist(self, version, card_numbers, chunk=500):
        entries = sorted(bytes(n) for n in card_numbers)
        total = len(entries)
        offset = 0
        while True:
            part = entries[offset:offset + chunk]
            self.request(codec.LINK_CMD_LOAD_BLACKLIST,
                         codec.encode_blacklist_header(version, total, offset, len(part)) + b"".join(part))
            offset += len(part)
            if offset >= total:
                return

    def sign_in(self, operator, record):
        """Day open under a signed day configuration: {day, batch, first_number}."""
        raw = self.request(codec.LINK_CMD_SIGN_IN, codec.encode_sign_in(operator) + bytes(record))
        return dict(zip(codec.SIGN_IN_RESULT_FIELDS, codec.decode_sign_in_result(raw)))

    def debit(self, amount, pos_ref=0, timeout_ms=10000):
        raw = self.request(codec.LINK_CMD_DEBIT, codec.encode_debit_request(amount, pos_ref, timeout_ms),
                           timeout=timeout_ms / 1000 + self.timeout)
        return dict(zip(codec.DEBIT_RESULT_FIELDS, codec.decode_debit_result(raw)))

    def read_card(self, timeout_ms=5000):
        raw = self.request(codec.LINK_CMD_READ_CARD, codec.encode_read_card_request(timeout_ms),
                           timeout=timeout_ms / 1000 + self.timeout)
        summary = dict(zip(codec.CARD_SUMMARY_FIELDS, codec.decode_card_summary(raw)))
        off = codec.CARD_SUMMARY_SIZE
        summary["log"] = []
        for _ in range(summary["count"]):
            summary["log"].append(dict(zip(codec.LOG_ENTRY_FIELDS, codec.decode_log_entry(raw, off))))
            off += codec.LOG_ENTRY_SIZE
        return summary

    def fetch_journal(self, first=1, maximum=0):
        """Raw journal records (54 bytes each) numbered >= first."""
        raw = self.request(codec.LINK_CMD_FETCH_JOURNAL, codec.encode_fetch_journal(first, maximum))
        (count,) = codec.decode_journal_chunk(raw)
        off = codec.JOURNAL_CHUNK_SIZE
        size = codec.JOURNAL_RECORD_SIZE
        return [raw[off + i * size:off + (i + 1) * size] for i in range(count)]

    def ack_journal(self, up_to):
        self.request(codec.LINK_CMD_ACK_JOURNAL, codec.encode_ack_journal(up_to))

    def day_close(self):
        return dict(zip(codec.DAY_TOTALS_FIELDS, codec.decode_day_totals(self.request(codec.LINK_CMD_DAY_CLOSE))))

    def reboot(self):
        self.request(codec.LINK_CMD_REBOOT)


class SerialTag(Tag):
    """The tag contract over an issuance reader's transparent CARD_* commands; the reader's own
    ClassicTag re-selects a halted card."""

    def __init__(self, client, timeout_ms=10000):
        self.client = client
        raw = self._call(codec.LINK_CMD_CARD_WAIT, codec.encode_card_wait(timeout_ms))
        uid_len, uid, self.atqa, self.sak = codec.decode_card_found(raw)
        self.uid = bytes(uid[:uid_len])

    def _call(self, command, payload):
        try:
            return self.client.request(command, payload)
        except ReaderLinkError as e:
            if e.code == codec.LINK_ERR_CARD:
                raise card_error(e.detail, e.message)
            if e.code == codec.LINK_ERR_NO_CARD:
                raise TagGone(ST_TIMEOUT, e.message)
            raise

    def authenticate(self, block, key, key_type=codec.MF_AUTH_A):
        self._check_auth(block, key, key_type)
        self._call(codec.LINK_CMD_CARD_AUTH, codec.encode_card_auth(block, key_type, bytes(key)))

    def read_block(self, block):
        self._check_block(block)
        return codec.decode_card_data(self._call(codec.LINK_CMD_CARD_READ, codec.encode_card_block(block)))[0]

    def write_block(self, block, data):
        self._check_data(block, data)
        self._call(codec.LINK_CMD_CARD_WRITE, codec.encode_card_write(block, bytes(data)))

    def _value(self, op, block, operand):
        self._check_operand(block, operand)
        self._call(codec.LINK_CMD_CARD_VALUE, codec.encode_card_value(op, block, operand))

    def increment(self, block, amount):
        self._value(codec.MF_INCREMENT, block, amount)

    def decrement(self, block, amount):
        self._value(codec.MF_DECREMENT, block, amount)

    def restore(self, block):
        self._value(codec.MF_RESTORE, block, 0)

    def transfer(self, block):
        self._check_block(block)
        self._call(codec.LINK_CMD_CARD_TRANSFER, codec.encode_card_block(block))


class SerialReader:
    def __init__(self, port, baud=115200):
        self.port = port
        self.client = LinkClient(port, baud)

    def __str__(self):
        return "serial:%s" % self.port

    def wait_for_card(self, timeout=10.0):
        return SerialTag(self.client, int(timeout * 1000))
