#!/usr/bin/env bash
# tests/stack.sh: the local stack ("embedded default"), private to the checkout.
#
#   tests/stack.sh deps             install the Debian packages the project needs
#   tests/stack.sh up               start everything in the background (idempotent)
#   tests/stack.sh down             stop everything up started (idempotent)
#   tests/stack.sh run              up with supervisord in the foreground; Ctrl-C
#                                   or SIGTERM stops everything
#   tests/stack.sh status           what runs (supervisorctl status), what answers
#   tests/stack.sh ctl ARGS         supervisorctl for this stack: ctl stop blog:blog-1,
#                                   ctl start blog:*, ctl pid nginx
#   tests/stack.sh restart blog|pay|nginx
#                                   migrate and restart one service's replicas one
#                                   at a time (blog, pay), or reload nginx
#   tests/stack.sh restart-rolling  migrate, then restart every replica one at a time
#   tests/stack.sh db-stop pg|mariadb
#   tests/stack.sh db-start pg|mariadb
#                                   stop or start one database only, leaving the
#                                   replicas and nginx running (outage drills)
#
# Every process is a program of one supervisord (Debian's supervisor,
# var/supervisor/supervisord.conf): mariadb, postgresql (or with STACK_DB=ha
# the programs of tests/ha/hadb.sh), the groups blog (blog-1..) and pay
# (pay-1..), nginx. This script provisions and says what to start when.
# Everything lives under var/ (git-ignored): MariaDB on 127.0.0.1:3307, PostgreSQL
# on 127.0.0.1:5433, REPLICAS (default 2) of build/$VARIANT/blog-fcgi and pay-fcgi
# on unix sockets (or TCP 9001.., 9101.. with STACK_TRANSPORT=tcp), nginx on
# 127.0.0.1:8080. The system's own database and nginx services are never used.
#
# Settings (environment): VARIANT (release), REPLICAS (2), STACK_TRANSPORT
# (unix|tcp), STACK_DB (single|ha), STACK_WAIT_SECONDS (30),
# SHUTDOWN_GRACE_SECONDS (10), LOG_LEVEL,
# WORKERS, STACK_VAR (var/), STACK_PORT_OFFSET (0; added to every port).
# The edge (nginx): EDGE_RATE_AUTH (50r/s) and
# EDGE_BURST_AUTH (200) for login and register, EDGE_RATE_MONEY (500r/s) and
# EDGE_BURST_MONEY (1000) for payments, deposits and refunds, per client
# address; EDGE_CORS_ORIGINS (space-separated origins allowed to call the
# APIs from a browser); EDGE_TRUSTED_PROXIES (space-separated addresses or
# CIDRs whose X-Forwarded-For names the client; none by default). The script never builds: make does.
set -euo pipefail

# Debian packages for building, testing and running the stack. "a|b" means
# either is enough (postgresql-client is a metapackage that a server-only
# install does without); the first one is what gets installed.
PACKAGES="build-essential pkg-config libfcgi-dev libfcgi-bin libjansson-dev
libjwt-dev libsodium-dev libmariadb-dev libpq-dev libssl-dev libcmocka-dev
mariadb-server mariadb-client postgresql postgresql-client|postgresql-client-15
nginx-light openssl python3 python3-pytest python3-requests python3-jwt python3-cryptography valgrind cppcheck
clang-tidy clang-format clang libclang-rt-14-dev wrk libmicrohttpd-dev libicu-dev libcurl4-openssl-dev curl procps iproute2 util-linux
podman runc netavark aardvark-dns iptables mmdebstrap python3-yaml systemd
nodejs chromium fonts-wqy-microhei
patroni etcd-server galera-4 haproxy supervisor rsync socat lsof linux-perf"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
# The edge settings' checks and the CORS and real-IP lines, shared with the
# Kubernetes image's renderer (k8s/edge/render-nginx.sh).
. "$ROOT/nginx/edge-settings.sh"
VAR=$(realpath -m "${STACK_VAR:-$ROOT/var}")
VARIANT=${VARIANT:-release}
BUILD=$ROOT/build/$VARIANT
REPLICAS=${REPLICAS:-2}
TRANSPORT=${STACK_TRANSPORT:-unix}
# The data tier: single (one MariaDB, one PostgreSQL) or ha (Patroni x3 with
# synchronous replication, Galera x3 behind HAProxy: tests/ha/hadb.sh).
# Unset, it is whatever the running stack uses (var/run/stack-db).
STACK_DB=${STACK_DB:-$(cat "$VAR/run/stack-db" 2>/dev/null || echo single)}
HADB=$ROOT/tests/ha/hadb.sh
WAIT_SECONDS=${STACK_WAIT_SECONDS:-30}
GRACE=${SHUTDOWN_GRACE_SECONDS:-10}

# STACK_PORT_OFFSET moves every port of the stack at once, so that two
# checkouts (worktrees) can each run a stack on one machine.
PORT_OFFSET=${STACK_PORT_OFFSET:-0}
[[ $PORT_OFFSET =~ ^[0-9]+$ ]] && [ "$PORT_OFFSET" -le 50000 ] || {
	printf 'stack: error: STACK_PORT_OFFSET must be a number from 0 to 50000\n' >&2
	exit 1
}
HTTP_ADDR=127.0.0.1:$((8080 + PORT_OFFSET))
MYSQL_PORT=$((3307 + PORT_OFFSET))
PG_PORT=$((5433 + PORT_OFFSET))
BLOG_TCP_BASE=$((9000 + PORT_OFFSET))	# replica N listens on BASE+N
PAY_TCP_BASE=$((9100 + PORT_OFFSET))
BLOG_ADMIN_BASE=$((9200 + PORT_OFFSET))
PAY_ADMIN_BASE=$((9300 + PORT_OFFSET))
# nginx takes a replica out for this long after one failed connect. Short,
# because when every replica of a service is out nginx answers 502 without
# trying any until the first one's time is over.
FAIL_TIMEOUT=2
# Rate limits at the edge, per client address. Generous: every test suite
# runs from 127.0.0.1 and registers users and makes payments as fast as it
# can (measured peaks: ~35 registrations/s, ~520 payments/s).
EDGE_RATE_AUTH=${EDGE_RATE_AUTH:-50r/s}
EDGE_BURST_AUTH=${EDGE_BURST_AUTH:-200}
EDGE_RATE_MONEY=${EDGE_RATE_MONEY:-500r/s}
EDGE_BURST_MONEY=${EDGE_BURST_MONEY:-1000}
EDGE_MICROCACHE_TTL=${EDGE_MICROCACHE_TTL:-0}
# Proxies in front of the edge whose X-Forwarded-For is believed
# (space-separated addresses or CIDRs); none by default.
EDGE_TRUSTED_PROXIES=${EDGE_TRUSTED_PROXIES:-}
EDGE_CORS_ORIGINS=${EDGE_CORS_ORIGINS-http://localhost:3000 http://127.0.0.1:3000 http://localhost:4200 http://localhost:5173}

RUN=$VAR/run
LOG=$VAR/log
SECRETS=$VAR/secrets
KEYS=$VAR/keys
NGX=$VAR/nginx
MYSQL_DATA=$VAR/mysql
MYSQL_CNF=$VAR/my.cnf
MYSQL_SOCK=$RUN/mysqld.sock
PG_DATA=$VAR/pg
ME=$(id -un)
SUP_DIR=$VAR/supervisor
SUP_CONF=$SUP_DIR/supervisord.conf
SUP_SOCK=$RUN/supervisor.sock
SUP_CHANGED=	# set when sup_write_conf changed the configuration
SUP_FG=		# run: the pid of supervisord in our foreground
SUP_TAIL=	# run: the pid of the tail showing its log

log()
{
	printf 'stack: %s\n' "$*" >&2
}

die()
{
	printf 'stack: error: %s\n' "$*" >&2
	exit 1
}

is_root()
{
	[ "$(id -u)" = 0 ]
}

# Show the end of a log after a failure, so the cause is on the screen.
show_log()
{
	local f
	for f in "$@"; do
		[ -s "$f" ] || continue
		printf -- '--- last lines of %s ---\n' "$f" >&2
		tail -n 25 "$f" >&2
	done
}

# True when the process exists and is not a zombie (a killed server whose
# parent, often init here, has not reaped it yet holds nothing any more).
alive()
{
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}



# Processes whose working directory is dir: MariaDB and PostgreSQL chdir to
# their data directory, which finds them even when their pid file is gone.
procs_in()
{
	local dir=$1 p
	[ -d "$dir" ] || return 0
	for p in /proc/[0-9]*; do
		[ "$p/cwd" -ef "$dir" ] 2>/dev/null && echo "${p#/proc/}"
	done
	return 0
}

# Wait up to $2 seconds for pid $1 to exit.
wait_exit()
{
	local pid=$1 secs=$2 i
	for ((i = 0; i < secs * 10; i++)); do
		alive "$pid" || return 0
		sleep 0.1
	done
	return 1
}


lock()
{
	mkdir -p "$VAR"
	exec 9>"$VAR/.lock"
	flock -w 300 9 || die "another tests/stack.sh holds $VAR/.lock"
}

unlock()
{
	exec 9>&-
}

# ---------------------------------------------------------------- supervisor

# Every long-lived process of the stack is a program of one supervisord
# (Debian's supervisor): MariaDB, PostgreSQL (or the HA tier's etcd,
# Patroni, Galera and HAProxy), each replica and nginx. supervisord starts
# them, restarts one that dies, stops them in order (priority: nginx, then
# the replicas, then the databases) and knows their pids. This script only
# writes its configuration and says what to start when.
#
# supervisorctl -c var/supervisor/supervisord.conf (or tests/stack.sh ctl)
# is the tool for people; the script talks XML-RPC to the same socket with
# curl, because each supervisorctl run is a Python start-up (over a second
# on a busy machine) and up makes a dozen calls.

ctl()
{
	supervisorctl -c "$SUP_CONF" "$@"
}

# One XML-RPC call; each further argument is the inside of a <value>
# (<string>blog:blog-1</string>). Prints the answer on one line; fails on
# a fault or when supervisord does not answer.
rpc()
{
	local method=$1 body p out
	shift
	body="<?xml version='1.0'?><methodCall><methodName>$method</methodName><params>"
	for p in "$@"; do
		body+="<param><value>$p</value></param>"
	done
	body+="</params></methodCall>"
	[ -S "$SUP_SOCK" ] || return 1
	out=$(curl -sS --max-time "${RPC_TIMEOUT:-10}" --unix-socket "$SUP_SOCK" \
	    -H 'Content-Type: text/xml' --data-binary "$body" \
	    http://localhost/RPC2 2>/dev/null | tr -d '\n') || return 1
	printf '%s\n' "$out"
	[ -n "$out" ] && [[ $out != *'<fault>'* ]]
}

# The fault code of an rpc answer (60 already started, 70 not running).
rpc_fault()
{
	sed -n 's:.*<name>faultCode</name><value><int>\([0-9]*\)</int>.*:\1:p' <<<"$1"
}

sup_up()
{
	rpc supervisor.getPID >/dev/null
}

# "STATE PID" of one program (blog:blog-1, nginx, ...): RUNNING 4242,
# STOPPED 0, FATAL 0, ... Fails when supervisord does not know it.
sup_info()
{
	local out st pid
	out=$(rpc supervisor.getProcessInfo "<string>$1</string>") || return 1
	st=$(sed -n 's:.*<name>statename</name><value><string>\([A-Z]*\)</string>.*:\1:p' <<<"$out")
	pid=$(sed -n 's:.*<name>pid</name><value><int>\([0-9]*\)</int>.*:\1:p' <<<"$out")
	echo "${st:-UNKNOWN} ${pid:-0}"
}

# The pid of a program that runs (or starts); fails otherwise.
sup_pid()
{
	local st pid
	read -r st pid < <(sup_info "$1") || return 1
	case $st in
	RUNNING|STARTING|BACKOFF) [ "$pid" -gt 0 ] && echo "$pid" ;;
	*) return 1 ;;
	esac
}

