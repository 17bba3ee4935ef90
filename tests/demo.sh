#!/bin/sh
# demo: back up a real directory into a fresh local repository, restore it,
# prove the trees identical, print sizes and the dedup ratio.
# Usage: sh tests/demo.sh [DIR]   (default /usr/share/doc)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin="$top/twofold"
src=${1:-/usr/share/doc}
work=$(mktemp -d "${TMPDIR:-/tmp}/twofold-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
export TWOFOLD_REPOSITORY="$work/repo" XDG_CACHE_HOME="$work/cache"
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/pass"
export TWOFOLD_PASSWORD_FILE="$work/pass"

echo "== twofold demo: $src -> $work/repo"
"$bin" init
start=$(date +%s.%N)
id=$("$bin" backup "$src")
t1=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
echo "first backup: snapshot $id (${t1}s)"
start=$(date +%s.%N)
id2=$("$bin" backup "$src")
t2=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
echo "second backup of the unchanged tree: snapshot $id2 (${t2}s)"
"$bin" snapshots
"$bin" restore "$id" --target "$work/restore"
diff -r --no-dereference "$src" "$work/restore$src"
echo "restored tree is identical to $src (diff -r)"
"$bin" check --read-data
src_kb=$(du -sk --apparent-size "$src" | cut -f1)
repo_kb=$(du -sk --apparent-size "$work/repo" | cut -f1)
echo "source:     $src_kb KiB"
echo "repository: $repo_kb KiB after two backups (both snapshots)"
echo "ratio:      $(awk -v a="$src_kb" -v b="$repo_kb" 'BEGIN { printf "%.2f", 2 * a / b }')x (two snapshots' logical size / stored size)"
