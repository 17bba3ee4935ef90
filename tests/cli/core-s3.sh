#!/bin/sh
# core-s3: the core tests -- roundtrip, dedup, confidentiality, integrity,
# crash -- with their repository in S3 (Ceph RGW, started once for all of
# them; tests/servers/teststore.sh).
. "$(dirname "$0")/lib.sh"
. "$TWOFOLD_TOP/tests/servers/rgw.sh"
RGW_ON_EXIT='chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"'

rgw_start; ok $? "Ceph RGW starts"
[ -n "$RGW_PIDS" ] || done_testing
core_tests s3
done_testing