# True while a program has not given up: FATAL (too many quick exits) and
# EXITED/STOPPED mean it is not coming up by itself.
sup_trying()
{
	local st pid
	read -r st pid < <(sup_info "$1") || return 1
	case $st in
	RUNNING|STARTING|BACKOFF) return 0 ;;
	*) return 1 ;;
	esac
}

# Start programs without waiting out their startsecs: callers check
# readiness themselves (a database answers, a replica serves FastCGI).
sup_start()
{
	local name out
	for name in "$@"; do
		out=$(rpc supervisor.startProcess "<string>$name</string>" \
		    "<boolean>0</boolean>") && continue
		[ "$(rpc_fault "$out")" = 60 ] && continue
		die "supervisord could not start $name (see $LOG/supervisord.log)"
	done
}

# Stop programs (or groups, "blog:*") and wait until they have exited:
# supervisord sends the program's stop signal and, past its stopwaitsecs,
# SIGKILL.
sup_stop()
{
	local name out
	for name in "$@"; do
		if [[ $name == *':*' ]]; then
			RPC_TIMEOUT=300 rpc supervisor.stopProcessGroup \
			    "<string>${name%:\*}</string>" "<boolean>1</boolean>" \
			    >/dev/null || true
			continue
		fi
		out=$(RPC_TIMEOUT=300 rpc supervisor.stopProcess \
		    "<string>$name</string>" "<boolean>1</boolean>") && continue
		case $(rpc_fault "$out") in
		70|10) ;;	# not running, or not configured
		*) log "supervisord could not stop $name" ;;
		esac
	done
}

