"""How cards reach the readers of a rig: one interface, a virtual deck or a person.

A scenario says *what* happens to card i (`present(i, at="store")`, `pull()`, a pull in the middle
of an operation); the presenter makes it happen:

- `VirtualDeckPresenter` moves simulated cards between the decks of the virtual readers and pulls
  them with hil/sim faults (after exactly n card commands, or inside a write);
- `OperatorPresenter` asks the person at the bench ("Place card 2 on the store reader, press
  Enter") on the terminal and waits for Enter, with a timeout.

Pull sweeps are written the same way for both: `for point in cards.pull_points(): cards.arm_pull(point)
... cards.pull_fired()`. The virtual deck yields every command index until the operation completes
without the pull firing; an operator gets the rig's number of guided pulls (`[sweeps] pulls`), and
`pull_fired()` is None there (nobody knows exactly when the card left).
"""
import itertools
import os
import select
import time

from icpurse.hil.sim.faults import TEAR_MODES, Faults


class OperatorTimeout(Exception):
    """The operator did not answer in time."""


class OperatorAbort(Exception):
    """The operator typed `skip` or `fail ...` instead of Enter."""

    def __init__(self, action, note):
        super().__init__("operator: %s%s" % (action, (" (" + note + ")") if note else ""))
        self.action, self.note = action, note


class Console:
    """Prompts on the operator's terminal; answers are lines read with a timeout.

    Reads and writes /dev/tty by default, so pytest's output capture does not swallow the prompts
    and the suite's stdin redirection does not matter. `infile`/`outfile` are for tests."""

    def __init__(self, infile=None, outfile=None, timeout=120.0, clock=time.monotonic):
        self._own = infile is None
        if infile is None:
            infile = open("/dev/tty", "r+b", buffering=0)
            outfile = infile
        self.infile, self.outfile = infile, outfile
        self.timeout = timeout
        self.clock = clock
        self._buf = b""
        self.transcript = []  # (prompt, answer) pairs, for the report

    def close(self):
        if self._own:
            self.infile.close()

    def say(self, text):
        self._write("\n[hil] %s\n" % text)

    def _write(self, text):
        data = text.encode("utf-8")
        if hasattr(self.outfile, "fileno") and not hasattr(self.outfile, "encoding"):
            os.write(self.outfile.fileno(), data)
        else:
            self.outfile.write(text)
            self.outfile.flush()

    def ask(self, text, timeout=None):
        """Show `text`, wait for a line. Enter -> ""; `skip` / `fail NOTE` raise OperatorAbort."""
        timeout = self.timeout if timeout is None else timeout
        self._write("\n[hil] %s\n[hil] press Enter when done (or type skip / fail WHY) > " % text)
        line = self._readline(timeout, text).strip()
        self.transcript.append((text, line))
        word, _, note = line.partition(" ")
        if word.lower() in ("skip", "s"):
            raise OperatorAbort("skip", note.strip())
        if word.lower() in ("fail", "f"):
            raise OperatorAbort("fail", note.strip())
        return line

    def _readline(self, timeout, text):
        deadline = self.clock() + timeout
        fd = self.infile.fileno()
        while b"\n" not in self._buf:
            left = deadline - self.clock()
            if left <= 0:
                raise OperatorTimeout("no answer within %.0f s to: %s" % (timeout, text))
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 256)
            if not chunk:
                raise OperatorTimeout("operator input closed while waiting for: %s" % text)
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line.decode("utf-8", "replace")


class SweepFaults(Faults):
    """hil.sim Faults that can also tear the k-th write (WRITE / TRANSFER) from now on."""

    def clear(self):
        Faults.clear(self)
        self._tear_at = -1
        self._tear_how = None
        self._writes = 0

    def tear_write_at(self, k, mode="mix", seed=0):
        self._tear_at, self._tear_how, self._writes = k, (mode, seed), 0

    def on_write(self, old, new):
        if self._tear_at >= 0:
            if self._writes == self._tear_at:
                self.tear_next_write(*self._tear_how)
                self._tear_at = -1
            self._writes += 1
        return Faults.on_write(self, old, new)


