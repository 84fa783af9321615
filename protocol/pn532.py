"""PN532 host-link constants (facts: docs/chip-facts.md "PN532 host link" and "MIFARE Classic").

Plain data, no construct: exported into the firmware codec by `icpurse.protocol.codegen` and used by
both the firmware driver (host side of the link) and the simulator (chip side).
"""


class Frame:
    PREAMBLE = 0x00
    START1 = 0x00
    START2 = 0xFF
    POSTAMBLE = 0x00
    TFI_HOST = 0xD4  # host -> PN532
    TFI_PN532 = 0xD5  # PN532 -> host
    NORMAL_MAX_DATA = 254  # PD bytes (incl. command code) in a normal frame
    EXTENDED_MAX_DATA = 264
    ACK = b"\x00\x00\xff\x00\xff\x00"
    NACK = b"\x00\x00\xff\xff\x00\x00"
    ERROR = b"\x00\x00\xff\x01\xff\x7f\x81\x00"  # application-level error (syntax)
    ERROR_CODE = 0x7F  # the error frame's one data byte; drivers report it as status 0x7F (nfcpy)
    WAKEUP = b"\x55\x55" + b"\x00" * 14  # HSU wake-up (libnfc): 0x55 0x55 then zeros


class Command:
    DIAGNOSE = 0x00
    GET_FIRMWARE_VERSION = 0x02
    GET_GENERAL_STATUS = 0x04
    READ_REGISTER = 0x06
    WRITE_REGISTER = 0x08
    READ_GPIO = 0x0C
    WRITE_GPIO = 0x0E
    SET_SERIAL_BAUD_RATE = 0x10
    SET_PARAMETERS = 0x12
    SAM_CONFIGURATION = 0x14
    POWER_DOWN = 0x16
    RF_CONFIGURATION = 0x32
    RF_REGULATION_TEST = 0x58
    IN_DATA_EXCHANGE = 0x40
    IN_COMMUNICATE_THRU = 0x42
    IN_DESELECT = 0x44
    IN_JUMP_FOR_PSL = 0x46
    IN_LIST_PASSIVE_TARGET = 0x4A
    IN_PSL = 0x4E
    IN_ATR = 0x50
    IN_RELEASE = 0x52
    IN_SELECT = 0x54
    IN_JUMP_FOR_DEP = 0x56
    IN_AUTO_POLL = 0x60
    TG_GET_DATA = 0x86
    TG_GET_INITIATOR_COMMAND = 0x88
    TG_GET_TARGET_STATUS = 0x8A
    TG_INIT_AS_TARGET = 0x8C
    TG_SET_DATA = 0x8E
    TG_RESPONSE_TO_INITIATOR = 0x90
    TG_SET_GENERAL_BYTES = 0x92
    TG_SET_META_DATA = 0x94


class Status:
    """InDataExchange / InCommunicateThru status byte, bits 5..0 (docs/chip-facts.md "InDataExchange
    status")."""

    OK = 0x00
    TIMEOUT = 0x01
    CRC = 0x02
    PARITY = 0x03
    BIT_COUNT = 0x04
    FRAMING = 0x05
    COLLISION = 0x06
    BUFFER_SIZE = 0x07
    RF_BUFFER_OVERFLOW = 0x09
    RF_FIELD = 0x0A
    RF_PROTOCOL = 0x0B
    OVERHEAT = 0x0D
    INTERNAL_BUFFER_OVERFLOW = 0x0E
    INVALID_PARAMETER = 0x10
    DEP_UNSUPPORTED = 0x12
    INVALID_FRAME = 0x13  # card NAK: MIFARE command not permitted / bad format
    AUTH_ERROR = 0x14
    BCC = 0x23
    DEP_STATE = 0x25
    NOT_ALLOWED = 0x26
    WRONG_CONTEXT = 0x27  # e.g. unknown target number
    RELEASED = 0x29
    MASK = 0x3F
    MI = 0x40  # more information (chaining)
    NAD = 0x80


class Mifare:
    """MIFARE Classic command bytes carried in InDataExchange (docs/chip-facts.md "MIFARE commands
    in InDataExchange")."""

    AUTH_A = 0x60
    AUTH_B = 0x61
    READ = 0x30
    WRITE = 0xA0
    DECREMENT = 0xC0
    INCREMENT = 0xC1
    RESTORE = 0xC2
    TRANSFER = 0xB0
    HALT = 0x50  # ISO 14443-3 HLTA "50 00"; the card never answers it
    BLOCK_SIZE = 16
    KEY_SIZE = 6


class RfItem:
    """RFConfiguration CfgItem codes (docs/chip-facts.md "RFConfiguration")."""

    FIELD = 0x01
    TIMINGS = 0x02
    MAX_RTY_COM = 0x04
    MAX_RETRIES = 0x05
    ANALOG_106A = 0x0A
    ANALOG_212_424 = 0x0B
    ANALOG_TYPE_B = 0x0C
    ANALOG_ISO_DEP = 0x0D


class Sam:
    NORMAL = 0x01
    VIRTUAL_CARD = 0x02
    WIRED_CARD = 0x03
    DUAL_CARD = 0x04


class Target:
    """InListPassiveTarget BrTy and answers of MIFARE Classic cards (docs/chip-facts.md
    "InListPassiveTarget", "ATQA and SAK")."""

    BRTY_106A = 0x00
    SAK_CLASSIC_1K = 0x08
    SAK_CLASSIC_4K = 0x18
    SAK_MINI = 0x09
    SAK_ISO14443_4 = 0x20
    ATQA_1K_4B = 0x0004  # PN532 order: MSB first on the host link
    ATQA_1K_7B = 0x0044
    ATQA_4K_4B = 0x0002
    ATQA_4K_7B = 0x0042
    I2C_ADDRESS = 0x24
    I2C_READY = 0x01


# GetFirmwareVersion answer of a real PN532 v1.6: IC, Ver, Rev, Support.
FIRMWARE_VERSION = (0x32, 0x01, 0x06, 0x07)

# SetSerialBaudRate codes 0..8 -> baud (docs/chip-facts.md "HSU (UART)").
BAUD_RATES = (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 1288000)
DEFAULT_BAUD = 115200


class Timing:
    """Modelled times in microseconds for the simulator's virtual clock.

    Card times: MIFARE Classic EV1 typical transaction times (docs/chip-facts.md "Timings"). The
    PN532 processing overhead per command is not documented anywhere we could read; 500 us is the
    model's fixed default until a hardware measurement replaces it.
    """

    SELECT = 2500
    SELECT_7B_EXTRA = 1000
    AUTH = 2000
    READ = 2500
    WRITE = 5500
    VALUE_OP = 2500  # increment, decrement, restore
    TRANSFER = 4500
    PN532_OVERHEAD = 500
    BITS_PER_BYTE = 10  # 8N1 on the UART
    # A host task blocked in a UART read (ESP32, MicroPython: RX interrupt at every byte when
    # timeout_char=0) runs again this long after the last byte it waited for: interrupt, ring
    # buffer, FreeRTOS task switch. An assumption (not measured) until the HIL rig measures it.
    RX_WAKE = 50
