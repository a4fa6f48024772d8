#!/usr/bin/env bash
# tests/ha/hadb.sh: the highly available data tier of the local stack
# (STACK_DB=ha), every process a program of the stack's supervisord (Debian's
# supervisor, started by tests/stack.sh; this script adds its programs in
# var/supervisor/conf.d/ha.conf).
#
#   tests/ha/hadb.sh up        start (or adopt) the tier; returns once a
#                              PostgreSQL leader with a synchronous standby
#                              and a synced three-node Galera cluster answer
#   tests/ha/hadb.sh down      stop the tier (Galera nodes last-first, so the
#                              last one stopped can bootstrap the next start);
#                              supervisord itself is tests/stack.sh's
#   tests/ha/hadb.sh status    supervisorctl status, Patroni's member list
#   tests/ha/hadb.sh ctl ...   supervisorctl with the tier's socket
#   tests/ha/hadb.sh pg-leader      the leader's member name (pg1..pg3)
#   tests/ha/hadb.sh galera-writer  the Galera node HAProxy writes to
#   tests/ha/hadb.sh galera-rolling restart the Galera nodes one at a time
#   tests/ha/hadb.sh stop-pg | stop-galera
#                              stop every member of one engine (outage drills;
#                              up starts them again)
#
# The tier (ports are STACK_PORT_OFFSET plus):
#   etcd 3.4 x3 (v2 API) clients 9401-9403, peers 9411-9413  (Patroni's store)
#   Patroni 3.0 x3      REST 9421-9423, PostgreSQL 15 on 9431-9433
#   MariaDB 10.11 x3    Galera 4: clients 9441-9443, group 9451-9453,
#                       IST 9461-9463, SST (rsync) 9471-9473
#   HAProxy 2.6         127.0.0.1:3307: every write to one Galera node, the
#                       others backups; stats on 9480
# pay-fcgi reaches the PostgreSQL leader with libpq's multi-host form
# (target_session_attrs=read-write), blog-fcgi MariaDB through HAProxy.
#
# Called by tests/stack.sh, which owns secrets, keys and the services; this
# script only provisions and supervises the databases. Everything lives under
# $STACK_VAR/ha (data, configuration) and $STACK_VAR/log.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
VAR=$(realpath -m "${STACK_VAR:-$ROOT/var}")
OFF=${STACK_PORT_OFFSET:-0}
WAIT_SECONDS=${STACK_WAIT_SECONDS:-60}
HA=$VAR/ha
RUN=$VAR/run
LOG=$VAR/log
SECRETS=$VAR/secrets
SUP_CONF=$VAR/supervisor/supervisord.conf
SUP_SOCK=$RUN/supervisor.sock
SUP_PROGRAMS=$VAR/supervisor/conf.d/ha.conf
PG_VERSION=15
MYSQL_USER=mysql
PG_BIN=/usr/lib/postgresql/$PG_VERSION/bin
SCOPE=conduit-pay
MYSQL_FRONT=$((3307 + OFF))
HAPROXY_STATS=$((9480 + OFF))
# Patroni's leader lease: a dead or frozen leader is replaced once it runs
# out, so it is most of a failover's time. Measured (drill 1, tests/api/
# test_ha_data.py, load average 20+ on 2 cores): ttl 8 gave a new leader
# after 8.3-9.3 s; ttl 5 after 4.5-6.4 s (ttl less up to one loop since the
# last renewal, up to one loop until a standby notices, the promotion).
# Patroni's rule ttl >= loop_wait + 2 * retry_timeout keeps a leader that
# cannot renew (etcd unreachable for retry_timeout) demoting itself before
# its lease can run out. No healthy leader was demoted in the drills at
# these settings; an etcd election longer than retry_timeout would demote
# one (a few seconds without a primary, nothing lost: synchronous mode).
PATRONI_TTL=${HA_PATRONI_TTL:-5}
PATRONI_LOOP_WAIT=1
PATRONI_RETRY_TIMEOUT=${HA_PATRONI_RETRY_TIMEOUT:-2}

log()
{
	printf 'hadb: %s\n' "$*" >&2
}

die()
{
	printf 'hadb: error: %s\n' "$*" >&2
	exit 1
}

