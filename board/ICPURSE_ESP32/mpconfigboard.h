// icpurse store reader on an ESP32 DevKit: the USB-serial bridge carries the reader's link, never
// a REPL (hal.esp32.UartLink reads UART0 itself). The lab gets a REPL only with the lab jumper,
// after the firmware erased every secret (firmware/app.py).
#define MICROPY_HW_BOARD_NAME               "icpurse store reader (ESP32)"
#define MICROPY_HW_MCU_NAME                 "ESP32"
#define MICROPY_HW_ENABLE_UART_REPL         (0)
#define MICROPY_PY_BLUETOOTH                (0)
#define MICROPY_PY_NETWORK_WLAN             (0)
