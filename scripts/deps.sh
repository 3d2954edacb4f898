#!/bin/bash
# deps.sh - check that the tools the build and the tests need are installed;
# install the missing Debian packages when run as root, else say how.
# Only stat()s and `command -v` when all is present, so it is fast.
set -u

# "what to look for|Debian package". A leading / means a file or directory
# (a * in it matches any name), anything else is a command looked up on PATH.
checks=(
	"gcc|gcc"
	"ld|binutils"
	"addr2line|binutils"
	"/usr/include/stdio.h|libc6-dev"      # host tests; gcc only Recommends it
	"nasm|nasm"
	"grub-mkrescue|grub-common"
	"grub-file|grub-common"
	"xorriso|xorriso"
	"mformat|mtools"                      # grub-mkrescue builds the EFI image with it
	"qemu-system-x86_64|qemu-system-x86"
	"/usr/bin/python3|python3"
	"/usr/lib/grub/i386-pc/|grub-pc-bin"  # BIOS half of the ISO
	"/usr/lib/grub/x86_64-efi/|grub-efi-amd64-bin"  # UEFI half
	"/usr/share/OVMF/OVMF_CODE_4M.fd|ovmf"
	"/usr/share/OVMF/OVMF_VARS_4M.fd|ovmf"
	"clang|clang"                         # the fuzz targets: libFuzzer is clang's
	"/usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a|libclang-rt-14-dev"
	"/usr/include/valgrind/callgrind.h|valgrind"  # make bench counts instructions (bench_instr.sh)
	"chromium|chromium"                   # the picture of memory's test renders the page (docs/picture.md)
	"gdb|gdb"                             # make debug, and the test of Strata's GDB commands (docs/gdb.md)
	"prove|perl"                          # the strict-TAP check lets prove judge host programs
)

missing=()
for c in "${checks[@]}"; do
	what=${c%%|*}
	pkg=${c##*|}
	if [[ $what == /* ]]; then
		# compgen -G prints a pattern with no wildcard back even when
		# nothing has that name, so it only answers for patterns.
		if [[ $what == *"*"* ]]; then
			compgen -G "$what" >/dev/null && continue
		else
			[[ -e $what ]] && continue
		fi
	else
		command -v "$what" >/dev/null 2>&1 && continue
	fi
	echo "deps: missing $what (package $pkg)" >&2
	# Add each package once.
	[[ " ${missing[*]-} " == *" $pkg "* ]] || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
	exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
	echo "deps: install them with:" >&2
	echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
	exit 1
fi

# Another apt/dpkg holding the lock would make ours fail halfway; say so.
if pgrep -x 'apt|apt-get|dpkg' >/dev/null 2>&1; then
	echo "deps: another apt-get/dpkg is running; wait for it, then run again" >&2
	exit 1
fi

# --no-install-recommends is safe: what grub-mkrescue needs besides
# grub-common (xorriso, mtools, the two GRUB platform packages) is listed
# above explicitly, and grub-common only recommends os-prober.
echo "deps: installing ${missing[*]}" >&2
apt-get update -q || exit 1
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" || exit 1
