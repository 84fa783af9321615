# micropython: yes
"""The PN532's contactless interface unit (CIU) registers that decide how a raw frame goes on air
(InCommunicateThru): CRC generation and check, parity, the number of valid bits in the last byte
sent and received, and the Crypto1 unit (docs/simulator.md, "Raw frames").

Addresses and bits are those libnfc and nfcpy write (the PN532 user manual's CIU register map, the
PN512 register set at 0x6300 + n). Every other address is plain storage, as before: ReadRegister
returns what WriteRegister put there.
"""

TX_MODE = 0x6302  # bit 7 TxCRCEn: the CIU appends CRC_A
RX_MODE = 0x6303  # bit 7 RxCRCEn: the CIU checks and strips CRC_A; bit 3 RxNoErr; bit 2 RxMultiple
TX_AUTO = 0x6305
MANUAL_RCV = 0x630D  # bit 4 ParityDisable: parity bits travel inside the data (host frames them)
STATUS2 = 0x6338  # bit 3 MFCrypto1On
CONTROL = 0x633C  # bits 2..0 RxLastBits (valid bits of the last byte received; 0 = all 8)
BIT_FRAMING = 0x633D  # bits 2..0 TxLastBits (valid bits of the last byte sent), bits 6..4 RxAlign
COLL = 0x633E

CRC_EN = 0x80
PARITY_DISABLE = 0x10
CRYPTO1_ON = 0x08
LAST_BITS = 0x07

# Values after power-up as the host sees them [U: UM0701-02 register table not read]. CRC and
# parity on: libnfc assumes exactly that ("CRC handling should be enabled by default ... which is
# the case by default for pn53x") and only writes a register when its bits differ from what it
# reads, so a model starting at 0 would silently run with the CRC off.
RESET = {TX_MODE: CRC_EN, RX_MODE: CRC_EN, CONTROL: 0x10, COLL: 0x80}


class Ciu:
    def __init__(self):
        self.regs = dict(RESET)

    def reset(self):
        self.regs = dict(RESET)

    def read(self, addr):
        return self.regs.get(addr, 0)

    def write(self, addr, value):
        if addr == CONTROL:
            # RxLastBits is read-only: it reports the last reception.
            value = (value & ~LAST_BITS) | (self.regs.get(CONTROL, 0) & LAST_BITS)
        self.regs[addr] = value & 0xFF

    def _bit(self, addr, mask):
        return bool(self.regs.get(addr, 0) & mask)

    @property
    def tx_crc(self):
        return self._bit(TX_MODE, CRC_EN)

    @property
    def rx_crc(self):
        return self._bit(RX_MODE, CRC_EN)

    @property
    def parity_disabled(self):
        return self._bit(MANUAL_RCV, PARITY_DISABLE)

    @property
    def tx_last_bits(self):
        return self.regs.get(BIT_FRAMING, 0) & LAST_BITS

    @property
    def crypto1_on(self):
        return self._bit(STATUS2, CRYPTO1_ON)

    def set_crypto1(self, on):
        v = self.regs.get(STATUS2, 0)
        self.regs[STATUS2] = (v | CRYPTO1_ON) if on else (v & ~CRYPTO1_ON & 0xFF)

    def set_rx_last_bits(self, n):
        self.regs[CONTROL] = (self.regs.get(CONTROL, 0) & ~LAST_BITS & 0xFF) | (n & LAST_BITS)
