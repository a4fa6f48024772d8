#!/bin/sh
# entrypoint.sh: start nginx with the config rendered at build time, its
# upstream names completed with the pod's namespace (POD_NAMESPACE, from the
# downward API) and the cluster's DNS domain (CLUSTER_DOMAIN, default
# cluster.local), and as many worker processes as the pod has CPUs
# (NGINX_WORKER_PROCESSES, from the downward API's requests.cpu rounded up):
# "auto" would count the node's CPUs, 64 workers on a 64-core node inside a
# 128Mi limit. Everything written goes to /tmp, an emptyDir: the root
# filesystem is read-only.
set -eu
case ${POD_NAMESPACE:-} in
'' | *[!a-z0-9-]*)
	echo "entrypoint: POD_NAMESPACE must be a namespace name, got '${POD_NAMESPACE:-}'" >&2
	exit 1
	;;
esac
domain=${CLUSTER_DOMAIN:-cluster.local}
case $domain in
'' | .* | *. | *[!a-z0-9.-]*)
	echo "entrypoint: CLUSTER_DOMAIN must be a DNS domain like cluster.local, got '$domain'" >&2
	exit 1
	;;
esac
workers=${NGINX_WORKER_PROCESSES:-auto}
case $workers in
auto) ;;
'' | 0 | *[!0-9]*)
	echo "entrypoint: NGINX_WORKER_PROCESSES must be a number from 1 up, got '$workers'" >&2
	exit 1
	;;
esac
mkdir -p /tmp/nginx
sed -e "s/@POD_NAMESPACE@/$POD_NAMESPACE/g" -e "s/@CLUSTER_DOMAIN@/$domain/g" \
    -e "s/^worker_processes auto;/worker_processes $workers;/" \
    /etc/conduit/nginx/nginx.conf.k8s >/tmp/nginx/nginx.conf
grep -q "^worker_processes $workers;" /tmp/nginx/nginx.conf || {
	echo "entrypoint: the config has no 'worker_processes auto;' line to set" >&2
	exit 1
}
# nginx looks for included files (fastcgi_params, edge_headers) beside
# its config.
for f in /etc/conduit/nginx/*; do
	[ "$f" = /etc/conduit/nginx/nginx.conf.k8s ] || cp "$f" /tmp/nginx/
done
exec nginx -e stderr -c /tmp/nginx/nginx.conf -g 'daemon off;' "$@"
