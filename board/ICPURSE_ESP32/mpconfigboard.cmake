# icpurse store reader, ESP32 (ESP32-WROOM-32, silicon revision 3 or later for secure boot v2).
# Build (docs/hardware.md "Production image"):
#   make -C <micropython>/ports/esp32 BOARD_DIR=<icpurse>/board/ICPURSE_ESP32
set(IDF_TARGET esp32)
set(SDKCONFIG_DEFAULTS
    boards/sdkconfig.base
    ${MICROPY_BOARD_DIR}/../sdkconfig.security
    ${MICROPY_BOARD_DIR}/sdkconfig.board
)
set(MICROPY_FROZEN_MANIFEST ${MICROPY_BOARD_DIR}/../manifest.py)
