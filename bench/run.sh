#!/bin/sh
# twofold benchmark: twofold vs restic vs Borg (lz4, zstd,3) on three corpora.
#
#   sh bench/run.sh           full run: src (Linux 6.1 source), big (4 x 512 MiB
#                             random), mixed (every 5th file of /usr/lib,/usr/share,
#                             ~1.3 GB); median of 3 runs
#   sh bench/run.sh --quick   small corpora (src-quick, big-quick, mixed-quick),
#                             1 run each; under 3 minutes on a 2-core machine
#   sh bench/run.sh --cloud   also (with or without --quick) twofold into a
#                             local repository, Azurite and Ceph RGW on
#                             loopback, beside az/aws CLI downloads of the
#                             same files (bench/cloud.sh)
#   --cloud-only              only the cloud part (implies --cloud)
#   TWOFOLD_BENCH_CORPORA="src big"  only those corpora; TWOFOLD_BENCH_RUNS=N
#                             runs per figure (median)
#   sh bench/run.sh --prune [--files N] [--gens G] [--churn PCT]
#                             twofold forget+prune beside restic's on ~100k
#                             small chunks (bench/prune.sh)
#
# Corpora live in ${TWOFOLD_BENCH_DIR:-/var/tmp/twofold-bench} and are kept
# between runs (rebuilt only if missing).  Everything is measured with a warm
# page cache (corpora before backups, repositories before restores).  Results: Markdown on stdout, CSV in bench/out/results.csv.
# See docs/PERFORMANCE.md.

# The Makefile runs us with `sh` (dash on Debian); the script needs bash.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u
export LC_ALL=C

QUICK=0; CLOUD=0; LOCAL=1
# --prune [--files N] [--gens G] [--churn PCT]: the prune benchmark alone
if [ "${1:-}" = --prune ]; then shift; exec bash "$(dirname "$0")/prune.sh" "$@"; fi
for a in "$@"; do
    case "$a" in
        --quick) QUICK=1 ;;
        --cloud) CLOUD=1 ;;
        --cloud-only) CLOUD=1; LOCAL=0 ;;
        -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
        *) echo "usage: $0 [--quick] [--cloud | --cloud-only]" >&2; exit 2 ;;
    esac
done

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
TWOFOLD=${TWOFOLD:-$ROOT/twofold}
STAGES=${TWOFOLD_STAGES:-$ROOT/build/bench/stages}
BENCH=${TWOFOLD_BENCH_DIR:-/var/tmp/twofold-bench}
OUT=$HERE/out
T0=$(date +%s.%N)
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
now() { date +%s.%N; }

# ---------------------------------------------------------------- deps
need=""
command -v restic >/dev/null 2>&1 || need="$need restic"
command -v borg >/dev/null 2>&1 || need="$need borgbackup"
[ -f /usr/src/linux-source-6.1.tar.xz ] || need="$need linux-source-6.1"
[ -x /usr/bin/time ] || need="$need time"
command -v openssl >/dev/null 2>&1 || need="$need openssl"
if [ "$CLOUD" = 1 ]; then
    command -v az >/dev/null 2>&1 || need="$need azure-cli"
    command -v aws >/dev/null 2>&1 || need="$need awscli"
    command -v curl >/dev/null 2>&1 || need="$need curl"
