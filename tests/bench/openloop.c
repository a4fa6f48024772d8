/*
 * openloop.c: the open-loop load generator of `make bench`
 * (tests/bench/README.md says why we carry our own).
 *
 * Request i is due at t0 + i / rate, whatever happened to the requests
 * before it, and its latency is measured from that intended start, not
 * from when it was written to a socket: a server that stalls for 100 ms
 * is charged 100 ms on every request that fell due during the stall (no
 * coordinated omission). A due request goes out on an idle keep-alive
 * connection, or on a new one while fewer than -c are open; when all -c
 * are busy it waits in order, and the wait is part of its latency.
 *
 * Requests come from a file of raw HTTP/1.1 requests separated by NUL
 * bytes, used round-robin; every occurrence of OPENLOOP_SEQ (16 bytes) is
 * replaced by the request's number in 16 hex digits, so each payment gets
 * its own Idempotency-Key without changing the request's length.
 *
 * With -w, the first WARMUP seconds run at the same rate on the same
 * schedule but are not counted: the measured requests start where they end,
 * on connections already open and server caches already filled, as a
 * closed-loop point has its warm-up. A backlog the warm-up leaves behind
 * still delays the measured requests, and is charged to them.
 *
 * Output: one JSON object on stdout (latencies in microseconds). -T FILE
 * also writes one line per request, warm-up included: its number, how
 * late it was written and its latency (-1: no answer), in microseconds,
 * to see when the slow ones fell due (spread out, or in one stall).
 *
 *   openloop -p PORT -r RATE -d SECONDS -f FILE [-c CONNS] [-t TIMEOUT]
 *            [-w WARMUP] [-T FILE]
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define OPENLOOP_SEQ "@@OPENLOOP-SEQ@@"
#define OPENLOOP_SEQ_LEN 16
#define OPENLOOP_MAX_SEQ 8
#define OPENLOOP_IN_MAX ((size_t)4 << 20)

struct openloop_tmpl {
	const char *buf;
	size_t len;
	size_t seq_at[OPENLOOP_MAX_SEQ];
	int nseq;
};

enum openloop_state { OL_FREE, OL_CONNECTING, OL_IDLE, OL_BUSY };

struct openloop_conn {
	int fd;
	enum openloop_state state;
	uint64_t seq; /* the request in flight */
	char *out; /* its bytes, written from out_off on */
	size_t out_len;
	size_t out_off;
	char *in; /* the response so far */
	size_t in_len;
	size_t in_cap;
};

struct openloop {
	uint16_t port;
	double rate;
	double seconds;
	double timeout_s;
	double warmup_s;
	int max_conns;
	char *file_buf;
	struct openloop_tmpl *tmpl;
	size_t ntmpl;
	uint64_t total; /* requests sent: rate * (warmup_s + seconds) */
	uint64_t nwarm; /* the first nwarm of them: warm-up, not counted */
	uint64_t warmup_errors;
	uint64_t t0; /* intended start of request 0, ns */
	double interval_ns;
	uint64_t issued; /* requests handed to a connection */
	uint64_t done; /* answered or failed */
	uint64_t answered;
	uint64_t non2xx;
	uint64_t sock_errors;
	uint64_t timeouts;
	/* One allocation: lat_us, lag_us, seq_lat_us, total entries each. */
	uint32_t *lat_us; /* per answered request */
	uint32_t *lag_us; /* intended start to write, by request number */
	uint32_t *seq_lat_us; /* latency + 1 by request number (0: none) */
	const char *timeline; /* -T: where to write them */
	struct openloop_conn *conns;
	int nconns; /* slots in use (open or connecting) */
	int peak_conns;
	int ep;
};

static uint64_t
openloop_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t
openloop_intended(const struct openloop *ol, uint64_t seq)
{
	return ol->t0 + (uint64_t)((double)seq * ol->interval_ns);
}

