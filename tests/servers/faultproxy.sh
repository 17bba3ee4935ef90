# faultproxy.sh: start and stop tests/tools/faultproxy.c (an HTTP proxy that
# injects faults) in front of a server on 127.0.0.1 (sourced).
#
#   fp_start NAME UPSTREAM_PORT [PORT] [-f FAULT]...   start a proxy; its
#           log is $T/NAME.log; sets FP_PORT and FP_PID, and remembers the
#           PID for fp_stop_all.  PORT 0 or absent: a free port.
#   fp_stop PID       stop one proxy (TERM, wait).
#   fp_stop_all       stop every proxy started here; for the EXIT trap.
#   fp_faults NAME [KIND]   how many faults (of KIND) proxy NAME injected.
#   fp_requests NAME  how many requests it saw.
#   fp_wait_fault NAME KIND TEXT   wait (up to 60 s) until proxy NAME has
#                     logged a KIND fault on a target containing TEXT (a
#                     hold fault is logged when the hold begins); 0 once
#                     it has, 1 on time-out.
#   fp_held_change NAME TEXT BACKUP CHANGE   a change while a client waits:
#                     run the shell command BACKUP in the background,
#                     wait until proxy NAME (started with -g $T/NAME.gate
#                     and a hold fault) holds a request on TEXT, run the
#                     shell command CHANGE (its output in FP_CHANGED),
#                     open the gate and wait for BACKUP; its status is
#                     returned, FP_HELD is 0 if the hold was seen.
#
# Needs $T (lib.sh) and $TWOFOLD_TOP; the binary is
# tools/faultproxy next to $TWOFOLD_BIN (make test-bins).
FP_PIDS=""
FP_BIN=${FP_BIN:-$(dirname "$TWOFOLD_BIN")/tools/faultproxy}

fp_start() {
	_fp_name=$1
	_fp_up=$2
	shift 2
	_fp_port=0
	case ${1:-} in [0-9]*) _fp_port=$1; shift ;; esac
	rm -f "$T/$_fp_name.port"
	"$FP_BIN" -u "$_fp_up" -l "$_fp_port" -p "$T/$_fp_name.port" -o "$T/$_fp_name.log" \
	    -s "$$" "$@" >/dev/null 2>>"$T/$_fp_name.err" &
	FP_PID=$!
	FP_PIDS="$FP_PIDS $FP_PID"
	_fp_i=0
	while [ ! -s "$T/$_fp_name.port" ]; do
		if ! kill -0 "$FP_PID" 2>/dev/null || [ $_fp_i -ge 100 ]; then
			echo "faultproxy $_fp_name did not start:" >&2
			cat "$T/$_fp_name.err" >&2
			return 1
		fi
		sleep 0.05
		_fp_i=$((_fp_i + 1))
	done
	FP_PORT=$(cat "$T/$_fp_name.port")
}

fp_stop() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	_fp_rest=""
	for _fp_p in $FP_PIDS; do [ "$_fp_p" = "$1" ] || _fp_rest="$_fp_rest $_fp_p"; done
	FP_PIDS=$_fp_rest
}

fp_stop_all() {
	for _fp_p in $FP_PIDS; do
		kill "$_fp_p" 2>/dev/null
		wait "$_fp_p" 2>/dev/null
	done
	FP_PIDS=""
}

fp_faults() {
	if [ -n "${2:-}" ]; then
		grep -c "^fault [0-9]* $2 " "$T/$1.log" 2>/dev/null
	else
		grep -c '^fault ' "$T/$1.log" 2>/dev/null
	fi
}

fp_requests() { grep -c '^request ' "$T/$1.log" 2>/dev/null; }

fp_wait_fault() {
	_fp_w=0
	until grep "^fault [0-9]* $2 " "$T/$1.log" 2>/dev/null | grep -qF "$3"; do
		[ $_fp_w -ge 600 ] && return 1
		sleep 0.1
		_fp_w=$((_fp_w + 1))
	done
}

fp_held_change() {
	rm -f "$T/$1.gate"
	( eval "$3" ) &
	_fp_b=$!
	fp_wait_fault "$1" hold "$2"
	FP_HELD=$?
	FP_CHANGED=$(eval "$4")
	touch "$T/$1.gate"
	wait $_fp_b
}
