"""Card readers for the host tools, chosen with one option everywhere:

    --reader pcsc[:NAME]        a PC/SC reader (pyscard; ACR122U-style storage-card APDUs)
    --reader serial:/dev/ttyUSB0  the icpurse ESP32 reader over its USB link
    --reader sim[:FOLDER]       the in-process virtual rig (cards kept as .mfd dumps)

or the environment variable ICPURSE_READER. Every reader offers `wait_for_card(timeout)` -> a tag
(a firmware.tag.Tag: the written tag contract), and `close()`.

`pcsc` and `serial` are the host's own. Other kinds are registered by the parts above the host
(entry point group `icpurse.readers`, see host/plugins.py): `sim` is the virtual rig's
(hil/simreader.py), so the host never imports the simulator and works without it.
"""
import os

from icpurse.host import plugins

BUILT_IN = ("pcsc", "serial")
# kinds registered by other parts: named here only to say what is missing when that part is not installed
_PROVIDED_BY = {"sim": "the virtual rig (the hil part of icpurse)"}


class NoReader(Exception):
    """No reader matches, or none was chosen: the message says what to do next."""

    exit_code = 3  # no reader / device (the icpurse command's exit code)


def _choices(registered):
    kinds = ["pcsc[:NAME]", "serial:PORT"] + sorted(registered)
    return ", ".join(kinds[:-1]) + " or " + kinds[-1]


def _not_installed(kind):
    return NoReader("--reader %s needs %s, which is not installed here: install icpurse with all its parts "
                    "(`make setup`, or `pip install -e .` in the repository) or use pcsc[:NAME] / serial:PORT"
                    % (kind, _PROVIDED_BY.get(kind, "a part that is")))


def parse_spec(spec):
    spec = (spec or os.environ.get("ICPURSE_READER") or "").strip()
    if not spec:
        raise NoReader("no reader chosen: pass --reader pcsc[:NAME] | serial:/dev/ttyUSB0 | sim "
                       "(or set ICPURSE_READER); `icpurse readers` lists what is there")
    kind, _, arg = spec.partition(":")
    if kind not in BUILT_IN:
        registered = plugins.registered(plugins.READERS)
        if kind in _PROVIDED_BY and kind not in registered:
            raise _not_installed(kind)
        if kind not in registered:
            raise NoReader("unknown reader %r: use %s" % (spec, _choices(registered)))
    if kind == "serial" and not arg:
        raise NoReader("serial reader needs a port: serial:/dev/ttyUSB0")
    return kind, arg or None


def _plugin_class(kind):
    try:
        return plugins.load(plugins.registered(plugins.READERS)[kind])
    except (KeyError, plugins.Missing):
        raise _not_installed(kind) from None


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
            reader = _plugin_class(kind)(arg)
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
    for kind, ep in sorted(plugins.registered(plugins.READERS).items()):
        try:
            cls = plugins.load(ep)
        except plugins.Missing:
            continue
        out.append((kind, getattr(cls, "DESCRIPTION", "registered by %s" % ep.value)))
    return out