etcd_client() { echo $((9400 + OFF + $1)); }
etcd_peer() { echo $((9410 + OFF + $1)); }
patroni_rest() { echo $((9420 + OFF + $1)); }
pg_port() { echo $((9430 + OFF + $1)); }
galera_port() { echo $((9440 + OFF + $1)); }
galera_group() { echo $((9450 + OFF + $1)); }
galera_ist() { echo $((9460 + OFF + $1)); }
galera_sst() { echo $((9470 + OFF + $1)); }

secret()
{
	local f=$SECRETS/$1.password
	if [ ! -s "$f" ]; then
		mkdir -p "$SECRETS"
		(umask 077 && openssl rand -hex 24 >"$f.tmp") && mv "$f.tmp" "$f"
	fi
	cat "$f"
}

etcd_hosts()
{
	local n out=
	for n in 1 2 3; do
		out+=${out:+,}127.0.0.1:$(etcd_client "$n")
	done
	echo "$out"
}

# --------------------------------------------------------------- configs

write_etcd()
{
	local n=$1 cluster= i
	for i in 1 2 3; do
		cluster+=${cluster:+,}etcd$i=http://127.0.0.1:$(etcd_peer "$i")
	done
	mkdir -p "$HA/etcd$n"
	# Written aside, then renamed: supervisord may (re)start etcd while
	# this runs, and an etcd that read a half-written file started on its
	# defaults (port 2379, ./default.etcd).
	cat >"$HA/etcd$n.env.tmp" <<EOF
ETCD_NAME=etcd$n
ETCD_DATA_DIR=$HA/etcd$n
ETCD_LISTEN_CLIENT_URLS=http://127.0.0.1:$(etcd_client "$n")
ETCD_ADVERTISE_CLIENT_URLS=http://127.0.0.1:$(etcd_client "$n")
ETCD_LISTEN_PEER_URLS=http://127.0.0.1:$(etcd_peer "$n")
ETCD_INITIAL_ADVERTISE_PEER_URLS=http://127.0.0.1:$(etcd_peer "$n")
ETCD_INITIAL_CLUSTER=$cluster
ETCD_INITIAL_CLUSTER_TOKEN=conduit-$OFF
ETCD_INITIAL_CLUSTER_STATE=new
ETCD_HEARTBEAT_INTERVAL=200
ETCD_ELECTION_TIMEOUT=2000
ETCD_UNSAFE_NO_FSYNC=false
ETCD_ENABLE_V2=true
EOF
	mv "$HA/etcd$n.env.tmp" "$HA/etcd$n.env"
}

