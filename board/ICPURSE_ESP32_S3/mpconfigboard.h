// icpurse store reader on an ESP32-S3: the link is UART0 on the board's USB-UART bridge ("UART"
// port). Neither the UART nor the chip's own USB (USB-Serial/JTAG, TinyUSB CDC) carries a REPL.
#define MICROPY_HW_BOARD_NAME               "icpurse store reader (ESP32-S3)"
#define MICROPY_HW_MCU_NAME                 "ESP32S3"
#define MICROPY_HW_ENABLE_UART_REPL         (0)
#define MICROPY_HW_ESP_USB_SERIAL_JTAG      (0)
#define MICROPY_HW_ENABLE_USBDEV            (0)
#define MICROPY_PY_BLUETOOTH                (0)
#define MICROPY_PY_NETWORK_WLAN             (0)
