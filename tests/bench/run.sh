#!/usr/bin/env bash
# tests/bench/run.sh: `make bench`, the single entry point.
#
# On the running local stack (make up): installs what the bench needs when
# root (Flask, gunicorn, PyMySQL, gnuplot), starts a private nginx on
# 127.0.0.1:$BENCH_PORT (8081 + STACK_PORT_OFFSET) in front of the stack's replicas, a static
# `return 200` and the Flask reference under gunicorn, then runs
# tests/bench/bench.py (seed, wrk, pgbench, table, JSON, plot). Everything it
# starts it stops on exit; the stack itself is left as it was.
#
# Settings: see tests/bench/bench.py (BENCH_SCALE, BENCH_SECONDS, ...), plus
# FLASK_WORKERS (5 sync workers, like the seed's stack).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
VAR=$ROOT/var
BENCH=$VAR/bench
RUN=$VAR/run
# 8081 moved by STACK_PORT_OFFSET like every port of the stack, so that
# parallel stacks can each run their bench.
PORT=${BENCH_PORT:-$((8081 + ${STACK_PORT_OFFSET:-0}))}
FLASK_WORKERS=${FLASK_WORKERS:-5}
export BENCH_PORT=$PORT
# The bench nginx's temporary files and micro-cache, on a tmpfs
# (nginx.conf.in says why), one directory per bench port.
RAM=${BENCH_RAM_DIR:-/dev/shm/blog-bench-$PORT}

log()
{
	printf 'bench: %s\n' "$*" >&2
}

die()
{
	printf 'bench: error: %s\n' "$*" >&2
	exit 1
}

# The Debian packages the bench needs beyond the stack's (tests/stack.sh deps).
PACKAGES="python3-flask gunicorn python3-pymysql gnuplot-nox wrk
python3-requests linux-perf"
deps()
{
	local p missing=()
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q 'install ok installed' || missing+=("$p")
	done
	[ "${#missing[@]}" -eq 0 ] && return 0
	if [ "$(id -u)" != 0 ]; then
		die "missing packages: ${missing[*]}; run: sudo apt-get install -y ${missing[*]}"
	fi
	log "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y \
	    --no-install-recommends "${missing[@]}" >/dev/null ||
	    { apt-get update >/dev/null &&
	    DEBIAN_FRONTEND=noninteractive apt-get install -y \
	    --no-install-recommends "${missing[@]}" >/dev/null; }
}

# The stack must be up: its replicas are what we measure.
check_stack()
{
	local f n=0
	for f in "$RUN"/blog-*.sock "$RUN"/pay-*.sock; do
		[ -S "$f" ] && n=$((n + 1))
	done
	[ "$n" -ge 2 ] && [ -S "$RUN/mysqld.sock" ] ||
	    die "the local stack is not running; start it with make up"
	# Readiness is on each replica's admin port (the edge never passes
	# /readyz on).
	local svc admin
	for svc in blog pay; do
		admin=$(cat "$RUN/$svc-1.admin" 2>/dev/null) ||
		    die "no $RUN/$svc-1.admin; make up"
		curl -fsS -o /dev/null "http://$admin/readyz" ||
		    die "$svc is not ready (http://$admin/readyz); make up"
	done
}

servers()
{
	local f
	for f in "$RUN"/"$1"-*.sock; do
		[ -S "$f" ] && printf '\t\tserver unix:%s max_fails=1 fail_timeout=2s;\n' "$f"
	done
}

NGINX_PID=
GUNICORN_PID=
cleanup()
{
	if [ -n "$NGINX_PID" ] && kill -0 "$NGINX_PID" 2>/dev/null; then
		kill -QUIT "$NGINX_PID" 2>/dev/null || true
	fi
	if [ -n "$GUNICORN_PID" ] && kill -0 "$GUNICORN_PID" 2>/dev/null; then
		kill -TERM "$GUNICORN_PID" 2>/dev/null || true
	fi
	sleep 0.5
	rm -rf "$RAM"
}

