/*
 * Unit tests for cm_poller with nothing but socketpairs and one listening
 * unix socket in the abstract namespace (no port, no file): idle
 * connections stay with the poller, a connection closed mid-request still
 * reaches a worker, two workers serve many more connections than they are,
 * drain keeps serving open connections until their peer (nginx) closes
 * them and never closes one itself, and force closes what is idle.
 *
 * Every client socket has a receive timeout so that a broken poller fails a
 * test instead of hanging it; no assertion depends on how long anything
 * takes.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"

#include "cm_poller.h"

#define NCONN 32
#define HANG_GUARD_S 30

static void
guard(int fd)
{
	struct timeval tv = {HANG_GUARD_S, 0};

	assert_int_equal(
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
}

/* A connected pair: *srv goes to the poller, *cli plays nginx. */
static void
pair(int *srv, int *cli)
{
	int sv[2];

	assert_int_equal(
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	*srv = sv[0];
	*cli = sv[1];
	guard(*cli);
}

/* A listening socket with a kernel-chosen abstract name. */
static int
listener(struct sockaddr_un *addr, socklen_t *len)
{
	struct sockaddr_un any;
	int fd;

	/* An address of the family alone asks the kernel for a name. */
	memset(&any, 0, sizeof(any));
	any.sun_family = AF_UNIX;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(
	    bind(fd, (struct sockaddr *)&any, sizeof(sa_family_t)), 0);
	assert_int_equal(listen(fd, 64), 0);
	*len = sizeof(*addr);
	assert_int_equal(getsockname(fd, (struct sockaddr *)addr, len), 0);
	return fd;
}

static struct cm_poller *
start(int *lfd)
{
	struct sockaddr_un addr;
	socklen_t len;
	struct cm_poller *p;

	*lfd = listener(&addr, &len);
	p = cm_poller_start(*lfd);
	assert_non_null(p);
	return p;
}

static int
dial(int lfd)
{
	struct sockaddr_un addr;
	socklen_t len = sizeof(addr);
	int fd;

	assert_int_equal(getsockname(lfd, (struct sockaddr *)&addr, &len), 0);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, len), 0);
	guard(fd);
	return fd;
}

/* The peer of a descriptor the poller closed reads end-of-file. */
static void
assert_closed(int cli)
{
	char c;

	assert_int_equal(read(cli, &c, 1), 0);
}

/* Nothing has been closed or written on cli's connection. */
static void
assert_open_and_quiet(int cli)
{
	char c;

	assert_int_equal(recv(cli, &c, 1, MSG_DONTWAIT), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
}

static void
test_idle_connections_stay_with_the_poller(void **state)
{
	int srv[NCONN], cli[NCONN], lfd, i;
	struct cm_poller *p;
	char c;

	(void)state;
	p = start(&lfd);
	for (i = 0; i < NCONN; i++) {
		pair(&srv[i], &cli[i]);
		cm_poller_keep(p, srv[i]);
	}
	/* Only the connection with a request is handed out, each time. */
	assert_int_equal(write(cli[5], "a", 1), 1);
	assert_int_equal(cm_poller_next(p), srv[5]);
	assert_int_equal(read(srv[5], &c, 1), 1);
	cm_poller_keep(p, srv[5]);
	assert_int_equal(write(cli[17], "b", 1), 1);
	assert_int_equal(cm_poller_next(p), srv[17]);
	assert_int_equal(read(srv[17], &c, 1), 1);
	assert_int_equal(c, 'b');
	/* The one kept again is idle again: a new request hands it out. */
	assert_int_equal(write(cli[5], "c", 1), 1);
	assert_int_equal(cm_poller_next(p), srv[5]);
	assert_int_equal(read(srv[5], &c, 1), 1);
	assert_int_equal(c, 'c');
	/* Drain closes nothing: nginx may be writing on any of them. */
	cm_poller_drain(p);
	for (i = 0; i < NCONN; i++)
		assert_open_and_quiet(cli[i]);
	/* Force (the grace period is over) closes the idle ones only. */
	cm_poller_force(p);
	for (i = 0; i < NCONN; i++)
		if (i == 5 || i == 17)
			assert_open_and_quiet(cli[i]);
		else
			assert_closed(cli[i]);
	assert_int_equal(cm_poller_next(p), -1);
	cm_poller_free(p);
	close(srv[5]);
	close(srv[17]);
	for (i = 0; i < NCONN; i++)
		close(cli[i]);
	close(lfd);
}

static void
test_closed_mid_request(void **state)
{
	int srv[2], cli[2], lfd;
	struct cm_poller *p;
	char buf[16];

	(void)state;
	p = start(&lfd);
	pair(&srv[0], &cli[0]);
	pair(&srv[1], &cli[1]);
	cm_poller_keep(p, srv[0]);
	cm_poller_keep(p, srv[1]);
	/*
	 * Half a request, then the peer goes: a worker still gets the
	 * connection, reads what came and then end-of-file, and closes it
	 * (libfcgi does) rather than it staying in the idle table forever.
	 */
	assert_int_equal(write(cli[0], "hal", 3), 3);
	close(cli[0]);
	assert_int_equal(cm_poller_next(p), srv[0]);
	assert_int_equal(read(srv[0], buf, sizeof(buf)), 3);
	assert_int_equal(read(srv[0], buf, sizeof(buf)), 0);
	close(srv[0]);
	/* A peer that closes an idle connection without a word: the same. */
	close(cli[1]);
	assert_int_equal(cm_poller_next(p), srv[1]);
	assert_int_equal(read(srv[1], buf, sizeof(buf)), 0);
	close(srv[1]);
	cm_poller_free(p);
	close(lfd);
}

struct worker {
	pthread_t thread;
	struct cm_poller *p;
	int served;
};

/* What cm_server's worker does, with an echo of c + 1 as the handler. */
static void *
worker_loop(void *arg)
{
	struct worker *w = arg;
	char c;
	int fd;

	while ((fd = cm_poller_next(w->p)) >= 0) {
		if (read(fd, &c, 1) != 1) {
			close(fd);
			cm_poller_closed(w->p);
			continue;
		}
		c++;
		if (write(fd, &c, 1) != 1) {
			close(fd);
			cm_poller_closed(w->p);
			continue;
		}
		w->served++;
		cm_poller_keep(w->p, fd);
	}
	return NULL;
}

static void
join_guarded(pthread_t t)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += HANG_GUARD_S;
	assert_int_equal(pthread_timedjoin_np(t, NULL, &ts), 0);
}

