# micropython: yes
"""Cards that are not MIFARE Classic, for the wrong-card tests: a MIFARE Ultralight, a DESFire
(ISO/IEC 14443-4) and a generic ISO 14443-4 smart card.

They enter a Deck like a ClassicCard (same field / select / halt interface, so the PN532 model and
the PC/SC persona list them unchanged, with their own ATQA and SAK) and answer every MIFARE Classic
command as such a card would: no Crypto1, so AUTH fails (status 0x14 on the PN532) and anything
else is NAKed. That they NAK rather than answer in their own protocol (an Ultralight does answer
READ with 4 pages) is a simplification [U]: readers must refuse them by ATQA/SAK before that.
"""
from icpurse.host import codec
from icpurse.hil.sim import card as _card

# kind -> (ATQA as the PN532 reports it, SAK, UID length); NXP AN10833 "MIFARE type identification"
KINDS = {
    "ultralight": (0x0044, 0x00, 7),
    "desfire": (0x0344, codec.TG_SAK_ISO14443_4, 7),
    "iso14443-4": (0x0004, codec.TG_SAK_ISO14443_4, 4),
}


class OtherCard:
    """A type A card that does not speak MIFARE Classic."""

    def __init__(self, kind, uid=None):
        if kind not in KINDS:
            raise ValueError("card kind %r: expected one of %s" % (kind, ", ".join(sorted(KINDS))))
        self.kind = kind
        self.atqa, self.sak, uid_len = KINDS[kind]
        if uid is None:
            uid = bytes([0x04, 0x5A, 0x11, 0x22, 0x33, 0x44, 0x55][:uid_len])
        if len(uid) != uid_len:
            raise ValueError("a %s has a %d-byte UID, got %d bytes" % (kind, uid_len, len(uid)))
        self.uid = bytes(uid)
        self.size = kind  # neither "1k" nor "4k": nothing may take it for a Classic
        self.faults = None
        self.on_removed = None
        self.powered = True
        self.state = _card.IDLE
        self.commands = 0  # MIFARE commands that reached the card (the tests want none to succeed)

    @property
    def uid4(self):
        return self.uid[-4:]

    def __repr__(self):
        return "OtherCard(%s %s, %s)" % (self.kind, self.uid.hex(), self.state)

    # --- field / states, as ClassicCard --------------------------------------------------------
    def enter_field(self):
        self.powered = True
        self.state = _card.IDLE

    def reset(self):
        self.state = _card.IDLE

    def leave_field(self):
        self.powered = False
        self.state = _card.IDLE

    def _listening(self):
        if not self.powered or self.state not in (_card.ACTIVE,):
            raise _card.CardTimeout("card is %s" % self.state)

    def select(self):
        if not self.powered:
            raise _card.CardTimeout("card not in the field")
        self.state = _card.ACTIVE

    def halt(self):
        self._listening()
        self.state = _card.HALTED

    def deactivate(self):
        if self.state != _card.HALTED:
            self.state = _card.IDLE

    def unknown_command(self, cmd):
        self._listening()
        self.commands += 1
        raise _card.CardNak("%s: unknown command 0x%02X" % (self.kind, cmd))

    # --- MIFARE Classic commands: none of them works ----------------------------------------------
    def authenticate(self, key_type, block, key, uid4):
        self._listening()
        self.commands += 1
        self.state = _card.IDLE  # like a Classic after a failed auth: must be selected again
        raise _card.AuthFailed("%s has no Crypto1 sectors" % self.kind)

    def read(self, block):
        self.unknown_command(codec.MF_READ)

    def write(self, block, data):
        self.unknown_command(codec.MF_WRITE)

    def increment(self, block, operand):
        self.unknown_command(codec.MF_INCREMENT)

    def decrement(self, block, operand):
        self.unknown_command(codec.MF_DECREMENT)

    def restore(self, block):
        self.unknown_command(codec.MF_RESTORE)

    def transfer(self, block):
        self.unknown_command(codec.MF_TRANSFER)

    def sector_conds(self, sector):
        raise _card.CardNak("%s has no sectors" % self.kind)
