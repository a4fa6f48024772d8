# blog-fcgi: built on Debian 12 with the -dev packages, run on Debian 12 slim
# with only the runtime libraries, as uid 10001. Build from the repository
# root:
#   docker build -f k8s/images/blog-fcgi.Dockerfile -t REGISTRY/conduit/blog-fcgi:TAG .
# The runtime package list is checked against the binary's shared libraries
# by k8s/validate.sh (dpkg -S of what ldd prints).
FROM debian:12 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
	build-essential pkg-config \
	libfcgi-dev libjansson-dev libjwt-dev libsodium-dev libmariadb-dev \
	libpq-dev libssl-dev libmicrohttpd-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY common/ common/
COPY blog-fcgi/ blog-fcgi/
COPY pay-fcgi/ pay-fcgi/
RUN make VARIANT=release build/release/blog-fcgi

FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
	libfcgi0ldbl libjansson4 libjwt0 libsodium23 libmariadb3 libpq5 \
	libssl3 libmicrohttpd12 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 conduit \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
	--home-dir /nonexistent --shell /usr/sbin/nologin conduit
COPY --from=build /src/build/release/blog-fcgi /usr/local/bin/blog-fcgi
USER 10001:10001
# FastCGI and the admin HTTP port (probes, /metrics).
EXPOSE 9000 9090
ENV LISTEN=:9000 ADMIN_LISTEN=:9090
ENTRYPOINT ["/usr/local/bin/blog-fcgi"]
