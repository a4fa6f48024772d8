# edge: nginx >= 1.28 (upstream "server ... resolve" needs >= 1.27.3) with
# nginx/nginx.conf.in rendered at build time for Kubernetes and the web site
# (build/site/, made by `make site`). Build from the repository root:
#   docker build -f k8s/images/edge.Dockerfile -t REGISTRY/conduit/edge:TAG .
# (or `make images`, which builds all three with podman or docker).
# Build arguments: EDGE_RATE_AUTH, EDGE_BURST_AUTH, EDGE_RATE_MONEY,
# EDGE_BURST_MONEY, EDGE_CORS_ORIGINS, EDGE_TRUSTED_PROXIES (see
# k8s/edge/render-nginx.sh).
FROM debian:12-slim AS render
ARG EDGE_RATE_AUTH=50r/s
ARG EDGE_BURST_AUTH=200
ARG EDGE_RATE_MONEY=500r/s
ARG EDGE_BURST_MONEY=1000
ARG EDGE_CORS_ORIGINS=
# The Ingress controller's addresses (e.g. the pod CIDR), whose
# X-Forwarded-For names the client; none by default.
ARG EDGE_TRUSTED_PROXIES=
COPY nginx/ /src/nginx/
COPY k8s/edge/render-nginx.sh /src/render-nginx.sh
RUN rm -rf /src/nginx/site \
 && bash /src/render-nginx.sh /src/nginx/nginx.conf.in /out

FROM nginx:1.28.0-bookworm
# The stock entrypoint and config are not used; nothing runs as root.
# A regular (not --system) account: uid 10001 is above SYS_UID_MAX, which
# useradd --system warns about.
RUN rm -f /etc/nginx/conf.d/default.conf /etc/nginx/sites-enabled/default \
 && groupadd --gid 10001 conduit \
 && useradd --uid 10001 --gid 10001 --no-create-home --no-log-init \
	-K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 \
	--home-dir /nonexistent --shell /usr/sbin/nologin conduit
COPY --from=render /out/ /etc/conduit/nginx/
COPY build/site/ /usr/share/conduit/site/
COPY k8s/edge/entrypoint.sh /usr/local/bin/conduit-edge
USER 10001:10001
EXPOSE 8080
# SIGQUIT: nginx finishes the requests in flight before it exits.
STOPSIGNAL SIGQUIT
ENTRYPOINT ["/usr/local/bin/conduit-edge"]
