# rgw.sh: a throw-away Ceph RGW (real S3 with SigV4) on 127.0.0.1, for
# tests.  Sourced (POSIX sh); functions:
#
#   rgw_start   install the Debian packages if missing (as root), bring up a
#               one-monitor, one-OSD (memstore, in RAM, capped at 1 GiB),
#               one-radosgw cluster in a temporary directory, create an S3
#               user, wait until S3 answers, and export AWS_ENDPOINT_URL,
#               AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION.  Sets
#               an EXIT trap that runs rgw_stop and then $RGW_ON_EXIT (the
#               caller's own cleanup).  0, or 1 after a message on stderr.
#   rgw_stop    stop every daemon by PID (TERM, then KILL after 10 s), wait
#               for it, and remove the temporary directory.  Idempotent.
#   rgw_user UID ACCESS SECRET   another S3 user (for permission tests).
#   rgw_admin ARGS...            radosgw-admin against this cluster.
#
# RGW's DNS name is localhost: http://BUCKET.localhost:PORT/KEY is
# virtual-hosted addressing (curl resolves every *.localhost name to the
# loopback address itself), http://127.0.0.1:PORT/BUCKET/KEY path-style.
#
# Nothing is written to /etc/ceph or /var/lib/ceph: every daemon gets -c
# CONF and its data, run and log directories live under $RGW_DIR.  Ports
# come from a range picked from $$ below the ephemeral ports and are
# checked to be free.
RGW_PKGS="ceph-mon ceph-osd radosgw ceph-common"
RGW_PIDS=""
RGW_DIR=""

_rgw_log() { echo "rgw.sh: $*" >&2; }

_rgw_install() {
	if command -v ceph-mon >/dev/null 2>&1 && command -v ceph-osd >/dev/null 2>&1 &&
		command -v radosgw >/dev/null 2>&1 && command -v radosgw-admin >/dev/null 2>&1 &&
		command -v ceph-authtool >/dev/null 2>&1 && command -v monmaptool >/dev/null 2>&1 &&
		command -v ceph >/dev/null 2>&1; then
		return 0
	fi
	if [ "$(id -u)" -ne 0 ]; then
		_rgw_log "Ceph is not installed; as root run: apt-get install -y --no-install-recommends $RGW_PKGS"
		return 1
	fi
	_rgw_log "installing $RGW_PKGS"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $RGW_PKGS \
		>"${TMPDIR:-/tmp}/twofold-rgw-apt.$$.log" 2>&1 ||
		{ apt-get update >/dev/null 2>&1 &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $RGW_PKGS \
				>"${TMPDIR:-/tmp}/twofold-rgw-apt.$$.log" 2>&1; } || {
		_rgw_log "apt-get install failed; see ${TMPDIR:-/tmp}/twofold-rgw-apt.$$.log"
		return 1
	}
	rm -f "${TMPDIR:-/tmp}/twofold-rgw-apt.$$.log"
}

# _rgw_port_free PORT: no TCP socket on this machine uses PORT, listening
# or not (a connection's local port blocks a bind as much as a listener).
_rgw_port_free() {
	if command -v ss >/dev/null 2>&1; then
		! ss -Htan "sport = :$1" 2>/dev/null | grep -q .
	else
		curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/"
		[ $? -eq 7 ]
	fi
}

_rgw_ceph() { ceph -c "$RGW_CONF" -n client.admin --connect-timeout 20 "$@"; }
rgw_admin() { radosgw-admin -c "$RGW_CONF" -n client.admin "$@"; }

rgw_stop() {
	for p in $RGW_PIDS; do
		kill "$p" 2>/dev/null
	done
	for p in $RGW_PIDS; do
		i=0
		# (a daemon that has exited is a zombie until waited for)
		while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ] &&
			! grep -q '^[0-9]* (.*) Z' "/proc/$p/stat" 2>/dev/null; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	RGW_PIDS=""
	if [ -n "$RGW_DIR" ]; then
		rm -rf "$RGW_DIR"
		RGW_DIR=""
	fi
}