write_patroni()
{
	local n=$1 su rep
	su=$(secret pg_superuser)
	rep=$(secret pg_replicator)
	mkdir -p "$HA/pg$n.run"
	cat >"$HA/pg$n.yml" <<EOF
# Generated by tests/ha/hadb.sh.
scope: $SCOPE
name: pg$n
log:
  level: INFO
restapi:
  listen: 127.0.0.1:$(patroni_rest "$n")
  connect_address: 127.0.0.1:$(patroni_rest "$n")
# etcd's v2 API: Patroni 3.0's v3 client caches the cluster from a watch,
# and once that watch broke under load (both cores saturated) its
# compare-and-set of the sync key failed for good; the v2 client reads the
# cluster on every loop.
etcd:
  hosts: $(etcd_hosts)
bootstrap:
  dcs:
    ttl: $PATRONI_TTL
    loop_wait: $PATRONI_LOOP_WAIT
    retry_timeout: $PATRONI_RETRY_TIMEOUT
    maximum_lag_on_failover: 0
    # A commit is acknowledged only once a standby has it, and only that
    # standby may be promoted: an acknowledged payment survives failover.
    # Strict: with no standby at all (both lost, or right after a
    # failover until the other member follows the new leader) commits
    # wait instead of being acknowledged by the leader alone.
    synchronous_mode: true
    synchronous_mode_strict: true
    postgresql:
      use_pg_rewind: true
      parameters:
        max_connections: 300
        shared_buffers: 64MB
        wal_level: replica
        hot_standby: "on"
        wal_log_hints: "on"
        max_wal_senders: 10
        max_replication_slots: 10
        synchronous_commit: "on"
        # A standby whose primary went away asks again every 0.5 s, not
        # every 5 s (the default): after a failover the remaining member
        # streams from the new leader, and strict mode's commits wait for
        # it, within about a second instead of up to six.
        wal_retrieve_retry_interval: 500ms
  initdb:
  - encoding: UTF8
  - locale: C.UTF-8
  - auth-host: scram-sha-256
  - auth-local: peer
  pg_hba:
  - local all postgres peer
  - local all all scram-sha-256
  - host replication replicator 127.0.0.1/32 scram-sha-256
  - host all all 127.0.0.1/32 scram-sha-256
postgresql:
  listen: 127.0.0.1:$(pg_port "$n")
  connect_address: 127.0.0.1:$(pg_port "$n")
  data_dir: $HA/pg$n
  bin_dir: $PG_BIN
  pgpass: $HA/pg$n.run/pgpass
  authentication:
    superuser:
      username: postgres
      password: $su
    replication:
      username: replicator
      password: $rep
    rewind:
      username: postgres
      password: $su
  parameters:
    unix_socket_directories: $HA/pg$n.run
# No /dev/watchdog here. Patroni 3.0.2 still checks the margin with the
# watchdog off and warns every loop unless ttl - safety_margin >= loop_wait.
watchdog:
  mode: "off"
  safety_margin: 2
tags:
  nofailover: false
  noloadbalance: false
EOF
	chmod 600 "$HA/pg$n.yml"
	mkdir -p "$HA/pg$n"
	chmod 700 "$HA/pg$n"
	chown postgres: "$HA/pg$n.yml" "$HA/pg$n.run" "$HA/pg$n"
}

write_galera()
{
	local n=$1 addr= i
	for i in 1 2 3; do
		addr+=${addr:+,}127.0.0.1:$(galera_group "$i")
	done
	cat >"$HA/galera$n.cnf" <<EOF
# Generated by tests/ha/hadb.sh; the system's my.cnf is never read.
[client]
port = $(galera_port "$n")
socket = $HA/galera$n.run/mysqld.sock

[mysqld]
# Not root: the rsync state transfer's daemon would drop to nobody.
user = $MYSQL_USER
datadir = $HA/galera$n
port = $(galera_port "$n")
bind-address = 127.0.0.1
socket = $HA/galera$n.run/mysqld.sock
pid-file = $HA/galera$n.run/mysqld.pid
log-error = $LOG/galera$n.log
# Temporary tables under var/, not /tmp (see tests/stack.sh).
tmpdir = $HA/galera$n.run
skip-name-resolve
character-set-server = utf8mb4
collation-server = utf8mb4_unicode_ci
max_connections = 400
innodb_buffer_pool_size = 64M
innodb_log_file_size = 48M
# Galera: row-based, InnoDB only, interleaved auto-increments.
binlog_format = ROW
# The blog's migrations create triggers as a non-SUPER owner.
log_bin_trust_function_creators = 1
default_storage_engine = InnoDB
innodb_autoinc_lock_mode = 2
innodb_flush_log_at_trx_commit = 2
wsrep_on = ON
wsrep_provider = /usr/lib/galera/libgalera_smm.so
wsrep_cluster_name = conduit-blog-$OFF
wsrep_cluster_address = gcomm://$addr
wsrep_node_name = galera$n
wsrep_node_address = 127.0.0.1:$(galera_group "$n")
wsrep_provider_options = "gmcast.listen_addr=tcp://127.0.0.1:$(galera_group "$n");ist.recv_addr=127.0.0.1:$(galera_ist "$n");evs.suspect_timeout=PT3S;evs.inactive_timeout=PT6S;evs.install_timeout=PT5S;pc.wait_prim_timeout=PT5S"
wsrep_sst_method = rsync
wsrep_sst_receive_address = 127.0.0.1:$(galera_sst "$n")
# Causal reads: a read waits until this node has applied every write the
# cluster committed before it. While connections sit on two nodes (after a
# failover and the failback, until they reconnect) a comment posted right
# after its article was otherwise refused with 404 (seen in the drills).
wsrep_sync_wait = 1
EOF
}

