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
 * alive: watch it again (or close it when draining).
 */
void cm_poller_keep(struct cm_poller *p, int fd);

/*
 * Begin draining: stop accepting, close idle connections, let workers
 * finish the queue. Safe from any thread, idempotent.
 */
void cm_poller_drain(struct cm_poller *p);

/* Join the thread and release; safe on NULL. Call after the workers end. */
void cm_poller_free(struct cm_poller *p);

#endif
