# teststore.sh: the store the core CLI tests keep their repository in
# (sourced by lib.sh).  TWOFOLD_TEST_STORE picks it:
#
#   local (default)  a directory, $T/repo
#   azure            a container of Azurite, azure://devstoreaccount1/core-PID/repo
#   s3               a bucket of Ceph RGW, s3://core-PID/repo
#
# For azure and s3 the server is started here (and stopped on exit) unless
# the caller started it and exported TWOFOLD_TEST_SERVER_UP=1 with the
# server's environment (tests/cli/core-*.sh do, to start it once for
# several tests).  Objects are read and changed through the store layer by
# tests/tools/objtool, and for local directly as files.  Helpers, where R
# is a repository as -r takes it:
#
#   repo_at NAME        a fresh repository location NAME (local: $T/NAME)
#   objs R              every object name, sorted (no temporary files)
#   obj_size R NAME     its size in bytes
#   obj_get R NAME FILE / obj_put R NAME FILE   (put replaces the object)
#   obj_delete R NAME
#   repo_copy R1 R2     every object of R1 into R2 (R2 new)
#   repo_bytes R        the bytes R occupies (local: du -sb)
#   repo_files R        a directory holding every object of R as a file
#                       (local: R itself; else a download into $T)
TWOFOLD_TEST_STORE=${TWOFOLD_TEST_STORE:-local}
OBJTOOL=$(dirname "$TWOFOLD_BIN")/tools/objtool

case $TWOFOLD_TEST_STORE in
local)
	_ts_base=""
	;;
azure)
	if [ "${TWOFOLD_TEST_SERVER_UP:-0}" != 1 ]; then
		. "$(dirname "$0")/../servers/azurite.sh"
		trap 'azurite_stop; chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"' EXIT
		azurite_start || { echo "not ok 1 - Azurite starts"; exit 1; }
	fi
	_ts_base="azure://${AZURITE_ACCOUNT:?}/core-$$"
	;;
s3)
	if [ "${TWOFOLD_TEST_SERVER_UP:-0}" != 1 ]; then
		. "$(dirname "$0")/../servers/rgw.sh"
		RGW_ON_EXIT='chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"'
		rgw_start || { echo "not ok 1 - Ceph RGW starts"; exit 1; }
	fi
	_ts_base="s3://core-$$"
	;;
*)
	echo "not ok 1 - TWOFOLD_TEST_STORE=$TWOFOLD_TEST_STORE: expected local, azure or s3"
	exit 1
	;;
esac

repo_at() {
	if [ -z "$_ts_base" ]; then echo "$T/$1"; else echo "$_ts_base/$1"; fi
}
export TWOFOLD_REPOSITORY="$(repo_at repo)"

_ts_local() { case $1 in *://*) return 1 ;; *) return 0 ;; esac; }

objs() {
	if _ts_local "$1"; then
		(cd "$1" && find keys config data index snapshots -type f ! -name '.*' | LC_ALL=C sort)
	else
		"$OBJTOOL" "$1" list | cut -d' ' -f1 | LC_ALL=C sort
	fi
}

obj_size() {
	if _ts_local "$1"; then
		stat -c %s "$1/$2"
	else
		"$OBJTOOL" "$1" list "$2" | awk -v n="$2" '$1 == n { print $2 }'
	fi
}

obj_get() {
	if _ts_local "$1"; then cp "$1/$2" "$3"; else "$OBJTOOL" "$1" get "$2" >"$3"; fi
}

obj_put() {
	if _ts_local "$1"; then
		cat "$3" >"$1/$2"
	else
		"$OBJTOOL" "$1" delete "$2" 2>/dev/null
		"$OBJTOOL" "$1" put "$2" <"$3"
	fi
}

obj_delete() {
	if _ts_local "$1"; then rm -f "$1/$2"; else "$OBJTOOL" "$1" delete "$2"; fi
}

repo_copy() {
	if _ts_local "$1"; then
		rm -rf "$2"
		cp -a "$1" "$2"
	else
		"$OBJTOOL" "$1" copy "$2"
	fi
}

repo_bytes() {
	if _ts_local "$1"; then
		du -sb "$1" | cut -f1
	else
		"$OBJTOOL" "$1" list | awk '{ s += $2 } END { print s + 0 }'
	fi
}

repo_files() {
	if _ts_local "$1"; then
		echo "$1"
		return 0
	fi
	_ts_d=$T/files-$(echo "$1" | tr -c 'a-z0-9\n' '_')
	rm -rf "$_ts_d"
	for _ts_o in $(objs "$1"); do
		mkdir -p "$_ts_d/$(dirname "$_ts_o")"
		"$OBJTOOL" "$1" get "$_ts_o" >"$_ts_d/$_ts_o" || return 1
	done
	echo "$_ts_d"
}

# core_tests STORE: run the core tests (tests/cli/*.sh) against the server
# of STORE, which the caller started and whose environment it exported;
# each of their "ok N - what" lines becomes one of the caller's, "ok M -
# TEST: what".
CORE_TESTS="roundtrip dedup confidentiality integrity crash"
core_tests() {
	for _ct in $CORE_TESTS; do
		_ct_t0=$(date +%s)
		TWOFOLD_TEST_STORE=$1 TWOFOLD_TEST_SERVER_UP=1 sh "$TWOFOLD_TOP/tests/cli/$_ct.sh" \
		    >"$T/$_ct.out" 2>&1
		_ct_rc=$?
		_ct_bad=0
		while IFS= read -r _ct_l; do
			case $_ct_l in
			"ok "*) ok 0 "$_ct: ${_ct_l#* - }" ;;
			"not ok "*) ok 1 "$_ct: ${_ct_l#* - }"; _ct_bad=1 ;;
			*) printf '%s\n' "$_ct_l" ;;
			esac
		done <"$T/$_ct.out"
		if [ $_ct_rc -ne 0 ] && [ $_ct_bad -eq 0 ]; then
			ok 1 "$_ct exited with status $_ct_rc"
		fi
		echo "# $_ct against $1 took $(($(date +%s) - _ct_t0)) s"
	done
}