write_haproxy()
{
	local n
	{
	cat <<EOF
# Generated by tests/ha/hadb.sh.
global
    maxconn 2000
    # One thread: HAProxy 2.6.12 aborts (BUG_ON on the task's thread mask,
    # in back_handle_st_cer) when a client's failed connect (observe
    # layer4, below) updates an external check, whose task runs on the
    # first thread only; seen twice in the Galera drills. A local proxy
    # for one database needs no second thread.
    nbthread 1
    stats socket $RUN/haproxy.sock mode 600 level admin
    # One line per client connection (option tcplog, in
    # var/log/haproxy.log when it ends): the node, the connect and
    # session times, how it ended. The blog keeps its connections, so
    # few lines, mostly around failures.
    log stdout format iso local0
    # The Galera health check runs a script (below).
    external-check
    insecure-fork-wanted

defaults
    mode tcp
    log global
    option tcplog
    # A connection to a node that just died goes to another one, at the
    # first retry (redispatch 1), not after three tries at the dead one.
    retries 3
    option redispatch 1
    # HAProxy kills an external check after min(inter, timeout connect):
    # with the former 250 ms, forking the mariadb client on these loaded
    # cores timed out, marked healthy nodes down and cut every session on
    # them (measured in the writer-kill drill). A dead node is caught by
    # the clients' own connects instead (observe layer4, below).
    timeout connect 1s
    timeout check 1s
    timeout client 1h
    timeout server 1h

listen stats
    mode http
    bind 127.0.0.1:$HAPROXY_STATS
    stats enable
    stats uri /

# Every connection goes to one Galera node at a time, so hot rows never
# fail certification between nodes; the others wait as backups.
#
# After a failover the writes stay where they went: a new connection joins
# the node that already holds the sessions (srv_conn), as long as that node
# is up and not being drained. Only when no node holds any does HAProxy
# choose, the active server first. A stick table did not do this: HAProxy
# 2.6 writes its entry once and never moves it, so once the failed node
# came back new connections went to it while the old ones stayed on the
# backup, and the blog wrote to two nodes at once.
listen mariadb
    bind 127.0.0.1:$MYSQL_FRONT
    option external-check
    external-check path "/usr/bin:/bin"
    external-check command $HA/galera-check.sh
    # A client's connect refused means the node is gone: mark it down at
    # once rather than after the checks notice.
    default-server inter 1s fastinter 250ms fall 3 rise 2 observe layer4 error-limit 1 on-error mark-down on-marked-down shutdown-sessions
EOF
	for n in 1 2 3; do
		printf '    use-server galera%s if { srv_conn(mariadb/galera%s) gt 0 }' \
		    "$n" "$n"
		printf ' { srv_is_up(mariadb/galera%s) } { srv_weight(mariadb/galera%s) gt 0 }\n' \
		    "$n" "$n"
	done
	for n in 1 2 3; do
		printf '    server galera%s 127.0.0.1:%s check%s\n' "$n" \
		    "$(galera_port "$n")" "$([ "$n" = 1 ] || echo ' backup')"
	done
	} >"$HA/haproxy.cfg"
}

# HAProxy's health check of a Galera node: up only while the node is
# synced with the cluster or donating (a joiner or a node cut off from the primary
# component answers connections but refuses queries).
write_galera_check()
{
	local n
	{
		echo '#!/bin/sh'
		echo '# Generated by tests/ha/hadb.sh. Arguments: proxy address and'
		echo '# port, server address and port (HAProxy external-check).'
		echo 'case $4 in'
		for n in 1 2 3; do
			echo "$(galera_port "$n")) cnf=$HA/galera$n.cnf ;;"
		done
		echo '*) exit 1 ;;'
		echo 'esac'
		echo "st=\$(mariadb --defaults-file=\$cnf -u $(id -un) -N -B --connect-timeout=1 \\"
		echo "    -e \"SHOW STATUS LIKE 'wsrep_local_state'\" 2>/dev/null | cut -f2)"
		# 4 Synced; 2 Donor: with IST (a node that was down briefly) the
		# donor keeps serving, so it stays in rotation.
		echo '[ "$st" = 4 ] || [ "$st" = 2 ]'
	} >"$HA/galera-check.sh.tmp"
	chmod 755 "$HA/galera-check.sh.tmp"
	mv "$HA/galera-check.sh.tmp" "$HA/galera-check.sh"
}

