#!/bin/bash
# many_modules.sh - boot Strata with more boot modules than the parser's
# table holds (MB2_MAX_MODULES = 16) and check that none is handed out.
#
#   tests/boot/many_modules.sh [N [CMDLINE]]     (default: 40 "mode=test ktest=buddy")
#
# Builds build/strata-modules-N.iso with N module2 lines, each a file of a
# different size filled with its own byte pattern, boots it under TCG with
# SeaBIOS and exits with the kernel's verdict: 0 if QEMU ended with 0x10
# (exit status 33), 1 otherwise. The buddy suite's every_free_frame test
# takes every free frame and checks it against the module ranges recorded
# from the Multiboot2 tags at boot.
set -u
cd "$(dirname "$0")/../.."
n=${1:-40}
cmdline=${2:-"mode=test ktest=buddy"}
mem=${MEM:-128M}
b=build
tree=$b/iso-modules-$n
iso=$b/strata-modules-$n.iso

make -s $b/strata.elf || exit 1
rm -rf "$tree" && mkdir -p "$tree/boot/grub" "$tree/mod"
cp $b/strata.elf "$tree/boot/strata.elf"
{
	echo "set timeout=0"
	echo "set default=0"
	echo "menuentry \"Strata, $n modules\" {"
	echo "	multiboot2 /boot/strata.elf $cmdline"
	for i in $(seq 1 "$n"); do
		# 5 KiB + i*3 KiB + i bytes: sizes not page multiples, so ends fall mid-page.
		head -c $((5120 + i * 3072 + i)) /dev/zero | tr '\0' "\\$(printf '%03o' $((i % 200 + 33)))" \
			>"$tree/mod/m$i"
		echo "	module2 /mod/m$i m$i"
	done
	echo "	boot"
	echo "}"
} >"$tree/boot/grub/grub.cfg"
grub-mkrescue -o "$iso" "$tree" 2>$b/grub-mkrescue-modules.log || { cat $b/grub-mkrescue-modules.log; exit 1; }

timeout 600 qemu-system-x86_64 -cdrom "$iso" -m "$mem" -serial stdio -display none -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=4 -accel tcg -cpu qemu64 </dev/null
rc=$?
echo "# many_modules: $n modules, QEMU exit status $rc (33 = pass)"
[ $rc -eq 33 ]