# supervisord's own configuration, and the stack's programs in
# conf.d/stack.conf (tests/ha/hadb.sh adds conf.d/ha.conf). Written on
# every up; a running supervisord applies a change with `update`, which
# restarts the programs (groups) whose section changed.
sup_write_conf()
{
	local old new svc n names
	mkdir -p "$SUP_DIR/conf.d"
	old=$(cat "$SUP_CONF" "$SUP_DIR/conf.d/stack.conf" 2>/dev/null || true)
	{
		cat <<EOF
; Generated by tests/stack.sh.
[unix_http_server]
file = $SUP_SOCK
chmod = 0700

[supervisord]
pidfile = $RUN/supervisord.pid
logfile = $LOG/supervisord.log
childlogdir = $LOG
nodaemon = false
minfds = 8192
$(is_root && echo "user = root")

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl = unix://$SUP_SOCK

[include]
files = $SUP_DIR/conf.d/*.conf
EOF
	} >"$SUP_CONF.tmp"
	mv "$SUP_CONF.tmp" "$SUP_CONF"
	{
		echo "; Generated by tests/stack.sh: the stack's programs."
		if [ "$STACK_DB" = single ]; then
			cat <<EOF

[program:mariadb]
command = $(command -v mariadbd) --defaults-file=$MYSQL_CNF
priority = 100
autostart = false
autorestart = true
startsecs = 1
stopsignal = TERM
stopwaitsecs = 60
redirect_stderr = true
stdout_logfile = $LOG/mysqld.out
stdout_logfile_maxbytes = 0

[program:postgresql]
command = $PG_BIN/postgres -D $PG_DATA
$(is_root && echo "user = $PG_USER")
directory = /
priority = 100
autostart = false
autorestart = true
startsecs = 1
; SIGINT: PostgreSQL's fast shutdown.
stopsignal = INT
stopwaitsecs = 60
redirect_stderr = true
stdout_logfile = $LOG/postgresql.log
stdout_logfile_maxbytes = 0
EOF
		fi
		for svc in blog pay; do
			names=
			for ((n = 1; n <= REPLICAS; n++)); do
				names+=${names:+,}$svc-$n
				# env -i: the replica's environment is exactly
				# its .env file (replica_env), read at each start.
				# It appends its log (a line per request) to its
				# file itself: through supervisord, every line
				# would pass a Python process's pipe.
				cat <<EOF

[program:$svc-$n]
command = /usr/bin/env -i /bin/bash -c 'source $RUN/$svc-$n.env; exec "\$SVC_PROGRAM" >>$LOG/$svc-$n.log 2>&1'
directory = $VAR
priority = 800
autostart = false
autorestart = true
startsecs = 1
; SIGTERM drains (README "High availability"); past the grace, SIGKILL.
stopsignal = TERM
stopwaitsecs = $((GRACE + 5))
redirect_stderr = true
stdout_logfile = NONE
EOF
			done
			printf '\n[group:%s]\nprograms = %s\npriority = 800\n' \
			    "$svc" "$names"
		done
		cat <<EOF

[program:nginx]
command = $(command -v nginx) -p $NGX/ -e $LOG/nginx-error.log -c $NGX/nginx.conf -g 'daemon off;'
priority = 900
autostart = false
autorestart = true
startsecs = 1
; SIGQUIT: finish the requests in flight, then exit.
stopsignal = QUIT
stopwaitsecs = 10
killasgroup = true
redirect_stderr = true
stdout_logfile = $LOG/nginx.out
stdout_logfile_maxbytes = 0
EOF
	} >"$SUP_DIR/conf.d/stack.conf.tmp"
	mv "$SUP_DIR/conf.d/stack.conf.tmp" "$SUP_DIR/conf.d/stack.conf"
	# The other topology's programs are not this stack's.
	[ "$STACK_DB" = ha ] || rm -f "$SUP_DIR/conf.d/ha.conf"
	new=$(cat "$SUP_CONF" "$SUP_DIR/conf.d/stack.conf")
	[ "$old" = "$new" ] || SUP_CHANGED=1
}

# Start supervisord, or have a running one pick up a changed
# configuration. "fg": in the foreground of this script (run), as its
# child, so that the terminal's Ctrl-C reaches it too. It never writes to
# our output (-s, and its output to a file): after Ctrl-C that output may
# be a closed pipe, and a failed write must not end it halfway through
# stopping everything.
sup_launch()
{
	local i
	if sup_up; then
		if [ -n "$SUP_CHANGED" ]; then
			log "applying a changed supervisor configuration"
			ctl update >"$LOG/supervisorctl.log" 2>&1 || {
				show_log "$LOG/supervisorctl.log"
				die "supervisorctl update failed"
			}
		fi
		return 0
	fi
	leftovers_stop
	rm -f "$SUP_SOCK"
	if [ "${1:-}" = fg ]; then
		supervisord -n -s -c "$SUP_CONF" </dev/null \
		    >>"$LOG/supervisord.out" 2>&1 9>&- &
		SUP_FG=$!
	else
		supervisord -c "$SUP_CONF" </dev/null >>"$LOG/supervisord.out" \
		    2>&1 9>&- || {
			show_log "$LOG/supervisord.out" "$LOG/supervisord.log"
			die "supervisord did not start"
		}
	fi
	for ((i = 0; i < WAIT_SECONDS * 10; i++)); do
		sup_up && return 0
		if [ -n "$SUP_FG" ] && ! kill -0 "$SUP_FG" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	show_log "$LOG/supervisord.out" "$LOG/supervisord.log"
	die "supervisord does not answer on $SUP_SOCK"
}

# Stop supervisord and everything it runs, and wait until it is gone.
sup_shutdown()
{
	local pid
	sup_up || return 0
	read -r pid <"$RUN/supervisord.pid" 2>/dev/null || pid=
	rpc supervisor.shutdown >/dev/null || true
	[ -n "$pid" ] || return 0
	wait_exit "$pid" $((GRACE + 120)) ||
	    log "supervisord (pid $pid) is still stopping its programs"
}

# With no supervisord running, anything still holding the stack's ports
# or data directories is a leftover (a supervisord that was SIGKILLed, or
# the stack before it ran under supervisor): stopped, so that the programs
# can start.
leftovers_stop()
{
	local p port comm pids pid
	for p in $(procs_in "$MYSQL_DATA") $(procs_in "$PG_DATA"); do
		comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
		case $comm in
		mariadbd|postgres) ;;
		*) continue ;;
		esac
		log "stopping a leftover $comm (pid $p)"
		kill -TERM "$p" 2>/dev/null || true
		wait_exit "$p" 30 || kill -KILL "$p" 2>/dev/null || true
	done
	for ((p = 1; p <= 99; p++)); do
		for port in $((BLOG_ADMIN_BASE + p)) $((PAY_ADMIN_BASE + p)); do
			pids=$(ss -Hltnp "sport = :$port" 2>/dev/null |
			    grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u) || true
			for pid in $pids; do
				comm=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
				case $comm in
				blog-fcgi|pay-fcgi) ;;
				*) continue ;;
				esac
				# Ours only: its environment names our var/.
				tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null |
				    grep -qxF "JWT_PUBLIC_KEY_FILE=$KEYS/jwt-public.pem" ||
				    continue
				log "stopping a leftover $comm (pid $pid)"
				kill -KILL "$pid" 2>/dev/null || true
				wait_exit "$pid" 5 || true
			done
		done
		[ -e "$RUN/blog-$p.admin" ] || [ -e "$RUN/pay-$p.admin" ] ||
		    [ "$p" -le "$REPLICAS" ] || break
	done
	nginx_orphans_stop
}

# ---------------------------------------------------------------- deps

pkg_installed()
{
	local s
	s=$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null) || return 1
	[[ $s == ?i* ]]
}

do_deps()
{
	local spec p ok missing=() alts
	for spec in $PACKAGES; do
		ok=0
		IFS='|' read -ra alts <<<"$spec"
		for p in "${alts[@]}"; do
			if pkg_installed "$p"; then
				ok=1
				break
			fi
		done
		[ "$ok" = 1 ] || missing+=("${alts[0]}")
	done
	if [ "${#missing[@]}" = 0 ]; then
		log "all packages are installed"
		return 0
	fi
	if ! is_root; then
		log "missing packages: ${missing[*]}"
		echo "sudo sh -c 'apt-get update && DEBIAN_FRONTEND=noninteractive" \
		    "apt-get install -y --no-install-recommends ${missing[*]}'"
		exit 1
	fi
	log "installing: ${missing[*]}"
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y \
	    --no-install-recommends "${missing[@]}"
}

# ---------------------------------------------------------------- checks

check_settings()
{
	[[ $REPLICAS =~ ^[1-9][0-9]?$ ]] ||
	    die "REPLICAS must be a number from 1 to 99, not '$REPLICAS'"
	[[ $GRACE =~ ^[0-9]+$ ]] ||
	    die "SHUTDOWN_GRACE_SECONDS must be a number, not '$GRACE'"
	[[ $WAIT_SECONDS =~ ^[1-9][0-9]*$ ]] ||
	    die "STACK_WAIT_SECONDS must be a positive number"
	case $STACK_DB in
	single|ha) ;;
	*) die "STACK_DB must be single or ha, not '$STACK_DB'" ;;
	esac
	case $TRANSPORT in
	unix|tcp) ;;
	*) die "STACK_TRANSPORT must be unix or tcp, not '$TRANSPORT'" ;;
	esac
	case $VAR in
	*[[:space:]\'\"%]*)
		die "the path $VAR contains a space, a quote or %; use STACK_VAR" ;;
	esac
	check_edge_settings
	# sun_path holds 107 bytes; PostgreSQL's name is the longest.
	[ "${#RUN}" -le 90 ] ||
	    die "$RUN is too long for unix sockets; set STACK_VAR to a shorter path"
}

check_edge_settings()
{
	local why
	why=$(edge_settings_check) || die "$why"
	[[ $EDGE_MICROCACHE_TTL =~ ^[0-9]{1,4}$ ]] ||
	    die "EDGE_MICROCACHE_TTL must be seconds (0 = off), not '$EDGE_MICROCACHE_TTL'"
}

check_tools()
{
	local t
	for t in mariadbd mariadb-install-db mariadb mariadb-admin nginx openssl \
	    curl cgi-fcgi flock runuser ss timeout realpath supervisord \
	    supervisorctl; do
		command -v "$t" >/dev/null ||
		    die "$t not found; run tests/stack.sh deps (or make deps)"
	done
	pg_bindir
}

check_binaries()
{
	local b
	for b in blog-fcgi pay-fcgi; do
		if [ -d "$BUILD/$b" ]; then
			die "$BUILD/$b is a folder, not the program; build it first (make)"
		fi
		if [ ! -f "$BUILD/$b" ] || [ ! -x "$BUILD/$b" ]; then
			die "$BUILD/$b not found; build it first (make)"
		fi
	done
	[ -f "$ROOT/build/site/index.html" ] ||
	    die "$ROOT/build/site/index.html not found; build the web site first (make site)"
}

# PostgreSQL's server programs are not on PATH on Debian. An existing data
# directory pins the major version it was made with.
PG_BIN=
pg_bindir()
{
	local d v
	[ -n "$PG_BIN" ] && return 0
	if [ -s "$PG_DATA/PG_VERSION" ]; then
		v=$(cat "$PG_DATA/PG_VERSION")
		d=/usr/lib/postgresql/$v/bin
		[ -x "$d/pg_ctl" ] ||
		    die "$PG_DATA was made by PostgreSQL $v, whose server is not installed"
		PG_BIN=$d
		return 0
	fi
	d=$(pg_config --bindir 2>/dev/null || true)
	if [ -z "$d" ] || [ ! -x "$d/pg_ctl" ]; then
		d=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
	fi
	if [ -z "$d" ] || [ ! -x "$d/pg_ctl" ]; then
		die "PostgreSQL server programs not found; run tests/stack.sh deps"
	fi
	PG_BIN=$d
}

# PostgreSQL refuses to run as root: as root it runs as the postgres system
# user (the postgresql package creates it), otherwise as the caller.
PG_USER=
PG_RUN=()
pg_user()
{
	if is_root; then
		id postgres >/dev/null 2>&1 ||
		    die "no 'postgres' system user; install postgresql (tests/stack.sh deps)"
		PG_USER=postgres
		PG_RUN=(runuser -u postgres --)
	else
		PG_USER=$ME
		PG_RUN=()
	fi
}

pg_as()
{
	(cd / && "${PG_RUN[@]}" "$@")
}

# The postgres user must reach var/ through every parent folder (a checkout
# under /root is not reachable by default). Only the search bit is added.
pg_reachable()
{
	local d
	is_root || return 0
	runuser -u postgres -- test -x "$VAR" 2>/dev/null && return 0
	d=$VAR
	while [ "$d" != / ]; do
		if [ -d "$d" ] && ! runuser -u postgres -- test -x "$d" 2>/dev/null; then
			log "adding o+x to $d so that the postgres user can reach $VAR"
			chmod o+x "$d"
		fi
		d=$(dirname "$d")
	done
	runuser -u postgres -- test -x "$VAR" ||
	    die "the postgres user cannot reach $VAR"
}

# ---------------------------------------------------------------- var/

make_dirs()
{
	mkdir -p "$RUN" "$LOG" "$SECRETS" "$KEYS" "$NGX/tmp"
	chmod 700 "$SECRETS"
	chmod 755 "$VAR" "$RUN" "$LOG" "$KEYS"
	if is_root; then
		# PostgreSQL (as postgres) puts its socket and lock file here.
		chgrp "$(id -gn postgres)" "$RUN"
		chmod 775 "$RUN"
	fi
}

# Random passwords, made once and kept: the databases keep them too.
make_secret()
{
	local f=$SECRETS/$1.password
	[ -s "$f" ] && return 0
	(umask 077 && openssl rand -hex 24 >"$f.tmp") && mv "$f.tmp" "$f"
}

make_secrets()
{
	local u
	for u in blog_owner blog_app pay_owner pay_app; do
		make_secret "$u"
	done
	# libpq connection strings for pay-fcgi (PAY_DB_URL_FILE), over the
	# unix socket; written every time so they follow the settings above.
	for u in pay_owner pay_app; do
		if [ "$STACK_DB" = ha ]; then
			# Every Patroni member; libpq takes the first that accepts
			# writes, so a new connection finds the leader wherever it
			# is. connect_timeout bounds a frozen member.
			(umask 077 && printf 'host=127.0.0.1,127.0.0.1,127.0.0.1 port=%s,%s,%s dbname=pay user=%s password=%s target_session_attrs=read-write connect_timeout=2\n' \
			    $((9431 + PORT_OFFSET)) $((9432 + PORT_OFFSET)) \
			    $((9433 + PORT_OFFSET)) "$u" \
			    "$(cat "$SECRETS/$u.password")" >"$SECRETS/$u.url.tmp")
		else
			(umask 077 && printf 'host=%s port=%s dbname=pay user=%s password=%s\n' \
			    "$RUN" "$PG_PORT" "$u" "$(cat "$SECRETS/$u.password")" \
			    >"$SECRETS/$u.url.tmp")
		fi && mv "$SECRETS/$u.url.tmp" "$SECRETS/$u.url"
	done
}

# The JWT signing key pair (ES256): the private key only blog-fcgi reads,
# the public one both services read.
make_keys()
{
	local priv=$KEYS/jwt-private.pem pub=$KEYS/jwt-public.pem
	if [ ! -s "$priv" ]; then
		log "generating the JWT key pair (EC P-256) in $KEYS"
		(umask 077 && openssl genpkey -algorithm EC \
		    -pkeyopt ec_paramgen_curve:P-256 -out "$priv.tmp" 2>/dev/null) ||
		    die "openssl could not generate $priv"
		mv "$priv.tmp" "$priv"
		rm -f "$pub"
	fi
	if [ ! -s "$pub" ]; then
		openssl pkey -in "$priv" -pubout -out "$pub.tmp" 2>/dev/null ||
		    die "openssl could not derive $pub"
		chmod 644 "$pub.tmp"
		mv "$pub.tmp" "$pub"
	fi
}

# A private CA and a certificate for the local MariaDB (127.0.0.1 only), made
# once: the replicas use the unix socket, but blog-fcgi's BLOG_DB_TLS is
# tested against this server over TCP (tests/api/test_blog_db_tls.py).
TLS=$VAR/tls

make_tls()
{
	local d=$TLS
	[ -s "$d/server.pem" ] && [ -s "$d/ca.pem" ] && return 0
	mkdir -p "$d"
	(
		set -e
		umask 077
		cd "$d"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -days 3650 -subj /CN=conduit-local-ca \
		    -keyout ca.key -out ca.pem.tmp
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		    -subj /CN=127.0.0.1 -keyout server.key -out server.csr
		printf 'subjectAltName=IP:127.0.0.1\n' >server.ext
		openssl x509 -req -in server.csr -CA ca.pem.tmp -CAkey ca.key \
		    -CAcreateserial -days 3650 -extfile server.ext \
		    -out server.pem.tmp
		chmod 644 ca.pem.tmp server.pem.tmp
		mv ca.pem.tmp ca.pem
		mv server.pem.tmp server.pem
	) >"$LOG/tls.log" 2>&1 || {
		show_log "$LOG/tls.log"
		die "openssl could not make the local MariaDB's certificate"
	}
}

# ---------------------------------------------------------------- MariaDB

write_my_cnf()
{
	cat >"$MYSQL_CNF.tmp" <<EOF
# Generated by tests/stack.sh; the system's my.cnf is never read.
[client]
port = $MYSQL_PORT
socket = $MYSQL_SOCK

[mysqld]
user = $ME
datadir = $MYSQL_DATA
port = $MYSQL_PORT
bind-address = 127.0.0.1
socket = $MYSQL_SOCK
pid-file = $RUN/mysqld.pid
log-error = $LOG/mysqld.log
# Temporary tables of long statements (the bench's x50 seed) under var/,
# not /tmp, where anything that cleans /tmp could delete them mid-statement.
tmpdir = $RUN
skip-name-resolve
skip-log-bin
character-set-server = utf8mb4
collation-server = utf8mb4_unicode_ci
max_connections = 400
innodb_buffer_pool_size = 128M
ssl-ca = $TLS/ca.pem
ssl-cert = $TLS/server.pem
ssl-key = $TLS/server.key
EOF
	mv "$MYSQL_CNF.tmp" "$MYSQL_CNF"
}

mysql_admin()
{
	if [ "$STACK_DB" = ha ]; then
		# Any synced Galera node: users and schema replicate.
		mariadb --defaults-file="$VAR/ha/galera$(ha_galera_node).cnf" -u "$ME"
		return
	fi
	mariadb --defaults-file="$MYSQL_CNF" -u "$ME"
}

# The first Galera node that answers (HA topology).
ha_galera_node()
{
	local n
	for n in 1 2 3; do
		mariadb --defaults-file="$VAR/ha/galera$n.cnf" -u "$ME" \
		    --connect-timeout=1 -e 'SELECT 1' >/dev/null 2>&1 &&
		    { echo "$n"; return 0; }
	done
	echo 1
}

mysql_init()
{
	[ -f "$VAR/mysql.ready" ] && return 0
	# A data directory without the marker is a first start that did not
	# finish: start over.
	rm -rf "$MYSQL_DATA"
	mkdir -p "$MYSQL_DATA"
	log "creating the MariaDB data directory $MYSQL_DATA"
	# Root logs in through the unix socket as the OS user running this
	# script; no root password exists anywhere.
	mariadb-install-db --defaults-file="$MYSQL_CNF" \
	    --auth-root-authentication-method=socket \
	    --auth-root-socket-user="$ME" --skip-test-db \
	    >"$LOG/mysql-install.log" 2>&1 || {
		show_log "$LOG/mysql-install.log"
		die "mariadb-install-db failed"
	}
	touch "$VAR/mysql.ready"
}

mysql_start()
{
	sup_trying mariadb && return 0
	# A socket and its lock left by a killed server.
	rm -f "$MYSQL_SOCK" "$MYSQL_SOCK.lock"
	log "starting MariaDB on 127.0.0.1:$MYSQL_PORT"
	sup_start mariadb
}

mysql_wait()
{
	local i
	for ((i = 0; i < WAIT_SECONDS * 10; i++)); do
		if [ -S "$MYSQL_SOCK" ] && mariadb-admin --defaults-file="$MYSQL_CNF" \
		    -u "$ME" --connect-timeout=1 ping >/dev/null 2>&1; then
			return 0
		fi
		sup_trying mariadb || {
			show_log "$LOG/mysqld.log" "$LOG/mysqld.out"
			die "MariaDB exited at start"
		}
		sleep 0.1
	done
	show_log "$LOG/mysqld.log"
	die "MariaDB did not answer within ${WAIT_SECONDS}s"
}

# Database and users: blog_owner runs the migrations, blog_app serves. Run on
# every start: cheap, and it repairs a half-made setup. Passwords go on stdin, not on a command line.
mysql_setup()
{
	local owner app h
	owner=$(cat "$SECRETS/blog_owner.password")
	app=$(cat "$SECRETS/blog_app.password")
	{
		echo "CREATE DATABASE IF NOT EXISTS blog"
		echo "    CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
		for h in localhost 127.0.0.1; do
			echo "CREATE USER IF NOT EXISTS 'blog_owner'@'$h' IDENTIFIED BY '$owner';"
			echo "ALTER USER 'blog_owner'@'$h' IDENTIFIED BY '$owner';"
			echo "GRANT ALL PRIVILEGES ON blog.* TO 'blog_owner'@'$h';"
			echo "CREATE USER IF NOT EXISTS 'blog_app'@'$h' IDENTIFIED BY '$app';"
			echo "ALTER USER 'blog_app'@'$h' IDENTIFIED BY '$app';"
			echo "GRANT SELECT, INSERT, UPDATE, DELETE, EXECUTE ON blog.* TO 'blog_app'@'$h';"
		done
	} | mysql_admin >"$LOG/mysql-setup.log" 2>&1 || {
		show_log "$LOG/mysql-setup.log"
		die "could not create the blog database and users in MariaDB"
	}
}

mysql_stop()
{
	sup_info mariadb >/dev/null 2>&1 || return 0
	log "stopping MariaDB"
	# SIGTERM is MariaDB's clean shutdown; it needs no login.
	sup_stop mariadb
}

# ---------------------------------------------------------------- PostgreSQL

pg_init()
{
	[ -f "$VAR/pg.ready" ] && return 0
	rm -rf "$PG_DATA"
	mkdir -p "$PG_DATA"
	chmod 700 "$PG_DATA"
	is_root && chown "$PG_USER:" "$PG_DATA"
	log "creating the PostgreSQL data directory $PG_DATA"
	pg_as "$PG_BIN/initdb" -D "$PG_DATA" -U "$PG_USER" -E UTF8 \
	    --locale=C.UTF-8 --auth-local=peer --auth-host=scram-sha-256 \
	    --no-sync >"$LOG/pg-initdb.log" 2>&1 || {
		show_log "$LOG/pg-initdb.log"
		die "initdb failed"
	}
	# The superuser logs in through the socket as its own OS user (peer);
	# everyone else with a password.
	cat >"$PG_DATA/pg_hba.conf" <<EOF
# Generated by tests/stack.sh.
local	all	$PG_USER			peer
local	all	all				scram-sha-256
host	all	all	127.0.0.1/32		scram-sha-256
host	all	all	::1/128			scram-sha-256
EOF
	echo "include_if_exists = 'stack.conf'" >>"$PG_DATA/postgresql.conf"
	is_root && chown "$PG_USER:" "$PG_DATA/pg_hba.conf"
	touch "$VAR/pg.ready"
}

pg_write_conf()
{
	cat >"$PG_DATA/stack.conf" <<EOF
# Generated by tests/stack.sh on every start.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$RUN'
max_connections = 300
shared_buffers = 128MB
# Checkpoints every 30 min, or past ~2 GB of WAL (max_wal_size / (1 +
# checkpoint_completion_target)), instead of 5 min / ~0.5 GB: the first
# change to a page after a checkpoint writes the whole page to the WAL,
# and a payment then flushed 8-10 KB of WAL before its commit returned
# instead of ~3 KB (1.1-1.4 full-page images per payment against 0.05;
# pg_stat_wal, README "Payments' open-loop tail"). make bench's payments
# and pgbench reference wrote ~0.5 GB, which started a checkpoint between
# the payments' closed- and open-loop points. Crash recovery replays at
# most that much WAL.
checkpoint_timeout = 30min
max_wal_size = 4GB
# An autovacuum or autoanalyze that takes a while shows in the log, to line
# a latency tail up with it (checkpoints are logged by default).
log_autovacuum_min_duration = 250ms
EOF
	is_root && chown "$PG_USER:" "$PG_DATA/stack.conf"
	return 0
}


pg_start()
{
	sup_trying postgresql && return 0
	if is_root; then
		touch "$LOG/postgresql.log"
		chown "$PG_USER:" "$LOG/postgresql.log"
	fi
	log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
	# After a SIGKILL the old server's children hold its shared memory for
	# a moment and PostgreSQL refuses to start: supervisord tries again
	# (startretries, with a growing delay).
	sup_start postgresql
}

pg_wait()
{
	local i
	for ((i = 0; i < WAIT_SECONDS * 10; i++)); do
		if "$PG_BIN/pg_isready" -q -h "$RUN" -p "$PG_PORT" -t 1; then
			return 0
		fi
		sup_trying postgresql || {
			show_log "$LOG/postgresql.log"
			die "PostgreSQL exited at start"
		}
		sleep 0.1
	done
	show_log "$LOG/postgresql.log"
	die "PostgreSQL did not answer within ${WAIT_SECONDS}s"
}

pg_admin()
{
	local m
	if [ "$STACK_DB" = ha ]; then
		# The Patroni leader, through its socket, as postgres (peer).
		m=$("$HADB" pg-leader) || die "no PostgreSQL leader"
		m=${m#pg}
		pg_as "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 \
		    -h "$VAR/ha/pg$m.run" -p $((9430 + PORT_OFFSET + m)) \
		    -U postgres "$@"
		return
	fi
	pg_as "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$RUN" -p "$PG_PORT" \
	    -U "$PG_USER" "$@"
}

# Roles and database: pay owned by pay_owner, pay_app
# may only connect; pay's migrations grant it the rest.
pg_setup()
{
	pg_admin -d postgres >"$LOG/pg-setup.log" 2>&1 <<EOF || {
\set owner_pw '$(cat "$SECRETS/pay_owner.password")'
\set app_pw '$(cat "$SECRETS/pay_app.password")'
SELECT 'CREATE ROLE pay_owner' WHERE NOT EXISTS
    (SELECT 1 FROM pg_roles WHERE rolname = 'pay_owner')
\gexec
SELECT 'CREATE ROLE pay_app' WHERE NOT EXISTS
    (SELECT 1 FROM pg_roles WHERE rolname = 'pay_app')
\gexec
ALTER ROLE pay_owner WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
    PASSWORD :'owner_pw';
ALTER ROLE pay_app WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
    PASSWORD :'app_pw';
SELECT 'CREATE DATABASE pay OWNER pay_owner ENCODING ''UTF8''
    TEMPLATE template0' WHERE NOT EXISTS
    (SELECT 1 FROM pg_database WHERE datname = 'pay')
\gexec
REVOKE ALL ON DATABASE pay FROM PUBLIC;
GRANT CONNECT ON DATABASE pay TO pay_app;
EOF
		show_log "$LOG/pg-setup.log"
		die "could not create the pay database and roles in PostgreSQL"
	}
}

pg_stop()
{
	sup_info postgresql >/dev/null 2>&1 || return 0
	log "stopping PostgreSQL"
	# SIGINT (the program's stopsignal): PostgreSQL's fast shutdown.
	sup_stop postgresql
}

# ---------------------------------------------------------------- replicas

replica_listen()
{
	local svc=$1 n=$2
	if [ "$TRANSPORT" = tcp ]; then
		if [ "$svc" = blog ]; then
			echo "127.0.0.1:$((BLOG_TCP_BASE + n))"
		else
			echo "127.0.0.1:$((PAY_TCP_BASE + n))"
		fi
	else
		echo "$RUN/$svc-$n.sock"
	fi
}

# The environment of the service (DESIGN.md's configuration section).
# A variable and its _FILE twin together are an error for the services, so
# the inherited plain ones are dropped.
service_env()
{
	local svc=$1 role=$2
	SVC_ENV=(MAX_BODY_BYTES=1048576
	    LOG_LEVEL="${LOG_LEVEL:-info}"
	    SHUTDOWN_GRACE_SECONDS="$GRACE"
	    JWT_PUBLIC_KEY_FILE="$KEYS/jwt-public.pem"
	    JWT_ISSUER="${JWT_ISSUER:-conduit}"
	    JWT_AUDIENCE="${JWT_AUDIENCE:-conduit}")
	[ -n "${WORKERS:-}" ] && SVC_ENV+=(WORKERS="$WORKERS")
	if [ "$svc" = blog ]; then
		SVC_ENV+=(BLOG_DB_HOST=127.0.0.1 BLOG_DB_PORT="$MYSQL_PORT"
		    BLOG_DB_NAME=blog
		    BLOG_DB_USER="blog_$role"
		    BLOG_DB_PASSWORD_FILE="$SECRETS/blog_$role.password"
		    JWT_PRIVATE_KEY_FILE="$KEYS/jwt-private.pem")
		# HA: TCP through HAProxy, which follows the Galera writer.
		[ "$STACK_DB" = single ] && SVC_ENV+=(BLOG_DB_SOCKET="$MYSQL_SOCK")
		[ -n "${JWT_TTL_SECONDS:-}" ] &&
		    SVC_ENV+=(JWT_TTL_SECONDS="$JWT_TTL_SECONDS")
		# Generous, like the edge's rate limits: the suites register
		# 20 users at once and memory is plentiful here; 8 hashes of
		# 64 MiB. tests/api/test_password_budget.py runs its own
		# replica at the default budget (128).
		SVC_ENV+=(PASSWORD_HASH_MEMORY_BUDGET_MIB="${PASSWORD_HASH_MEMORY_BUDGET_MIB:-512}")
		# Identity events go to every pay replica's admin port
		# (pay's internal route, which nginx does not proxy).
		local urls="" i
		for ((i = 1; i <= REPLICAS; i++)); do
			urls+="${urls:+ }http://127.0.0.1:$((PAY_ADMIN_BASE + i))/internal/identity"
		done
		SVC_ENV+=(BLOG_IDENTITY_URLS="$urls")
	else
		SVC_ENV+=(PAY_DB_URL_FILE="$SECRETS/pay_$role.url"
		    PAY_SANDBOX="${PAY_SANDBOX:-1}")
		[ -n "${PAY_IDEMPOTENCY_TTL_HOURS:-}" ] &&
		    SVC_ENV+=(PAY_IDEMPOTENCY_TTL_HOURS="$PAY_IDEMPOTENCY_TTL_HOURS")
		[ -n "${PAY_MAX_DEPOSIT:-}" ] &&
		    SVC_ENV+=(PAY_MAX_DEPOSIT="$PAY_MAX_DEPOSIT")
	fi
	return 0
}

# Migrations run with the owner's credentials, before any replica starts.
migrate()
{
	local svc=$1 t0 t1
	service_env "$svc" owner
	t0=$(date +%s%N)
	env -u BLOG_DB_PASSWORD -u PAY_DB_URL "${SVC_ENV[@]}" \
	    timeout 120 "$BUILD/$svc-fcgi" --migrate \
	    </dev/null >>"$LOG/$svc-migrate.log" 2>&1 9>&- || {
		show_log "$LOG/$svc-migrate.log"
		die "$svc-fcgi --migrate failed"
	}
	t1=$(date +%s%N)
	log "$svc migrations applied ($(((t1 - t0) / 1000000)) ms)"
}

# A replica is up when it serves FastCGI (GET /healthz on its socket, as
# nginx would ask) and its admin port says it is the process we started:
# the pid is only on the admin port, never in a public answer.
replica_probe()
{
	local svc=$1 n=$2 pid=$3 out admin
	out=$(env -i REQUEST_METHOD=GET DOCUMENT_URI=/healthz \
	    REQUEST_URI=/healthz QUERY_STRING= CONTENT_LENGTH=0 \
	    SERVER_PROTOCOL=HTTP/1.1 REMOTE_ADDR=127.0.0.1 \
	    REQUEST_ID="stack-probe-$svc-$n" \
	    timeout 2 cgi-fcgi -bind -connect "$(replica_listen "$svc" "$n")" \
	    2>/dev/null) || return 1
	[[ $out =~ \"status\"[[:space:]]*:[[:space:]]*\"ok\" ]] || return 1
	admin=$(cat "$RUN/$svc-$n.admin" 2>/dev/null) || return 1
	out=$(curl -fsS --max-time 2 "http://$admin/healthz" 2>/dev/null) ||
	    return 1
	[[ $out =~ \"pid\"[[:space:]]*:[[:space:]]*$pid([^0-9]|$) ]]
}

# What supervisord runs for replica $1-$2 (its program's command sources
# this file): the environment of this script (minus the plain secrets the
# _FILE twins replace), the service's settings, its addresses and its
# binary. Written at each (re)start by this script, so a replica started
# again, also by supervisord after a crash, gets the current settings.
replica_env()
{
	local svc=$1 n=$2 listen=$3 admin=$4 f=$RUN/$1-$2.env
	service_env "$svc" app
	(
		unset BLOG_DB_PASSWORD PAY_DB_URL
		export "${SVC_ENV[@]}" LISTEN="$listen" ADMIN_LISTEN="$admin" \
		    SVC_PROGRAM="$BUILD/$svc-fcgi"
		umask 077
		declare -px >"$f.tmp"
	) 2>/dev/null
	mv "$f.tmp" "$f"
}

# Start replica $1-$2 unless it runs (a running one on another address,
# after STACK_TRANSPORT changed, is restarted). Not waited for: replica_wait.
replica_start()
{
	local svc=$1 n=$2 listen admin
	listen=$(replica_listen "$svc" "$n")
	# The admin port (probes, /metrics): blog 9201.., pay 9301..
	[ "$svc" = blog ] && admin=127.0.0.1:$((BLOG_ADMIN_BASE + n)) ||
	    admin=127.0.0.1:$((PAY_ADMIN_BASE + n))
	if sup_trying "$svc:$svc-$n"; then
		[ "$(cat "$RUN/$svc-$n.listen" 2>/dev/null)" = "$listen" ] &&
		    return 0
		log "restarting $svc-$n to listen on $listen"
		replica_stop "$svc" "$n"
	fi
	[ "$TRANSPORT" = unix ] && rm -f "$listen"
	echo "$listen" >"$RUN/$svc-$n.listen"
	echo "$admin" >"$RUN/$svc-$n.admin"
	replica_env "$svc" "$n" "$listen" "$admin"
	sup_start "$svc:$svc-$n"
	STARTED+=("$svc-$n")
}

replica_wait()
{
	local svc=$1 n=$2 i pid=
	for ((i = 0; i < WAIT_SECONDS * 20; i++)); do
		# The pid changes when supervisord starts it again.
		pid=$(sup_pid "$svc:$svc-$n") || {
			show_log "$LOG/$svc-$n.log"
			die "$svc-$n exited at start ($(sup_info "$svc:$svc-$n"))"
		}
		replica_probe "$svc" "$n" "$pid" && return 0
		sleep 0.05
	done
	show_log "$LOG/$svc-$n.log"
	die "$svc-$n (pid $pid) did not answer GET /healthz within ${WAIT_SECONDS}s"
}

# SIGTERM (supervisord sends it: the program's stopsignal): the service
# stops listening (nginx's next connect fails and goes to another
# replica), serves what arrives on the kept-alive connections nginx still
# holds until nginx retires them (about a second; see the upstream blocks
# in nginx/nginx.conf.in), and exits within its grace period; past that
# (plus a margin, stopwaitsecs) supervisord kills it. It never closes a
# connection nginx may be writing a request on, so no reload is needed.
replica_stop()
{
	local svc=$1 n=$2
	sup_stop "$svc:$svc-$n"
	rm -f "$RUN/$svc-$n.sock" "$RUN/$svc-$n.listen"
}

# Stop every replica (down): both groups at once, each replica draining.
replicas_stop_all()
{
	sup_stop 'blog:*' &
	sup_stop 'pay:*'
	wait
	rm -f "$RUN"/blog-*.sock "$RUN"/pay-*.sock "$RUN"/blog-*.listen \
	    "$RUN"/pay-*.listen
}

# Files of replicas beyond REPLICAS (left by an earlier run with more):
# supervisord's configuration no longer has them, `update` stopped them.
replicas_trim()
{
	local f name n
	for f in "$RUN"/blog-*.admin "$RUN"/pay-*.admin; do
		[ -e "$f" ] || continue
		name=$(basename "$f" .admin)
		n=${name##*-}
		if [[ $n =~ ^[0-9]+$ ]] && [ "$n" -gt "$REPLICAS" ]; then
			rm -f "$RUN/$name".{admin,env,listen,sock}
		fi
	done
}

# ---------------------------------------------------------------- nginx

nginx_render()
{
	local out=$1 tmpl blog='' pay='' n user='' listen
	tmpl=$(cat "$ROOT/nginx/nginx.conf.in")
	for ((n = 1; n <= REPLICAS; n++)); do
		listen=$(replica_listen blog "$n")
		[ "$TRANSPORT" = unix ] && listen=unix:$listen
		blog+="		server $listen max_fails=1 fail_timeout=${FAIL_TIMEOUT}s;"$'\n'
		listen=$(replica_listen pay "$n")
		[ "$TRANSPORT" = unix ] && listen=unix:$listen
		pay+="		server $listen max_fails=1 fail_timeout=${FAIL_TIMEOUT}s;"$'\n'
	done
	# The replicas' sockets belong to the user running this script; as
	# root, nginx's workers must be root too to connect to them.
	is_root && user="user root;"
	tmpl=${tmpl//@USER_DIRECTIVE@/"$user"}
	tmpl=${tmpl//@PID_FILE@/"$RUN/nginx.pid"}
	tmpl=${tmpl//@ERROR_LOG@/"$LOG/nginx-error.log"}
	tmpl=${tmpl//@ACCESS_LOG@/"$LOG/nginx-access.log"}
	tmpl=${tmpl//@TEMP_DIR@/"$NGX/tmp"}
	tmpl=${tmpl//@LISTEN@/"$HTTP_ADDR"}
	tmpl=${tmpl//@SITE_ROOT@/"$ROOT/build/site"}
	tmpl=${tmpl//@RESOLVER@/"# No resolver: the local stack lists its replicas statically."}
	tmpl=${tmpl//@BLOG_SERVERS@/"${blog%$'\n'}"}
	tmpl=${tmpl//@PAY_SERVERS@/"${pay%$'\n'}"}
	tmpl=$(edge_settings_fill "$tmpl")
	# The included files' checksums go into the config, so that a change
	# in them alone also counts as a changed config (and reloads nginx).
	{
		printf '%s\n' "$tmpl"
		printf '# included: %s\n' "$(cd "$ROOT/nginx" &&
		    cksum fastcgi_params edge_headers | tr '\n' ' ')"
	} >"$out"
	cp "$ROOT/nginx/fastcgi_params" "$NGX/fastcgi_params"
	cp "$ROOT/nginx/edge_headers" "$NGX/edge_headers"
	microcache_render
	printf '# microcache ttl: %s\n' "$EDGE_MICROCACHE_TTL" >>"$out"
}

# Micro-caching of anonymous blog GETs (EDGE_MICROCACHE_TTL seconds, 0 =
# off): only GET/HEAD without an Authorization header, only 200s, never
# /pay/. Anonymous readers may see a write up to one TTL late; a request
# with a token always reaches a replica, so an author sees a write at once.
microcache_render()
{
	rm -f "$NGX/edge-cache-http.conf" "$NGX/edge-cache-api.conf"
	[ "$EDGE_MICROCACHE_TTL" -gt 0 ] || return 0
	mkdir -p "$NGX/microcache"
	cat >"$NGX/edge-cache-http.conf" <<-EOF
	fastcgi_cache_path $NGX/microcache levels=1:2 keys_zone=edge_microcache:10m
	    max_size=256m inactive=60s use_temp_path=off;
	map "\$request_method:\$http_authorization" \$edge_cache_skip {
		"GET:"		0;
		"HEAD:"		0;
		default		1;
	}
	EOF
	cat >"$NGX/edge-cache-api.conf" <<-EOF
	fastcgi_cache edge_microcache;
	fastcgi_cache_key "\$request_method|\$request_uri";
	fastcgi_cache_valid 200 ${EDGE_MICROCACHE_TTL}s;
	fastcgi_cache_bypass \$edge_cache_skip;
	fastcgi_no_cache \$edge_cache_skip;
	# One request refreshes an expired entry; the others get the stale one.
	fastcgi_cache_lock on;
	fastcgi_cache_lock_timeout 2s;
	fastcgi_cache_use_stale updating;
	fastcgi_cache_background_update on;
	# The stored X-Request-ID belongs to the request that filled the
	# cache: answer with this request's id instead.
	fastcgi_hide_header X-Request-ID;
	add_header X-Request-ID \$request_id always;
	add_header X-Cache \$upstream_cache_status always;
	EOF
}

nginx_cmd()
{
	nginx -p "$NGX/" -e "$LOG/nginx-error.log" "$@"
}

# The worker processes of the nginx master $1.
nginx_workers()
{
	# pgrep reads /proc once; a loop of awk over every process took 1-2 s
	# on a busy machine, at each reload.
	pgrep -P "$1" || true
}

nginx_start()
{
	local pid old w new=$NGX/nginx.conf.new
	nginx_render "$new"
	nginx_cmd -t -q -c "$new" 2>"$LOG/nginx-test.log" || {
		show_log "$LOG/nginx-test.log"
		die "the rendered nginx config $new is invalid"
	}
	if pid=$(sup_pid nginx); then
		if cmp -s "$new" "$NGX/nginx.conf"; then
			rm -f "$new"
		else
			mv "$new" "$NGX/nginx.conf"
			log "reloading nginx (pid $pid) with a changed config"
			old=$(nginx_workers "$pid")
			kill -HUP "$pid"
			# The old workers keep accepting for a moment after the
			# HUP; the new config is in force only once they are gone.
			for w in $old; do
				wait_exit "$w" 10 ||
				    log "an old nginx worker ($w) is still draining"
			done
		fi
		return 0
	fi
	mv "$new" "$NGX/nginx.conf"
	nginx_orphans_stop
	log "starting nginx on http://$HTTP_ADDR/"
	sup_start nginx
}

# When nginx's master is killed, its workers live on and keep the port.
# Of the nginx processes listening on our address, those are ours: a worker
# whose master is gone, or a master started with our prefix. Another
# checkout's healthy nginx on the same port is left alone (and up fails).
nginx_orphans_stop()
{
	local pids p cmd ppid
	pids=$(ss -Hltnp "sport = :${HTTP_ADDR##*:}" 2>/dev/null |
	    grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u) || true
	for p in $pids; do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = nginx ] || continue
		cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) || continue
		case $cmd in
		*"master process"*"$NGX/"*) ;;
		*"worker process"*)
			ppid=$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null) || continue
			[ "$(cat "/proc/$ppid/comm" 2>/dev/null)" = nginx ] && continue
			;;
		*) continue ;;
		esac
		log "stopping a leftover nginx process $p on $HTTP_ADDR"
		kill -KILL "$p" 2>/dev/null || true
		wait_exit "$p" 5 || true
	done
}

nginx_stop()
{
	sup_info nginx >/dev/null 2>&1 || return 0
	# SIGQUIT (its stopsignal): finish the requests in flight, then exit.
	sup_stop nginx
}

http_code()
{
	curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$HTTP_ADDR$1" ||
	    true
}

wait_http()
{
	local path=$1 svc=$2 i code=
	for ((i = 0; i < WAIT_SECONDS * 10; i++)); do
		code=$(http_code "$path")
		[ "$code" = 200 ] && return 0
		sleep 0.1
	done
	show_log "$LOG/nginx-error.log" "$LOG/$svc-1.log"
	die "GET http://$HTTP_ADDR$path answered ${code:-nothing}, not 200, for ${WAIT_SECONDS}s"
}

# How many public liveness requests replica $1-$2 has answered, from its
# admin port's /metrics (the public answer names no replica).
healthz_served()
{
	local svc=$1 n=$2 path
	[ "$svc" = blog ] && path=/api/healthz || path=/pay/v1/healthz
	curl -s --max-time 2 "http://$(cat "$RUN/$svc-$n.admin")/metrics" \
	    2>/dev/null | awk -v r="route=\"$path\"" '
		index($0, "cm_requests_total{") == 1 && index($0, r) { s += $NF }
		END { print s + 0 }'
}

# True when nginx sends requests to replica $1-$2: after a restart nginx
# may still hold it out for up to fail_timeout.
nginx_routes_to()
{
	local svc=$1 n=$2 path i before
	[ "$svc" = blog ] && path=/api/healthz || path=/pay/v1/healthz
	sup_pid nginx >/dev/null || return 0
	before=$(healthz_served "$svc" "$n")
	for ((i = 0; i < (FAIL_TIMEOUT + 3) * 20; i++)); do
		curl -s -o /dev/null --max-time 2 "http://$HTTP_ADDR$path" || true
		[ "$(healthz_served "$svc" "$n")" -gt "$before" ] && return 0
		sleep 0.05
	done
	return 1
}

# ---------------------------------------------------------------- commands

# Provisioning (var/, secrets, configurations, databases, schema) and the
# order of starting; supervisord runs what is started. $1 = fg: a new
# supervisord runs in this script's foreground (run).
do_up()
{
	local t0=$SECONDS svc n code
	check_settings
	check_tools
	check_binaries
	pg_user
	lock
	make_dirs
	pg_reachable
	make_secrets
	make_keys
	make_tls
	write_my_cnf
	db_topology_check
	[ "$STACK_DB" = single ] && pg_bindir

	replicas_trim
	sup_write_conf
	sup_launch "${1:-}"
	echo "$STACK_DB" >"$RUN/stack-db"
	if [ "$STACK_DB" = ha ]; then
		pg_bindir
		STACK_VAR=$VAR "$HADB" up 9>&- ||
		    die "the HA data tier did not start"
	else
		mysql_init
		pg_init
		pg_write_conf
		# Both databases start at once; each takes about a second.
		mysql_start
		pg_start
		mysql_wait
		pg_wait
	fi
	mysql_setup
	pg_setup

	migrate blog
	migrate pay

	STARTED=()
	for svc in blog pay; do
		for ((n = 1; n <= REPLICAS; n++)); do
			replica_start "$svc" "$n"
		done
	done
	for svc in blog pay; do
		for ((n = 1; n <= REPLICAS; n++)); do
			replica_wait "$svc" "$n"
		done
	done
	[ "${#STARTED[@]}" -gt 0 ] && log "started ${STARTED[*]}"

	nginx_start
	wait_http /api/healthz blog
	wait_http /pay/v1/healthz pay
	# Readiness is on the admin ports only (the edge does not pass it on).
	for svc in blog pay; do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
		    "http://$(cat "$RUN/$svc-1.admin")/readyz" 2>/dev/null) || true
		[ "$code" = 200 ] ||
		    log "warning: $svc readyz answers $code (its database is not reachable?)"
	done
	unlock
	log "up in $((SECONDS - t0))s: http://$HTTP_ADDR/ (REPLICAS=$REPLICAS, $TRANSPORT, $VARIANT, STACK_DB=$STACK_DB)"
}

# One topology at a time per checkout: both listen on the same ports.
db_topology_check()
{
	local was
	was=$(cat "$RUN/stack-db" 2>/dev/null || true)
	[ -z "$was" ] || [ "$was" = "$STACK_DB" ] && return 0
	sup_up && die "the stack runs with STACK_DB=$was; make down first"
	return 0
}

do_down()
{
	[ -d "$VAR" ] || return 0
	pg_user
	lock
	if sup_up; then
		# supervisord stops its programs by priority: nginx, the
		# replicas (they drain), the databases. The HA tier first has
		# hadb.sh stop the Galera nodes one by one, after the edge and
		# the replicas.
		if [ -f "$SUP_DIR/conf.d/ha.conf" ]; then
			nginx_stop
			replicas_stop_all
			STACK_VAR=$VAR "$HADB" down 9>&-
		fi
		log "stopping everything (supervisord)"
		sup_shutdown
	fi
	leftovers_stop
	rm -f "$RUN/stack-db"
	unlock
	log "down"
}

# One replica at a time: stop it (nginx sends its requests to the others),
# start the new binary, and go on only once it answers and nginx uses it.
restart_service()
{
	local svc=$1 n pid
	for ((n = 1; n <= REPLICAS; n++)); do
		replica_stop "$svc" "$n"
		STARTED=()
		replica_start "$svc" "$n"
		replica_wait "$svc" "$n"
		pid=$(sup_pid "$svc:$svc-$n") || die "$svc-$n exited after its restart"
		nginx_routes_to "$svc" "$n" ||
		    die "nginx does not route to $svc-$n (pid $pid) after its restart"
		log "restarted $svc-$n (pid $pid)"
	done
}

stack_is_up()
{
	sup_up || die "the stack is not running; use tests/stack.sh up"
	if [ "$STACK_DB" = single ] &&
	    { ! sup_trying mariadb || ! sup_trying postgresql; }; then
		die "the databases are not running; use tests/stack.sh up"
	fi
	return 0
}

do_restart()
{
	local what=${1:-}
	check_settings
	pg_user
	case $what in
	blog|pay)
		check_binaries
		lock
		stack_is_up
		migrate "$what"
		restart_service "$what"
		unlock
		;;
	nginx)
		lock
		stack_is_up
		nginx_start
		wait_http /api/healthz blog
		wait_http /pay/v1/healthz pay
		unlock
		log "nginx is up on http://$HTTP_ADDR/"
		;;
	*)
		die "usage: tests/stack.sh restart blog|pay|nginx"
		;;
	esac
}

do_restart_rolling()
{
	local t0=$SECONDS
	check_settings
	check_binaries
	pg_user
	lock
	stack_is_up
	migrate blog
	migrate pay
	restart_service blog
	restart_service pay
	unlock
	log "rolling restart done in $((SECONDS - t0))s"
}

# Outage drills: stop or start one database while the replicas and nginx
# keep running; the services must answer 503 meanwhile and recover alone.
do_db()
{
	local action=$1 what=${2:-}
	check_settings
	pg_user
	case $what in
	pg|postgresql|mariadb|mysql) ;;
	*) die "usage: tests/stack.sh db-$action pg|mariadb" ;;
	esac
	lock
	sup_up || die "the stack is not running; use tests/stack.sh up"
	if [ "$STACK_DB" = ha ]; then
		# The whole tier of that engine: an outage, not a failover.
		case $action:$what in
		stop:pg|stop:postgresql) STACK_VAR=$VAR "$HADB" stop-pg 9>&- ;;
		stop:*) STACK_VAR=$VAR "$HADB" stop-galera 9>&- ;;
		start:*) STACK_VAR=$VAR "$HADB" up 9>&- ;;
		esac
		unlock
		return 0
	fi
	case $action:$what in
	stop:pg|stop:postgresql)
		pg_stop
		;;
	stop:mariadb|stop:mysql)
		mysql_stop
		;;
	start:pg|start:postgresql)
		[ -f "$VAR/pg.ready" ] || die "no PostgreSQL data yet; use tests/stack.sh up"
		pg_bindir
		pg_write_conf
		pg_start
		pg_wait
		log "PostgreSQL is up"
		;;
	start:mariadb|start:mysql)
		[ -f "$VAR/mysql.ready" ] || die "no MariaDB data yet; use tests/stack.sh up"
		make_tls
		write_my_cnf
		mysql_start
		mysql_wait
		log "MariaDB is up"
		;;
	esac
	unlock
}

# supervisord's view of every program, then whether the stack answers.
do_status()
{
	local rc=0 f
	if ! sup_up; then
		echo "supervisord: not running (tests/stack.sh up)"
		return 3
	fi
	ctl status || rc=3
	if [ "$STACK_DB" = ha ]; then
		printf '%-12s http://%s/  MariaDB (HAProxy) 127.0.0.1:%s  STACK_DB=ha: tests/ha/hadb.sh status\n' \
		    edge "$HTTP_ADDR" "$MYSQL_PORT"
	else
		printf '%-12s http://%s/  MariaDB 127.0.0.1:%s  PostgreSQL 127.0.0.1:%s\n' \
		    edge "$HTTP_ADDR" "$MYSQL_PORT" "$PG_PORT"
	fi
	for f in /healthz /api/healthz /pay/v1/healthz; do
		printf '%-12s GET %-18s %s\n' http "$f" "$(http_code "$f")"
	done
	for f in "$RUN"/blog-*.admin "$RUN"/pay-*.admin; do
		[ -e "$f" ] || continue
		printf '%-12s GET %-18s %s\n' "$(basename "$f" .admin)" \
		    "admin /readyz" "$(curl -s -o /dev/null -w '%{http_code}' \
		    --max-time 5 "http://$(cat "$f")/readyz" 2>/dev/null)"
	done
	return "$rc"
}

# Ctrl-C, SIGTERM, a closed terminal, or a failed start during `run`. The
# same Ctrl-C may already have ended whoever reads our output (`make run |
# tee run.log`): then a write would kill us (SIGPIPE) or fail under set -e
# before anything is stopped. So: ignore SIGPIPE, keep writing where a
# write still lands, and stop everything whatever the output does. The
# terminal's Ctrl-C also reached supervisord, our child, which is already
# stopping its programs in order; SIGTERM tells it the same otherwise.
run_stop()
{
	local rc=$1
	trap - INT TERM HUP EXIT
	trap '' PIPE
	set +e
	printf '\n' 2>/dev/null || exec >>"$LOG/stack-run.log"
	printf '\n' >&2 2>/dev/null || exec 2>>"$LOG/stack-run.log"
	if [ -n "$SUP_FG" ]; then
		log "stopping everything (supervisord, pid $SUP_FG)"
		kill -TERM "$SUP_FG" 2>/dev/null
		wait "$SUP_FG"
		[ -n "$SUP_TAIL" ] && kill "$SUP_TAIL" 2>/dev/null
		rm -f "$RUN/stack-db"
		log "down"
	else
		do_down
	fi
	exit "$rc"
}

# up with supervisord in the foreground, its log on the terminal. A stack
# already running in the background (make up) is used as it is, and
# stopped on the way out too.
do_run()
{
	trap 'run_stop 0' INT TERM HUP
	trap 'run_stop $?' EXIT
	mkdir -p "$LOG"
	touch "$LOG/supervisord.log"
	tail -n 0 -F "$LOG/supervisord.log" 2>/dev/null &
	SUP_TAIL=$!
	do_up fg
	cat <<EOF

  site      http://$HTTP_ADDR/
  blog API  http://$HTTP_ADDR/api/       (GET /api/healthz, /api/articles, ...)
  pay API   http://$HTTP_ADDR/pay/v1/    (GET /pay/v1/healthz, /pay/v1/accounts, ...)
  logs      $LOG/
  MariaDB   127.0.0.1:$MYSQL_PORT (socket $MYSQL_SOCK), PostgreSQL 127.0.0.1:$PG_PORT
  status    tests/stack.sh status   (supervisorctl -c $SUP_CONF status)

Running in the foreground under supervisord; Ctrl-C stops everything.
EOF
	if [ -n "$SUP_FG" ]; then
		wait "$SUP_FG" || true
		log "supervisord exited"
		SUP_FG=
	else
		while sup_up; do
			sleep 1 &
			wait $! || true
		done
	fi
}

usage()
{
	sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

case ${1:-} in
deps)			do_deps ;;
up)			do_up ;;
down)			do_down ;;
run)			do_run ;;
status)			do_status ;;
ctl)			shift; ctl "$@" ;;
restart)		do_restart "${2:-}" ;;
restart-rolling)	do_restart_rolling ;;
db-stop)		do_db stop "${2:-}" ;;
db-start)		do_db start "${2:-}" ;;
*)			usage ;;
esac
