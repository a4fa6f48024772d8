#!/bin/sh
# entrypoint.sh: start nginx with the config rendered at build time, its
# upstream names completed with the pod's namespace (POD_NAMESPACE, from the
# downward API). Everything written goes to /tmp, an emptyDir: the root
# filesystem is read-only.
set -eu
case ${POD_NAMESPACE:-} in
'' | *[!a-z0-9-]*)
	echo "entrypoint: POD_NAMESPACE must be a namespace name, got '${POD_NAMESPACE:-}'" >&2
	exit 1
	;;
esac
mkdir -p /tmp/nginx
sed "s/@POD_NAMESPACE@/$POD_NAMESPACE/g" /etc/conduit/nginx/nginx.conf.k8s >/tmp/nginx/nginx.conf
# nginx looks for included files (fastcgi_params, edge_headers) beside
# its config.
for f in /etc/conduit/nginx/*; do
	[ "$f" = /etc/conduit/nginx/nginx.conf.k8s ] || cp "$f" /tmp/nginx/
done
exec nginx -e stderr -c /tmp/nginx/nginx.conf -g 'daemon off;' "$@"
