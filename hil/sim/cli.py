"""`icpurse sim ...`: run the virtual rig as a serial PN532 (pty) and/or a PC/SC reader (vpcd)."""
import os
import signal
import sys
import tempfile

import click

from icpurse.host.clikit.exits import Exit
from icpurse.host.clikit.failure import Failure
from icpurse.host.clikit.group import Group


@click.group(cls=Group)
def sim():
    """The virtual rig: a simulated PN532 + MIFARE Classic cards for tests and demos."""


@sim.command()
@click.option("--pty", "use_pty", is_flag=True, help="Serve a PN532 (HSU) on a pseudo-terminal; prints `pn532 <path>`.")
@click.option("--link", type=click.Path(dir_okay=False), help="Also make this symlink to the pty slave.")
@click.option("--pcsc", "use_pcsc", is_flag=True,
              help="Attach to pcscd's vpcd driver as a PC/SC storage-card reader; prints `pcsc <reader>`.")
@click.option("--vpcd-port", type=int, default=None,
              help="vpcd slot port. Default 35963 = 'Virtual PCD 00 00'; with --persona acr122u the port of the "
                   "reader named 'ACS ACR122U PICC Interface' in /etc/reader.conf.d (35965, written by "
                   "`make setup` as root: tools/ensure-vpcd-acr122u).")
@click.option("--persona", type=click.Choice(["storage", "acr122u"]), default="storage", show_default=True,
              help="What the PC/SC reader answers: `storage` = PC/SC part 3 storage-card APDUs (FF CA, FF 82, "
                   "FF 86, FF B0, ...); `acr122u` = those plus the ACS ACR122U pseudo-APDUs (FF 00 00 00 direct "
                   "transmit to its PN532, FF 00 48 firmware, FF 00 40 LEDs) for libnfc's acr122_pcsc driver, "
                   "which finds it by scanning on the 'ACS ACR122U PICC Interface 00 00' reader (on another "
                   "reader: LIBNFC_DEFAULT_DEVICE='acr122_pcsc:<reader name printed>').")
@click.option("--card", "cards", multiple=True, metavar="[NAME=]SIZE:UIDHEX[:KIND] | NAME=FILE",
              help="A card for the deck; SIZE 1k, 4k, 1k7 or 4k7 (7-byte UID); KIND a clone card: gen1a "
                   "(backdoor 0x40/0x43), cuid (block 0 writable; alias gen2, magic) or fuid (block 0 "
                   "writable once). Or NAME=FILE: a dump in any format `icpurse dump convert` reads "
                   "(raw .mfd/.bin, Proxmark .eml/.json, Flipper .nfc, MIFARE Classic Tool), optionally "
                   "FILE:KIND. Repeatable; the first is in the field. Default: one 1K transport card "
                   "1k:deadbeef (keys FF x 6).")
@click.option("--state", "state_dir", type=click.Path(file_okay=False),
              help="Keep card dumps (<uid>.mfd, raw .mfd) here: loaded at start, written after each change.")
@click.option("--control", "control_path", type=click.Path(dir_okay=False),
              help="UNIX socket for present/remove/swap/status commands (default: a temp path); "
                   "prints `control <path>`.")
@click.option("-v", "--verbose", is_flag=True, help="Log connections on stderr.")
@click.option("--json", "as_json", is_flag=True,
              help="Print each device line as a JSON document ({\"pn532\": path}, ...) instead.")
def serve(use_pty, link, use_pcsc, vpcd_port, persona, cards, state_dir, control_path, verbose, as_json):
    """Serve the virtual rig until interrupted (SIGINT / SIGTERM).

    The first stdout line is `pn532 <pty path>` with --pty; then `pcsc <reader name>` with --pcsc
    and `control <socket path>`.
    """
    from icpurse.hil.sim.server import CardSpec, Rig

    if not use_pty and not use_pcsc:
        raise click.UsageError("choose at least one way in: --pty and/or --pcsc")
    try:
        specs = [CardSpec(text, i) for i, text in enumerate(cards)]
        _warn_filled(specs)
        log = (lambda text: click.echo(text, err=True)) if verbose else None
        rig = Rig(specs, state_dir=state_dir, log=log)
    except ValueError as exc:
        raise click.UsageError(str(exc))

    tmpdir = None
    if control_path is None:
        tmpdir = tempfile.mkdtemp(prefix="icpurse-sim-")
        control_path = os.path.join(tmpdir, "control")
    signal.signal(signal.SIGTERM, rig.stop)
    signal.signal(signal.SIGINT, rig.stop)
    try:
        # Tests and scripts read these lines to find the devices: flush each one at once.
        if use_pty:
            _line("pn532 " + rig.open_pty(link=link), as_json)
        if use_pcsc:
            _warn_no_acr122u_reader(persona, vpcd_port)
            _line("pcsc " + rig.open_pcsc(port=vpcd_port, persona=persona), as_json)
        _line("control " + rig.open_control(control_path), as_json)
        rig.save_dumps()
        rig.serve()
    finally:
        rig.close()
        if tmpdir:
            try:
                os.rmdir(tmpdir)
            except OSError:
                pass


