# The production image of the icpurse store reader: MicroPython's own frozen modules for the port,
# then the reader firmware as built by `make firmware` (build/firmware/frozen: the icpurse package
# as deployed, main.py and icpurse_board.py, which tells hal.esp32 it runs on this image).
# Used by board/ICPURSE_ESP32 and board/ICPURSE_ESP32_S3 (docs/hardware.md "Production image").
include("$(PORT_DIR)/boards/manifest.py")
freeze("$(BOARD_DIR)/../../build/firmware/frozen")
