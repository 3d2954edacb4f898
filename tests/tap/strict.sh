#!/bin/sh
# strict.sh PROGRAM - PROGRAM's TAP with strict parsing asked for first.
# TAP::Parser (prove) reads pragmas only in TAP version 13, and a line that
# is not TAP is an error only under "pragma +strict". tests/tap/prove.sh
# hands this to prove as --exec.
printf 'TAP version 13\npragma +strict\n'
exec "$1"
