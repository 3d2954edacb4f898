# tests/shell/shell.mk - mode=shell: `make shell`, and its scripted session in `make test`.
#
# build/host/shell_session is a host test for the harness: it runs
# tests/shell/shell_test.py, which boots build/strata.elf with mode=shell
# (TCG, 128 MiB, BIOS), types commands on the serial port and prints TAP.
$(B)/host/shell_session: tests/shell/shell_test.py
	@mkdir -p $(dir $@)
	@printf '#!/bin/sh\n# A scripted mode=shell session (tests/shell/shell.mk).\nexec %s %s/tests/shell/shell_test.py\n' "$(PYTHON)" "$(CURDIR)" >$@
	@chmod +x $@
HOST_BINS += $(B)/host/shell_session

# The monitor on this terminal: type help; exit (or Ctrl-A x) ends QEMU.
shell: deps
	@$(MAKE) --no-print-directory $(B)/strata.iso
	@$(PYTHON) scripts/harness.py shell
.PHONY: shell
