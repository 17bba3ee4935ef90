#!/bin/bash
# source.sh: cloud sources — twofold backing up an Azure container
# (Azurite) and an S3 bucket (Ceph RGW) into a local repository, beside
# the stores' own clients downloading the same objects into a directory
# (az storage blob download-batch, aws s3 sync), on 127.0.0.1.
#
#   bench/source.sh [--files N] [--small BYTES] [--big N] [--big-size MIB]
#
# Default corpus: 1000 random files of 4 KiB plus 4 of 32 MiB (~132 MiB),
# uploaded once with az storage blob upload-batch / aws s3 sync.  Measured,
# one run each: twofold's first backup of the source, an unchanged
# re-backup (nothing downloaded), and the client's download of everything.
# Needs make test-bins (or make), az and aws (Debian: azure-cli, awscli).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
TWOFOLD=${TWOFOLD:-$ROOT/$BUILD/twofold}
NFILES=1000 SMALL=4096 NBIG=4 BIGMIB=32
while [ $# -gt 0 ]; do
	case $1 in
	--files) NFILES=$2; shift 2 ;;
	--small) SMALL=$2; shift 2 ;;
	--big) NBIG=$2; shift 2 ;;
	--big-size) BIGMIB=$2; shift 2 ;;
	*) echo "usage: $0 [--files N] [--small BYTES] [--big N] [--big-size MIB]" >&2; exit 2 ;;
	esac
done
[ -x "$TWOFOLD" ] || { echo "build twofold first (make)" >&2; exit 1; }
for t in az aws; do command -v $t >/dev/null || { echo "$t is needed (apt-get install azure-cli awscli)" >&2; exit 1; }; done

T=$(mktemp -d "${TMPDIR:-/tmp}/twofold-bench-source.XXXXXX")
export TWOFOLD_BIN=$TWOFOLD TWOFOLD_TOP=$ROOT
. "$ROOT/tests/servers/azurite.sh"
. "$ROOT/tests/servers/rgw.sh"
RGW_ON_EXIT='azurite_stop; rm -rf "$T"'
trap 'rgw_stop; azurite_stop; rm -rf "$T"' EXIT INT TERM

now() { date +%s.%N; }
declare -A R
timed() { # timed KEY CMD...: R[KEY] = seconds or FAIL
	local k=$1 t0 t1
	shift
	t0=$(now)
	if "$@" >>"$T/log" 2>&1; then
		t1=$(now)
		R[$k]=$(echo "$t1 - $t0" | bc -l | xargs printf '%.2f')
	else
		R[$k]=FAIL
	fi
}

echo "corpus: $NFILES x $SMALL B + $NBIG x $BIGMIB MiB" >&2
mkdir -p "$T/corpus"
for ((i = 0; i < NFILES; i++)); do
	d=$T/corpus/d$((i % 10))/s$((i / 10 % 10))
	mkdir -p "$d"
	head -c "$SMALL" /dev/urandom >"$d/f$i"
done
for ((i = 0; i < NBIG; i++)); do head -c $((BIGMIB << 20)) /dev/urandom >"$T/corpus/big$i"; done
BYTES=$(du -sb "$T/corpus" | cut -f1)

azurite_start || exit 1
rgw_start || exit 1
export AZURE_CONFIG_DIR=$T/azcfg AZURE_CORE_COLLECT_TELEMETRY=false AZURE_CORE_ONLY_SHOW_ERRORS=true
mkdir -p "$AZURE_CONFIG_DIR"
printf '{"update_time": "2999-01-01 00:00:00.000000", "check_time": "2999-01-01 00:00:00.000000"}\n' \
    >"$AZURE_CONFIG_DIR/versionCheck.json"
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=$T/awscfg AWS_SHARED_CREDENTIALS_FILE=$T/awscred
: >"$AWS_CONFIG_FILE"; : >"$AWS_SHARED_CREDENTIALS_FILE"
CS=$AZURE_STORAGE_CONNECTION_STRING
az storage container create -n bsrc --connection-string "$CS" >/dev/null &&
    az storage blob upload-batch --no-progress -d bsrc -s "$T/corpus" --connection-string "$CS" >/dev/null ||
    { echo "upload to Azurite failed" >&2; exit 1; }
aws --endpoint-url "$AWS_ENDPOINT_URL" s3 mb s3://bsrc >/dev/null &&
    aws --endpoint-url "$AWS_ENDPOINT_URL" s3 sync --quiet "$T/corpus" s3://bsrc ||
    { echo "upload to RGW failed" >&2; exit 1; }

printf 'bench\n' >"$T/pass"
export TWOFOLD_PASSWORD_FILE=$T/pass XDG_CACHE_HOME=$T/cache
for s in azure s3; do
	url=azure://devstoreaccount1/bsrc
	[ $s = s3 ] && url=s3://bsrc
	"$TWOFOLD" -q -r "$T/repo-$s" init >>"$T/log" 2>&1
	timed "$s|first" "$TWOFOLD" -q -r "$T/repo-$s" backup "$url"
	timed "$s|unchanged" "$TWOFOLD" -q -r "$T/repo-$s" backup "$url"
	timed "$s|restore-dir" "$TWOFOLD" -q -r "$T/repo-$s" restore latest --target "$T/out-$s"
done
mkdir -p "$T/az-dl"
timed "azure|client" az storage blob download-batch --no-progress -d "$T/az-dl" -s bsrc --connection-string "$CS"
timed "s3|client" aws --endpoint-url "$AWS_ENDPOINT_URL" s3 sync --quiet s3://bsrc "$T/aws-dl"

mbps() { [ "$1" = FAIL ] && echo - || echo "$BYTES / $1 / 1048576" | bc -l | xargs printf '%.1f'; }
echo
echo "| source ($((BYTES >> 20)) MiB, $((NFILES + NBIG)) objects) | twofold first backup | MiB/s | unchanged re-backup | twofold restore to dir | store's client download | MiB/s |"
echo "|---|---|---|---|---|---|---|"
for s in azure s3; do
	cl="az storage blob download-batch"
	[ $s = s3 ] && cl="aws s3 sync"
	echo "| $s | ${R[$s|first]} s | $(mbps "${R[$s|first]}") | ${R[$s|unchanged]} s | ${R[$s|restore-dir]} s | ${R[$s|client]} s ($cl) | $(mbps "${R[$s|client]}") |"
done