class VirtualDeckPresenter:
    """Cards of the virtual rig; `decks` maps a reader role ("store", "issuance") to its Deck.

    Every card carries its own hil.sim Faults; pulls are armed on the card presented last."""

    interactive = False

    def __init__(self, decks, cards):
        self.decks = decks
        self.cards = list(cards)  # ClassicCard, index 0 = card 1
        self.names = ["card%d" % (i + 1) for i in range(len(self.cards))]
        for role_deck in {id(d): d for d in decks.values()}.values():
            for name, card in zip(self.names, self.cards):
                role_deck.add(name, card)
        self.current = None
        self._fired = False

    @property
    def count(self):
        return len(self.cards)

    def card(self, i):
        """The simulated card number i (1-based)."""
        return self.cards[i - 1]

    def _faults(self):
        if self.current is None:
            raise RuntimeError("no card presented yet")
        return self.cards[self.current - 1].faults

    def present(self, i, at="store"):
        if at not in self.decks:
            raise ValueError("this rig has no %r reader (have %s)" % (at, ", ".join(sorted(self.decks))))
        self.pull()
        self._note_fired()
        self.current = i
        self.cards[i - 1].faults.clear()
        self.decks[at].present(self.names[i - 1])

    def _note_fired(self):
        # Re-presenting a card clears its faults: remember first whether the armed pull happened.
        if self.current is not None:
            fired = self.cards[self.current - 1].faults.fired
            if "remove" in fired or any(x.startswith("tear_") for x in fired):
                self._fired = True

    def pull(self):
        for d in self.decks.values():
            d.remove()

    def pull_during_write(self, mode="mix", seed=0):
        """The card leaves in the middle of the next block write (old, new or mixed bytes)."""
        self._faults().tear_next_write(mode, seed)

    def pull_points(self):
        return itertools.count()

    def arm_pull(self, point):
        """The card leaves before its `point`-th command (0 = the first) of the next operation."""
        f = self._faults()
        f.clear()
        self._fired = False
        f.remove_after(point)

    def tear_points(self):
        """(write index, tear mode): every write of the next operation, torn each way."""
        for k in itertools.count():
            for mode in TEAR_MODES:
                yield (k, mode)

    def arm_tear(self, point):
        """The card leaves in the middle of write number point[0] of the next operation."""
        k, mode = point
        f = self._faults()
        f.clear()
        self._fired = False
        f.tear_write_at(k, mode, seed=k + 1)

    def pull_fired(self):
        """Did the pull armed last happen (since arm_pull / arm_tear)?"""
        self._note_fired()
        fired = self._fired
        self._fired = False
        self._faults().clear()  # a pull that did not fire must not hit the next operation
        return fired

    def note(self, text):
        pass


_ROLE = {"store": "store reader", "issuance": "issuance reader"}


class OperatorPresenter:
    """Cards moved by a person who answers prompts on the terminal."""

    interactive = True

    def __init__(self, console, count, pulls, same_reader=False):
        self.console = console
        self.count = count
        self.pulls = pulls
        self.same_reader = same_reader  # issuance and store reader are one board
        self.current = None
        self.at = None

    def _where(self, at):
        if self.same_reader:
            return "the reader"
        return "the " + _ROLE.get(at, at)

    def present(self, i, at="store"):
        if self.current == i and (self.at == at or self.same_reader):
            return  # already there
        self.console.ask("Place card %d on %s and leave it there." % (i, self._where(at)))
        self.current, self.at = i, at

    def pull(self):
        if self.current is not None:
            self.console.ask("Take card %d off the reader." % self.current)
        self.current = self.at = None

    def pull_during_write(self, mode="mix", seed=0):
        self._pull_prompt("as soon as the LED lights / the display shows 'keep card'")

    def pull_points(self):
        return range(self.pulls)

    def tear_points(self):
        return range(1 if self.pulls else 0)

    def arm_tear(self, point):
        self.pull_during_write()

    def arm_pull(self, point):
        self._pull_prompt("at once — pull %d of %d" % (point + 1, self.pulls))

    def _pull_prompt(self, when):
        if self.current is not None:  # the card lies on the reader: the operation starts at Enter
            self.console.ask("Card %d is on %s. After Enter, lift it off %s." % (self.current, self._where(self.at),
                                                                                 when))
        else:  # the reader waits for a card: a short touch
            self.console.ask("Hold a card above the reader. After Enter, touch it to the reader and lift it off %s "
                             "(a quick tap, about a tenth of a second)." % when)
        self.current = self.at = None  # the card is in the operator's hand afterwards

    def pull_fired(self):
        return None  # unknown: the card may have left before, during or after the writes

    def note(self, text):
        self.console.say(text)
