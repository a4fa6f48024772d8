#!/usr/bin/env bash
# validate.sh: offline validation of everything under k8s/, for `make test`.
# No cluster and no Docker engine are needed.
#
#   1. render every overlay with kustomize (kubectl kustomize, or a
#      standalone kustomize) into k8s/out/<overlay>.yaml;
#   2. validate every rendered object against the Kubernetes API schemas
#      (kubernetes-models, pinned in validate/package-lock.json and
#      installed with `npm ci`), and the operators' custom resources
#      (prod-operators) against their CRDs' schemas (validate/crd.js,
#      validate/operator-crds.json), unknown fields rejected; run the
#      policy checks, and prove each check catches a broken manifest
#      (validate/validate.js);
#   3. `nginx -t` on the local config and on the Kubernetes edge config
#      (edge/nginx-check.sh), and the edge config with no ready pod answering
#      the service's 503 through its backup Service (edge/fallback-check.sh);
#   4. the runtime packages of the service images cover the binaries'
#      shared libraries, when build/release/ has the binaries.
# Exits non-zero on any failure; the last line is the summary.
set -euo pipefail

K8S=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$K8S")
OUT=$K8S/out
OVERLAYS=(dev prod prod-operators)

die()
{
	echo "k8s/validate.sh: $*" >&2
	exit 1
}

for t in node npm nginx unshare; do
	command -v "$t" >/dev/null || die "$t is not installed"
done
if command -v kubectl >/dev/null; then
	render=(kubectl kustomize)
elif command -v kustomize >/dev/null; then
	render=(kustomize build)
else
	die "neither kubectl (with kustomize) nor kustomize is installed"
fi

# The validator's dependencies, exactly as locked; again only when the lock
# changed since the last install.
stamp=$K8S/validate/node_modules/.lock-installed
if ! cmp -s "$K8S/validate/package-lock.json" "$stamp" 2>/dev/null; then
	(cd "$K8S/validate" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
	    die "npm ci in k8s/validate failed"
	cp "$K8S/validate/package-lock.json" "$stamp"
fi

rm -rf "$OUT"
mkdir -p "$OUT"
args=()
for o in "${OVERLAYS[@]}"; do
	"${render[@]}" "$K8S/overlays/$o" >"$OUT/$o.yaml" 2>"$OUT/$o.err" || {
		cat "$OUT/$o.err" >&2
		die "kustomize could not render overlays/$o"
	}
	args+=("$o=$OUT/$o.yaml")
done

summary=$(cd "$K8S/validate" && node validate.js "${args[@]}") || {
	echo "$summary"
	die "schema or policy validation failed"
}

bash "$K8S/edge/nginx-check.sh" "$ROOT" "$OUT" || die "nginx -t failed"
nginx_checked=$(cat "$OUT/nginx-checked")

# The edge with no ready pod answers the service's own 503 through the
# <svc>-all backup Service (issue 18 point 3), run offline.
bash "$K8S/edge/fallback-check.sh" "$ROOT" "$OUT" || die "edge fallback check failed"

# The runtime stage of each service image must install the package of every
# library the binary links directly (libc6 is in the base image).
images=0
for svc in blog pay; do
	bin=$ROOT/build/release/$svc-fcgi
	df=$K8S/images/$svc-fcgi.Dockerfile
	[ -x "$bin" ] || { echo "image check: $bin not built, skipped"; continue; }
	runtime=$(sed -n '/^FROM debian:12-slim/,$p' "$df")
	for lib in $(objdump -p "$bin" | awk '/NEEDED/{print $2}'); do
		path=$(ldd "$bin" | awk -v l="$lib" '$1 == l {print $3}')
		[ -n "$path" ] || die "$svc-fcgi: $lib not found by ldd"
		pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1) ||
		    pkg=
		[ -n "$pkg" ] || pkg=$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1) || true
		[ -n "$pkg" ] || die "$svc-fcgi: no Debian package owns $path"
		[ "$pkg" = libc6 ] && continue
		grep -qw -- "$pkg" <<<"$runtime" ||
		    die "$df: the runtime stage does not install $pkg (for $lib)"
	done
	images=$((images + 1))
done

echo "$summary"
[[ $summary =~ ^k8s:\ ([0-9]+)\ objects.*\ ([0-9]+)\ policy\ checks.*\ ([0-9]+)/[0-9]+\ negative ]] ||
    die "unexpected validator summary: $summary"
echo "k8s: ${BASH_REMATCH[1]} objects valid, ${BASH_REMATCH[2]} policy checks, ${BASH_REMATCH[3]} negative cases caught, $nginx_checked nginx configs pass nginx -t, $images image package lists match their binaries"
