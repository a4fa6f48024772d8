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

static void
test_refused_statement_runs_again(void **state)
{
	(void)state;
	/* 1047: the node refused it before running it, read or write. */
	assert_true(blog_db_rerun_safe(
	    ER_UNKNOWN_COM_ERROR, SENT, READ, AUTOCOMMIT, 5));
	assert_true(blog_db_rerun_safe(
	    ER_UNKNOWN_COM_ERROR, SENT, WRITE, AUTOCOMMIT, 5));
}

static void
test_write_with_unknown_outcome_never_runs_again(void **state)
{
	(void)state;
	/* The connection broke after the write was sent: it may have run. */
	assert_false(
	    blog_db_rerun_safe(CR_SERVER_LOST, SENT, WRITE, AUTOCOMMIT, 5));
	assert_false(blog_db_rerun_safe(
	    CR_SERVER_GONE_ERROR, SENT, WRITE, AUTOCOMMIT, 5));
	assert_false(blog_db_rerun_safe(
	    ER_CONNECTION_KILLED, SENT, WRITE, AUTOCOMMIT, 5));
	assert_false(
	    blog_db_rerun_safe(ER_SERVER_SHUTDOWN, SENT, WRITE, AUTOCOMMIT, 5));
}

static void
test_read_on_a_dead_connection_runs_again(void **state)
{
	(void)state;
	assert_true(blog_db_rerun_safe(
	    CR_SERVER_GONE_ERROR, SENT, READ, AUTOCOMMIT, 5));
	assert_true(
	    blog_db_rerun_safe(CR_SERVER_LOST, SENT, READ, AUTOCOMMIT, 5));
	/* Lost only after the read timeout: a hung server, not a dead one. */
	assert_false(
	    blog_db_rerun_safe(CR_SERVER_LOST, SENT, READ, AUTOCOMMIT, 6000));
}

static void
test_statement_never_sent_runs_again(void **state)
{
	(void)state;
	/* No connection could be opened (a 2013 at the handshake). */
	assert_true(blog_db_rerun_safe(
	    CR_SERVER_LOST, UNSENT, WRITE, AUTOCOMMIT, 1000));
	assert_true(
	    blog_db_rerun_safe(CR_SERVER_LOST, UNSENT, READ, AUTOCOMMIT, 1000));
	/* Inside a transaction the transaction is gone even so. */
	assert_false(blog_db_rerun_safe(CR_SERVER_LOST, UNSENT, WRITE, TXN, 5));
}

static void
test_nothing_inside_a_transaction(void **state)
{
	(void)state;
	/* The transaction went with the connection; blog_db_txn decides. */
	assert_false(
	    blog_db_rerun_safe(ER_UNKNOWN_COM_ERROR, SENT, READ, TXN, 5));
	assert_false(
	    blog_db_rerun_safe(ER_UNKNOWN_COM_ERROR, SENT, WRITE, TXN, 5));
	assert_false(
	    blog_db_rerun_safe(CR_SERVER_GONE_ERROR, SENT, READ, TXN, 5));
}

static void
test_other_errors_are_answered(void **state)
{
	(void)state;
	assert_false(
	    blog_db_rerun_safe(ER_DUP_ENTRY, SENT, WRITE, AUTOCOMMIT, 5));
	assert_false(
	    blog_db_rerun_safe(ER_LOCK_DEADLOCK, SENT, READ, AUTOCOMMIT, 5));
	assert_false(blog_db_rerun_safe(0, SENT, READ, AUTOCOMMIT, 5));
}

UNIT_MAIN(
    cmocka_unit_test(test_refused_statement_runs_again),
    cmocka_unit_test(test_write_with_unknown_outcome_never_runs_again),
    cmocka_unit_test(test_read_on_a_dead_connection_runs_again),
    cmocka_unit_test(test_statement_never_sent_runs_again),
    cmocka_unit_test(test_nothing_inside_a_transaction),
    cmocka_unit_test(test_other_errors_are_answered))
