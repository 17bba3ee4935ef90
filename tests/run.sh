#!/bin/sh
# Run every test; print each result and end with "N passed, N failed".
# Unit tests and fuzz-corpus replays are binaries in $BUILD; CLI tests are
# tests/cli/*.sh (each prints ok/not ok lines).  TWOFOLD_TESTS="pattern ..."
# limits the run to matching names.
BUILD=${BUILD:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
export TWOFOLD_BIN="$top/$BUILD/twofold"
export TWOFOLD_TOP="$top"
# Cheap key derivation in tests; the defaults are measured in README.
export TWOFOLD_KDF_OPS=${TWOFOLD_KDF_OPS:-1}
export TWOFOLD_KDF_MEM=${TWOFOLD_KDF_MEM:-8388608}
pass=0
fail=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run() { # name, command...
	name=$1; shift
	if [ -n "${TWOFOLD_TESTS:-}" ]; then
		_hit=0
		for _p in $TWOFOLD_TESTS; do
			case "$name" in *"$_p"*) _hit=1 ;; esac
		done
		[ $_hit -eq 1 ] || return
	fi
	echo "== $name"
	"$@" >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name exited with status $rc"
		f=1
	fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name ran no check"
		f=1
	fi
	pass=$((pass + p))
	fail=$((fail + f))
}

for t in "$top/$BUILD"/tests/test_*; do
	[ -x "$t" ] && run "unit/$(basename "$t")" "$t"
done
for t in "$top/$BUILD"/replay/fuzz_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	run "fuzz-replay/$n" "$t" "$top/tests/fuzz/corpus/$n"
done
for t in "$top"/tests/cli/*.sh; do
	[ "$(basename "$t")" = lib.sh ] && continue
	[ -f "$t" ] && run "cli/$(basename "$t" .sh)" sh "$t"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