# _rgw_fail MESSAGE: report, show the tail of the logs, stop, return 1.
_rgw_fail() {
	_rgw_log "$1"
	for f in "$RGW_DIR"/log/*.log "$RGW_DIR"/*.out; do
		[ -s "$f" ] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }
	done
	rgw_stop
	return 1
}

# _rgw_daemon NAME CMD...: start a daemon in the foreground of a background
# job, remember its PID.
_rgw_daemon() {
	_rgw_name=$1
	shift
	"$@" >"$RGW_DIR/$_rgw_name.out" 2>&1 &
	RGW_PIDS="$RGW_PIDS $!"
}

# rgw_start: up to three tries (a loaded machine sometimes loses a
# daemon's start-up race; each try picks other ports).
rgw_start() {
	_rgw_try=0
	while [ $_rgw_try -lt 3 ]; do
		_rgw_start_once && return 0
		_rgw_try=$((_rgw_try + 1))
		[ $_rgw_try -lt 3 ] && _rgw_log "start failed; trying again ($_rgw_try)"
	done
	return 1
}

_rgw_start_once() {
	_rgw_install || return 1
	trap 'rgw_stop; eval "${RGW_ON_EXIT:-:}"' EXIT
	trap 'exit 130' INT TERM
	RGW_DIR=$(mktemp -d "${TMPDIR:-/tmp}/twofold-rgw.XXXXXX") || return 1
	RGW_CONF=$RGW_DIR/ceph.conf
	mkdir -p "$RGW_DIR/run" "$RGW_DIR/log" "$RGW_DIR/mon" "$RGW_DIR/osd/ceph-0" "$RGW_DIR/rgw"

	# three free ports in a block picked from our PID, plus a range for
	# the OSD's messenger; all below the kernel's ephemeral range, so that
	# no outgoing connection takes one between the check and the bind
	eph=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
	case $eph in '' | *[!0-9]*) eph=32768 ;; esac
	span=$((eph - 40 - 10000))
	[ $span -ge 1000 ] || span=20000
	base=$((10000 + ($$ * 97 + ${_rgw_try:-0} * 4999) % span))
	tries=0
	while :; do
		mon_port=$base
		rgw_port=$((base + 1))
		if _rgw_port_free "$mon_port" && _rgw_port_free "$rgw_port" &&
			_rgw_port_free $((base + 2)) && _rgw_port_free $((base + 10)); then
			break
		fi
		tries=$((tries + 1))
		[ $tries -lt 50 ] || { _rgw_fail "no free ports found"; return 1; }
		base=$((10000 + (base - 10000 + 211) % span))
	done
	RGW_PORT=$rgw_port

	fsid=$(cat /proc/sys/kernel/random/uuid)
	osd_uuid=$(cat /proc/sys/kernel/random/uuid)
	cat >"$RGW_CONF" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv4 = true
ms bind ipv6 = false
ms bind port min = $((base + 2))
ms bind port max = $((base + 30))
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $RGW_DIR/\$name.keyring
run dir = $RGW_DIR/run
admin socket = $RGW_DIR/run/\$cluster-\$name.asok
log file = $RGW_DIR/log/\$name.log
mon cluster log file = $RGW_DIR/log/cluster.log
pid file = $RGW_DIR/run/\$name.pid
crash dir = $RGW_DIR/crash
exec dir = $RGW_DIR/run
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail warn = 2
mon data avail crit = 1
mon max pg per osd = 1000
# the monitor commits changes at once instead of batching them for 1 s:
# radosgw's first start makes its pools one command at a time (13 s -> 3 s)
paxos propose interval = 0.05
paxos min wait = 0.01
osd objectstore = memstore
memstore device bytes = 1073741824
osd data = $RGW_DIR/osd/\$cluster-\$id
mon data = $RGW_DIR/mon/\$cluster-\$id
rgw data = $RGW_DIR/rgw
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw dns name = localhost
rgw thread pool size = 64
EOF
	k=$RGW_DIR/mon.keyring
	ceph-authtool --create-keyring "$k" --gen-key -n mon. --cap mon 'allow *' >/dev/null &&
		ceph-authtool --create-keyring "$RGW_DIR/client.admin.keyring" --gen-key -n client.admin \
			--cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null &&
		ceph-authtool "$k" --import-keyring "$RGW_DIR/client.admin.keyring" >/dev/null &&
		monmaptool --create --addv a "[v2:127.0.0.1:$mon_port]" --fsid "$fsid" "$RGW_DIR/monmap" >/dev/null &&
		ceph-mon -c "$RGW_CONF" --mkfs -i a --monmap "$RGW_DIR/monmap" --keyring "$k" \
			>"$RGW_DIR/mkfs-mon.out" 2>&1 ||
		{ _rgw_fail "cannot create the monitor"; return 1; }
	_rgw_daemon mon ceph-mon -c "$RGW_CONF" -f -i a

	# the OSD: its key is registered before mkfs, which fetches the
	# configuration from the monitor with it
	ceph-authtool --create-keyring "$RGW_DIR/osd.0.keyring" --gen-key -n osd.0 >/dev/null &&
		_rgw_ceph auth add osd.0 osd 'allow *' mon 'allow profile osd' mgr 'allow profile osd' \
			-i "$RGW_DIR/osd.0.keyring" >"$RGW_DIR/auth.out" 2>&1 &&
		_rgw_ceph osd new "$osd_uuid" 0 >>"$RGW_DIR/auth.out" 2>&1 &&
		ceph-osd -c "$RGW_CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" >"$RGW_DIR/mkfs-osd.out" 2>&1 ||
		{ _rgw_fail "cannot create the OSD"; return 1; }
	_rgw_daemon osd ceph-osd -c "$RGW_CONF" -f -i 0

	_rgw_ceph auth get-or-create client.rgw.a mon 'allow rw' osd 'allow rwx' \
		-o "$RGW_DIR/client.rgw.a.keyring" >/dev/null 2>&1 ||
		{ _rgw_fail "cannot create the radosgw key"; return 1; }
	_rgw_daemon rgw radosgw -c "$RGW_CONF" -f -n client.rgw.a

	export AWS_ENDPOINT_URL="http://127.0.0.1:$rgw_port"
	export AWS_ACCESS_KEY_ID=TWOFOLDTESTKEY0001
	export AWS_SECRET_ACCESS_KEY=twofold-test-secret-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
	export AWS_REGION=us-east-1
	unset AWS_SESSION_TOKEN AWS_ENDPOINT_URL_S3 AWS_DEFAULT_REGION AWS_PROFILE 2>/dev/null

	# S3 answers once radosgw has made its pools
	i=0
	until curl -s -o /dev/null --max-time 2 "$AWS_ENDPOINT_URL/"; do
		i=$((i + 1))
		[ $i -lt 120 ] || { _rgw_fail "radosgw did not answer within 60 s"; return 1; }
		for p in $RGW_PIDS; do
			kill -0 "$p" 2>/dev/null || { _rgw_fail "a Ceph daemon died"; return 1; }
		done
		sleep 0.5
	done
	rgw_user twofold "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" ||
		{ _rgw_fail "cannot create the S3 user"; return 1; }
	return 0
}

# rgw_user UID ACCESS SECRET
rgw_user() {
	rgw_admin user create --uid="$1" --display-name="$1" --access-key="$2" \
		--secret="$3" >"$RGW_DIR/user-$1.out" 2>&1
}