fi
if [ -n "$need" ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "installing:$need" >&2
        apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y $need >&2 || exit 1
    else
        echo "missing packages; run:" >&2
        echo "sudo apt-get install -y restic borgbackup linux-source-6.1 time openssl" >&2
        exit 1
    fi
fi
if [ ! -x "$TWOFOLD" ]; then
    echo "no twofold binary at $TWOFOLD (run 'make twofold' first)" >&2
    exit 1
fi

mkdir -p "$BENCH" "$OUT" || exit 1
LOG=$OUT/log.txt
: > "$LOG"
log() { echo "[$(date +%T)] $*" >> "$LOG"; }
say() { echo "$*" >&2; log "$*"; }

if [ "$QUICK" = 1 ]; then
    RUNS=1; SRC=src-quick; BIG=big-quick; MIXED=mixed-quick
    BIG_N=2; BIG_MIB=64; EDIT_OFF_MIB=32; MIXED_CAP=200000000
else
    RUNS=3; SRC=src; BIG=big; MIXED=mixed
    BIG_N=4; BIG_MIB=512; EDIT_OFF_MIB=248; MIXED_CAP=1360000000
fi
SRC_QUICK_DIRS="kernel mm fs net sound include tools"
EDIT_MIB=16
CORPORA="$SRC $BIG $MIXED"
# TWOFOLD_BENCH_CORPORA="src big" measures only those (src, big, mixed);
# TWOFOLD_BENCH_RUNS=N changes the number of runs per figure
if [ -n "${TWOFOLD_BENCH_CORPORA:-}" ]; then
    CORPORA=""
    for c in $TWOFOLD_BENCH_CORPORA; do
        case $c in
            src) CORPORA="$CORPORA $SRC" ;; big) CORPORA="$CORPORA $BIG" ;; mixed) CORPORA="$CORPORA $MIXED" ;;
            *) echo "TWOFOLD_BENCH_CORPORA: unknown corpus $c (src, big, mixed)" >&2; exit 2 ;;
        esac
    done
fi
RUNS=${TWOFOLD_BENCH_RUNS:-$RUNS}
[ "$LOCAL" = 1 ] || CORPORA=$SRC
# the cloud part measures $SRC, except on RGW: its memstore OSD holds at most
# 1 GiB (tests/servers/rgw.sh), too little for the full src as plain files
# (1.3 GB), so RGW always gets src-quick
CLOUD_RGW_SRC=src-quick

