#!/usr/bin/env bash
# tests/ha/galera-node.sh HA_DIR N: one Galera node in the foreground, for
# supervisor. hadb.sh leaves HA_DIR/galeraN.bootstrap for the one node that
# starts a new cluster; the flag is used once, so when supervisor restarts
# that node after a crash it joins the running cluster instead.
set -euo pipefail
ha=$1 n=$2
args=(--defaults-file="$ha/galera$n.cnf")
# After a crash (its pid file left behind), wait before coming back, as a
# rebooted machine would: HAProxy has marked the node down and moved the
# writes before the node listens again, instead of sending connections to
# a server that accepts them but is not ready.
if [ -e "$ha/galera$n.run/mysqld.pid" ]; then
	rm -f "$ha/galera$n.run/mysqld.pid"
	sleep "${GALERA_RESTART_DELAY:-5}"
	# A crashed node's grastate.dat says seqno -1: started like that it
	# asks for a full copy (rsync SST), and an rsync donor holds a global
	# read lock for the whole copy, which stalled every write for 3-4 s
	# when the donor was the writer. InnoDB knows the last transaction it
	# committed: start from there and catch up from a peer's write-set
	# cache (IST), which never blocks the donor. This is what Debian's
	# galera_recovery does for the systemd unit.
	rec=$ha/galera$n.run/recover.log
	rm -f "$rec"
	if /usr/sbin/mariadbd "${args[@]}" --wsrep-recover --log-error="$rec" \
	    >/dev/null 2>&1; then
		pos=$(sed -n 's/.*WSREP: Recovered position: *\([^ ]*:-\?[0-9]*\).*/\1/p' \
		    "$rec" | tail -n 1)
		[ -z "$pos" ] || args+=(--wsrep-start-position="$pos")
	fi
fi
if [ -e "$ha/galera$n.bootstrap" ]; then
	rm -f "$ha/galera$n.bootstrap"
	args+=(--wsrep-new-cluster)
fi
exec /usr/sbin/mariadbd "${args[@]}"
