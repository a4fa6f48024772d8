/*
 * cm_poller.c: the connection poller and the ready queue (see cm_poller.h).
 *
 * Every connection is in exactly one place: being accepted, in the ready
 * queue, owned by a worker, or idle in epoll (armed with EPOLLONESHOT, so
 * that one readiness event hands it to exactly one worker). The idle table
 * and the queue share one mutex; it is held for a few instructions per
 * request.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cm_log.h"
#include "cm_poller.h"

#define CM_POLLER_EVENTS 128

struct cm_poller {
	int listen_fd;
	int epfd;
	pthread_t thread;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int draining; /* no new connections; serve the open ones */
	int forced; /* grace over: close idle ones, end when queue empty */
	int stop; /* the thread ends */
	int open; /* accepted and not closed */
	int nfd; /* size of idle[] and of the queue */
	unsigned char *idle; /* idle[fd]: armed in epoll */
	int *q; /* ring of ready descriptors */
	int qhead, qlen;
};

/*
 * Queue a ready descriptor; the caller wakes a worker for it with
 * cm_poller_wake after unlocking: a worker woken while the mutex is still
 * held would only block again on it, one more sleep and wake-up per
 * request (perf sched showed it: the commonest wait in a worker).
 */
static void
cm_poller_push_locked(struct cm_poller *p, int fd)
{
	/* Each descriptor is queued at most once, so nfd slots suffice. */
	p->q[(p->qhead + p->qlen) % p->nfd] = fd;
	p->qlen++;
}

/* Wake up to n workers for as many descriptors queued; mutex not held. */
static void
cm_poller_wake(struct cm_poller *p, int n)
{
	while (n-- > 0)
		pthread_cond_signal(&p->cv);
}

/* One connection fewer; the last one while draining ends the workers. */
static void
cm_poller_gone_locked(struct cm_poller *p)
{
	if (p->open > 0)
		p->open--;
	if (p->open == 0 && p->draining)
		pthread_cond_broadcast(&p->cv);
}

/*
 * Accept every queued connection; called with the mutex held. Returns how
 * many were queued (the caller wakes that many workers).
 */
static int
cm_poller_accept_locked(struct cm_poller *p)
{
	static atomic_int warned;
	int fd, n = 0;

	/* Once draining, the listening socket may be closed already. */
	if (p->draining)
		return 0;
	for (;;) {
		fd = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    atomic_exchange(&warned, 1) == 0)
				cm_log(CM_LOG_WARN, NULL, "accept: %s",
				    strerror(errno));
			return n;
		}
		if (fd >= p->nfd) {
			/* Beyond the descriptor limit we sized for. */
			close(fd);
			continue;
		}
		/* A new connection carries its first request. */
		p->open++;
		cm_poller_push_locked(p, fd);
		n++;
	}
}

static void *
cm_poller_loop(void *arg)
{
	struct epoll_event ev[CM_POLLER_EVENTS];
	struct cm_poller *p = arg;
	int i, n, fd, ready;

	for (;;) {
		pthread_mutex_lock(&p->mu);
		n = p->stop;
		pthread_mutex_unlock(&p->mu);
		if (n)
			break;
		n = epoll_wait(p->epfd, ev, CM_POLLER_EVENTS, 100);
		if (n <= 0)
			continue;
		/* One lock for the whole batch, the wake-ups after it. */
		ready = 0;
		pthread_mutex_lock(&p->mu);
		for (i = 0; i < n; i++) {
			fd = ev[i].data.fd;
			if (fd == p->listen_fd) {
				ready += cm_poller_accept_locked(p);
				continue;
			}
			/*
			 * A descriptor closed by drain may have an event
			 * fetched already: only an armed one is handed on.
			 */
			if (fd < p->nfd && p->idle[fd]) {
				p->idle[fd] = 0;
				cm_poller_push_locked(p, fd);
				ready++;
			}
		}
		pthread_mutex_unlock(&p->mu);
		cm_poller_wake(p, ready);
	}
	return NULL;
}

