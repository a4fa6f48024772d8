#!/usr/bin/env bash
# standins.sh: TEST-ONLY stand-ins for the public base images, for machines
# that cannot pull from a registry (ours: only Debian's package mirror is
# reachable). Real builds use the real images; this script never replaces
# an image that is already there.
#
#   debian:12 and debian:12-slim  mmdebstrap --variant=minbase bookworm from
#                                 this machine's Debian mirror (what the
#                                 official slim image is made of, give or
#                                 take documentation files)
#   nginx:1.28.0-bookworm         mmdebstrap --variant=minbase of Debian
#                                 unstable with its nginx (>= 1.27.3, which
#                                 the edge needs for "server ... resolve"),
#                                 same mirror; the snapshot's Release files
#                                 may be past their Valid-Until, hence
#                                 Acquire::Check-Valid-Until "false"
#
# The root file systems are cached as tarballs in var/images/ (made once:
# a minute or two each on a cold machine) and imported into the project's
# podman storage (k8s/images/engine.sh) under the names the Dockerfiles use.
#
#   standins.sh          make and import whatever is missing
#   standins.sh --force  remake the tarballs too
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
# shellcheck source=k8s/images/engine.sh
. "$ROOT/k8s/images/engine.sh"
engine_init "$ROOT"
CACHE=$ROOT/var/images
mkdir -p "$CACHE"

log()
{
	printf 'standins: %s\n' "$*" >&2
}

[ "$ENGINE" = podman ] || {
	log "engine is $ENGINE: base images come from its registry, no stand-ins"
	exit 0
}
[ "${1:-}" = --force ] && rm -f "$CACHE"/standin-*.tar

# The machine's Debian mirror, as apt knows it (the first one serving
# bookworm main).
mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 2>/dev/null |
    awk '$2 == "bookworm" && $3 == "main" {print $1; exit}')
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian/

have_image()
{
	podman image exists "$1"
}

# make_tar NAME SUITE [mmdebstrap options...]
make_tar()
{
	local name=$1 suite=$2 out=$CACHE/standin-$1.tar t0=$SECONDS
	shift 2
	[ -s "$out" ] && return 0
	# mmdebstrap picks the format from the name: keep ".tar" at the end.
	rm -f "$out.new.tar"
	command -v mmdebstrap >/dev/null ||
	    { log "mmdebstrap is not installed (tests/stack.sh deps)"; exit 1; }
	log "making $name from $suite at $mirror (once; cached in $out)"
	mmdebstrap --quiet --variant=minbase --mode=root \
	    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
	    --dpkgopt='path-exclude=/usr/share/doc/*' \
	    --dpkgopt='path-exclude=/usr/share/man/*' \
	    --dpkgopt='path-exclude=/usr/share/locale/*' \
	    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
	    "$@" "$suite" "$out.new.tar" "deb $mirror $suite main" \
	    >"$CACHE/standin-$name.log" 2>&1 || {
		tail -n 30 "$CACHE/standin-$name.log" >&2
		log "mmdebstrap failed for $name (log: $CACHE/standin-$name.log)"
		return 1
	}
	mv "$out.new.tar" "$out"
	log "$name made in $((SECONDS - t0))s"
}

import()
{
	local tar=$1 name
	shift
	for name in "$@"; do
		have_image "$name" && continue
		log "importing $tar as $name (test-only stand-in)"
		podman import --quiet "$tar" "$name" >/dev/null
	done
}

# The two root file systems are made side by side: on a cold machine each
# spends much of its time waiting for the mirror.
pids=()
need_debian=0 need_nginx=0
if ! have_image docker.io/library/debian:12-slim ||
    ! have_image docker.io/library/debian:12; then
	need_debian=1
	make_tar debian-12 bookworm &
	pids+=($!)
fi
if ! have_image docker.io/library/nginx:1.28.0-bookworm; then
	need_nginx=1
	make_tar nginx-sid unstable --include=nginx,passwd \
	    --aptopt='Acquire::Check-Valid-Until "false"' &
	pids+=($!)
fi
for p in "${pids[@]}"; do
	wait "$p"
done
[ "$need_debian" = 0 ] || import "$CACHE/standin-debian-12.tar" \
    docker.io/library/debian:12-slim docker.io/library/debian:12
[ "$need_nginx" = 0 ] || import "$CACHE/standin-nginx-sid.tar" \
    docker.io/library/nginx:1.28.0-bookworm
