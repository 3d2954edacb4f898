# The GDB commands (scripts/gdb/strata.py, docs/gdb.md) in make test: a
# wrapper that runs tests/gdb/run.py, which boots mode=run halted under
# TCG, drives gdb -batch through tests/gdb/session.py and compares each
# command's output with the kernel's serial log (TAP).
$(B)/host/gdb_commands: tests/gdb/run.py tests/gdb/session.py scripts/gdb/strata.py
	@mkdir -p $(dir $@)
	@printf '#!/bin/sh\n# The GDB commands against the kernel'"'"'s own reports (tests/gdb/gdb.mk).\nexec /usr/bin/python3 %s/tests/gdb/run.py\n' "$(CURDIR)" >$@
	@chmod +x $@
HOST_BINS += $(B)/host/gdb_commands
