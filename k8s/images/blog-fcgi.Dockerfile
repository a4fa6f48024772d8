# blog-fcgi: built on Debian 12 with the -dev packages, run on Debian 12 slim
# with only the runtime libraries, as uid 10001. Build from the repository
# root (or `make images`, which builds all three with podman or docker):
#   docker build -f k8s/images/blog-fcgi.Dockerfile -t REGISTRY/conduit/blog-fcgi:TAG .
# The runtime package list is checked against the binary's shared libraries
# by k8s/validate.sh (dpkg -S of what ldd prints).
#
# The binary is stripped: the runtime image carries no debug information.
# Its symbols stay in the build stage, matched by a GNU debuglink:
#   docker build --target build -f k8s/images/blog-fcgi.Dockerfile -t blog-fcgi-build .
#   docker run --rm blog-fcgi-build cat /src/blog-fcgi.debug >blog-fcgi.debug
FROM debian:12 AS build
# libcmocka-dev: the Makefile checks every library it may link, tests
# included, before compiling anything.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
	build-essential pkg-config \
	libfcgi-dev libjansson-dev libjwt-dev libsodium-dev libmariadb-dev \
	libpq-dev libssl-dev libmicrohttpd-dev libcmocka-dev libicu-dev \
	libcurl4-openssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY common/ common/
COPY blog-fcgi/ blog-fcgi/
RUN make VARIANT=release build/release/blog-fcgi \
 && objcopy --only-keep-debug build/release/blog-fcgi blog-fcgi.debug \
 && strip --strip-unneeded build/release/blog-fcgi \
 && objcopy --add-gnu-debuglink=blog-fcgi.debug build/release/blog-fcgi

FROM debian:12-slim
# A regular (not --system) account: uid 10001 is above SYS_UID_MAX, which
# useradd --system warns about. No home, no lastlog/faillog entries.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
	libfcgi0ldbl libjansson4 libjwt0 libsodium23 libmariadb3 libpq5 \
	libssl3 libmicrohttpd12 libicu72 libcurl4 ca-certificates \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log \
 && groupadd --gid 10001 conduit \
 && useradd --uid 10001 --gid 10001 --no-create-home --no-log-init \
	-K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 \
	--home-dir /nonexistent --shell /usr/sbin/nologin conduit
COPY --from=build /src/build/release/blog-fcgi /usr/local/bin/blog-fcgi
USER 10001:10001
# FastCGI and the admin HTTP port (probes, /metrics).
EXPOSE 9000 9090
ENV LISTEN=:9000 ADMIN_LISTEN=:9090
ENTRYPOINT ["/usr/local/bin/blog-fcgi"]
