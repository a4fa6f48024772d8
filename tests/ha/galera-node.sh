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
fi
if [ -e "$ha/galera$n.bootstrap" ]; then
	rm -f "$ha/galera$n.bootstrap"
	args+=(--wsrep-new-cluster)
fi
exec /usr/sbin/mariadbd "${args[@]}"
