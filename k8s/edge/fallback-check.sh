#!/usr/bin/env bash
# fallback-check.sh: the Kubernetes edge config, run offline, answers the
# service's own 503 when no pod is ready (issue 18 point 3).
#
#   fallback-check.sh ROOT OUT_DIR
#
# The edge's blog upstream has the ready pods (the headless Service
# blog-fcgi) and, as a backup, every pod (blog-fcgi-all, which publishes
# not-ready addresses). Here the config rendered for the image runs on the
# machine's nginx with names from a private /etc/hosts (a mount namespace,
# as nginx-check.sh does): blog-fcgi points at an address where nothing
# listens (no ready pod: nginx's connect fails at once) and blog-fcgi-all at
# a real blog-fcgi whose database is down (alive, not ready). The answer to
# GET /api/tags must be that replica's 503 in the blog's error format, not
# nginx's 502. The same config without the backup lines must give the 502,
# so that the check proves the fallback and not something else.
#
# Debian 12's nginx (1.22) has no "resolve", which the image's nginx uses to
# re-resolve the names every 5 s: the parameters are removed here, so this
# checks the upstream's structure and what the client gets, not the DNS
# timing (an NXDOMAIN answer leaves the primary with no address, which
# nginx treats like a primary that cannot be reached).
#
# Ports (127.0.0.2/3, and the edge on 127.0.0.1) move with STACK_PORT_OFFSET
# like the local stack's.
set -euo pipefail

root=${1:?usage: fallback-check.sh ROOT OUT_DIR}
out=${2:?usage: fallback-check.sh ROOT OUT_DIR}
off=${STACK_PORT_OFFSET:-0}
edge_port=$((8070 + off))
fcgi_port=$((9070 + off))
dead_db_port=$((3370 + off))
bin=$root/build/${VARIANT:-release}/blog-fcgi
dir=$out/fallback
ns=conduit

die()
{
	echo "fallback-check: $*" >&2
	exit 1
}

[ -x "$bin" ] || die "$bin not found: build it first (make)"
command -v unshare >/dev/null || die "unshare not found (util-linux)"

rm -rf "$dir"
mkdir -p "$dir/keys"
bash "$root/k8s/edge/render-nginx.sh" "$root/nginx/nginx.conf.in" "$dir/edge" >/dev/null
grep -q 'server blog-fcgi-all\.@POD_NAMESPACE@\.svc\.@CLUSTER_DOMAIN@:9000 resolve backup ' \
    "$dir/edge/nginx.conf.k8s" || die "the edge config has no backup server blog-fcgi-all"

# What entrypoint.sh does, then the local changes: no resolve, our ports,
# paths under $dir, logs to files.
conf()
{
	sed -e "s/@POD_NAMESPACE@/$ns/g" -e 's/@CLUSTER_DOMAIN@/cluster.local/g' \
	    -e '/^[[:space:]]*resolver/d' \
	    -e '/^[[:space:]]*server [^;]*\.svc\.cluster\.local:9000/s/ resolve / /' \
	    -e "s/\\.svc\\.cluster\\.local:9000 /.svc.cluster.local:$fcgi_port /" \
	    -e "s/listen 8080 /listen 127.0.0.1:$edge_port /" \
	    -e "s|/tmp/nginx|$dir/run|g" \
	    -e "s|^error_log stderr|error_log $dir/error.log|" \
	    -e "s|access_log /dev/stdout|access_log $dir/access.log|" \
	    "$dir/edge/nginx.conf.k8s"
}
mkdir -p "$dir/run"
cp "$dir/edge"/* "$dir/run/"
conf >"$dir/run/with-backup.conf"
grep -v 'server [a-z-]*-all\.' "$dir/run/with-backup.conf" >"$dir/run/without-backup.conf"
grep -q "server blog-fcgi-all\.$ns\.svc\.cluster\.local:$fcgi_port backup " \
    "$dir/run/with-backup.conf" || die "rendering for the check failed"

printf '127.0.0.1\tlocalhost\n127.0.0.2\tblog-fcgi.%s.svc.cluster.local pay-fcgi.%s.svc.cluster.local\n127.0.0.3\tblog-fcgi-all.%s.svc.cluster.local pay-fcgi-all.%s.svc.cluster.local\n' \
    "$ns" "$ns" "$ns" "$ns" >"$dir/hosts"

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$dir/keys/private.pem" 2>/dev/null
openssl pkey -in "$dir/keys/private.pem" -pubout -out "$dir/keys/public.pem" 2>/dev/null

pids=()
i=0
cleanup()
{
	local p
	for p in "$dir"/run/*.pid; do
		[ -s "$p" ] && kill -QUIT "$(cat "$p")" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
}
trap cleanup EXIT

# An alive, unready replica: its database port has nothing behind it.
env -i PATH=/usr/bin:/bin LISTEN="127.0.0.3:$fcgi_port" WORKERS=2 \
    BLOG_DB_HOST=127.0.0.1 BLOG_DB_PORT="$dead_db_port" BLOG_DB_USER=blog_app \
    BLOG_DB_PASSWORD=unused JWT_PUBLIC_KEY_FILE="$dir/keys/public.pem" \
    JWT_PRIVATE_KEY_FILE="$dir/keys/private.pem" SHUTDOWN_GRACE_SECONDS=2 \
    "$bin" >"$dir/blog-fcgi.log" 2>&1 &
pids+=($!)
for ((i = 0; i < 150; i++)); do
	grep -q 'listening on' "$dir/blog-fcgi.log" && break
	kill -0 "${pids[0]}" 2>/dev/null || die "blog-fcgi exited: $(tail -n 3 "$dir/blog-fcgi.log")"
	sleep 0.1
done
grep -q 'listening on' "$dir/blog-fcgi.log" || die "blog-fcgi did not start listening"

# $1: config; prints "status body" of GET /api/tags through it.
ask()
{
	local cfg=$1 i code=000
	rm -f "$dir/run/nginx.pid"
	unshare -m --propagation private bash -euc '
		mount --bind "$1" /etc/hosts
		nginx -e "$2" -c "$3"
	' _ "$dir/hosts" "$dir/error.log" "$cfg" || die "nginx did not start (see $dir/error.log)"
	for ((i = 0; i < 100; i++)); do
		code=$(curl -s -o "$dir/body" -w '%{http_code}' --max-time 3 \
		    "http://127.0.0.1:$edge_port/api/tags" || true)
		# 000: nginx is not up yet.
		[ "$code" != 000 ] && break
		sleep 0.1
	done
	kill -QUIT "$(cat "$dir/run/nginx.pid")"
	for ((i = 0; i < 50; i++)); do
		[ -e "$dir/run/nginx.pid" ] || break
		sleep 0.1
	done
	echo "$code $(cat "$dir/body")"
}

got=$(ask "$dir/run/with-backup.conf")
case $got in
"503 "*'"errors"'*'"server"'*'temporarily unavailable'*) ;;
*) die "no ready pod: expected blog-fcgi's own 503 through the backup, got: $got" ;;
esac
without=$(ask "$dir/run/without-backup.conf")
case $without in
"502 "*) ;;
*) die "without the backup servers the edge should answer its own 502, got: $without" ;;
esac
echo "edge fallback: no ready pod -> the service's 503 through ${ns}'s blog-fcgi-all (502 without it)"