struct cm_poller *
cm_poller_start(int listen_fd)
{
	struct epoll_event ev;
	struct cm_poller *p;
	struct rlimit rl;
	int flags;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->listen_fd = listen_fd;
	p->epfd = -1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->nfd = 65536;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)p->nfd)
		p->nfd = (int)rl.rlim_cur;
	p->idle = calloc((size_t)p->nfd, 1);
	p->q = calloc((size_t)p->nfd, sizeof(*p->q));
	if (p->idle == NULL || p->q == NULL)
		goto fail;
	flags = fcntl(listen_fd, F_GETFL);
	if (flags < 0 || fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) < 0)
		goto fail;
	if ((p->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		goto fail;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = listen_fd;
	if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, listen_fd, &ev) < 0)
		goto fail;
	if (pthread_create(&p->thread, NULL, cm_poller_loop, p) != 0)
		goto fail;
	p->started = 1;
	return p;
fail:
	cm_log(
	    CM_LOG_ERROR, NULL, "cannot start the poller: %s", strerror(errno));
	cm_poller_free(p);
	return NULL;
}

int
cm_poller_next(struct cm_poller *p)
{
	int fd = -1;

	pthread_mutex_lock(&p->mu);
	while (p->qlen == 0 && !p->forced && !(p->draining && p->open == 0))
		pthread_cond_wait(&p->cv, &p->mu);
	if (p->qlen > 0) {
		fd = p->q[p->qhead];
		p->qhead = (p->qhead + 1) % p->nfd;
		p->qlen--;
	}
	pthread_mutex_unlock(&p->mu);
	return fd;
}

void
cm_poller_keep(struct cm_poller *p, int fd)
{
	struct epoll_event ev;
	int rc;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
	ev.data.fd = fd;
	pthread_mutex_lock(&p->mu);
	if (p->forced || fd >= p->nfd) {
		close(fd);
		cm_poller_gone_locked(p);
		pthread_mutex_unlock(&p->mu);
		return;
	}
	p->idle[fd] = 1;
	rc = epoll_ctl(p->epfd, EPOLL_CTL_MOD, fd, &ev);
	if (rc < 0 && errno == ENOENT)
		rc = epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev);
	if (rc < 0) {
		p->idle[fd] = 0;
		close(fd);
		cm_poller_gone_locked(p);
	}
	pthread_mutex_unlock(&p->mu);
}

void
cm_poller_closed(struct cm_poller *p)
{
	pthread_mutex_lock(&p->mu);
	cm_poller_gone_locked(p);
	pthread_mutex_unlock(&p->mu);
}

int
cm_poller_open(struct cm_poller *p)
{
	int n;

	pthread_mutex_lock(&p->mu);
	n = p->open;
	pthread_mutex_unlock(&p->mu);
	return n;
}

void
cm_poller_drain(struct cm_poller *p)
{
	pthread_mutex_lock(&p->mu);
	if (!p->draining) {
		/*
		 * Connections already queued on the listening socket carry a
		 * request nginx has written: take them before the caller
		 * closes the socket (which would reset them).
		 */
		(void)cm_poller_accept_locked(p);
		epoll_ctl(p->epfd, EPOLL_CTL_DEL, p->listen_fd, NULL);
		p->draining = 1;
		/* Wakes the workers for what was queued, and for the end. */
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
}

void
cm_poller_force(struct cm_poller *p)
{
	int fd;

	pthread_mutex_lock(&p->mu);
	if (!p->draining) {
		epoll_ctl(p->epfd, EPOLL_CTL_DEL, p->listen_fd, NULL);
		p->draining = 1;
	}
	if (!p->forced) {
		p->forced = 1;
		for (fd = 0; fd < p->nfd; fd++) {
			if (!p->idle[fd])
				continue;
			p->idle[fd] = 0;
			epoll_ctl(p->epfd, EPOLL_CTL_DEL, fd, NULL);
			close(fd);
			cm_poller_gone_locked(p);
		}
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
}

void
cm_poller_free(struct cm_poller *p)
{
	if (p == NULL)
		return;
	if (p->started) {
		cm_poller_force(p);
		pthread_mutex_lock(&p->mu);
		p->stop = 1;
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->thread, NULL);
	}
	if (p->epfd >= 0)
		close(p->epfd);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->idle);
	free(p->q);
	free(p);
}
