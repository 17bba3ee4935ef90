#!/bin/bash
# bench/prune.sh: prune after forgetting most snapshots, twofold beside
# restic, on the same history.
#
#   bash bench/prune.sh [--files N] [--gens G] [--churn PCT]
#
# A tree of N small files (1..4 KiB of random bytes, 100 directories):
# each file is smaller than both tools' minimum chunk, so it is one chunk
# and the repository holds about N + N*churn*(G-1)/100 chunks (default
# 100000 files, 6 generations, 20% of the files rewritten per generation:
# ~200k chunks).  Both tools back up every generation; then every snapshot
# but the newest is forgotten and pruned:
#   twofold forget --keep-last 1 --prune
#   restic  forget --keep-last 1 --prune
# Each is timed with /usr/bin/time (elapsed, peak RSS); repository sizes
# before and after.  Default KDF parameters for both (twofold Argon2id
# 64 MiB, restic scrypt), as in bench/run.sh.  Work goes to
# ${TWOFOLD_BENCH_DIR:-/var/tmp/twofold-bench}/prune.*, removed at the end.
# Also reachable as `sh bench/run.sh --prune [options]`.
set -u
FILES=100000 GENS=6 CHURN=20
while [ $# -gt 0 ]; do
	case $1 in
	--files) FILES=$2; shift ;;
	--gens) GENS=$2; shift ;;
	--churn) CHURN=$2; shift ;;
	-h|--help) sed -n '2,20p' "$0"; exit 0 ;;
	*) echo "usage: $0 [--files N] [--gens G] [--churn PCT]" >&2; exit 2 ;;
	esac
	shift
done
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TWOFOLD=${TWOFOLD:-$ROOT/twofold}
[ -x "$TWOFOLD" ] || { echo "build twofold first (make), or set TWOFOLD" >&2; exit 1; }
command -v restic >/dev/null || { echo "needs restic (apt-get install restic)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
BENCH=${TWOFOLD_BENCH_DIR:-/var/tmp/twofold-bench}
WORK=$BENCH/prune.$$
mkdir -p "$WORK" || exit 1
trap 'rm -rf "$WORK"' EXIT
echo twofold-bench-password >"$WORK/pw"
export RESTIC_PASSWORD=twofold-bench-password TWOFOLD_PASSWORD_FILE=$WORK/pw
export XDG_CACHE_HOME=$WORK/cache
unset TWOFOLD_REPOSITORY RESTIC_REPOSITORY
LOG=$WORK/log

# gen G: create (G=1) or rewrite CHURN% of the files
gen() {
	python3 - "$WORK/src" "$FILES" "$CHURN" "$1" <<'EOF'
import os, random, sys
root, n, churn, g = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(g)
which = range(n) if g == 1 else rnd.sample(range(n), n * churn // 100)
for i in which:
    d = os.path.join(root, "d%02d" % (i % 100))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%06d" % i), "wb") as f:
        f.write(os.urandom(rnd.randint(1024, 4096)))
EOF
}
# timed WHAT CMD...: run, print "WHAT  seconds  peak RSS MiB"
timed() {
	local what=$1; shift
	echo "+ $*" >>"$LOG"
	if ! /usr/bin/time -f '%e %M' -o "$WORK/t" "$@" >>"$LOG" 2>&1; then
		echo "$what FAILED (see below)"; tail -5 "$LOG"; return 1
	fi
	read -r s kb <"$WORK/t"
	printf '%-34s %8.2f s %8.1f MiB\n' "$what" "$s" "$(awk -v k="$kb" 'BEGIN { print k / 1024 }')"
}
size() { du -sb "$1" | awk '{ printf "%.1f MiB", $1 / 1048576 }'; }

"$TWOFOLD" -q -r "$WORK/tf" init >>"$LOG" 2>&1 || { echo "twofold init failed"; exit 1; }
restic -q -r "$WORK/rs" init >>"$LOG" 2>&1 || { echo "restic init failed"; exit 1; }
echo "twofold $("$TWOFOLD" --version 2>&1 | head -1 | cut -d' ' -f2-); $(restic version | cut -d' ' -f1-2)"
echo "history: $FILES files of 1-4 KiB, $GENS generations, $CHURN% rewritten per generation"
for g in $(seq 1 "$GENS"); do
	gen "$g"
	"$TWOFOLD" -q -r "$WORK/tf" backup "$WORK/src" >>"$LOG" 2>&1 || { echo "twofold backup failed"; tail -3 "$LOG"; exit 1; }
	restic -q -r "$WORK/rs" --cache-dir "$WORK/rcache" backup "$WORK/src" >>"$LOG" 2>&1 || { echo "restic backup failed"; exit 1; }
done
echo "repositories before: twofold $(size "$WORK/tf"), restic $(size "$WORK/rs")"
timed "twofold forget --keep-last 1 --prune" "$TWOFOLD" -q -r "$WORK/tf" forget --keep-last 1 --prune
timed "restic forget --keep-last 1 --prune" restic -q -r "$WORK/rs" --cache-dir "$WORK/rcache" forget --keep-last 1 --prune
echo "repositories after:  twofold $(size "$WORK/tf"), restic $(size "$WORK/rs")"
timed "twofold check --read-data" "$TWOFOLD" -q -r "$WORK/tf" check --read-data