static void
openloop_die(const char *what)
{
	fprintf(stderr, "openloop: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* Splits the file at NUL bytes and notes where each OPENLOOP_SEQ is. */
static int
openloop_load(struct openloop *ol, const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *buf;
	size_t i, start = 0, cap = 16;

	if (f == NULL || fstat(fileno(f), &st) != 0)
		openloop_die(path);
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL)
		openloop_die("malloc");
	if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
		openloop_die(path);
	fclose(f);
	buf[st.st_size] = '\0';
	ol->file_buf = buf;
	ol->tmpl = calloc(cap, sizeof(*ol->tmpl));
	if (ol->tmpl == NULL)
		openloop_die("calloc");
	for (i = 0; i <= (size_t)st.st_size; i++) {
		struct openloop_tmpl *t;
		const char *p;

		if (buf[i] != '\0')
			continue;
		if (i == start) {
			start = i + 1;
			continue;
		}
		if (ol->ntmpl == cap) {
			cap *= 2;
			t = realloc(ol->tmpl, cap * sizeof(*ol->tmpl));
			if (t == NULL)
				openloop_die("realloc");
			ol->tmpl = t;
		}
		t = &ol->tmpl[ol->ntmpl++];
		memset(t, 0, sizeof(*t));
		t->buf = buf + start;
		t->len = i - start;
		p = t->buf;
		while ((p = memmem(p, t->len - (size_t)(p - t->buf),
		            OPENLOOP_SEQ, OPENLOOP_SEQ_LEN)) != NULL &&
		    t->nseq < OPENLOOP_MAX_SEQ) {
			t->seq_at[t->nseq++] = (size_t)(p - t->buf);
			p += OPENLOOP_SEQ_LEN;
		}
		start = i + 1;
	}
	return ol->ntmpl > 0 ? 0 : -1;
}

static void
openloop_close(struct openloop *ol, struct openloop_conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(ol->ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->state = OL_FREE;
	c->in_len = 0;
	c->out_len = 0;
	c->out_off = 0;
	ol->nconns--;
}

/* A request that will get no answer: counted, never given a latency. */
static void
openloop_fail(struct openloop *ol, struct openloop_conn *c, int timed_out)
{
	if (c->seq < ol->nwarm)
		ol->warmup_errors++;
	else if (timed_out)
		ol->timeouts++;
	else
		ol->sock_errors++;
	ol->done++;
	openloop_close(ol, c);
}

static struct openloop_conn *
openloop_connect(struct openloop *ol)
{
	struct sockaddr_in sa;
	struct epoll_event ev;
	struct openloop_conn *c = NULL;
	int i, one = 1;

	for (i = 0; i < ol->max_conns; i++) {
		if (ol->conns[i].state == OL_FREE) {
			c = &ol->conns[i];
			break;
		}
	}
	if (c == NULL)
		return NULL;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		openloop_die("socket");
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(ol->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 &&
	    errno != EINPROGRESS)
		openloop_die("connect");
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
	ev.data.ptr = c;
	if (epoll_ctl(ol->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
		openloop_die("epoll_ctl");
	c->state = OL_CONNECTING;
	ol->nconns++;
	if (ol->nconns > ol->peak_conns)
		ol->peak_conns = ol->nconns;
	return c;
}

/* Writability matters only while connecting or after a short write;
 * asked for always, an idle socket would wake us on every turn. */
static void
openloop_want_out(struct openloop *ol, struct openloop_conn *c, int want)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0);
	ev.data.ptr = c;
	if (epoll_ctl(ol->ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
		openloop_die("epoll_ctl");
}

static void
openloop_flush(struct openloop *ol, struct openloop_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n =
		    write(c->fd, c->out + c->out_off, c->out_len - c->out_off);

		if (n < 0 && errno == EAGAIN) {
			openloop_want_out(ol, c, 1);
			return;
		}
		if (n <= 0) {
			openloop_fail(ol, c, 0);
			return;
		}
		c->out_off += (size_t)n;
	}
}

/* Hands request seq to c (idle or still connecting). */
static void
openloop_issue(struct openloop *ol, struct openloop_conn *c, uint64_t seq)
{
	const struct openloop_tmpl *t = &ol->tmpl[seq % ol->ntmpl];
	char hex[OPENLOOP_SEQ_LEN + 1];
	uint64_t lag = openloop_now() - openloop_intended(ol, seq);
	int i;

	c->out = realloc(c->out, t->len);
	if (c->out == NULL)
		openloop_die("realloc");
	memcpy(c->out, t->buf, t->len);
	snprintf(hex, sizeof(hex), "%016" PRIx64, seq);
	for (i = 0; i < t->nseq; i++)
		memcpy(c->out + t->seq_at[i], hex, OPENLOOP_SEQ_LEN);
	c->out_len = t->len;
	c->out_off = 0;
	c->seq = seq;
	c->in_len = 0;
	ol->lag_us[seq] =
	    lag / 1000 > UINT32_MAX ? UINT32_MAX : (uint32_t)(lag / 1000);
	ol->issued++;
	if (c->state == OL_IDLE) {
		c->state = OL_BUSY;
		openloop_flush(ol, c);
	}
	/* A connecting one writes when it becomes writable. */
}

/*
 * Whether c->in holds a whole response: 1 yes (*status, *keep set),
 * 0 not yet, -1 malformed. Handles Content-Length and chunked bodies.
 */
static int
openloop_parse(struct openloop_conn *c, int *status, int *keep)
{
	char *hdr_end, *p;
	size_t hdr_len, body;

	if (c->in_len < 12)
		return 0;
	c->in[c->in_len] = '\0';
	hdr_end = strstr(c->in, "\r\n\r\n");
	if (hdr_end == NULL)
		return 0;
	if (strncmp(c->in, "HTTP/1.", 7) != 0)
		return -1;
	*status = atoi(c->in + 9);
	hdr_len = (size_t)(hdr_end - c->in) + 4;
	*hdr_end = '\0';
	*keep = strcasestr(c->in, "\r\nConnection: close") == NULL;
	p = strcasestr(c->in, "\r\nContent-Length:");
	if (p != NULL) {
		body = strtoul(p + 17, NULL, 10);
		*hdr_end = '\r';
		return c->in_len >= hdr_len + body ? 1 : 0;
	}
	p = strcasestr(c->in, "\r\nTransfer-Encoding: chunked");
	*hdr_end = '\r';
	if (p == NULL)
		return -1; /* a body up to the close: not from our servers */
	p = c->in + hdr_len;
	for (;;) {
		char *end;
		size_t sz;

		if (strstr(p, "\r\n") == NULL)
			return 0;
		sz = strtoul(p, &end, 16);
		end = strstr(end, "\r\n") + 2;
		if (sz == 0)
			return strstr(end - 2, "\r\n\r\n") != NULL ? 1 : 0;
		if ((size_t)(c->in + c->in_len - end) < sz + 2)
			return 0;
		p = end + sz + 2;
	}
}

static void
openloop_readable(struct openloop *ol, struct openloop_conn *c)
{
	for (;;) {
		ssize_t n;
		int status = 0, keep = 1, r;

		if (c->in_cap - c->in_len < 4096 + 1) {
			char *in;

			if (c->in_cap >= OPENLOOP_IN_MAX) {
				openloop_fail(ol, c, 0);
				return;
			}
			c->in_cap = c->in_cap ? c->in_cap * 2 : 16384;
			in = realloc(c->in, c->in_cap);
			if (in == NULL)
				openloop_die("realloc");
			c->in = in;
		}
		n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len - 1);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0 || c->state != OL_BUSY) {
			/* Closed, or bytes nobody asked for. */
			if (c->state == OL_BUSY)
				openloop_fail(ol, c, 0);
			else
				openloop_close(ol, c);
			return;
		}
		c->in_len += (size_t)n;
		r = openloop_parse(c, &status, &keep);
		if (r < 0) {
			openloop_fail(ol, c, 0);
			return;
		}
		if (r == 0)
			continue;
		{
			uint64_t lat =
			    (openloop_now() - openloop_intended(ol, c->seq)) /
			    1000;
			uint32_t us =
			    lat >= UINT32_MAX ? UINT32_MAX - 1 : (uint32_t)lat;

			ol->seq_lat_us[c->seq] = us + 1;
			if (c->seq >= ol->nwarm)
				ol->lat_us[ol->answered++] = us;
		}
		if ((status < 200 || status > 299) && c->seq < ol->nwarm)
			ol->warmup_errors++;
		else if (status < 200 || status > 299)
			ol->non2xx++;
		ol->done++;
		c->in_len = 0;
		c->out_len = 0;
		c->state = OL_IDLE;
		if (!keep)
			openloop_close(ol, c);
		return;
	}
}

static int
openloop_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static uint32_t
openloop_pct(const uint32_t *v, uint64_t n, double q)
{
	uint64_t i;

	if (n == 0)
		return 0;
	i = (uint64_t)(q * (double)n + 0.999999);
	return v[i == 0 ? 0 : (i > n ? n - 1 : i - 1)];
}

static void
openloop_run(struct openloop *ol)
{
	struct epoll_event evs[256];
	uint64_t end, drain_end;
	int i;

	/* A few connections before t0, so the first requests do not all
	 * pay a connect; more open on demand. */
	for (i = 0; i < ol->max_conns && i < 4; i++)
		openloop_connect(ol);
	ol->t0 = openloop_now() + 50000000u;
	end = ol->t0 + (uint64_t)(ol->seconds * 1e9);
	drain_end = end + (uint64_t)(ol->timeout_s * 1e9);
	while (ol->done < ol->total) {
		uint64_t now = openloop_now(), due = 0, wake;
		struct timespec ts;
		int n, k;

		if (now >= ol->t0)
			due = (uint64_t)((double)(now - ol->t0) /
			          ol->interval_ns) +
			    1;
		if (due > ol->total)
			due = ol->total;
		while (ol->issued < due) {
			struct openloop_conn *c = NULL;

			for (k = 0; k < ol->max_conns; k++) {
				if (ol->conns[k].state == OL_IDLE) {
					c = &ol->conns[k];
					break;
				}
			}
			if (c == NULL)
				c = openloop_connect(ol);
			if (c == NULL)
				break; /* all busy: it waits, on the clock */
			openloop_issue(ol, c, ol->issued);
		}
		/* Requests in flight past the timeout fail; so does what is
		 * left once the drain time is over. */
		for (k = 0; k < ol->max_conns; k++) {
			struct openloop_conn *c = &ol->conns[k];

			if ((c->state == OL_BUSY ||
			        (c->state == OL_CONNECTING && c->out_len)) &&
			    now > openloop_intended(ol, c->seq) +
			            (uint64_t)(ol->timeout_s * 1e9))
				openloop_fail(ol, c, 1);
		}
		if (now > drain_end) {
			ol->timeouts += ol->total - ol->done;
			ol->done = ol->total;
			break;
		}
		wake = now + 50000000u;
		if (ol->issued < ol->total && ol->issued == due) {
			uint64_t next = openloop_intended(ol, ol->issued);

			if (next < wake)
				wake = next;
		}
		wake = wake > now ? wake - now : 0;
		ts.tv_sec = (time_t)(wake / 1000000000u);
		ts.tv_nsec = (long)(wake % 1000000000u);
		n = epoll_pwait2(ol->ep, evs, 256, &ts, NULL);
		if (n < 0 && errno != EINTR)
			openloop_die("epoll_pwait2");
		for (k = 0; k < n; k++) {
			struct openloop_conn *c = evs[k].data.ptr;

			if (c->state == OL_FREE)
				continue; /* closed earlier in this batch */
			if (c->state == OL_CONNECTING &&
			    (evs[k].events & EPOLLOUT)) {
				int err = 0;
				socklen_t len = sizeof(err);

				getsockopt(
				    c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
				if (err != 0) {
					if (c->out_len)
						openloop_fail(ol, c, 0);
					else
						openloop_close(ol, c);
					continue;
				}
				c->state = c->out_len ? OL_BUSY : OL_IDLE;
				openloop_want_out(ol, c, 0);
			}
			if (c->state == OL_BUSY && (evs[k].events & EPOLLOUT)) {
				openloop_want_out(ol, c, 0);
				openloop_flush(ol, c);
			}
			if (c->state != OL_FREE &&
			    (evs[k].events &
			        (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)))
				openloop_readable(ol, c);
		}
	}
}

/*
 * The p99 of the measured requests that fell due in each second, as a JSON
 * array: a tail spread over every second is queueing, a tail in one second
 * is a stall. A second's unanswered requests are in the error counts.
 */
static void
openloop_print_seconds(const struct openloop *ol)
{
	uint64_t per = ol->rate < 1 ? 1 : (uint64_t)ol->rate;
	uint64_t at, i, n;
	uint32_t *v = malloc(per * sizeof(*v));

	if (v == NULL)
		openloop_die("malloc");
	printf(",\"p99_by_second_us\":[");
	for (at = ol->nwarm; at < ol->total; at += per) {
		for (i = at, n = 0; i < at + per && i < ol->total; i++)
			if (ol->seq_lat_us[i] > 0)
				v[n++] = ol->seq_lat_us[i] - 1;
		qsort(v, n, sizeof(*v), openloop_cmp);
		printf("%s%" PRIu32, at == ol->nwarm ? "" : ",",
		    openloop_pct(v, n, 0.99));
	}
	printf("]");
	free(v);
}

/* -T: one line per request, warm-up included, in the order they fell due. */
static int
openloop_timeline(const struct openloop *ol)
{
	FILE *f = fopen(ol->timeline, "w");
	uint64_t i;

	if (f == NULL)
		return -1;
	for (i = 0; i < ol->total; i++)
		fprintf(f, "%" PRIu64 " %" PRIu32 " %lld\n", i, ol->lag_us[i],
		    (long long)ol->seq_lat_us[i] - 1);
	return fclose(f);
}

static void
openloop_free(struct openloop *ol)
{
	int i;

	for (i = 0; ol->conns != NULL && i < ol->max_conns; i++) {
		if (ol->conns[i].fd >= 0)
			close(ol->conns[i].fd);
		free(ol->conns[i].in);
		free(ol->conns[i].out);
	}
	if (ol->ep >= 0)
		close(ol->ep);
	free(ol->conns);
	free(ol->lat_us);
	free(ol->tmpl);
	free(ol->file_buf);
}

int
main(int argc, char **argv)
{
	struct openloop ol = {.ep = -1, .max_conns = 256, .timeout_s = 5};
	const char *file = NULL;
	uint64_t late = 0, i;
	int opt;

	while ((opt = getopt(argc, argv, "p:r:d:f:c:t:w:T:")) != -1) {
		switch (opt) {
		case 'p':
			ol.port = (uint16_t)atoi(optarg);
			break;
		case 'r':
			ol.rate = atof(optarg);
			break;
		case 'd':
			ol.seconds = atof(optarg);
			break;
		case 'f':
			file = optarg;
			break;
		case 'c':
			ol.max_conns = atoi(optarg);
			break;
		case 't':
			ol.timeout_s = atof(optarg);
			break;
		case 'w':
			ol.warmup_s = atof(optarg);
			break;
		case 'T':
			ol.timeline = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (ol.port == 0 || ol.rate <= 0 || ol.seconds <= 0 || file == NULL ||
	    ol.max_conns < 1 || ol.timeout_s <= 0 || ol.warmup_s < 0)
		goto usage;
	if (openloop_load(&ol, file) != 0) {
		fprintf(stderr, "openloop: no request in %s\n", file);
		openloop_free(&ol);
		return 2;
	}
	ol.nwarm = (uint64_t)(ol.rate * ol.warmup_s);
	ol.total = (uint64_t)(ol.rate * ol.seconds);
	if (ol.total == 0)
		ol.total = 1;
	ol.total += ol.nwarm;
	ol.interval_ns = 1e9 / ol.rate;
	ol.lat_us = calloc(3 * ol.total, sizeof(*ol.lat_us));
	ol.lag_us = ol.lat_us == NULL ? NULL : ol.lat_us + ol.total;
	ol.seq_lat_us = ol.lat_us == NULL ? NULL : ol.lat_us + 2 * ol.total;
	ol.conns = calloc((size_t)ol.max_conns, sizeof(*ol.conns));
	ol.ep = epoll_create1(EPOLL_CLOEXEC);
	if (ol.lat_us == NULL || ol.conns == NULL || ol.ep < 0)
		openloop_die("setup");
	for (opt = 0; opt < ol.max_conns; opt++)
		ol.conns[opt].fd = -1;
	openloop_run(&ol);
	if (ol.timeline != NULL && openloop_timeline(&ol) != 0)
		openloop_die(ol.timeline);
	/* From here on, only the measured requests. */
	ol.issued = ol.issued > ol.nwarm ? ol.issued - ol.nwarm : 0;
	qsort(ol.lat_us, ol.answered, sizeof(*ol.lat_us), openloop_cmp);
	qsort(
	    ol.lag_us + ol.nwarm, ol.issued, sizeof(*ol.lag_us), openloop_cmp);
	for (i = 0; i < ol.issued; i++)
		late += ol.lag_us[ol.nwarm + i] > 1000;
	printf("{\"rate\":%.1f,\"seconds\":%.1f,\"offered\":%" PRIu64
	       ",\"issued\":%" PRIu64 ",\"answered\":%" PRIu64
	       ",\"non2xx\":%" PRIu64 ",\"socket_errors\":%" PRIu64
	       ",\"timeouts\":%" PRIu64 ",\"p50_us\":%u,\"p90_us\":%u"
	       ",\"p99_us\":%u,\"p999_us\":%u,\"max_us\":%u"
	       ",\"send_lag_p99_us\":%u,\"sent_over_1ms_late\":%" PRIu64
	       ",\"peak_conns\":%d,\"max_conns\":%d,\"warmup_s\":%.1f"
	       ",\"warmup_requests\":%" PRIu64 ",\"warmup_errors\":%" PRIu64,
	    ol.rate, ol.seconds, ol.total - ol.nwarm, ol.issued, ol.answered,
	    ol.non2xx, ol.sock_errors, ol.timeouts,
	    openloop_pct(ol.lat_us, ol.answered, 0.5),
	    openloop_pct(ol.lat_us, ol.answered, 0.9),
	    openloop_pct(ol.lat_us, ol.answered, 0.99),
	    openloop_pct(ol.lat_us, ol.answered, 0.999),
	    ol.answered ? ol.lat_us[ol.answered - 1] : 0,
	    openloop_pct(ol.lag_us + ol.nwarm, ol.issued, 0.99), late,
	    ol.peak_conns, ol.max_conns, ol.warmup_s, ol.nwarm,
	    ol.warmup_errors);
	openloop_print_seconds(&ol);
	printf("}\n");
	openloop_free(&ol);
	return 0;
usage:
	fprintf(stderr,
	    "usage: openloop -p PORT -r RATE -d SECONDS -f FILE "
	    "[-c MAXCONNS] [-t TIMEOUT_S] [-w WARMUP_S] [-T TIMELINE]\n");
	return 2;
}