start_flask()
{
	local pw=$VAR/secrets/blog_app.password i
	rm -f "$BENCH/run/gunicorn.sock"
	BENCH_DB_SOCKET=$RUN/mysqld.sock BENCH_DB_USER=blog_app \
	BENCH_DB_PASSWORD_FILE=$pw BENCH_DB_NAME=blog \
	    gunicorn --chdir "$ROOT/tests/bench" --workers "$FLASK_WORKERS" \
	    --worker-class sync --bind "unix:$BENCH/run/gunicorn.sock" \
	    --pid "$BENCH/run/gunicorn.pid" --log-level warning \
	    --error-logfile "$BENCH/gunicorn.log" flask_app:app \
	    >>"$BENCH/gunicorn.log" 2>&1 &
	GUNICORN_PID=$!
	for ((i = 0; i < 100; i++)); do
		[ -S "$BENCH/run/gunicorn.sock" ] && return 0
		kill -0 "$GUNICORN_PID" 2>/dev/null ||
		    { tail "$BENCH/gunicorn.log" >&2; die "gunicorn exited"; }
		sleep 0.1
	done
	die "gunicorn did not start"
}

start_nginx()
{
	local conf=$BENCH/nginx/nginx.conf tmpl user= i
	mkdir -p "$BENCH/nginx/tmp"
	rm -rf "$RAM"
	mkdir -p "$RAM/tmp" || die "cannot create $RAM (BENCH_RAM_DIR: a tmpfs)"
	[ "$(id -u)" = 0 ] && user="user root;"
	tmpl=$(<"$ROOT/tests/bench/nginx.conf.in")
	tmpl=${tmpl//@USER_DIRECTIVE@/"$user"}
	tmpl=${tmpl//@BENCH@/"$BENCH"}
	tmpl=${tmpl//@RAM@/"$RAM"}
	tmpl=${tmpl//@ROOT@/"$ROOT"}
	tmpl=${tmpl//@LISTEN@/"127.0.0.1:$PORT"}
	tmpl=${tmpl//@BLOG_SERVERS@/"$(servers blog)"}
	tmpl=${tmpl//@PAY_SERVERS@/"$(servers pay)"}
	printf '%s\n' "$tmpl" >"$conf"
	nginx -t -q -p "$BENCH/nginx/" -e "$BENCH/nginx/error.log" -c "$conf" ||
	    die "the bench nginx config is invalid ($conf)"
	nginx -p "$BENCH/nginx/" -e "$BENCH/nginx/error.log" -c "$conf" ||
	    die "the bench nginx did not start (port $PORT busy?)"
	for ((i = 0; i < 50; i++)); do
		NGINX_PID=$(cat "$BENCH/nginx/nginx.pid" 2>/dev/null || true)
		[ -n "$NGINX_PID" ] && curl -fsS -o /dev/null \
		    "http://127.0.0.1:$PORT/static" && return 0
		sleep 0.1
	done
	die "the bench nginx does not answer on 127.0.0.1:$PORT"
}

deps
check_stack
export OPENLOOP=${OPENLOOP:-$ROOT/build/release/bench/openloop}
[ -x "$OPENLOOP" ] ||
    die "no open-loop generator at $OPENLOOP (make bench builds it)"
mkdir -p "$BENCH/run" "$BENCH/nginx"
# A bench nginx or gunicorn left by a killed run: ours, by pid file.
for f in "$BENCH/nginx/nginx.pid" "$BENCH/run/gunicorn.pid"; do
	if [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null &&
	    grep -qE 'nginx|gunicorn' "/proc/$(cat "$f")/cmdline" 2>/dev/null; then
		log "stopping a leftover $(basename "$f" .pid) ($(cat "$f"))"
		kill -TERM "$(cat "$f")" 2>/dev/null || true
		sleep 1
	fi
done
trap cleanup EXIT
trap 'exit 130' INT TERM
start_flask
start_nginx
curl -fsS -o /dev/null "http://127.0.0.1:$PORT/api/healthz" ||
    die "blog replicas do not answer through the bench nginx"
# Debian's python3: its packages (requests, supervisor) are the ones installed.
/usr/bin/python3 "$ROOT/tests/bench/bench.py"