# One supervisord [program:NAME] section: NAME, the command, its priority,
# whether supervisord starts it on its own (autostart) and its log, then the
# settings that differ by program ("key = value" lines).
sup_program()
{
	local name=$1 command=$2 priority=$3 autostart=$4 log=$5
	shift 5
	printf '[program:%s]\ncommand = %s\npriority = %s\nautostart = %s\n' \
	    "$name" "$command" "$priority" "$autostart"
	echo 'autorestart = true'
	printf '%s\n' "$@"
	printf 'redirect_stderr = true\nstdout_logfile = %s\n\n' "$log"
}

write_supervisor()
{
	local n
	{
		cat <<EOF
; Generated by tests/ha/hadb.sh: the HA data tier's programs. Priorities
; order supervisord's own shutdown (Ctrl-C of make run): the services
; (800, 900) first, then HAProxy, Patroni and Galera, etcd last.

EOF
		# -e: without its settings file etcd would start on its defaults
		# (port 2379, ./default.etcd), seen when var/ha was removed under
		# supervisord.
		for n in 1 2 3; do
			sup_program "etcd$n" "/usr/bin/env -S bash -c 'set -ae; . $HA/etcd$n.env; exec /usr/bin/etcd'" \
			    50 true "$LOG/etcd$n.log" 'startsecs = 1' \
			    'stopsignal = TERM'
		done
		for n in 1 2 3; do
			sup_program "pg$n" "/usr/bin/patroni $HA/pg$n.yml" 200 \
			    false "$LOG/patroni$n.log" 'user = postgres' \
			    "directory = $HA/pg$n.run" \
			    "environment = HOME=\"$HA/pg$n.run\",PATH=\"$PG_BIN:/usr/bin:/bin\"" \
			    'startsecs = 2' 'stopsignal = INT' \
			    'stopwaitsecs = 60' 'killasgroup = true'
		done
		for n in 1 2 3; do
			sup_program "galera$n" \
			    "$ROOT/tests/ha/galera-node.sh $HA $n" 200 false \
			    "$LOG/galera$n.out" 'startsecs = 3' \
			    'stopsignal = TERM' 'stopwaitsecs = 120'
		done
		sup_program haproxy \
		    "/usr/sbin/haproxy -W -db -f $HA/haproxy.cfg" 300 false \
		    "$LOG/haproxy.log" 'startsecs = 1'
		cat <<EOF
[group:etcd]
programs = etcd1,etcd2,etcd3
priority = 50
[group:pg]
programs = pg1,pg2,pg3
priority = 200
[group:galera]
programs = galera1,galera2,galera3
priority = 200
EOF
	} >"$SUP_PROGRAMS.tmp"
	mv "$SUP_PROGRAMS.tmp" "$SUP_PROGRAMS"
}

# --------------------------------------------------------------- control

ctl()
{
	supervisorctl -c "$SUP_CONF" "$@"
}

sup_running()
{
	[ -S "$SUP_SOCK" ] && ctl pid >/dev/null 2>&1
}

# The stack's supervisord picks up the tier's programs (update adds new
# groups and restarts only those whose configuration changed).
sup_start()
{
	sup_running ||
	    die "supervisord does not run; start the stack: STACK_DB=ha tests/stack.sh up"
	ctl update >/dev/null
}

# Ask a Patroni member's REST API; prints the body.
patroni_get()
{
	curl -fsS --max-time 2 "http://127.0.0.1:$(patroni_rest "$1")$2" 2>/dev/null
}

pg_leader()
{
	local n
	for n in 1 2 3; do
		# /primary answers 200 on the leader only.
		if curl -fs -o /dev/null --max-time 1 \
		    "http://127.0.0.1:$(patroni_rest "$n")/primary"; then
			echo "pg$n"
			return 0
		fi
	done
	return 1
}

