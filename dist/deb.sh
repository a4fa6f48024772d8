#!/usr/bin/env bash
# deb.sh: `make deb`. One binary package, conduit_VERSION_ARCH.deb in
# build/deb/, from the same tree as `make install` with PREFIX=/usr:
# the two services, their systemd units (not enabled: configure
# /etc/conduit first), the nginx snippet under /usr/share/conduit/nginx.
# /etc/conduit/*.env are conffiles. Depends lists the Debian package of
# every shared library the binaries link (libc6 included), found with
# dpkg -S as k8s/validate.sh does for the images.
#
# Settings: DEB_VERSION (default: from git describe, else 0.1.0), VARIANT.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
BUILD=$ROOT/build/${VARIANT:-release}
OUT=$ROOT/build/deb
STAGE=$OUT/root
ver=${DEB_VERSION:-$(git -C "$ROOT" describe --tags --match 'v[0-9]*' 2>/dev/null |
    sed 's/^v//; s/-/+/g' || true)}
[ -n "$ver" ] || ver=0.1.0+git$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo 0)
[[ $ver =~ ^[0-9][A-Za-z0-9.+~-]*$ ]] ||
    { echo "deb: '$ver' is not a Debian version" >&2; exit 1; }
arch=$(dpkg --print-architecture)

rm -rf "$STAGE"
DESTDIR=$STAGE PREFIX=/usr SYSCONFDIR=/etc "$ROOT/dist/install.sh" >/dev/null
# No debug information in the package (the build tree keeps it).
strip --strip-unneeded "$STAGE/usr/bin/blog-fcgi" "$STAGE/usr/bin/pay-fcgi"

deps=()
for bin in "$BUILD/blog-fcgi" "$BUILD/pay-fcgi"; do
	for lib in $(objdump -p "$bin" | awk '/NEEDED/{print $2}'); do
		path=$(ldd "$bin" | awk -v l="$lib" '$1 == l {print $3}')
		[ -n "$path" ] || { echo "deb: $lib not found by ldd" >&2; exit 1; }
		pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1) ||
		    pkg=
		[ -n "$pkg" ] || pkg=$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1) || true
		[ -n "$pkg" ] || { echo "deb: no package owns $path" >&2; exit 1; }
		deps+=("$pkg")
	done
done
depends=$(printf '%s\n' "${deps[@]}" | sort -u | paste -sd, | sed 's/,/, /g')

mkdir -p "$STAGE/DEBIAN"
cat >"$STAGE/DEBIAN/control" <<CTL
Package: conduit
Version: $ver
Architecture: $arch
Maintainer: Conduit maintainers <conduit@localhost>
Section: web
Priority: optional
Depends: $depends, systemd
Suggests: nginx, mariadb-server, postgresql
Installed-Size: $(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
Description: Conduit blog and payments APIs (FastCGI, C)
 blog-fcgi (RealWorld blog API on MariaDB/MySQL) and pay-fcgi (wallets and
 payments on PostgreSQL), with hardened systemd units and an nginx snippet
 to include in an existing server block. See
 /usr/share/doc/conduit/README.md, "Plain hosts".
CTL
(cd "$STAGE" && find etc -type f -name '*.env' | sed 's|^|/|') >"$STAGE/DEBIAN/conffiles"
dpkg-deb --root-owner-group -Zgzip --build "$STAGE" "$OUT/conduit_${ver}_$arch.deb" >/dev/null
echo "$OUT/conduit_${ver}_$arch.deb"
