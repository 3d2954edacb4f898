# The picture of memory (docs/picture.md): scripts/picture.py draws a
# mode=run log as one HTML page; build/host/picture_test is a host "test"
# for the harness that boots mode=run (BIOS, 128 MiB, TCG), draws its log,
# checks the page's parts against the log and renders it with headless
# chromium (tests/picture/test_picture.py). `make picture` boots mode=run
# and writes build/picture.html and build/picture.png; `make picture
# PICTURE_LOG=build/logs/NAME.log` draws a log you already have.
$(B)/host/picture_test: tests/picture/test_picture.py scripts/picture.py
	@mkdir -p $(dir $@)
	@printf '#!/bin/sh\n# The picture of memory in a real browser (tests/picture/picture.mk).\nexec %s %s/tests/picture/test_picture.py\n' "$(PYTHON)" "$(CURDIR)" >$@
	@chmod +x $@
HOST_BINS += $(B)/host/picture_test

PICTURE_LOG ?=
picture: deps
ifeq ($(PICTURE_LOG),)
	@$(MAKE) --no-print-directory $(B)/strata.elf $(B)/initrd.tar
	@$(PYTHON) scripts/harness.py boot --name picture --cmdline mode=run >/dev/null || \
		{ echo "picture: the mode=run boot failed (build/logs/picture.log)"; exit 1; }
	@$(PYTHON) scripts/picture.py $(B)/logs/picture.log -o $(B)/picture.html --png $(B)/picture.png
else
	@$(PYTHON) scripts/picture.py $(PICTURE_LOG) -o $(B)/picture.html --png $(B)/picture.png
endif
.PHONY: picture
