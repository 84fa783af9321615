"""Hardware abstraction: the only doorway from the firmware to `machine` / `esp32`.

Everything above this package (PN532 driver, MIFARE layer, purse protocol, journal, USB link) takes
these objects as constructor arguments and never imports `machine`.  Implementations:

- `icpurse.firmware.hal.esp32` -- the real board (imports `machine` / `esp32`, only there);
- `icpurse.firmware.hal.sim`   -- adapters onto the virtual rig (hil/sim), so the same firmware
  code runs against the simulated PN532 and "waiting" advances modelled time.

The interfaces are duck-typed (no abc on MicroPython); each is listed with its contract.

Uart -- the PN532 HSU link, 8N1
    write(buf) -> n            queue all of `buf` for sending
    readinto(buf) -> n | None  copy up to len(buf) bytes that have already arrived; never waits
                               (None or 0 when nothing is there, like machine.UART with timeout=0)
    any() -> n                 bytes waiting to be read
    set_baud(baud)             change the local baud rate (after the PN532 switched)

I2CBus -- an I2C master
    writeto(addr, buf)         one write transaction; OSError when the device NACKs
    readfrom_into(addr, buf)   one read transaction filling `buf`; OSError when the device NACKs

Pin -- a digital output (PN532 RSTPDN, buzzer, LED)
    value(v)                   drive the pin low (0) or high (1)

Clock -- the only place time passes
    ticks_ms() -> int          monotonic milliseconds (may wrap: compare with ticks_diff)
    ticks_diff(a, b) -> int    a - b, wrap-safe
    sleep_ms(ms)               wait; drivers call it only inside bounded polling loops

Watchdog -- restarts the board unless fed
    feed()                     the main loop is alive (firmware/server.py, every pass)

random_bytes(n) -> bytes       n bytes from the hardware random number generator

Nvs -- small key/value store for secrets (ESP32 NVS partition, never a plain file)
    get_blob(key, buf) -> n | None   copy the blob into `buf`, return its length; None if absent
                                     (ValueError if `buf` is too small)
    set_blob(key, data)              store and commit
    erase(key)                       remove (no error if absent) and commit
"""
