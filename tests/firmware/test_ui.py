"""firmware/ui.py: the LED and buzzer patterns the docstring promises, timed by the main loop's ticks.
Dual-run: CPython and MicroPython."""
from icpurse.firmware import ui
from icpurse.firmware.hal.sim import SimClock, SimPin
from icpurse.hil.sim.clock import VirtualClock


class Recorder(SimPin):
    """A pin that remembers (time in ms, level) of every change."""

    def __init__(self, clock):
        SimPin.__init__(self, initial=0)
        self.clock = clock
        self.changes = []

    def value(self, v):
        if (1 if v else 0) != self.level:
            self.changes.append((self.clock.ticks_ms(), 1 if v else 0))
        SimPin.value(self, v)


def _run(action, until_ms=6000, step_ms=10):
    vclock = VirtualClock()
    clock = SimClock(vclock)
    led, buzzer = Recorder(clock), Recorder(clock)
    ind = ui.Indicator(led, buzzer, clock=clock)
    t0 = clock.ticks_ms()
    action(ind)
    while clock.ticks_diff(clock.ticks_ms(), t0) < until_ms:
        clock.sleep_ms(step_ms)
        ind.tick(clock.ticks_ms())
    return [(t - t0, v) for t, v in led.changes], [(t - t0, v) for t, v in buzzer.changes]


def test_success_is_one_beep_of_150_ms_with_the_led_on():
    led, buzz = _run(lambda i: i.success(100, 900))
    assert led == [(0, 1)]
    assert buzz == [(0, 1), (150, 0)]  # a pulse someone hears, not value(1); value(0)


def test_a_refusal_is_two_short_beeps_then_the_led_blinks_the_code():
    led, buzz = _run(lambda i: i.refused(3, "blacklisted"))
    assert buzz == [(0, 1), (80, 0), (160, 1), (240, 0)]
    ons = [t for t, v in led if v == 1]
    offs = [t for t, v in led if v == 0]
    assert len(ons) == 3 and len(offs) == 3  # code 3: three blinks, then dark
    assert [b - a for a, b in zip(ons, offs)] == [200, 200, 200]


def test_ready_and_busy_keep_the_led_on_closed_turns_it_off_silently():
    led, buzz = _run(lambda i: (i.ready(0), i.busy(100), i.closed("day closed")), until_ms=100)
    assert led == [(0, 1), (0, 0)] and buzz == []


def test_without_a_clock_the_pins_rest_in_the_states_final_levels():
    led, buzzer = SimPin(initial=0), SimPin(initial=0)
    ind = ui.Indicator(led, buzzer)
    ind.success(1, 2)
    assert (led.level, buzzer.level) == (1, 0)
    ind.refused(5)
    assert (led.level, buzzer.level) == (0, 0) and ind.events[-1] == (4, 5)
