# lib.sh: helpers for CLI tests (sourced).  Each test prints "ok N - what"
# or "not ok N - what"; the runner counts them.
set -u
: "${TWOFOLD_BIN:?run through tests/run.sh or set TWOFOLD_BIN}"
T=$(mktemp -d "${TMPDIR:-/tmp}/twofold-test.XXXXXX")
trap 'chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"' EXIT
export TWOFOLD_REPOSITORY="$T/repo"
export XDG_CACHE_HOME="$T/cache"
printf 'correct horse battery staple\n' >"$T/pass"
export TWOFOLD_PASSWORD_FILE="$T/pass"
_n=0
_failed=0

ok() { # ok CONDITION-EXIT-STATUS DESCRIPTION
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $_n - $2"
	else
		echo "not ok $_n - $2"
		_failed=$((_failed + 1))
	fi
}

check() { # check DESCRIPTION COMMAND...: ok if the command succeeds
	_d=$1
	shift
	if "$@"; then ok 0 "$_d"; else ok 1 "$_d"; fi
}

random_files() { # random_files DIR COUNT BYTES: f0..f(COUNT-1), random, not dedupable
	mkdir -p "$1"
	_i=0
	while [ $_i -lt "$2" ]; do
		head -c "$3" /dev/urandom >"$1/f$_i"
		_i=$((_i + 1))
	done
}

tf() { "$TWOFOLD_BIN" -q "$@"; }

done_testing() {
	[ "$_failed" -eq 0 ]
	exit $?
}

# The store of the repository: TWOFOLD_TEST_STORE=local (default), azure or
# s3, with helpers to reach its objects (tests/servers/teststore.sh).
. "$(dirname "$0")/../servers/teststore.sh"
