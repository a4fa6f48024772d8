#!/usr/bin/env bash
# install.sh: `make install` (and the tree `make deb` packs). Installs the
# release binaries, the systemd units, example settings and the nginx
# snippet under DESTDIR, with the paths inside the files pointing at their
# final places (without DESTDIR):
#
#   BINDIR      PREFIX/bin                   blog-fcgi, pay-fcgi
#   UNITDIR     PREFIX/lib/systemd/system    conduit-{blog,pay}{,-migrate}.service
#   NGINXDIR    PREFIX/share/conduit/nginx   conduit.conf (include it), fastcgi_params
#   SYSCONFDIR  /etc                         conduit/{blog,blog-migrate,pay}.env
#                                            (kept when present), conduit/credentials/
#   DOCDIR      PREFIX/share/doc/conduit     README.md
#
# Settings: DESTDIR, PREFIX (/usr/local), SYSCONFDIR (/etc), RUNDIR (/run,
# where systemd puts RuntimeDirectory=), NGINX_GROUP (www-data: the group
# nginx's workers run as, which may connect to the sockets), VARIANT.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
BINDIR=${BINDIR:-$PREFIX/bin}
UNITDIR=${UNITDIR:-$PREFIX/lib/systemd/system}
NGINXDIR=${NGINXDIR:-$PREFIX/share/conduit/nginx}
DOCDIR=${DOCDIR:-$PREFIX/share/doc/conduit}
SYSCONFDIR=${SYSCONFDIR:-/etc}
RUNDIR=${RUNDIR:-/run}
NGINX_GROUP=${NGINX_GROUP:-www-data}
BUILD=$ROOT/build/${VARIANT:-release}

for v in PREFIX BINDIR UNITDIR NGINXDIR DOCDIR SYSCONFDIR RUNDIR; do
	case ${!v} in
	/*) ;;
	*) echo "install: $v must be an absolute path, not '${!v}'" >&2; exit 1 ;;
	esac
done
[[ $NGINX_GROUP =~ ^[a-z_][a-z0-9_-]*$ ]] ||
    { echo "install: NGINX_GROUP '$NGINX_GROUP' is not a group name" >&2; exit 1; }
for b in blog-fcgi pay-fcgi; do
	[ -x "$BUILD/$b" ] || { echo "install: $BUILD/$b not built (make)" >&2; exit 1; }
done

hardening=$(grep -v '^#' "$ROOT/dist/systemd/hardening.conf")
subst()
{
	local s
	s=$(cat "$1")
	s=${s//@BINDIR@/$BINDIR}
	s=${s//@SYSCONFDIR@/$SYSCONFDIR}
	s=${s//@NGINXDIR@/$NGINXDIR}
	s=${s//@DOCDIR@/$DOCDIR}
	s=${s//@RUNDIR@/$RUNDIR}
	s=${s//@NGINX_GROUP@/$NGINX_GROUP}
	s=${s//@HARDENING@/$hardening}
	if grep -q '@[A-Z_]*@' <<<"$s"; then
		echo "install: $1 has a placeholder with no value" >&2
		exit 1
	fi
	printf '%s\n' "$s" >"$2.tmp"
	chmod "$3" "$2.tmp"
	mv "$2.tmp" "$2"
}

D=$DESTDIR
install -d -m 0755 "$D$BINDIR" "$D$UNITDIR" "$D$NGINXDIR" "$D$DOCDIR" \
    "$D$SYSCONFDIR/conduit"
install -d -m 0700 "$D$SYSCONFDIR/conduit/credentials"
install -m 0755 "$BUILD/blog-fcgi" "$BUILD/pay-fcgi" "$D$BINDIR/"
for u in conduit-blog conduit-blog-migrate conduit-pay conduit-pay-migrate; do
	subst "$ROOT/dist/systemd/$u.service.in" "$D$UNITDIR/$u.service" 0644
done
subst "$ROOT/dist/nginx/conduit.conf.in" "$D$NGINXDIR/conduit.conf" 0644
install -m 0644 "$ROOT/nginx/fastcgi_params" "$D$NGINXDIR/fastcgi_params"
install -m 0644 "$ROOT/README.md" "$D$DOCDIR/README.md"
# Settings are the administrator's: never overwritten.
for e in blog blog-migrate pay; do
	f=$D$SYSCONFDIR/conduit/$e.env
	[ -e "$f" ] || subst "$ROOT/dist/etc/$e.env" "$f" 0644
done
echo "install: done under ${DESTDIR:-/} (PREFIX=$PREFIX)"
