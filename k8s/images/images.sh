#!/usr/bin/env bash
# images.sh: `make images`. Builds blog-fcgi, pay-fcgi and edge from
# k8s/images/*.Dockerfile with docker when a docker engine answers,
# otherwise with podman in the project-local configuration of engine.sh,
# tags them IMAGE_REPO/NAME:IMAGE_TAG and prints their sizes.
#
# Settings: IMAGE_REPO (localhost/conduit: the names the dev overlay uses),
# IMAGE_TAG (dev), CONTAINER_ENGINE (docker or podman; default: docker if
# its engine answers), EDGE_* build arguments (k8s/edge/render-nginx.sh).
# With podman and no base images, test-only stand-ins are made first
# (k8s/images/standins.sh): this machine cannot pull from a registry.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
# shellcheck source=k8s/images/engine.sh
. "$ROOT/k8s/images/engine.sh"
engine_init "$ROOT"
REPO=${IMAGE_REPO:-localhost/conduit}
TAG=${IMAGE_TAG:-dev}
[[ $TAG =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] ||
    { echo "images: IMAGE_TAG '$TAG' is not a valid tag" >&2; exit 1; }

build=("${ENGINE_CMD[@]}" build)
if [ "$ENGINE" = podman ]; then
	bash "$ROOT/k8s/images/standins.sh"
	build+=(--pull=never --layers)
fi
args=()
for v in EDGE_RATE_AUTH EDGE_BURST_AUTH EDGE_RATE_MONEY EDGE_BURST_MONEY EDGE_CORS_ORIGINS; do
	[ -n "${!v+x}" ] && args+=(--build-arg "$v=${!v}")
done

cd "$ROOT"
t0=$SECONDS
for name in blog-fcgi pay-fcgi edge; do
	t1=$SECONDS
	echo "images: building $REPO/$name:$TAG ($ENGINE)" >&2
	extra=()
	[ "$name" = edge ] && extra=("${args[@]}")
	"${build[@]}" --quiet "${extra[@]}" -f "k8s/images/$name.Dockerfile" \
	    -t "$REPO/$name:$TAG" . >/dev/null
	echo "images: $name built in $((SECONDS - t1))s" >&2
done
printf '%-40s %10s\n' IMAGE SIZE
for name in blog-fcgi pay-fcgi edge; do
	bytes=$("${ENGINE_CMD[@]}" image inspect --format '{{.Size}}' "$REPO/$name:$TAG")
	printf '%-40s %7s MB\n' "$REPO/$name:$TAG" "$(awk -v b="$bytes" 'BEGIN{printf "%.1f", b/1e6}')"
done
echo "images: all built in $((SECONDS - t0))s" >&2
