"""What the clerk and the customer see and hear: LED, buzzer and an optional SSD1306 display.

States and what each shows (the LED on `led`, an active buzzer on `buzzer`, both HAL pins):

| state | LED | buzzer | display |
|---|---|---|---|
| READY (idle, day open) | on | silent | "Ready", the price |
| BUSY ("keep the card on the reader" while writing) | on | silent | "Keep card", amount |
| SUCCESS | on | one beep of 150 ms | amount and remaining balance |
| REFUSED | blinks the reason code (code x 200 ms on / 200 ms off, at most 20), then off | two beeps of 80 ms, 80 ms apart | "Refused", code, reason |
| CLOSED (day not open, not provisioned) | off | silent | "Closed", why |

A pattern is a list of timed steps; `tick(now_ms)` (called by the main loop, firmware/server.py)
switches the pins when a step is due, so a beep never blocks a sale. Without a clock (the virtual
reader, tests of the reader) the indicator only remembers its state (`events`); `steps` holds the
pattern of the last state for tests of the timing.
"""
from icpurse.protocol.money import fmt_yuan
from icpurse.protocol.mpy import const


_READY = const(1)
_BUSY = const(2)
_SUCCESS = const(3)
_REFUSED = const(4)
_CLOSED = const(5)

_BEEP_MS = const(150)  # the success beep
_SHORT_MS = const(80)  # each of the two refusal beeps, and the gap between them
_BLINK_MS = const(200)  # one blink of the refusal code: on, then off as long
_MAX_BLINKS = const(20)


def yuan(fen):
    """Integer fen -> 'Y12.34': the display's form of an amount."""
    return fmt_yuan(fen, unit="", sep="", symbol="Y", always_decimals=True)


def pattern(state, detail=0):
    """The timed steps of a state: [(at_ms from its start, led level, buzzer level)]."""
    if state == _SUCCESS:
        return [(0, 1, 1), (_BEEP_MS, 1, 0)]
    if state == _REFUSED:
        steps = [(0, 0, 1), (_SHORT_MS, 0, 0), (2 * _SHORT_MS, 0, 1), (3 * _SHORT_MS, 0, 0)]
        blinks = min(max(detail, 1), _MAX_BLINKS)
        start = 4 * _SHORT_MS
        for i in range(blinks):
            steps.append((start + 2 * i * _BLINK_MS, 1, 0))
            steps.append((start + (2 * i + 1) * _BLINK_MS, 0, 0))
        steps.sort()
        return steps
    return [(0, 0 if state == _CLOSED else 1, 0)]


class Indicator:
    def __init__(self, led=None, buzzer=None, display=None, keep_events=32, clock=None):
        self.led = led
        self.buzzer = buzzer
        self.display = display
        self.clock = clock
        self.state = _CLOSED
        self.events = []  # (state, detail) — the last few, for the virtual reader and tests
        self.steps = []  # the current pattern
        self._keep = keep_events
        self._start = 0
        self._next = 0  # index of the next step to apply
        self._lines = None  # what the display shows next, drawn by show()
        self.draws = 0  # display redraws (make bench charges their time)

    def _set(self, state, detail, lines, draw=True):
        """LED and buzzer at once; the display (a full SSD1306 redraw is tens of milliseconds on
        I2C) only when `draw`, else at the next show()."""
        self.state = state
        self.events.append((state, detail))
        if len(self.events) > self._keep:
            self.events.pop(0)
        self.steps = pattern(state, detail if state == _REFUSED else 0)
        self._next = 0
        if self.clock is not None:
            self._start = self.clock.ticks_ms()
            self.tick(self._start)
        else:
            last = self.steps[-1]
            self._apply(last[1], last[2])  # no time: the pattern's resting state
            self._next = len(self.steps)
        self._lines = lines
        if draw:
            self.show()

    def show(self):
        """Draw the pending display text (the slow part of a state change)."""
        lines = self._lines
        self._lines = None
        if lines is None:
            return
        self.draws += 1
        if self.display is not None:
            try:
                self.display.fill(0)
                for i, text in enumerate(lines):
                    self.display.text(text, 0, i * 12)
                self.display.show()
            except OSError:
                self.display = None  # a missing or broken display never stops a sale

    def _apply(self, led, buzz):
        if self.led is not None:
            self.led.value(led)
        if self.buzzer is not None:
            self.buzzer.value(buzz)

    def tick(self, now_ms):
        """Apply every step that is due; True while the pattern has steps left."""
        steps = self.steps
        while self._next < len(steps):
            at, led, buzz = steps[self._next]
            if self.clock is not None and self.clock.ticks_diff(now_ms, self._start) < at:
                return True
            self._apply(led, buzz)
            self._next += 1
        return False

    def due_in(self, now_ms):
        """ms until the pattern's next step is due (0: now), or -1 when nothing is left to switch:
        how long the main loop may block without a beep running over."""
        if self._next >= len(self.steps) or self.clock is None:
            return -1
        return max(0, self.steps[self._next][0] - self.clock.ticks_diff(now_ms, self._start))

    def ready(self, price=0):
        self._set(_READY, price, ("Ready", yuan(price) if price else "Present card"))

    def busy(self, amount):
        # LED only: the card work starts at once (the text would only flash before the result)
        self._set(_BUSY, amount, None, draw=False)

    def success(self, amount, balance):
        # LED and beep now; the text -- its formatting too -- after them, drawn after the reader's
        # own bookkeeping (Reader calls show())
        self._set(_SUCCESS, (amount, balance), None, draw=False)
        self._lines = ("Paid " + yuan(amount), "Left " + yuan(balance))

    def refused(self, code, message=""):
        self._set(_REFUSED, code, ("Refused %d" % code, message[:16]))

    def closed(self, why=""):
        self._set(_CLOSED, why, ("Closed", why[:16]))
