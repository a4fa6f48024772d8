/*
 * Unit tests for blog_db_rerun_safe: which failed statements the blog runs
 * again on a fresh connection. A write whose outcome is unknown must never
 * be among them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "unit.h"

#include <errmsg.h>
#include <mysqld_error.h>

#include "../../blog-fcgi/blog_db.h"

enum { READ = 1, WRITE = 0, TXN = 1, AUTOCOMMIT = 0, SENT = 1, UNSENT = 0 };
enum { RERUN = 1, ANSWER = 0 };

/* A failed statement, how long it took, and whether it may run again. */
static const struct {
	unsigned int err;
	int sent, read, txn;
	long long elapsed_ms;
	int rerun;
} cases[] = {
    /* 1047: the node refused it before running it, read or write. */
    {ER_UNKNOWN_COM_ERROR, SENT, READ, AUTOCOMMIT, 5, RERUN},
    {ER_UNKNOWN_COM_ERROR, SENT, WRITE, AUTOCOMMIT, 5, RERUN},
    /* The connection broke after a write was sent: it may have run. */
    {CR_SERVER_LOST, SENT, WRITE, AUTOCOMMIT, 5, ANSWER},
    {CR_SERVER_GONE_ERROR, SENT, WRITE, AUTOCOMMIT, 5, ANSWER},
    {ER_CONNECTION_KILLED, SENT, WRITE, AUTOCOMMIT, 5, ANSWER},
    {ER_SERVER_SHUTDOWN, SENT, WRITE, AUTOCOMMIT, 5, ANSWER},
    /* A read on a dead connection runs again... */
    {CR_SERVER_GONE_ERROR, SENT, READ, AUTOCOMMIT, 5, RERUN},
    {CR_SERVER_LOST, SENT, READ, AUTOCOMMIT, 5, RERUN},
    /* ...unless lost only after the read timeout: a hung server. */
    {CR_SERVER_LOST, SENT, READ, AUTOCOMMIT, 6000, ANSWER},
    /* Never sent: no connection could be opened (a 2013 at the
     * handshake). */
    {CR_SERVER_LOST, UNSENT, WRITE, AUTOCOMMIT, 1000, RERUN},
    {CR_SERVER_LOST, UNSENT, READ, AUTOCOMMIT, 1000, RERUN},
    /* Inside a transaction the transaction went with the connection,
     * sent or not; blog_db_txn decides. */
    {CR_SERVER_LOST, UNSENT, WRITE, TXN, 5, ANSWER},
    {ER_UNKNOWN_COM_ERROR, SENT, READ, TXN, 5, ANSWER},
    {ER_UNKNOWN_COM_ERROR, SENT, WRITE, TXN, 5, ANSWER},
    {CR_SERVER_GONE_ERROR, SENT, READ, TXN, 5, ANSWER},
    /* Other errors are answered. */
    {ER_DUP_ENTRY, SENT, WRITE, AUTOCOMMIT, 5, ANSWER},
    {ER_LOCK_DEADLOCK, SENT, READ, AUTOCOMMIT, 5, ANSWER},
    {0, SENT, READ, AUTOCOMMIT, 5, ANSWER},
};

static void
test_rerun_safe(void **state)
{
	size_t i;
	int got;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = blog_db_rerun_safe(cases[i].err, cases[i].sent,
		    cases[i].read, cases[i].txn, cases[i].elapsed_ms) != 0;
		if (got != cases[i].rerun)
			fail_msg("case %zu (error %u): rerun %d, want %d", i,
			    cases[i].err, got, cases[i].rerun);
	}
}

UNIT_MAIN(cmocka_unit_test(test_rerun_safe))