static void
test_more_connections_than_workers(void **state)
{
	struct worker w[2];
	int cli[NCONN], lfd, i, round;
	struct cm_poller *p;
	char c;

	(void)state;
	p = start(&lfd);
	for (i = 0; i < 2; i++) {
		w[i].p = p;
		w[i].served = 0;
		assert_int_equal(
		    pthread_create(&w[i].thread, NULL, worker_loop, &w[i]), 0);
	}
	/*
	 * Sixteen times as many kept-alive connections as workers, all open
	 * at once, each sending request after request: with one thread
	 * pinned per connection the second connection would never be served.
	 */
	for (i = 0; i < NCONN; i++)
		cli[i] = dial(lfd);
	for (round = 0; round < 3; round++) {
		for (i = 0; i < NCONN; i++) {
			c = (char)('a' + round);
			assert_int_equal(write(cli[i], &c, 1), 1);
		}
		for (i = 0; i < NCONN; i++) {
			assert_int_equal(read(cli[i], &c, 1), 1);
			assert_int_equal(c, 'b' + round);
		}
	}
	cm_poller_drain(p);
	/* Draining: still served, until the peer closes each connection. */
	for (i = 0; i < NCONN; i++) {
		c = 'x';
		assert_int_equal(write(cli[i], &c, 1), 1);
		assert_int_equal(read(cli[i], &c, 1), 1);
		assert_int_equal(c, 'y');
		close(cli[i]);
	}
	/* The last one closed, the workers end. */
	for (i = 0; i < 2; i++)
		join_guarded(w[i].thread);
	assert_int_equal(w[0].served + w[1].served, 4 * NCONN);
	cm_poller_free(p);
	close(lfd);
}

static void *
next_once(void *arg)
{
	struct worker *w = arg;

	w->served = cm_poller_next(w->p);
	return NULL;
}

static void
test_drain(void **state)
{
	int srv[3], cli[3], lfd, i;
	struct cm_poller *p;
	struct worker w;
	char c;

	(void)state;
	p = start(&lfd);
	/* Three accepted connections, each served once and kept idle. */
	for (i = 0; i < 3; i++) {
		cli[i] = dial(lfd);
		assert_int_equal(write(cli[i], "a", 1), 1);
		srv[i] = cm_poller_next(p);
		assert_true(srv[i] >= 0);
		assert_int_equal(read(srv[i], &c, 1), 1);
		cm_poller_keep(p, srv[i]);
	}
	cm_poller_drain(p);
	cm_poller_drain(p); /* idempotent */
	/* Nothing is closed by the server while draining. */
	for (i = 0; i < 3; i++)
		assert_open_and_quiet(cli[i]);
	/* A request on a kept-alive connection is still handed out. */
	assert_int_equal(write(cli[1], "x", 1), 1);
	assert_int_equal(cm_poller_next(p), srv[1]);
	assert_int_equal(read(srv[1], &c, 1), 1);
	assert_int_equal(write(srv[1], "y", 1), 1);
	cm_poller_keep(p, srv[1]);
	assert_int_equal(read(cli[1], &c, 1), 1);
	assert_int_equal(c, 'y');
	assert_open_and_quiet(cli[1]);
	/* nginx retires the connections; a worker sees each one go. */
	for (i = 0; i < 3; i++) {
		close(cli[i]);
		assert_int_equal(cm_poller_next(p), srv[i]);
		assert_int_equal(read(srv[i], &c, 1), 0);
		close(srv[i]);
		cm_poller_closed(p);
	}
	/* Nothing is left: a waiting worker stops. */
	w.p = p;
	w.served = 0;
	assert_int_equal(pthread_create(&w.thread, NULL, next_once, &w), 0);
	join_guarded(w.thread);
	assert_int_equal(w.served, -1);
	cm_poller_free(p);
	close(lfd);
}

static void
test_free_without_drain(void **state)
{
	int srv, cli, lfd;
	struct cm_poller *p;

	(void)state;
	cm_poller_free(NULL);
	p = start(&lfd);
	pair(&srv, &cli);
	cm_poller_keep(p, srv);
	/* free forces first: the idle connection is closed, not leaked. */
	cm_poller_free(p);
	assert_closed(cli);
	close(cli);
	close(lfd);
}

UNIT_MAIN(
    cmocka_unit_test(test_idle_connections_stay_with_the_poller),
    cmocka_unit_test(test_closed_mid_request),
    cmocka_unit_test(test_more_connections_than_workers),
    cmocka_unit_test(test_drain),
    cmocka_unit_test(test_free_without_drain))
