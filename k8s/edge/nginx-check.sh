#!/usr/bin/env bash
# nginx-check.sh: `nginx -t` with this machine's nginx (Debian 12: 1.22) on
#   1. the local stack's config: var/nginx/nginx.conf when the stack has
#      rendered one, and
#   2. the Kubernetes edge config (render-nginx.sh), completed for a
#      namespace as the image's entrypoint does, with only what needs
#      nginx >= 1.27.3 neutralised: the "resolve" parameter of the upstream
#      servers. Nothing else in the text changes.
# 1.22 resolves host names while it parses the config, and here there is no
# kube-dns, so the check runs in a private mount namespace whose /etc/hosts
# maps the cluster names to 127.0.0.1 and whose /tmp is an empty tmpfs (the
# config's pid and temp paths are under /tmp/nginx). The machine's own
# /etc/hosts and /tmp are untouched.
#
#   nginx-check.sh ROOT OUT_DIR    prints one line per config checked
set -euo pipefail
root=${1:?usage: nginx-check.sh ROOT OUT_DIR}
out=${2:?usage: nginx-check.sh ROOT OUT_DIR}
ns=conduit
checked=0

local_conf=
if [ -f "$root/var/nginx/nginx.conf" ]; then
	nginx -t -q -p "$root/var/nginx/" -e stderr -c "$root/var/nginx/nginx.conf"
	echo "nginx -t: local stack config var/nginx/nginx.conf ok"
	checked=$((checked + 1))
else
	# No stack rendered yet: the same template in the local stack's shape
	# (static replicas on 127.0.0.1, no resolver).
	local_conf=1
fi

rm -rf "$out/edge" "$out/edge-122" "$out/edge-local"
# With a trusted proxy range, so that the real-IP lines are checked too.
EDGE_TRUSTED_PROXIES="10.0.0.0/8 fd00::/8" \
    bash "$root/k8s/edge/render-nginx.sh" "$root/nginx/nginx.conf.in" "$out/edge"
grep -q 'set_real_ip_from 10.0.0.0/8;' "$out/edge/nginx.conf.k8s" ||
    { echo "nginx-check: EDGE_TRUSTED_PROXIES gave no set_real_ip_from line" >&2; exit 1; }
# What entrypoint.sh does at start with the default cluster domain.
sed -i 's/@CLUSTER_DOMAIN@/cluster.local/g' "$out/edge/nginx.conf.k8s"
grep -q 'server [a-z-]*\.@POD_NAMESPACE@\.svc\.cluster\.local:9000 resolve ' \
    "$out/edge/nginx.conf.k8s" ||
    { echo "nginx-check: the edge config has no 'server <svc>.<ns>.svc.cluster.local:9000 resolve' line" >&2; exit 1; }
mkdir -p "$out/edge-122"
cp "$out/edge"/* "$out/edge-122/"
sed -e "s/@POD_NAMESPACE@/$ns/g" \
    -e '/^[[:space:]]*server [^;]*\.svc\.cluster\.local:[0-9]*/s/ resolve / /' \
    "$out/edge/nginx.conf.k8s" >"$out/edge-122/nginx.conf"
rm "$out/edge-122/nginx.conf.k8s"
if [ -n "$local_conf" ]; then
	mkdir -p "$out/edge-local"
	cp "$out/edge-122"/* "$out/edge-local/"
	sed -e '/^[[:space:]]*resolver/d' \
	    -e 's/server blog-fcgi\.[^ ]*:9000 /server 127.0.0.1:9001 /' \
	    -e 's/server pay-fcgi\.[^ ]*:9000 /server 127.0.0.1:9101 /' \
	    -e 's/listen 8080 /listen 127.0.0.1:18080 /' \
	    "$out/edge-122/nginx.conf" >"$out/edge-local/nginx.conf"
fi
# Exactly the resolve parameters differ.
changed=$(diff <(sed "s/@POD_NAMESPACE@/$ns/g" "$out/edge/nginx.conf.k8s") \
    "$out/edge-122/nginx.conf" | grep -c '^>' || true)
want=$(grep -c ' resolve ' "$out/edge/nginx.conf.k8s" || true)
[ "$changed" = "$want" ] ||
    { echo "nginx-check: neutralising changed $changed lines, expected $want" >&2; exit 1; }

printf '127.0.0.1\tlocalhost\n127.0.0.1\tkube-dns.kube-system.svc.cluster.local blog-fcgi.%s.svc.cluster.local pay-fcgi.%s.svc.cluster.local blog-fcgi-all.%s.svc.cluster.local pay-fcgi-all.%s.svc.cluster.local\n' \
    "$ns" "$ns" "$ns" "$ns" >"$out/hosts"
# The checkout itself may live under /tmp (CI clones anywhere), which the
# tmpfs below hides: reach it through a bind mount on /mnt first.
unshare -m --propagation private bash -euc '
	mount --bind "$1" /mnt
	mount --bind /mnt/hosts /etc/hosts
	mount -t tmpfs -o size=16m tmpfs /tmp
	mkdir -p /tmp/nginx
	cp /mnt/edge-122/* /tmp/nginx/
	nginx -t -q -e stderr -c /tmp/nginx/nginx.conf
	if [ -d /mnt/edge-local ]; then
		mkdir -p /tmp/local
		cp /mnt/edge-local/* /tmp/local/
		nginx -t -q -e stderr -c /tmp/local/nginx.conf
	fi
' _ "$out"
[ -n "$local_conf" ] && {
	echo "nginx -t: local-shaped config (static replicas; the stack has not rendered var/nginx/nginx.conf) ok"
	checked=$((checked + 1))
}
echo "nginx -t: Kubernetes edge config ok with nginx $(nginx -v 2>&1 | sed 's|.*/||') ($want 'resolve' parameters neutralised)"
checked=$((checked + 1))
echo "$checked" >"$out/nginx-checked"
