# QEMU's MMU as a second opinion (tests/oracle/oracle.py, docs/oracle.md): a
# host test that boots mode=run oracle=1 under TCG and compares the kernel's
# dump of each address space with QEMU's info tlb and info mem. It needs
# build/strata.elf and build/initrd.tar, which make test builds first.
$(B)/host/oracle: tests/oracle/oracle.py tests/oracle/oracle.mk
	@mkdir -p $(dir $@)
	@printf '#!/bin/sh\n# QEMU as a second opinion on the page tables (tests/oracle/oracle.mk).\nexec $(PYTHON) %s/tests/oracle/oracle.py\n' "$(CURDIR)" >$@
	@chmod +x $@
HOST_BINS += $(B)/host/oracle