# ---------------------------------------------------------------- corpora
# Each corpus is $BENCH/corpus/NAME/, built in NAME.tmp and renamed when
# complete, so an interrupted build is redone rather than half used.
CDIR=$BENCH/corpus
mkdir -p "$CDIR"
rm -rf "$CDIR"/*.tmp

build_src() {   # $1 = name
    local t=$CDIR/$1.tmp
    mkdir -p "$t" || return 1
    if [ "$1" = src ]; then
        tar -xJf /usr/src/linux-source-6.1.tar.xz -C "$t" || return 1
    elif [ -d "$CDIR/src/linux-source-6.1" ]; then
        mkdir -p "$t/linux-source-6.1"
        for d in $SRC_QUICK_DIRS; do
            cp -a "$CDIR/src/linux-source-6.1/$d" "$t/linux-source-6.1/" || return 1
        done
    else
        local m=""
        for d in $SRC_QUICK_DIRS; do m="$m linux-source-6.1/$d"; done
        tar -xJf /usr/src/linux-source-6.1.tar.xz -C "$t" $m || return 1
    fi
}

build_big() {   # $1 = name
    local t=$CDIR/$1.tmp i
    mkdir -p "$t" || return 1
    for i in $(seq 1 "$BIG_N"); do
        openssl rand -out "$t/random$i.bin" $((BIG_MIB * 1048576)) || return 1
    done
}

build_mixed() { # $1 = name
    local t=$CDIR/$1.tmp
    mkdir -p "$t" || return 1
    # every 5th non-directory (regular files and symlinks) in sorted order,
    # until the sum of sizes reaches the cap
    find /usr/lib /usr/share \( -type f -o -type l \) -printf '%s\t%p\n' 2>/dev/null |
        sort -t "$(printf '\t')" -k2 |
        awk -F'\t' -v cap="$MIXED_CAP" 'NR % 5 == 1 { if (sum + $1 > cap) exit; sum += $1; print $2 }' \
        > "$BENCH/mixed-list.txt" || return 1
    (cd "$t" && xargs -d '\n' cp -a --parents -t . < "$BENCH/mixed-list.txt") 2>>"$LOG"
    [ -d "$t/usr" ] || return 1
}

# src-quick records which kernel dirs it holds; a different list rebuilds it
if [ -d "$CDIR/src-quick" ] && [ "$(cat "$CDIR/src-quick.dirs" 2>/dev/null)" != "$SRC_QUICK_DIRS" ]; then
    rm -rf "$CDIR/src-quick"
fi
SPECS="$SRC:build_src"
[ "$LOCAL" = 1 ] && SPECS="$SPECS $BIG:build_big $MIXED:build_mixed"
[ "$CLOUD" = 1 ] && [ "$SRC" != "$CLOUD_RGW_SRC" ] && SPECS="$SPECS $CLOUD_RGW_SRC:build_src"
for spec in $SPECS; do
    name=${spec%%:*}; fn=${spec#*:}
    if [ ! -d "$CDIR/$name" ]; then
        say "building corpus $name ..."
        s=$(date +%s.%N)
        if $fn "$name" && mv "$CDIR/$name.tmp" "$CDIR/$name"; then
            [ "$name" = src-quick ] && echo "$SRC_QUICK_DIRS" > "$CDIR/src-quick.dirs"
            say "  built $name in $(secs "$s" "$(now)") s"
        else
            say "failed to build corpus $name"; exit 1
        fi
    fi
done

# ---------------------------------------------------------------- edit step
# The edit is applied in place and reverted afterwards (appended lines are
# truncated away, the overwritten 16 MiB are written back).  The undo data is
# kept in $BENCH/edit-undo so that an interrupted run is reverted next time.
UNDO=$BENCH/edit-undo
EDIT_BLOB=$BENCH/edit-16MiB.bin
[ -f "$EDIT_BLOB" ] || openssl rand -out "$EDIT_BLOB" $((EDIT_MIB * 1048576))

edit_revert() {
    [ -d "$UNDO" ] || return 0
    if [ -f "$UNDO/sizes" ]; then
        while IFS="$(printf '\t')" read -r size path; do
            truncate -s "$size" "$path"
        done < "$UNDO/sizes"
    fi
    if [ -f "$UNDO/bigpath" ]; then
        dd if="$UNDO/bigdata" of="$(cat "$UNDO/bigpath")" bs=1M seek="$EDIT_OFF_MIB" \
           conv=notrunc status=none
    fi
    rm -rf "$UNDO"
}

edit_apply() {  # $1 = corpus dir
    edit_revert
    mkdir -p "$UNDO"
    case "$(basename "$1")" in
    big*)
        local f
        f=$(find "$1" -type f | sort | head -n 1)
        dd if="$f" of="$UNDO/bigdata" bs=1M skip="$EDIT_OFF_MIB" count="$EDIT_MIB" status=none
        echo "$f" > "$UNDO/bigpath"
        dd if="$EDIT_BLOB" of="$f" bs=1M seek="$EDIT_OFF_MIB" conv=notrunc status=none
        ;;
    *)
        find "$1" -type f -printf '%s\t%p\n' | sort -t "$(printf '\t')" -k2 |
            awk 'NR % 100 == 1' > "$UNDO/sizes"
        while IFS="$(printf '\t')" read -r size path; do
            echo "twofold bench edit" >> "$path"
        done < "$UNDO/sizes"
        ;;
    esac
}
edit_revert    # left over from an interrupted run

# ---------------------------------------------------------------- work area
# Repositories and restore targets go to a fresh directory per run.  On
# this ext4 (no journal) deleting a tree of many files makes creating files
# slow for minutes after: the allocator skips recently freed inodes one by
# one (a restore of mixed took 10.6 s instead of 2.3 s, 2026-12-06), for
# 60 s after the delete, or 360 s while the inode table block is dirty
# (RECENTCY_MIN and RECENTCY_DIRTY in the kernel's fs/ext4/ialloc.c).  So a
# run's directories are deleted at once only if they hold few files (big's),
# the rest at the end, or earlier if the disk runs low, and then we wait.
REUSE_WAIT=360
stale=$(ls -d "$BENCH"/work.* 2>/dev/null)
if [ -n "$stale" ]; then
    say "removing stale work dirs from an interrupted run; waiting $REUSE_WAIT s afterwards"
    rm -rf $stale; sync; sleep "$REUSE_WAIT"
fi
WORK=$BENCH/work.$(date +%Y%m%d%H%M%S).$$
mkdir -p "$WORK" || exit 1
PW=$WORK/password
echo "twofold-bench-password" > "$PW"
export RESTIC_PASSWORD=twofold-bench-password
export BORG_PASSPHRASE=twofold-bench-password
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
export BORG_CHECK_I_KNOW_WHAT_I_AM_DOING=YES
export BORG_DELETE_I_KNOW_WHAT_I_AM_DOING=YES
unset TWOFOLD_REPOSITORY TWOFOLD_PASSWORD_FILE RESTIC_REPOSITORY BORG_REPO

cleanup() {
    trap - EXIT INT TERM
    edit_revert
    # cloud emulators (bench/cloud.sh); rgw_start's own EXIT trap stops RGW
    # and then calls us through RGW_ON_EXIT
    if [ "$CLOUD" = 1 ]; then
        type azurite_stop >/dev/null 2>&1 && azurite_stop
        type rgw_stop >/dev/null 2>&1 && rgw_stop
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_gb() { df -P -k "$BENCH" | awk 'NR==2 { print int($4 / 1048576) }'; }
PENDING=()
retire() {      # delete now if few files, else later (or now if the disk is full)
    if [ "$(find "$@" 2>/dev/null | head -n 2000 | wc -l)" -lt 2000 ]; then
        rm -rf "$@"
        return
    fi
    PENDING+=("$@")
    if [ "$(free_gb)" -lt 12 ]; then
        log "disk low: deleting ${#PENDING[@]} dirs, waiting $REUSE_WAIT s"
        rm -rf "${PENDING[@]}"; PENDING=(); sync; sleep "$REUSE_WAIT"
    fi
}

# ---------------------------------------------------------------- helpers
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { if (s <= 0) s = 0.001; printf "%.0f", b / 1e6 / s }'; }
warm() { tar cf - -C "$(dirname "$1")" "$(basename "$1")" | cat > /dev/null; }

# run with /usr/bin/time; sets T (elapsed s), M (peak RSS KB) and U (CPU s,
# user + system); status 0/1.
# $1 = tool (decides which exit codes are warnings), rest = command.
timed() {
    local tool=$1; shift
    local tf=$WORK/time.$$ rc
    echo "+ $*" >> "$LOG"
    /usr/bin/time -f '%e %M %U %S' -o "$tf" "$@" >> "$LOG" 2>&1
    rc=$?
    read -r T M U < <(tail -n 1 "$tf" 2>/dev/null | awk 'NF == 4 { print $1, $2, $3 + $4 }') ||
        { T=FAIL; M=FAIL; U=FAIL; }
    case "$tool:$rc" in
        *:0) return 0 ;;
        borg*:1|restic:3|twofold:3|aws:2) log "  warning exit $rc (counted)"; return 0 ;;
        *) log "  FAILED exit $rc"; say "  $* failed (exit $rc), see $LOG"; return 1 ;;
    esac
}

# tool commands: tool_init/backup/restore/check TOOL REPO [...]
tool_env() {    # per-run state dir
    case "$1" in
        twofold) export XDG_CACHE_HOME=$STATE ;;
        borg*) export BORG_BASE_DIR=$STATE ;;
    esac
}
tool_init() {
    case "$1" in
        twofold) "$TWOFOLD" -q -r "$2" --password-file "$PW" init ;;
        restic) restic -q -r "$2" --cache-dir "$STATE" init ;;
        borg*) borg init -e repokey-blake2 "$2" ;;
    esac >> "$LOG" 2>&1
}
tool_backup() { # tool repo n path
    case "$1" in
        twofold) timed twofold "$TWOFOLD" -q -r "$2" --password-file "$PW" backup "$4" ;;
        restic) timed restic restic -q -r "$2" --cache-dir "$STATE" backup "$4" ;;
        borg-lz4) timed borg borg create --compression lz4 "$2::s$3" "$4" ;;
        borg-zstd3) timed borg borg create --compression zstd,3 "$2::s$3" "$4" ;;
    esac
}
tool_restore() { # tool repo target  (restores the latest snapshot, s3 for borg)
    case "$1" in
        twofold) timed twofold "$TWOFOLD" -q -r "$2" --password-file "$PW" restore latest --target "$3" ;;
        restic) timed restic restic -q -r "$2" --cache-dir "$STATE" restore latest --target "$3" ;;
        borg*) cd "$3" || return 1; timed borg borg extract "$2::s3"; local rc=$?; cd "$ROOT"; return $rc ;;
    esac
}
tool_check() {
    case "$1" in
        twofold) timed twofold "$TWOFOLD" -q -r "$2" --password-file "$PW" check --read-data ;;
        restic) timed restic restic -q -r "$2" --cache-dir "$STATE" check --read-data ;;
        borg*) timed borg borg check --verify-data "$2" ;;
    esac
}

# results: R[tool|corpus|measure|run] = value or FAIL
declare -A R
put() { R["$1|$2|$3|$4"]=$5; }

# ---------------------------------------------------------------- machine
echo "# twofold benchmark $( [ "$QUICK" = 1 ] && echo '(--quick: small corpora, 1 run)' || echo '(full: median of 3 runs)')"
echo
echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC')  "
echo "twofold: $("$TWOFOLD" --version 2>&1 | head -1); $(restic version | cut -d' ' -f1-2); $(borg --version); $(openssl version | cut -d' ' -f1-2)"
echo
echo "## Machine"
echo
echo "- nproc: $(nproc); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "- memory (free -m):"
echo '```'
free -m
echo '```'
echo "- kernel: $(uname -r); filesystem of $BENCH: $(df -P -T "$BENCH" | awk 'NR==2 {print $2}')"
for c in $CORPORA; do
    d=$CDIR/$c
    warm "$d"
    s=$(now); bytes=$(tar cf - -C "$CDIR" "$c" | wc -c); e=$(now)
    nf=$(find "$d" -type f | wc -l); nl=$(find "$d" -type l | wc -l)
    sz=$(du -sb "$d" | cut -f1)
    echo "- corpus $c: $(awk -v b="$sz" 'BEGIN{printf "%.1f", b/1e6}') MB, $nf files, $nl symlinks; warm read (tar | wc -c): $(mbps "$bytes" "$(secs "$s" "$e")") MB/s"
done
s=$(now); find "$CDIR/$SRC" -printf '%s %T@\n' > /dev/null; e=$(now)
echo "- bare stat walk of $SRC (find -printf): $(secs "$s" "$e") s"
for alg in aes-256-gcm sha256; do
    v=$(openssl speed -evp "$alg" -bytes 16384 -seconds 1 2>/dev/null | awk 'END { sub(/k$/, "", $NF); printf "%.0f", $NF / 1000 }')
    echo "- openssl speed -evp $alg, 16 KiB blocks, one core: $v MB/s"
done
# each stage of a first backup alone, on every core, with twofold's code
declare -A STAGE_S STAGE_SUM STAGE_NAME
if [ "$LOCAL" = 1 ] && [ -x "$STAGES" ]; then
    for c in $CORPORA; do
        warm "$CDIR/$c"
        if o=$("$STAGES" "$CDIR/$c" "$WORK/stages.$c" 2>&1); then
            echo "- stages of a first backup of $c, each alone on every core (bench/stages): $(echo "$o" | awk '
                /^(walk|read|chunk|hash|compress|seal|write) / { printf "%s%s %s s", sep, $1, $2; sep = ", " }')"
            STAGE_NAME[$c]=$(echo "$o" | awk '/^slowest stage:/ { sub(/,$/, "", $3); print $3 }')
            STAGE_S[$c]=$(echo "$o" | awk '/^slowest stage:/ { print $4 }')
            STAGE_SUM[$c]=$(echo "$o" | awk '/^slowest stage:/ { print $(NF - 1) }')
        else
            echo "- stages of $c: bench/stages failed: $(echo "$o" | tail -1)"
        fi
        rm -rf "$WORK/stages.$c"
    done
elif [ "$LOCAL" = 1 ]; then
    echo "- stage limits: not measured ($STAGES missing; make build/bench/stages)"
fi
s=$(now); dd if=/dev/zero of="$WORK/dd" bs=16M count=64 conv=fsync status=none; e=$(now); rm -f "$WORK/dd"
echo "- disk write, 1 GiB with fsync (dd bs=16M conv=fsync) into $BENCH: $(mbps 1073741824 "$(secs "$s" "$e")") MB/s"
echo "- page cache: warm (each corpus is read once with tar before each tool's runs, each repository before its restore; caches not dropped)"
echo

# ---------------------------------------------------------------- runs
TOOLS="twofold restic borg-lz4 borg-zstd3"
[ "$LOCAL" = 1 ] || TOOLS=""
for c in $CORPORA; do
    corpus=$CDIR/$c
    for tool in $TOOLS; do
        for run in $(seq 1 "$RUNS"); do
            say "$tool $c run $run"
            RD=$WORK/$tool.$c.$run
            mkdir -p "$RD/state"
            STATE=$RD/state
            repo=$RD/repo
            ( tool_env "$tool"
              edit_revert
              warm "$corpus"
              if ! tool_init "$tool" "$repo"; then
                  say "  init failed"
                  for m in first first_rss first_cpu repo unchanged edit restore check; do echo "$m FAIL"; done
                  exit 0
              fi
              if tool_backup "$tool" "$repo" 1 "$corpus"; then
                  echo "first $T"; echo "first_rss $M"; echo "first_cpu $U"
                  echo "repo $(du -sb "$repo" | cut -f1)"
              else
                  echo "first FAIL"; echo "first_rss FAIL"; echo "first_cpu FAIL"; echo "repo FAIL"
              fi
              if tool_backup "$tool" "$repo" 2 "$corpus"; then
                  echo "unchanged $T"; echo "unchanged_rss $M"
              else echo "unchanged FAIL"; echo "unchanged_rss FAIL"; fi
              edit_apply "$corpus"
              if tool_backup "$tool" "$repo" 3 "$corpus"; then
                  echo "edit $T"; echo "edit_rss $M"
              else echo "edit FAIL"; echo "edit_rss FAIL"; fi
              edit_revert
              # the repository warm too: a tool that writes its packs past
              # the page cache (twofold, O_DIRECT) would otherwise restore
              # from the disk and its peers from memory
              warm "$repo"
              mkdir -p "$RD/restore"
              if tool_restore "$tool" "$repo" "$RD/restore"; then
                  echo "restore $T"; echo "restore_rss $M"
              else echo "restore FAIL"; echo "restore_rss FAIL"; fi
              if tool_check "$tool" "$repo"; then
                  echo "check $T"; echo "check_rss $M"
              else echo "check FAIL"; echo "check_rss FAIL"; fi
            ) > "$RD/results"
            while read -r m v; do put "$tool" "$c" "$m" "$run" "$v"; done < "$RD/results"
            retire "$RD/restore" "$RD/repo"
        done
    done
done
edit_revert
if [ "$CLOUD" = 1 ]; then
    . "$HERE/cloud.sh"
    cloud_run
fi

# ---------------------------------------------------------------- report
MEASURES="first first_rss first_cpu repo unchanged unchanged_rss edit edit_rss restore restore_rss check check_rss"
declare -A MED
median() {      # tool corpus measure -> median in display unit, or FAIL
    local vals=() i v
    for i in $(seq 1 "$RUNS"); do
        v=${R["$1|$2|$3|$i"]:-FAIL}
        [ "$v" = FAIL ] && { echo FAIL; return; }
        vals+=("$v")
    done
    printf '%s\n' "${vals[@]}" | sort -g | awk -v m="$3" '
        { a[NR] = $1 } END {
            x = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
            if (m ~ /_rss$/) printf "%.0f", x / 1024         # KB -> MiB
            else if (m == "repo") printf "%.0f", x / 1e6    # bytes -> MB
            else printf "%.2f", x }'
}
CSV=$OUT/results.csv
echo "tool,corpus,measure,median" > "$CSV"
for c in $CORPORA; do for tool in $TOOLS; do for m in $MEASURES; do
    v=$(median "$tool" "$c" "$m"); MED["$tool|$c|$m"]=$v
    case "$m" in *_rss) u=mib ;; repo) u=mb ;; *_cpu) u=cpu_s ;; *) u=s ;; esac
    echo "$tool,$c,${m}_$u,$v" >> "$CSV"
done; done; done

if [ "$LOCAL" = 1 ]; then
echo "## Results ($( [ "$QUICK" = 1 ] && echo "quick, 1 run" || echo "median of $RUNS runs"))"
echo
echo "| tool | corpus | first s | RSS MiB | repo MB | unchanged s | after edit s | restore s | check s |"
echo "|---|---|---|---|---|---|---|---|---|"
for c in $CORPORA; do for tool in $TOOLS; do
    row="| $tool | $c"
    for m in first first_rss repo unchanged edit restore check; do row="$row | ${MED["$tool|$c|$m"]}"; done
    echo "$row |"
done; done
echo
echo "Ratios: times are peer / twofold (above 1 = twofold faster); RSS and repo size are twofold / peer (below 1 = twofold smaller)."
echo
echo "| peer / twofold | corpus | first | RSS | repo | unchanged | after edit | restore | check |"
echo "|---|---|---|---|---|---|---|---|---|"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "FAIL" || b == "FAIL" || b + 0 == 0) print "FAIL"; else printf "%.2f", a / b }'; }
for tool in restic borg-lz4 borg-zstd3; do for c in $CORPORA; do
    row="| $tool | $c"
    for m in first first_rss repo unchanged edit restore check; do
        p=${MED["$tool|$c|$m"]}; t=${MED["twofold|$c|$m"]}
        case "$m" in first_rss|repo) row="$row | $(ratio "$t" "$p")" ;; *) row="$row | $(ratio "$p" "$t")" ;; esac
    done
    echo "$row |"
done; done
echo
echo "First backup's CPU time (user + system, median) and the cores it kept busy on average (CPU s / elapsed s; this machine has $(nproc))."
echo
echo "| tool | corpus | first s | CPU s | cores busy |"
echo "|---|---|---|---|---|"
for c in $CORPORA; do for tool in $TOOLS; do
    echo "| $tool | $c | ${MED["$tool|$c|first"]} | ${MED["$tool|$c|first_cpu"]} | $(ratio "${MED["$tool|$c|first_cpu"]}" "${MED["$tool|$c|first"]}") |"
done; done
echo
if [ ${#STAGE_S[@]} -gt 0 ]; then
    echo "twofold's first backup against its stages run alone (bench/stages, above): the slowest stage on every core, and all stages one after another."
    echo
    echo "| corpus | first s | slowest stage | s | first / slowest | all stages s | first / all stages |"
    echo "|---|---|---|---|---|---|---|"
    for c in $CORPORA; do
        [ -n "${STAGE_S[$c]:-}" ] || continue
        t=${MED["twofold|$c|first"]}
        echo "| $c | $t | ${STAGE_NAME[$c]} | ${STAGE_S[$c]} | $(ratio "$t" "${STAGE_S[$c]}") | ${STAGE_SUM[$c]} | $(ratio "$t" "${STAGE_SUM[$c]}") |"
    done
    echo
fi
fi
[ "$CLOUD" = 1 ] && cloud_report
echo "CSV: $CSV; log: $LOG"
echo "Total time: $(secs "$T0" "$(now)") s"

# delete repositories and restore dirs (corpora are kept)
rm -rf "${PENDING[@]}" 2>/dev/null
