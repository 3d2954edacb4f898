# exercises/exercises.mk - exercises graded by the project's own tests
# (docs/exercises.md). Each target builds one host test program from the
# exercise's files in place of the layer's, runs it and prints its TAP;
# the skeletons as shipped fail. The graders are not in HOST_BINS; one
# host test, build/host/exercises_graded (at the end), runs each against
# its skeleton and its reference solution.

EX_B := $(B)/exercises

# A bitmap PMM behind src/mm/buddy/buddy.h, graded by the buddy suite's
# black-box tests (exercises/bitmap_pmm/grade.c says which and why).
EX_BITMAP_TESTS := $(addprefix tests/host/buddy/,fixture.c sanitize_test.c init_test.c api_test.c model_test.c)
EX_BITMAP_BELOW := src/mm/buddy/memmap.c $(MM_COMMON) src/boot/bootinfo.c
EX_BITMAP_SRCS  := $(wildcard exercises/bitmap_pmm/*.c) $(EX_BITMAP_BELOW)
EX_HDRS         := $(shell find src tests/host -name '*.h')
$(EX_B)/bitmap_pmm: $(EX_BITMAP_TESTS) $(EX_BITMAP_SRCS) $(HCOMMON) $(EX_HDRS)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HCFLAGS) -Itests/host/buddy -o $@ $(EX_BITMAP_TESTS) $(EX_BITMAP_SRCS) $(HCOMMON)

# The same grader over the reference solution (reference/: reading it
# spoils the exercise).
EX_BITMAP_REF := exercises/bitmap_pmm/grade.c exercises/bitmap_pmm/reference/bitmap_pmm.c $(EX_BITMAP_BELOW)
$(EX_B)/bitmap_pmm_ref: $(EX_BITMAP_TESTS) $(EX_BITMAP_REF) $(HCOMMON) $(EX_HDRS)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HCFLAGS) -Itests/host/buddy -o $@ $(EX_BITMAP_TESTS) $(EX_BITMAP_REF) $(HCOMMON)

# A page heap on VM_GUARD: every object on pages of its own with an
# unmapped guard page right after it. exercises/page_heap/grade.c grades
# it, then the VMM's own suite runs, to show nothing below was broken.
EX_PAGE_HEAP_SRCS := $(wildcard exercises/page_heap/*.c) $(HOST_vmm)
$(EX_B)/page_heap: $(EX_PAGE_HEAP_SRCS) $(HCOMMON) $(wildcard exercises/page_heap/*.h) $(EX_HDRS)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HCFLAGS) -Iexercises/page_heap -o $@ $(EX_PAGE_HEAP_SRCS) $(HCOMMON)

EX_PAGE_HEAP_REF := exercises/page_heap/grade.c exercises/page_heap/reference/page_heap.c $(HOST_vmm)
$(EX_B)/page_heap_ref: $(EX_PAGE_HEAP_REF) $(HCOMMON) $(wildcard exercises/page_heap/*.h) $(EX_HDRS)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HCFLAGS) -Iexercises/page_heap -o $@ $(EX_PAGE_HEAP_REF) $(HCOMMON)

.PHONY: exercise-bitmap-pmm exercise-page-heap exercise-reference exercises-list
exercise-bitmap-pmm: $(EX_B)/bitmap_pmm
	$(EX_B)/bitmap_pmm

exercise-page-heap: $(EX_B)/page_heap $(B)/host/test_vmm
	$(EX_B)/page_heap
	$(B)/host/test_vmm

# Both graders over the references: what a correct solution scores.
exercise-reference: $(EX_B)/bitmap_pmm_ref $(EX_B)/page_heap_ref $(B)/host/test_vmm
	$(EX_B)/bitmap_pmm_ref
	$(EX_B)/page_heap_ref
	$(B)/host/test_vmm

exercises-list:
	@echo "exercise-bitmap-pmm  a bitmap PMM behind buddy.h (exercises/bitmap_pmm/)"
	@echo "exercise-page-heap   a page heap on VM_GUARD (exercises/page_heap/)"
	@echo "exercise-reference   both graders over the reference solutions (spoilers)"

# build/host/exercises_graded, in `make test`: every grader must report
# failures for its skeleton and pass its reference (exercises/graded.sh).
# The graders are its prerequisites, so host-build builds them. The VMM
# suite that exercise-page-heap runs after its grader links no exercise
# code and runs in make test on its own, so it is not repeated here.
EX_GRADED := bitmap_pmm $(EX_B)/bitmap_pmm $(EX_B)/bitmap_pmm_ref page_heap $(EX_B)/page_heap $(EX_B)/page_heap_ref
$(B)/host/exercises_graded: exercises/graded.sh $(filter $(EX_B)/%,$(EX_GRADED))
	@mkdir -p $(dir $@)
	@printf '#!/bin/sh\n# The exercises graders against skeletons and references (exercises/exercises.mk).\nexec %s/exercises/graded.sh %s\n' "$(CURDIR)" "$(foreach w,$(EX_GRADED),$(if $(filter $(EX_B)/%,$(w)),$(CURDIR)/$(w),$(w)))" >$@
	@chmod +x $@
HOST_BINS += $(B)/host/exercises_graded
# The Makefile's .SECONDARY would leave a deleted grader unbuilt under an
# up-to-date wrapper: host-build names them itself.
host-build: $(filter $(EX_B)/%,$(EX_GRADED))
