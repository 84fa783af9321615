"""Card readers for the host tools, chosen with one option everywhere:

    --reader pcsc[:NAME]        a PC/SC reader (pyscard; ACR122U-style storage-card APDUs)
    --reader serial:/dev/ttyUSB0  the icpurse ESP32 reader over its USB link
    --reader sim                the in-process virtual rig (cards kept as .mfd dumps)

or the environment variable ICPURSE_READER. Every reader offers `wait_for_card(timeout)` -> a tag
(a firmware.tag.Tag: the written tag contract), and `close()`.
"""
import os


class NoReader(Exception):
    """No reader matches, or none was chosen: the message says what to do next."""


def parse_spec(spec):
    spec = (spec or os.environ.get("ICPURSE_READER") or "").strip()
    if not spec:
        raise NoReader("no reader chosen: pass --reader pcsc[:NAME] | serial:/dev/ttyUSB0 | sim "
                       "(or set ICPURSE_READER); `icpurse readers` lists what is there")
    kind, _, arg = spec.partition(":")
    if kind not in ("pcsc", "serial", "sim"):
        raise NoReader("unknown reader %r: use pcsc[:NAME], serial:PORT or sim" % spec)
    if kind == "serial" and not arg:
        raise NoReader("serial reader needs a port: serial:/dev/ttyUSB0")
    return kind, arg or None


def open_reader(spec=None):
    kind, arg = parse_spec(spec)
    try:
        if kind == "pcsc":
            from icpurse.host.readers.pcsc import PcscReader

            reader = PcscReader(arg)
        elif kind == "serial":
            from icpurse.host.readers.serial import SerialReader

            reader = SerialReader(arg)
        else:
            from icpurse.host.readers.sim import SimReader

            reader = SimReader(arg)
    except NoReader:
        raise
    except Exception as e:  # pyscard / pyserial / filesystem errors -> one clear message
        raise NoReader("cannot open reader %s: %s" % (spec or os.environ.get("ICPURSE_READER"), e))
    if not hasattr(reader, "close"):
        reader.close = lambda: None
    return reader


def list_readers():
    """[(spec, description)] of the readers visible now."""
    out = []
    try:
        from icpurse.host.readers.pcsc import reader_names

        out += [("pcsc:%s" % n, "PC/SC reader") for n in reader_names()]
    except Exception as e:
        out.append(("pcsc", "unavailable: %s" % e))
    try:
        from serial.tools import list_ports

        for p in list_ports.comports():
            out.append(("serial:%s" % p.device, p.description or "serial port"))
    except Exception:
        pass
    out.append(("sim", "in-process virtual rig (no hardware)"))
    return out