pg_has_sync_standby()
{
	local n
	for n in 1 2 3; do
		if curl -fs -o /dev/null --max-time 1 \
		    "http://127.0.0.1:$(patroni_rest "$n")/sync"; then
			return 0
		fi
	done
	return 1
}

galera_sql()
{
	local n=$1
	shift
	mariadb --defaults-file="$HA/galera$n.cnf" -u "$(id -un)" -N -B "$@"
}

galera_synced()
{
	local n=$1 st
	st=$(galera_sql "$n" -e "SHOW STATUS LIKE 'wsrep_local_state'" \
	    2>/dev/null | cut -f2) || return 1
	[ "$st" = 4 ]
}

galera_size()
{
	galera_sql "$1" -e "SHOW STATUS LIKE 'wsrep_cluster_size'" 2>/dev/null |
	    cut -f2
}

wait_for()
{
	local what=$1 secs=$2 i
	shift 2
	for ((i = 0; i < secs * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	die "$what within ${secs}s (logs in $LOG)"
}

galera_init()
{
	local n=$1
	[ -d "$HA/galera$n/mysql" ] && return 0
	log "creating Galera node $n's data directory"
	rm -rf "$HA/galera$n"
	mkdir -p "$HA/galera$n"
	chown "$MYSQL_USER:" "$HA/galera$n"
	mariadb-install-db --defaults-file="$HA/galera$n.cnf" \
	    --auth-root-authentication-method=socket --skip-test-db \
	    >"$LOG/galera$n-install.log" 2>&1 || {
		tail -n 20 "$LOG/galera$n-install.log" >&2
		die "mariadb-install-db failed for node $n"
	}
}

# Which node may start a new cluster: after a clean stop, the one whose
# grastate says so; after a crash of all three, the most advanced one by
# its recovered position (mariadbd --wsrep-recover). Only when none runs.
galera_pick_bootstrap()
{
	local n best=1 bestseq=-2 seq
	for n in 1 2 3; do
		if grep -q '^safe_to_bootstrap: *1' "$HA/galera$n/grastate.dat" \
		    2>/dev/null; then
			echo "$n"
			return 0
		fi
	done
	for n in 1 2 3; do
		seq=$(sed -n 's/^seqno: *//p' "$HA/galera$n/grastate.dat" \
		    2>/dev/null || true)
		if [ -z "$seq" ] || [ "$seq" = -1 ]; then
			seq=$(mariadbd --defaults-file="$HA/galera$n.cnf" \
			    --wsrep-recover --log-error="$LOG/galera$n-recover.log" \
			    >/dev/null 2>&1; sed -n \
			    's/.*Recovered position: [^:]*:\(-\?[0-9]*\).*/\1/p' \
			    "$LOG/galera$n-recover.log" 2>/dev/null | tail -n 1)
		fi
		[ -n "$seq" ] || seq=-1
		if [ "$seq" -gt "$bestseq" ]; then
			best=$n
			bestseq=$seq
		fi
	done
	sed -i 's/^safe_to_bootstrap:.*/safe_to_bootstrap: 1/' \
	    "$HA/galera$best/grastate.dat" 2>/dev/null || true
	echo "$best"
}

galera_any_primary()
{
	local n
	for n in 1 2 3; do
		galera_synced "$n" && return 0
	done
	return 1
}

do_up()
{
	local n boot t0=$SECONDS old haproxy_changed=
	command -v patroni >/dev/null || die "patroni is not installed (make deps)"
	command -v etcd >/dev/null || die "etcd is not installed (make deps)"
	[ -e /usr/lib/galera/libgalera_smm.so ] ||
	    die "galera-4 is not installed (make deps)"
	mkdir -p "$HA" "$RUN" "$LOG"
	chmod 755 "$HA"
	for n in 1 2 3; do
		write_etcd "$n"
		write_patroni "$n"
		write_galera "$n"
	done
	old=$(cat "$HA/haproxy.cfg" 2>/dev/null || true)
	write_haproxy
	[ "$old" = "$(cat "$HA/haproxy.cfg")" ] || haproxy_changed=1
	write_galera_check
	write_supervisor
	for n in 1 2 3; do
		mkdir -p "$HA/galera$n.run"
		touch "$LOG/galera$n.log"
		chown "$MYSQL_USER:" "$HA/galera$n.run" "$LOG/galera$n.log"
	done
	for n in 1 2 3; do
		galera_init "$n"
	done
	sup_start
	ctl start etcd:* >/dev/null || true
	ctl start pg:* >/dev/null || true
	if ! galera_any_primary; then
		boot=$(galera_pick_bootstrap)
		log "bootstrapping the Galera cluster from node $boot"
		touch "$HA/galera$boot.bootstrap"
		ctl start "galera:galera$boot" >/dev/null || true
		wait_for "Galera node $boot is not synced" "$WAIT_SECONDS" \
		    galera_synced "$boot"
	fi
	# The others join one at a time. Every node of a primary component
	# holds its commits and causal reads (wsrep_sync_wait) until a join
	# has installed the new view and exchanged states. Two joiners
	# started together interrupt each other's state exchange: the
	# serving node held every read 4.7-5.2 s (load ~10, measured with
	# HAProxy's log), past the blog's 6 s read timeout under load 20,
	# which made a request during db-start a 503 after 6.0 s. One at a
	# time each join holds them 1.5-2.7 s (load 6-11).
	for n in 1 2 3; do
		galera_synced "$n" && continue
		ctl start "galera:galera$n" >/dev/null || true
		wait_for "Galera node $n is not synced" "$WAIT_SECONDS" \
		    galera_synced "$n"
	done
	if [ -n "$haproxy_changed" ]; then
		ctl restart haproxy >/dev/null || true
	else
		ctl start haproxy >/dev/null || true
	fi
	wait_for "no PostgreSQL leader" "$WAIT_SECONDS" pg_leader_quiet
	# The settings above also for a cluster bootstrapped with older ones
	# (Patroni reads bootstrap.dcs only once).
	curl -fsS -o /dev/null --max-time 5 -X PATCH -H 'Content-Type: application/json' \
	    -d "$(dcs_settings)" \
	    "http://127.0.0.1:$(patroni_rest "$(pg_leader | tr -d pg)")/config" ||
	    log "warning: could not set Patroni's settings"
	wait_for "no synchronous standby" "$WAIT_SECONDS" pg_has_sync_standby
	for n in 1 2 3; do
		wait_for "Galera node $n is not synced" "$WAIT_SECONDS" \
		    galera_synced "$n"
	done
	wait_for "HAProxy does not reach Galera" "$WAIT_SECONDS" haproxy_ready
	log "up in $((SECONDS - t0))s: PostgreSQL leader $(pg_leader)," \
	    "Galera size $(galera_size 1), HAProxy on 127.0.0.1:$MYSQL_FRONT"
}

# The dynamic settings that matter for failover and RPO, as JSON.
dcs_settings()
{
	printf '{"ttl": %s, "loop_wait": %s, "retry_timeout": %s, ' \
	    "$PATRONI_TTL" "$PATRONI_LOOP_WAIT" "$PATRONI_RETRY_TIMEOUT"
	printf '"synchronous_mode": true, "synchronous_mode_strict": true, '
	printf '"postgresql": {"parameters": '
	printf '{"wal_retrieve_retry_interval": "500ms"}}}'
}

pg_leader_quiet()
{
	pg_leader >/dev/null
}

# HAProxy has a Galera node it considers up.
haproxy_ready()
{
	curl -fsS --max-time 2 "http://127.0.0.1:$HAPROXY_STATS/;csv" 2>/dev/null |
	    awk -F, '$1 == "mariadb" && $2 ~ /^galera/ && $18 == "UP" {
	        found = 1 } END { exit !found }'
}

do_down()
{
	local n
	[ -f "$SUP_PROGRAMS" ] || return 0
	sup_running || return 0
	ctl stop haproxy >/dev/null 2>&1 || true
	ctl stop pg:* >/dev/null 2>&1 || true
	# One Galera node at a time, so the last one knows it is safe to
	# bootstrap from.
	for n in 3 2 1; do
		ctl stop "galera:galera$n" >/dev/null 2>&1 || true
	done
	ctl stop etcd:* >/dev/null 2>&1 || true
	log "down"
}

do_status()
{
	sup_running || { echo "supervisord: not running"; return 0; }
	ctl status || true
	patronictl -c "$HA/pg1.yml" list 2>/dev/null || true
	for n in 1 2 3; do
		printf 'galera%s: state %s, cluster size %s\n' "$n" \
		    "$(galera_sql "$n" -e "SHOW STATUS LIKE 'wsrep_local_state_comment'" \
		    2>/dev/null | cut -f2)" "$(galera_size "$n")"
	done
	echo "HAProxy writes to: $(galera_writer || echo none)"
}

haproxy_cmd()
{
	echo "$*" | socat - "UNIX-CONNECT:$RUN/haproxy.sock"
}

# The Galera node that takes the writes: the one holding HAProxy's client
# sessions (every connection goes to one node at a time); with none yet,
# the first that is up (HAProxy's own choice: the active server first).
galera_writer()
{
	local csv
	csv=$(curl -fsS --max-time 2 "http://127.0.0.1:$HAPROXY_STATS/;csv") ||
	    return 1
	echo "$csv" | awk -F, '$1 == "mariadb" && $2 ~ /^galera/ && $5 > 0 {
	    print $5, $2 }' | sort -rn | awk 'NR == 1 { print $2; found = 1 }
	    END { exit !found }' && return 0
	echo "$csv" | awk -F, '$1 == "mariadb" && $2 ~ /^galera/ &&
	    $18 == "UP" { print $2; found = 1; exit } END { exit !found }'
}

