# icpurse — one command each: `make test`, `make demo`. Both set themselves up on a fresh Debian
# machine: Debian packages (as root; otherwise the exact apt-get command is printed), .venv + pip,
# Node + the pinned MicroPython WebAssembly build.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MPY_DIR := tests/micropython
# Debian packages: PC/SC stack + virtual reader driver, libnfc tools (independent PN532 host
# stack: libnfc-bin, libnfc-examples; libfreefare-bin for its MIFARE Classic tools),
# swig/libpcsclite-dev to build pyscard, cmake + build-essential + pkgconf to build libnfc with its
# acr122_pcsc driver (tools/build-libnfc-pcsc: Debian's libnfc has no PC/SC driver; libnfc's CMake
# finds libpcsclite only through pkg-config), PostgreSQL (the ledger
# suite starts its own throwaway cluster), Chromium (renders the HTML report in tests), Node for
# the MicroPython WebAssembly build; a CJK font
# (fonts-noto-cjk) for the HTML report's Chinese labels in the browser tests.
APT_PKGS := pcscd vsmartcard-vpcd libnfc-bin libnfc-examples libfreefare-bin pcsc-tools swig libpcsclite-dev cmake build-essential pkgconf postgresql chromium fonts-noto-cjk nodejs npm
PYTEST_ARGS ?=
RIG ?= hil/rigs/esp32-pn532.toml
CHIP ?= esp32
TRANSPORT_KEY ?=
HIL_ARGS ?=
FUZZ_SECONDS ?= 60
# The MicroPython API the firmware is type-checked against (tools/firmware_types.py): the ESP32
# port's stubs for the MicroPython release the firmware targets (mpy-cross and the WebAssembly
# build are 1.27 too). Installed apart from the venv's site-packages: they replace the stdlib.
MPY_STUBS := $(VENV)/mpy-stubs
MPY_STUBS_PKG := micropython-esp32-stubs==1.27.0.post1 micropython-stdlib-stubs==1.27.0.post2

.PHONY: help setup apt venv stubs node libnfc-pcsc vpcd-acr122u test demo gen firmware bench clean deploy flash device hil fuzz types

help:
	@echo "make test      set up and run the whole test suite"
	@echo "make demo      set up and run the end-to-end demo on the virtual rig"
	@echo "make gen       regenerate firmware/codec.py from protocol/"
	@echo "make firmware  compile every firmware module with mpy-cross -march=xtensawin (build/firmware)"
	@echo "make bench     benchmarks: reader tap (virtual clock), heap, back office (wall clock); --city RxS"
	@echo "make types     type-check the firmware against the MicroPython ESP32 stubs (make test does too)"
	@echo "make fuzz      every atheris fuzz target for FUZZ_SECONDS (default 60) each; make test runs a short pass"
	@echo "make deploy PORT=/dev/ttyUSB0 [TRANSPORT_KEY=file]   compile and copy the firmware to an ESP32 (mpremote);"
	@echo "                                       with the lab's transport key for a blank reader's first provisioning"
	@echo "make flash PORT=... FIRMWARE=x.bin [CHIP=esp32|esp32s3]  erase the board, write a MicroPython image (esptool)"
	@echo "make hil RIG=hil/rigs/esp32-pn532.toml PORT=/dev/ttyUSB0   HIL scenario suite (skips, exit 0, without the board)"

apt: $(VENV)/.apt
$(VENV)/.apt: tools/ensure-apt Makefile
	@mkdir -p $(VENV)
	@if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then \
	  tools/ensure-apt $(filter-out nodejs npm,$(APT_PKGS)); else tools/ensure-apt $(APT_PKGS); fi
	@touch $@

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml setup.py $(VENV)/.apt
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -q --upgrade pip >/dev/null
	@$(BIN)/pip install -q -e '.[test,pcsc]'
	@# icpurse as a folder of that name, for type checkers and editors (pyproject.toml [tool.pyright]):
	@# the root of this repository is the package, but its folder can have any name
	@mkdir -p $(VENV)/pkgroot && ln -sfn ../.. $(VENV)/pkgroot/icpurse
	@touch $@

stubs: $(MPY_STUBS)/.installed
$(MPY_STUBS)/.installed: Makefile $(VENV)/.installed
	@rm -rf $(MPY_STUBS)
	@$(BIN)/pip install -q --no-compile --target $(MPY_STUBS) $(MPY_STUBS_PKG)
	@touch $@

node: $(MPY_DIR)/node_modules/.installed
$(MPY_DIR)/node_modules/.installed: $(MPY_DIR)/package.json $(MPY_DIR)/package-lock.json $(VENV)/.apt
	@cd $(MPY_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# libnfc (Debian's source package) with the acr122_pcsc driver, for the ACR122U persona tests
libnfc-pcsc: $(VENV)/libnfc-pcsc/lib/libnfc.so.6
$(VENV)/libnfc-pcsc/lib/libnfc.so.6: tools/build-libnfc-pcsc $(VENV)/.apt
	@tools/build-libnfc-pcsc $(VENV)/libnfc-pcsc

# A second vpcd reader named as a real ACR122U ("ACS ACR122U PICC Interface 00 00", port 35965) in
# /etc/reader.conf.d, for `sim serve --pcsc --persona acr122u` and libnfc's device scan. As root;
# otherwise the exact command is printed. Cheap and idempotent: runs on every setup.
vpcd-acr122u: $(VENV)/.apt
	@tools/ensure-vpcd-acr122u

setup: venv stubs node libnfc-pcsc vpcd-acr122u

test: setup
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: setup
	@$(BIN)/icpurse demo

gen: venv
	@$(BIN)/python -m icpurse.protocol.codegen --write

types: setup
	@$(BIN)/python tools/firmware_types.py

firmware: venv
	@$(BIN)/python -m icpurse.host.firmware_build build/firmware

bench: setup
	@$(BIN)/python -m icpurse.hil.bench

device: $(VENV)/.device
$(VENV)/.device: $(VENV)/.installed
	@$(BIN)/pip install -q -e '.[device]'
	@touch $@

deploy: device
	@[ -n "$(PORT)" ] || { echo "make deploy: set PORT, e.g. make deploy PORT=/dev/ttyUSB0" >&2; exit 2; }
	@$(MAKE) --no-print-directory firmware
	@$(BIN)/python tools/board.py deploy --port "$(PORT)" --transport-key "$(TRANSPORT_KEY)" build/firmware

flash: device
	@$(BIN)/python tools/board.py flash --port "$(PORT)" --firmware "$(FIRMWARE)" --chip "$(CHIP)"

# The scenario suite of tests/hil on a rig (real hardware): skipped with a one-line reason, exit 0,
# when the rig's devices are absent. `make test` runs the same suite on hil/rigs/virtual.toml.
hil: venv
	@mkdir -p build
	@$(BIN)/python -m pytest tests/hil -m hil -p icpurse.hil.pytest_plugin --rig "$(RIG)" --port "$(PORT)" \
	  --junitxml build/hil-junit.xml -o junit_family=xunit1 $(HIL_ARGS)

fuzz: setup
	@$(BIN)/pip install -q -e '.[fuzz]'
	@$(BIN)/python -m icpurse.hil.fuzz --seconds $(FUZZ_SECONDS)

clean:
	rm -rf build .pytest_cache
