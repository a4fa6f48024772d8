/*
 * cm_poller.h: one epoll thread over every FastCGI connection, so that an
 * idle kept-alive connection never pins a worker thread.
 *
 * libfcgi blocks the thread that owns a connection until the web server
 * sends the next request or closes it; with nginx's upstream keepalive that
 * stalls a pool as soon as there are more connections than threads
 * (DESIGN.md). Here the poller accepts connections and watches the idle
 * ones; a connection with a request waiting goes through a queue to any free
 * worker, which runs libfcgi's protocol handling on it and hands it back.
 */
#ifndef CM_POLLER_H
#define CM_POLLER_H

struct cm_poller;

/* Take over listen_fd (made non-blocking) and start the thread. */
struct cm_poller *cm_poller_start(int listen_fd);

/*
 * Worker side: block until a connection has a request to read and return
 * its (blocking) descriptor; -1 once draining and nothing is left.
 */
int cm_poller_next(struct cm_poller *p);

/*
 * Worker side: the request on fd is answered and the connection is kept
 * alive: watch it again, also while draining (see cm_poller_drain).
 */
void cm_poller_keep(struct cm_poller *p, int fd);

/* Worker side: libfcgi closed a connection the poller handed out. */
void cm_poller_closed(struct cm_poller *p);

/*
 * Begin draining: accept what is already queued on the listening socket,
 * then stop watching it (the caller closes it). Kept-alive connections are
 * NOT closed here: nginx may be writing a request on one at this very
 * instant, and it cannot pass a POST on once written (issue 16). They keep
 * being served until nginx closes them (its upstream keepalive_time and
 * keepalive_timeout retire every connection within a second or two);
 * cm_poller_next returns -1 once none is left. Safe from any thread,
 * idempotent.
 */
void cm_poller_drain(struct cm_poller *p);

/*
 * The grace period is over: close the idle connections now and let the
 * workers end once the queue is empty. Only an nginx that never retires
 * its kept-alive connections gets here.
 */
void cm_poller_force(struct cm_poller *p);

/* Connections accepted and not closed yet. */
int cm_poller_open(struct cm_poller *p);

/* Join the thread and release; safe on NULL. Call after the workers end. */
void cm_poller_free(struct cm_poller *p);

#endif
