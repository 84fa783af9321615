# icpurse store reader, ESP32-S3 (e.g. ESP32-S3-DevKitC-1, link on its "UART" USB port).
# Build (docs/hardware.md "Production image"):
#   make -C <micropython>/ports/esp32 BOARD_DIR=<icpurse>/board/ICPURSE_ESP32_S3
set(IDF_TARGET esp32s3)
set(SDKCONFIG_DEFAULTS
    boards/sdkconfig.base
    boards/sdkconfig.usb
    ${MICROPY_BOARD_DIR}/../sdkconfig.security
    ${MICROPY_BOARD_DIR}/sdkconfig.board
)
set(MICROPY_FROZEN_MANIFEST ${MICROPY_BOARD_DIR}/../manifest.py)
