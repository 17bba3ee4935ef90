#!/bin/sh
# progress: a progress line (files, bytes, rate, ETA) on a terminal, and
# nothing of it when stderr is not a terminal.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/src"
# A sparse file reads as zeros: fast, and no disk used.  It must take over
# half a second to back up (the ETA needs that); sanitizer builds are
# several times slower, so they get a smaller one.
case "$TWOFOLD_BIN" in
*build-asan/* | *build-tsan/*) size=512M ;;
*) size=3G ;;
esac
truncate -s "$size" "$T/src/sparse"
tf init; ok $? "init"

if command -v script >/dev/null 2>&1; then
	# script(1) gives the command a pseudo-terminal; -q, no header lines
	script -qec "$TWOFOLD_BIN backup $T/src" "$T/tty.out" >/dev/null 2>&1
	ok $? "backup on a terminal succeeds"
	grep -q "files, " "$T/tty.out" && grep -q "/s" "$T/tty.out"
	ok $? "the terminal shows files, bytes and a rate"
	grep -q "ETA" "$T/tty.out"; ok $? "the terminal shows an ETA"
else
	ok 0 "skipped: script(1) not installed"
fi

tf backup "$T/src" >"$T/out" 2>"$T/err"; ok $? "backup with stderr to a file"
! grep -q "ETA" "$T/err" && ! tr '\r' '\n' <"$T/err" | grep -q "files, .*/s"
ok $? "no progress line when stderr is not a terminal"

done_testing