# HAProxy's current client sessions on one server.
haproxy_sessions()
{
	curl -fsS --max-time 2 "http://127.0.0.1:$HAPROXY_STATS/;csv" |
	    awk -F, -v s="galera$1" '$1 == "mariadb" && $2 == s { print $5 }'
}

# Restart every Galera node, one at a time, without stopping the cluster
# and without failing a statement: the backups first (they hold no client
# session), then the writer. The writer is drained first: it refuses every
# further statement with 1047 (wsrep_reject_queries=ALL, which MariaDB
# documents for maintenance) while the ones running finish, and HAProxy
# sends new connections to another node (weight 0). A refused statement
# never ran, so the blog re-runs it on a fresh connection, which lands on
# the new writer; sessions left idle are closed when the node stops, and
# the blog notices before it uses them.
do_galera_rolling()
{
	local w n i order=()
	w=$(galera_writer) || die "HAProxy has no writer"
	w=${w#galera}
	for n in 1 2 3; do
		[ "$n" = "$w" ] || order+=("$n")
	done
	order+=("$w")
	for n in "${order[@]}"; do
		if [ "$n" = "$w" ]; then
			galera_sql "$n" -e "SET GLOBAL wsrep_reject_queries = ALL"
			# Weight 0 rather than "drain": a draining server
			# keeps its weight, so use-server would still send
			# new connections to the node holding the sessions.
			haproxy_cmd "set weight mariadb/galera$n 0" >/dev/null
			for ((i = 0; i < 30; i++)); do
				[ "$(haproxy_sessions "$n")" = 0 ] && break
				sleep 0.1
			done
			haproxy_cmd "set server mariadb/galera$n state maint" >/dev/null
		fi
		log "restarting Galera node $n"
		ctl stop "galera:galera$n" >/dev/null
		ctl start "galera:galera$n" >/dev/null
		wait_for "Galera node $n is not synced after its restart" \
		    "$WAIT_SECONDS" galera_synced "$n"
		if [ "$n" = "$w" ]; then
			haproxy_cmd "set weight mariadb/galera$n 100%" >/dev/null
			haproxy_cmd "set server mariadb/galera$n state ready" \
			    >/dev/null
		fi
	done
	return 0
}

case ${1:-} in
up) do_up ;;
stop-pg) ctl stop pg:* >/dev/null ;;
stop-galera) for n in 3 2 1; do ctl stop "galera:galera$n" >/dev/null; done ;;
galera-rolling) do_galera_rolling ;;
down) do_down ;;
status) do_status ;;
ctl) shift; ctl "$@" ;;
pg-leader) pg_leader ;;
galera-writer) galera_writer ;;
*) sed -n '2,20p' "$0" >&2; exit 2 ;;
esac
