"""What the clerk and the customer see and hear: LED, buzzer and an optional SSD1306 display.

States: READY (idle, day open), BUSY ("keep the card on the reader" while writing), SUCCESS
(amount and remaining balance), REFUSED (reason code: LED blinks the code, two low beeps),
CLOSED (day not open / not provisioned). The pins and display come from the HAL; without them
the indicator only remembers its state (the virtual reader and tests read `events`).
"""
from icpurse.protocol.money import fmt_yuan
from icpurse.protocol.mpy import const


_READY = const(1)
_BUSY = const(2)
_SUCCESS = const(3)
_REFUSED = const(4)
_CLOSED = const(5)


def yuan(fen):
    """Integer fen -> 'Y12.34': the display's form of an amount."""
    return fmt_yuan(fen, unit="", sep="", symbol="Y", always_decimals=True)


class Indicator:
    def __init__(self, led=None, buzzer=None, display=None, keep_events=32):
        self.led = led
        self.buzzer = buzzer
        self.display = display
        self.state = _CLOSED
        self.events = []  # (state, detail) — the last few, for the virtual reader and tests
        self._keep = keep_events
        self._lines = None  # what the display shows next, drawn by show()
        self.draws = 0  # display redraws (make bench charges their time)

    def _set(self, state, detail, lines, draw=True):
        """LED and buzzer at once; the display (a full SSD1306 redraw is tens of milliseconds on
        I2C) only when `draw`, else at the next show()."""
        self.state = state
        self.events.append((state, detail))
        if len(self.events) > self._keep:
            self.events.pop(0)
        if self.led is not None:
            self.led.value(1 if state in (_READY, _SUCCESS, _BUSY) else 0)
        if self.buzzer is not None and state in (_SUCCESS, _REFUSED):
            self.buzzer.value(1)  # a short beep; the HAL pin may drive a PWM tone
            self.buzzer.value(0)
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

    def ready(self, price=0):
        self._set(_READY, price, ("Ready", yuan(price) if price else "Present card"))

    def busy(self, amount):
        # LED only: the card work starts at once (the text would only flash before the result)
        self._set(_BUSY, amount, None, draw=False)

    def success(self, amount, balance):
        # LED and beep now; the text after the reader's own bookkeeping (Reader calls show())
        self._set(_SUCCESS, (amount, balance), ("Paid " + yuan(amount), "Left " + yuan(balance)), draw=False)

    def refused(self, code, message=""):
        self._set(_REFUSED, code, ("Refused %d" % code, message[:16]))

    def closed(self, why=""):
        self._set(_CLOSED, why, ("Closed", why[:16]))