@sim.command("reader")
@click.option("--pty", "use_pty", is_flag=True, required=True,
              help="Serve the reader's USB link on a pseudo-terminal; prints `reader <path>` first.")
@click.option("--link", type=click.Path(dir_okay=False), help="Also make this symlink to the pty slave.")
@click.option("--card", "cards", multiple=True, metavar="[NAME=]SIZE:UIDHEX[:KIND] | NAME=FILE[:KIND]",
              help="A card for the deck (as for `sim serve`, dump files in any format too); the first is in "
                   "the field.")
@click.option("--state", "state_dir", type=click.Path(file_okay=False),
              help="Keep the reader's flash (journal, settings), its NVS (keys) and the card dumps here "
                   "between runs (default: a temporary folder, forgotten on exit).")
@click.option("--control", "control_path", type=click.Path(dir_okay=False),
              help="UNIX socket for present/remove/swap/status (prints `control <path>`).")
@click.option("--transport-key", "transport_key", type=click.Path(exists=True, dir_okay=False),
              help="The lab ceremony on the virtual board: write this transport key (the hex file of "
                   "`icpurse terminal transport-key`) into a blank reader's NVS, for its first provisioning.")
@click.option("-v", "--verbose", is_flag=True, help="Log connections on stderr.")
@click.option("--json", "as_json", is_flag=True,
              help="Print each device line as a JSON document ({\"reader\": path}, ...) instead.")
def reader(use_pty, link, cards, state_dir, control_path, transport_key, verbose, as_json):
    """Run the store reader firmware on the simulated PN532, its USB link on a pty.

    Host tools that take `--port /dev/ttyUSB0` (or `--reader serial:PATH`) work on the printed path
    unchanged. The first stdout line is `reader <pty path>`, then `control <socket path>`. A blank
    reader accepts no state-changing request until the lab ceremony gave it a transport key
    (--transport-key); every one after that must carry the terminal's link MAC.
    """
    import shutil

    from icpurse.hil.sim.server import CardSpec, Rig

    tkey = None
    if transport_key:
        try:
            with open(transport_key) as f:
                tkey = bytes.fromhex(f.read().strip())
            if len(tkey) != 16:
                raise ValueError
        except ValueError:
            raise click.UsageError("%s does not hold a transport key (32 hex digits)" % transport_key) from None
    own_state = state_dir is None
    state_dir = state_dir or tempfile.mkdtemp(prefix="icpurse-reader-")
    try:
        specs = [CardSpec(text, i) for i, text in enumerate(cards)]
        _warn_filled(specs)
        log = (lambda text: click.echo(text, err=True)) if verbose else None
        rig = Rig(specs, state_dir=os.path.join(state_dir, "cards"), log=log)
    except ValueError as exc:
        raise click.UsageError(str(exc))
    tmpdir = None
    if control_path is None:
        tmpdir = tempfile.mkdtemp(prefix="icpurse-sim-")
        control_path = os.path.join(tmpdir, "control")
    signal.signal(signal.SIGTERM, rig.stop)
    signal.signal(signal.SIGINT, rig.stop)
    try:
        _line("reader " + rig.open_reader_pty(os.path.join(state_dir, "reader"), link=link, transport_key=tkey),
              as_json)
        _line("control " + rig.open_control(control_path), as_json)
        rig.save_dumps()
        rig.serve()
    finally:
        rig.close()
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)
        if own_state:
            shutil.rmtree(state_dir, ignore_errors=True)


@sim.command("control")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.argument("words", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="The answer is one JSON document in any case (accepted for "
                                                       "uniformity).")
def control(path, words, as_json):
    """Send one command to a running `sim serve` (its `control <path>`) and print the JSON answer.

    WORDS: list | present NAME | remove | swap NAME | status | dump [NAME] | fault KIND [ARGS...]
    """
    import json

    from icpurse.hil.sim.control import control_command

    try:
        answer = control_command(path, " ".join(words))
    except OSError as e:  # not a socket, or no rig behind it any more
        raise Failure("no virtual rig answers on %s (%s)" % (path, e), Exit.NO_READER,
                      next_step="start `icpurse sim serve` and use the `control <path>` line it prints") from None
    click.echo(json.dumps(answer))  # one line: the control socket's own answer, as scripts read it
    if not answer.get("ok"):
        click.get_current_context().exit(Exit.FAILED)


