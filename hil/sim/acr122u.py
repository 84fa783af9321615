"""The ACS ACR122U persona for PC/SC: the storage-card APDUs of pcsc.StorageCardPersona plus the
ACR122U's own pseudo-APDUs (class FF, INS 00), so that desk software and libnfc's `acr122_pcsc`
driver run against the virtual rig through pcscd (docs/simulator.md, "The ACR122U persona").

A real ACR122U is a USB CCID front end to an NXP PN532. `FF 00 00 00 Lc D4 ...` (direct transmit)
hands a PN532 command to that chip and returns its answer `D5 ... 90 00`; here the chip is the
simulator's PN532 model on the same deck, so raw frames, InAutoPoll and the MIFARE relay behave
exactly as on the pty. CPython only.
"""
from icpurse.hil.sim.clock import VirtualClock
from icpurse.hil.sim.pcsc import SW_FAILED, SW_OK, SW_WRONG_LENGTH, StorageCardPersona
from icpurse.hil.sim.pn532 import PN532, PN532SyntaxError

FIRMWARE = b"ACR122U207"  # what `FF 00 48 00 00` answers: ASCII, no status word (ACS API 2.0x)
SW_PN532_COMMAND_WRONG = b"\x63\x7f"  # ACS: "the PN532_Contactless command is wrong"
TFI_HOST = 0xD4
TFI_CHIP = 0xD5

INS_PSEUDO = 0x00
P1_DIRECT = 0x00
P1_LED = 0x40
P1_FIRMWARE = 0x48
P1_GET_PICC = 0x50
P1_SET_PICC = 0x51

# LED control P2 (ACR122U API: bi-color LED and buzzer control)
_FINAL_RED, _FINAL_GREEN, _MASK_RED, _MASK_GREEN = 0x01, 0x02, 0x04, 0x08


class Acr122uPersona(StorageCardPersona):
    """Storage-card persona + the ACR122U pseudo-APDUs. State of the reader itself (LEDs, PICC
    operating parameter) lives until the simulator exits, like the reader's volatile memory."""

    firmware = FIRMWARE

    def __init__(self, deck, clock=None, faults=None):
        StorageCardPersona.__init__(self, deck, clock)
        self.chip = PN532(deck, clock if clock is not None else VirtualClock(), faults)
        self.chip.power = "normal"  # the ACR122U firmware configures its PN532 at power-up
        self.led = 0  # bit 0 red, bit 1 green (as the LED command reports them)
        self.buzzer_cycles = 0  # how many buzzer sounds were asked for (observable in tests)
        self.picc_parameter = 0xFF  # ACS default: poll every card type, auto ATS, ...

    def transmit(self, apdu):
        apdu = bytes(apdu)
        if len(apdu) >= 4 and apdu[0] == 0xFF and apdu[1] == INS_PSEUDO:
            return self._pseudo(apdu)
        return StorageCardPersona.transmit(self, apdu)

    def _pseudo(self, apdu):
        p1, p2 = apdu[2], apdu[3]
        body = apdu[4:]
        if p1 == P1_DIRECT and p2 == 0x00:
            return self._direct(body)
        if p1 == P1_FIRMWARE and p2 == 0x00 and body in (b"", b"\x00"):
            return self.firmware
        if p1 == P1_LED:
            return self._led(p2, body)
        if p1 == P1_GET_PICC and p2 == 0x00 and body in (b"", b"\x00"):
            return b"\x90" + bytes((self.picc_parameter,))
        if p1 == P1_SET_PICC and body in (b"", b"\x00"):
            self.picc_parameter = p2
            return b"\x90" + bytes((p2,))
        return SW_FAILED

    def _direct(self, body):
        """FF 00 00 00 Lc D4 <PN532 command>: the chip's answer D5 <code+1> ... 90 00."""
        if not body or body[0] != len(body) - 1 or len(body) < 3:
            return SW_WRONG_LENGTH
        cmd = body[1:]
        if cmd[0] != TFI_HOST:
            return SW_PN532_COMMAND_WRONG
        try:
            rsp = self.chip.process_command(cmd[1:])
        except PN532SyntaxError:
            # The PN532 answered its error frame; the reader reports it as a wrong command [U].
            return SW_PN532_COMMAND_WRONG
        return bytes((TFI_CHIP,)) + bytes(rsp) + SW_OK

    def _led(self, p2, body):
        """FF 00 40 P2 04 T1 T2 reps link: final LED states under their masks; answers 90 + the
        LED state (bit 0 red, bit 1 green)."""
        if len(body) != 5 or body[0] != 0x04:
            return SW_FAILED
        if p2 & _MASK_RED:
            self.led = (self.led & ~0x01) | (0x01 if p2 & _FINAL_RED else 0)
        if p2 & _MASK_GREEN:
            self.led = (self.led & ~0x02) | (0x02 if p2 & _FINAL_GREEN else 0)
        if body[4] and body[3]:
            self.buzzer_cycles += body[3]
        return b"\x90" + bytes((self.led,))
