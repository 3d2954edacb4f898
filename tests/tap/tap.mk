# build/host/prove_strict: a host test that runs prove (Perl's TAP::Harness)
# under "pragma +strict" over three host programs whose console output once
# broke their TAP (tests/tap/prove.sh). The harness's own strict check
# covers every program; this one makes the standard tool agree.
PROVE_BINS := $(B)/host/test_buddy $(B)/host/test_fs $(B)/host/test_paging
$(B)/host/prove_strict: tests/tap/prove.sh tests/tap/strict.sh $(PROVE_BINS)
	@mkdir -p $(dir $@)
	@printf '#!/bin/sh\n# prove under strict TAP over host programs (tests/tap/tap.mk).\nexec %s/tests/tap/prove.sh %s\n' "$(CURDIR)" "$(PROVE_BINS:%=$(CURDIR)/%)" >$@
	@chmod +x $@
HOST_BINS += $(B)/host/prove_strict
