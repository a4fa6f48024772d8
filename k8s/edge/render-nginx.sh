#!/usr/bin/env bash
# render-nginx.sh: render nginx/nginx.conf.in for the Kubernetes edge image,
# the same template and the same placeholders as tests/stack.sh uses for the
# local stack; only the values differ.
#
#   render-nginx.sh TEMPLATE OUT_DIR
#
# Settings (build arguments of k8s/images/edge.Dockerfile), with the local
# stack's defaults: EDGE_RATE_AUTH (50r/s), EDGE_BURST_AUTH (200),
# EDGE_RATE_MONEY (500r/s), EDGE_BURST_MONEY (1000), EDGE_CORS_ORIGINS
# (space-separated origins; none by default: the site and the APIs share
# the Ingress's origin), EDGE_TRUSTED_PROXIES (space-separated addresses or
# CIDRs of the proxies in front of the edge; none by default).
#
# Writes OUT_DIR/nginx.conf.k8s and copies beside it the files the config
# includes (every file beside the template but shell code). The settings are
# checked and written by nginx/edge-settings.sh, beside the template. The pod's namespace and the
# cluster's DNS domain are not known at build time, so the names keep the
# tokens @POD_NAMESPACE@ and @CLUSTER_DOMAIN@, which k8s/edge/entrypoint.sh
# replaces at start. Fails when any other @NAME@ placeholder is left, so a
# placeholder added to the template is noticed.
set -euo pipefail

tmpl_file=${1:?usage: render-nginx.sh TEMPLATE OUT_DIR}
out_dir=${2:?usage: render-nginx.sh TEMPLATE OUT_DIR}

# nginx >= 1.27.3 re-resolves "server ... resolve" in an upstream with a
# zone; kube-dns answers the headless Services with every ready pod. A short
# "valid" so that a new or gone pod is seen within seconds.
resolver="resolver kube-dns.kube-system.svc.@CLUSTER_DOMAIN@ valid=5s ipv6=off;
	resolver_timeout 2s;"
# Each upstream: the ready pods (the headless Service), and as a backup every
# pod, ready or not (<svc>-all, publishNotReadyAddresses), used only when no
# ready pod is left: clients then get the service's own 503 rather than
# nginx's 502 (k8s/README.md, "No ready pod").
svc_line()
{
	printf '\t\tserver %s.@POD_NAMESPACE@.svc.@CLUSTER_DOMAIN@:9000 resolve max_fails=1 fail_timeout=2s;\n' "$1"
	printf '\t\tserver %s-all.@POD_NAMESPACE@.svc.@CLUSTER_DOMAIN@:9000 resolve backup max_fails=1 fail_timeout=2s;' "$1"
}

# The checks and the CORS and real-IP lines are the local stack's too.
. "$(dirname "$tmpl_file")/edge-settings.sh"
EDGE_RATE_AUTH=${EDGE_RATE_AUTH:-50r/s}
EDGE_BURST_AUTH=${EDGE_BURST_AUTH:-200}
EDGE_RATE_MONEY=${EDGE_RATE_MONEY:-500r/s}
EDGE_BURST_MONEY=${EDGE_BURST_MONEY:-1000}
why=$(edge_settings_check) || { echo "render-nginx.sh: $why" >&2; exit 1; }
# EDGE_TRUSTED_PROXIES: the Ingress controller's (or load balancer's)
# addresses, e.g. the cluster's pod CIDR; their X-Forwarded-For names the
# client for the rate limits and the logs. None by default.

tmpl=$(cat "$tmpl_file")
tmpl=${tmpl//@USER_DIRECTIVE@/"# Not root: the pod runs as uid 10001."}
tmpl=${tmpl//@PID_FILE@/"/tmp/nginx/nginx.pid"}
tmpl=${tmpl//@ERROR_LOG@/"stderr"}
tmpl=${tmpl//@ACCESS_LOG@/"/dev/stdout"}
tmpl=${tmpl//@TEMP_DIR@/"/tmp/nginx"}
tmpl=${tmpl//@LISTEN@/"8080"}
tmpl=${tmpl//@SITE_ROOT@/"/usr/share/conduit/site"}
tmpl=${tmpl//@RESOLVER@/"$resolver"}
tmpl=${tmpl//@BLOG_SERVERS@/"$(svc_line blog-fcgi)"}
tmpl=${tmpl//@PAY_SERVERS@/"$(svc_line pay-fcgi)"}
tmpl=$(edge_settings_fill "$tmpl" \
    "		# No cross-origin callers: set EDGE_CORS_ORIGINS at build.")

left=$(printf '%s\n' "$tmpl" | grep -o '@[A-Z_][A-Z_]*@' | grep -v '^@POD_NAMESPACE@$\|^@CLUSTER_DOMAIN@$' |
    sort -u || true)
if [ -n "$left" ]; then
	echo "render-nginx.sh: placeholders with no value: $left" >&2
	exit 1
fi
mkdir -p "$out_dir"
printf '%s\n' "$tmpl" >"$out_dir/nginx.conf.k8s"
for f in "$(dirname "$tmpl_file")"/*; do
	[ -f "$f" ] && [ "$f" != "$tmpl_file" ] && [[ $f != *.sh ]] && cp "$f" "$out_dir/"
done
exit 0