def _warn_no_acr122u_reader(persona, port):
    from icpurse.hil.sim.vpcd import READER_CONF_DIR, acr122u_port

    if persona == "acr122u" and port is None and acr122u_port() is None:
        click.echo("warning: pcscd has no reader named as an ACR122U (%s): serving on 'Virtual PCD 00 00', "
                   "which libnfc's scan skips (name it: LIBNFC_DEFAULT_DEVICE='acr122_pcsc:Virtual PCD 00 00'). "
                   "To declare one: sudo tools/ensure-vpcd-acr122u, then restart pcscd" % READER_CONF_DIR, err=True)


def _warn_filled(specs):
    for spec in specs:
        if getattr(spec, "filled", 0):
            click.echo("warning: card %s: %d unknown byte(s) of %s filled (data 00, trailer parts with the "
                       "transport keys and access bits)" % (spec.name, spec.filled, spec.file), err=True)


def _line(text, as_json=False):
    if as_json:
        import json

        kind, _, value = text.partition(" ")
        text = json.dumps({kind: value})
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


@sim.group(cls=Group)
def hopper():
    """The card hopper of `--reader sim[:DIR]`: its cards, the one on the reader, armed faults.

    Changes the hopper's state folder between `icpurse` runs (DIR: --state, else ICPURSE_SIM_STATE,
    else the user's data folder `sim-cards/`)."""


def _state_option(f):
    return click.option("--state", "state_dir", type=click.Path(file_okay=False), envvar="ICPURSE_SIM_STATE",
                        help="The hopper's folder (the DIR of --reader sim:DIR).")(f)


def _hopper_out(h, as_json, text):
    from icpurse.host.clikit.output import emit_json

    h.save()
    if as_json:
        emit_json(dict(h.describe(), ok=True))
    else:
        click.echo(text)


def _open_hopper(state_dir):
    from icpurse.hil.simreader import Hopper

    return Hopper(state_dir)


@hopper.command("list")
@_state_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def hopper_list(state_dir, as_json):
    """The cards in the hopper (in order), which one is on the reader, and the armed faults."""
    h = _open_hopper(state_dir)
    d = h.describe()
    lines = ["%s %-20s %s" % ("*" if c["on_reader"] else " ", c["name"], c["uid"]) for c in d["cards"]]
    lines.append("faults: %s" % ", ".join("%s=%s" % kv for kv in d["faults"].items() if kv[1] is not None) or "none")
    _hopper_out(h, as_json, "\n".join(lines))


@hopper.command("add")
@_state_option
@click.option("--blanks", type=click.IntRange(1, 1000), default=1, show_default=True,
              help="How many blank 1K cards (each with its own UID).")
@click.option("--dump", "dump_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Add this .mfd dump instead (named by --name).")
@click.option("--name", default=None, help="The name of a card added from --dump.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def hopper_add(state_dir, blanks, dump_path, name, as_json):
    """Add blank cards (distinct UIDs) or a card dump to the back of the hopper."""
    h = _open_hopper(state_dir)
    try:
        if dump_path:
            with open(dump_path, "rb") as f:
                added = [h.add_dump(name or os.path.splitext(os.path.basename(dump_path))[0], f.read())]
        else:
            added = [h.add_blank() for _ in range(blanks)]
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    _hopper_out(h, as_json, "added %s" % ", ".join(added))


@hopper.command("present")
@click.argument("name")
@_state_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def hopper_present(name, state_dir, as_json):
    """Put card NAME on the reader (the one there goes back into the hopper)."""
    h = _open_hopper(state_dir)
    try:
        h.present(name)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="NAME") from None
    _hopper_out(h, as_json, "%s is on the reader" % name)


@hopper.command("remove")
@_state_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def hopper_remove(state_dir, as_json):
    """Take the card off the reader (no card in the field)."""
    h = _open_hopper(state_dir)
    h.remove()
    _hopper_out(h, as_json, "no card on the reader")


@hopper.command("fault")
@click.argument("words", nargs=-1, required=True)
@_state_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def hopper_fault(words, state_dir, as_json):
    """Arm a fault for the next run: `remove_after N` (the card leaves after N more card commands),
    `tear_next_write old|new|mix [SEED]` (the next block write is torn), or `clear`."""
    h = _open_hopper(state_dir)
    try:
        h.arm(words[0], *words[1:])
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="WORDS") from None
    _hopper_out(h, as_json, "armed: %s" % " ".join(words))
