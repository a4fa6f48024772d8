/*
 * pay_db.c: the worker's PostgreSQL connection.
 *
 * Each worker thread owns one connection (libpq connections are not shared
 * between threads) with every statement prepared on it. The connection is
 * opened lazily and re-opened after a failure, with exponential backoff so
 * that a request arriving while the database is down is answered 503 at
 * once instead of waiting for a connect timeout every time.
 *
 * No request can hang: statement_timeout and lock_timeout bound the server
 * side, and the client side waits with poll() against a deadline, so even a
 * frozen server or a dead network costs at most PAY_DB_WAIT_MS.
 *
 * Past that deadline the connection is dropped, never cancelled. The only
 * statement the server itself lets run that long is a commit waiting for
 * its synchronous standby (statement_timeout is off during a commit), and
 * PostgreSQL ends such a wait on a cancel by making the transaction visible
 * on the primary alone ("committed locally, but might not have been
 * replicated"): a retry with the same Idempotency-Key would then replay a
 * payment no standby has, and a failover would lose it. That happened in
 * the freeze drill (tests/api/test_ha_data.py): the cancel, sent to the
 * frozen old primary, was served when it thawed. Dropped, the waiting
 * commit stays invisible until a standby has it, or dies with its server.
 * (PQcancel also has no timeout: against a frozen server it blocked the
 * worker for the whole freeze.)
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "cm_clock.h"
#include "cm_log.h"
#include "cm_reconnect.h"
#include "cm_metrics.h"
#include "pay.h"
#include "pay_db.h"
#include "pay_error.h"

#define PAY_DB_WAIT_MS 8000 /* > statement_timeout below */
#define PAY_DB_BACKOFF_MIN_MS 100
#define PAY_DB_BACKOFF_MAX_MS 5000
#define PAY_DB_RIDE_MS 3000 /* how long a request waits for a primary */
#define PAY_DB_RIDE_STEP_MS 250
#define PAY_DB_RIDE_WINDOW_MS 15000 /* a loss this recent may be a failover */
#define PAY_DB_PRUNE_EVERY_MS (10LL * 60 * 1000)
#define PAY_DB_ATTEMPTS 4

struct pay_db {
	const struct pay_app *app;
	int idx;
	PGconn *conn; /* NULL while disconnected */
	struct cm_reconnect reconnect;
	long long next_prune; /* ms */
	long long last_ok; /* ms: the last statement that got an answer */
};

/* How one execution ended, which decides what pay_db_call does next. */
enum pay_db_outcome {
	PAY_DB_DONE = 0,
	PAY_DB_RETRY, /* deadlock, serialization, unique race */
	PAY_DB_LOST, /* connection broken: reconnect */
	PAY_DB_TIMEOUT, /* server or client timeout: 503 */
	PAY_DB_FAILED, /* anything else: 500, logged */
	PAY_DB_CLIENT, /* SQLSTATE class 22, the client's data: 400 */
};

/* Every operation answers (status, body, replayed); see R__functions. */
#define PAY_DB_OP "SELECT r_status, r_body, r_replayed FROM "
/*
 * The reads every resource has, with the parameters pay_db_object and
 * pay_db_page bind, in one place: one object is fn(user, id), a page
 * fn(user, key, starting_after, limit).
 */
#define PAY_DB_OBJECT(fn) PAY_DB_OP fn "($1::bigint, $2::text)"
#define PAY_DB_PAGE(fn) PAY_DB_OP fn "($1::bigint, $2::text, $3::text, $4::int)"

static const struct {
	const char *name;
	const char *sql;
	int nparams;
} pay_db_stmts[PAY_STMT_COUNT] = {
    [PAY_STMT_PING] = {"ping",
        "SELECT EXISTS (SELECT 1 FROM schema_migrations"
        " WHERE version = $1::int)",
        1},
    [PAY_STMT_PRUNE] = {"prune", "SELECT pay_idem_prune($1::int)", 1},
    [PAY_STMT_DEPOSIT] = {"deposit",
        PAY_DB_OP "pay_deposit($1::bigint, $2::text, $3::text, $4::text, "
                  "$5::text, $6::bigint, $7::boolean, $8::bigint)",
        8},
    [PAY_STMT_PAYMENT] = {"payment",
        PAY_DB_OP "pay_payment($1::bigint, $2::text, $3::text, $4::text, "
                  "$5::text, $6::text, $7::bigint, $8::text, $9::text)",
        9},
    [PAY_STMT_REFUND] = {"refund",
        PAY_DB_OP "pay_refund($1::bigint, $2::text, $3::text, $4::text, "
                  "$5::bigint)",
        5},
    [PAY_STMT_ACCOUNT_OPEN] = {"account_open",
        PAY_DB_OP "pay_account_open($1::bigint, $2::text, $3::text)", 3},
    [PAY_STMT_ACCOUNTS_LIST] = {"accounts_list",
        PAY_DB_PAGE("pay_accounts_list"), 4},
    [PAY_STMT_ACCOUNT_GET] = {"account_get", PAY_DB_OBJECT("pay_account_get"),
        2},
    [PAY_STMT_ENTRIES_LIST] = {"entries_list", PAY_DB_PAGE("pay_entries_list"),
        4},
    [PAY_STMT_PAYMENTS_LIST] = {"payments_list",
        PAY_DB_PAGE("pay_payments_list"), 4},
    [PAY_STMT_PAYMENT_GET] = {"payment_get", PAY_DB_OBJECT("pay_payment_get"),
        2},
    [PAY_STMT_REFUNDS_LIST] = {"refunds_list", PAY_DB_PAGE("pay_refunds_list"),
        4},
    [PAY_STMT_IDENT_APPLY] = {"ident_apply",
        PAY_DB_OP "pay_ident_apply($1::json)", 1},
    /* Always one row, NULLs for a user pay was never told about. */
    [PAY_STMT_USER_IDENT] = {"user_ident",
        "SELECT u.ident_ver, u.username FROM (SELECT 1) one"
        " LEFT JOIN users u ON u.user_id = $1::bigint",
        1},
    [PAY_STMT_CURRENCIES_LIST] = {"currencies_list",
        PAY_DB_OP "pay_currencies_list($1::text, $2::int, $3::bigint)", 3},
    [PAY_STMT_DEPOSIT_GET] = {"deposit_get", PAY_DB_OBJECT("pay_deposit_get"),
        2},
};

static void
pay_db_drop(struct pay_db *db)
{
	if (db->conn != NULL) {
		PQfinish(db->conn);
		db->conn = NULL;
	}
}

/*
 * Connect and prepare every statement. The session timeouts travel in the
 * startup packet (options), so they hold from the first statement on.
 * libpq lets a later key override an earlier one, the expanded PAY_DB_URL
 * included: the URL may change the connect timeout and keepalives (the HA
 * stack's multi-host URL asks for libpq's smallest connect timeout, 2 s per
 * host, which a frozen member costs each new connection), never options.
 */
static enum cm_err
pay_db_connect(void *arg, const char *rid)
{
	struct pay_db *db = arg;
	static const char *const keys[] = {"connect_timeout", "keepalives",
	    "keepalives_idle", "keepalives_interval", "keepalives_count",
	    "dbname", "options", "application_name", NULL};
	/*
	 * lock_timeout 4 s: a commit waiting for its synchronous standby keeps
	 * its row locks, and after a switchover or failover that wait lasts
	 * until the remaining member streams from the new leader (measured up
	 * to 2.3 s with both cores saturated): at 2 s, payments to the same
	 * payee queued behind it answered 503 (test_ha_data.py, drill 4).
	 */
	static const char options[] =
	    "-c statement_timeout=5000 -c lock_timeout=4000 "
	    "-c idle_in_transaction_session_timeout=10000";
	const char *vals[] = {"3", "1", "10", "5", "3", db->app->db_url,
	    options, "pay-fcgi", NULL};
	PGconn *conn;
	PGresult *res;
	int i;

	conn = PQconnectdbParams(keys, vals, 1);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		cm_log(CM_LOG_ERROR, rid, "worker %d: database connect: %s",
		    db->idx, conn != NULL ? PQerrorMessage(conn) : "no memory");
		goto fail;
	}
	for (i = 0; i < PAY_STMT_COUNT; i++) {
		res = PQprepare(conn, pay_db_stmts[i].name, pay_db_stmts[i].sql,
		    pay_db_stmts[i].nparams, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			cm_log(CM_LOG_ERROR, rid, "worker %d: prepare %s: %s",
			    db->idx, pay_db_stmts[i].name,
			    PQerrorMessage(conn));
			PQclear(res);
			goto fail;
		}
		PQclear(res);
	}
	db->conn = conn;
	return CM_OK;
fail:
	PQfinish(conn);
	return CM_EUNAVAIL;
}

/*
 * The worker's live connection, connecting if needed and allowed by the
 * backoff; NULL means "unavailable now".
 */
static PGconn *
pay_db_get(struct pay_db *db, const char *rid)
{
	if (db->conn != NULL && PQstatus(db->conn) != CONNECTION_OK)
		pay_db_drop(db);
	if (db->conn == NULL)
		(void)cm_reconnect(&db->reconnect, pay_db_connect, db, rid);
	return db->conn;
}

static enum pay_db_outcome
pay_db_classify(
    struct pay_db *db, const char *rid, enum pay_stmt st, const PGresult *res)
{
	const char *state =
	    res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK)
		return PAY_DB_LOST;
	if (state == NULL)
		state = "";
	cm_log(CM_LOG_WARN, rid, "worker %d: %s: SQLSTATE %s: %s", db->idx,
	    pay_db_stmts[st].name, state,
	    res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(db->conn));
	/* Lost races: the retry sees the winner's committed state. */
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "23505") == 0)
		return PAY_DB_RETRY;
	if (strcmp(state, "57014") == 0 || strcmp(state, "55P03") == 0)
		return PAY_DB_TIMEOUT;
	/*
	 * Class 22 (data exception: invalid byte sequence, value out of
	 * range, text too long for its column...) is what the client sent,
	 * not our failure: a 400, never retried. The handlers' own checks
	 * should catch these first; this is the net under them.
	 */
	if (strncmp(state, "22", 2) == 0)
		return PAY_DB_CLIENT;
	/* Shutdown of the server, or connection exceptions. */
	if (strncmp(state, "57P", 3) == 0 || strncmp(state, "08", 2) == 0)
		return PAY_DB_LOST;
	return PAY_DB_FAILED;
}

/*
 * Send one prepared statement and wait for its result against a deadline.
 * On PAY_DB_DONE *out holds a PGRES_TUPLES_OK result the caller clears.
 */
static enum pay_db_outcome
pay_db_exec(struct pay_db *db, const char *rid, enum pay_stmt st,
    const char *const *params, PGresult **out)
{
	PGconn *conn = db->conn;
	PGresult *res = NULL, *r;
	enum pay_db_outcome oc;
	struct pollfd pfd;
	long long deadline = cm_clock_ms() + PAY_DB_WAIT_MS, left;
	int n;

	*out = NULL;
	if (PQsendQueryPrepared(conn, pay_db_stmts[st].name,
	        pay_db_stmts[st].nparams, params, NULL, NULL, 0) == 0)
		return pay_db_classify(db, rid, st, NULL);
	for (;;) {
		while (PQisBusy(conn)) {
			left = deadline - cm_clock_ms();
			if (left <= 0) {
				/* Dropped, not cancelled: see the top. */
				cm_log(CM_LOG_ERROR, rid,
				    "worker %d: %s: no answer in %d ms",
				    db->idx, pay_db_stmts[st].name,
				    PAY_DB_WAIT_MS);
				PQclear(res);
				pay_db_drop(db);
				return PAY_DB_TIMEOUT;
			}
			/* poll() would ignore a closed socket until the end. */
			if ((pfd.fd = PQsocket(conn)) < 0) {
				PQclear(res);
				pay_db_drop(db);
				return PAY_DB_LOST;
			}
			pfd.events = POLLIN;
			pfd.revents = 0;
			n = poll(&pfd, 1, (int)left);
			if ((n < 0 && errno != EINTR) ||
			    (n > 0 && PQconsumeInput(conn) == 0)) {
				PQclear(res);
				return pay_db_classify(db, rid, st, NULL);
			}
		}
		if ((r = PQgetResult(conn)) == NULL)
			break;
		if (res == NULL)
			res = r;
		else
			PQclear(r);
	}
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		*out = res;
		return PAY_DB_DONE;
	}
	oc = pay_db_classify(db, rid, st, res);
	PQclear(res);
	return oc;
}

/*
 * No usable connection: wait for one a little, trying again every
 * PAY_DB_RIDE_STEP_MS until the deadline. A planned switchover or an
 * automatic failover leaves the cluster without a writable primary for a
 * second or a few (measured: 1-2 s planned, about 9 s after a lost leader);
 * riding through the short ones spares the client a 503, and an outage
 * still answers 503 within PAY_DB_RIDE_MS. Only a worker that reached the
 * database within PAY_DB_RIDE_WINDOW_MS waits: one whose database has been
 * gone longer, or never answered, answers 503 at once.
 */
static PGconn *
pay_db_ride(struct pay_db *db, const char *rid, long long until)
{
	if (db->last_ok == 0 ||
	    cm_clock_ms() - db->last_ok > PAY_DB_RIDE_WINDOW_MS)
		return NULL;
	while (cm_clock_ms() < until) {
		usleep(PAY_DB_RIDE_STEP_MS * 1000);
		cm_reconnect_now(&db->reconnect);
		if (pay_db_get(db, rid) != NULL)
			return db->conn;
	}
	return NULL;
}

/* Run st with bounded retries; *out as for pay_db_exec. */
static enum cm_err
pay_db_run(struct cm_req *req, enum pay_stmt st, const char *const *params,
    PGresult **out)
{
	struct pay_db *db = req->worker;
	enum pay_db_outcome oc = PAY_DB_LOST;
	int attempt, lost = 0;
	long long ride_until = cm_clock_ms() + PAY_DB_RIDE_MS;

	*out = NULL;
	if (db == NULL)
		return CM_EUNAVAIL;
	for (attempt = 0; attempt < PAY_DB_ATTEMPTS; attempt++) {
		if (pay_db_get(db, req->request_id) == NULL &&
		    pay_db_ride(db, req->request_id, ride_until) == NULL)
			return CM_EUNAVAIL;
		oc = pay_db_exec(db, req->request_id, st, params, out);
		if (oc == PAY_DB_DONE) {
			db->last_ok = cm_clock_ms();
			return CM_OK;
		}
		if (oc == PAY_DB_TIMEOUT)
			return CM_EUNAVAIL;
		if (oc == PAY_DB_CLIENT)
			return CM_EINVAL;
		if (oc == PAY_DB_FAILED || oc == PAY_DB_LOST)
			cm_metrics_db_error();
		if (oc == PAY_DB_FAILED)
			return CM_EDB;
		if (oc == PAY_DB_LOST) {
			/*
			 * One fresh connection per request: a server that
			 * restarted is reached again at once. Re-running a
			 * movement is safe, its key makes it a replay.
			 */
			cm_log(CM_LOG_WARN, req->request_id,
			    "worker %d: %s: connection lost: %s", db->idx,
			    pay_db_stmts[st].name,
			    db->conn != NULL ? PQerrorMessage(db->conn)
			                     : "timed out");
			pay_db_drop(db);
			if (lost++ > 0)
				return CM_EUNAVAIL;
			continue;
		}
		usleep((useconds_t)(1000 * (attempt + 1) +
		    randombytes_uniform(5000)));
	}
	return oc == PAY_DB_RETRY ? CM_EUNAVAIL : CM_EDB;
}

/*
 * Keys past their TTL go from time to time. This is the server's `after`
 * hook: it runs in the worker once the response is sent and the connection
 * handed back, so no request waits for it. (It used to run inside
 * pay_db_call, before the response was written: make bench then measured
 * p99 ≈ 300 ms for payments at one connection against 1.5 ms at p50.)
 */
void
pay_db_prune(void *worker)
{
	struct pay_db *db = worker;
	char hours[24];
	PGresult *res;
	long long now = cm_clock_ms();

	if (db == NULL || db->conn == NULL || now < db->next_prune)
		return;
	db->next_prune = now + PAY_DB_PRUNE_EVERY_MS;
	snprintf(hours, sizeof(hours), "%ld", db->app->idempotency_ttl_hours);
	if (pay_db_exec(db, "-", PAY_STMT_PRUNE, (const char *const[]){hours},
	        &res) == PAY_DB_DONE)
		PQclear(res);
}

enum cm_err
pay_db_call(struct cm_req *req, enum pay_stmt st, const char *const *params)
{
	PGresult *res = NULL;
	json_error_t jerr;
	json_t *body;
	enum cm_err rc;
	int status;

	if ((rc = pay_db_run(req, st, params, &res)) != CM_OK)
		goto out;
	rc = CM_EDB;
	if (PQnfields(res) != 3 || PQgetisnull(res, 0, 0) ||
	    PQgetisnull(res, 0, 1)) {
		cm_log(CM_LOG_ERROR, req->request_id, "%s: malformed result",
		    pay_db_stmts[st].name);
		goto out;
	}
	status = atoi(PQgetvalue(res, 0, 0));
	/*
	 * The SQL function rendered the body; parsing and re-serialising it
	 * is deterministic, so a stored body replays byte for byte.
	 */
	body = json_loads(PQgetvalue(res, 0, 1), 0, &jerr);
	if (body == NULL || status < 200 || status > 599) {
		json_decref(body);
		cm_log(CM_LOG_ERROR, req->request_id, "%s: bad body: %s",
		    pay_db_stmts[st].name, jerr.text);
		goto out;
	}
	if ((rc = cm_resp_json(&req->resp, status, body)) != CM_OK)
		goto out;
	if (PQgetvalue(res, 0, 2)[0] == 't')
		rc = cm_resp_header(&req->resp, "Idempotent-Replayed", "true");
out:
	PQclear(res);
	return rc;
}

enum cm_err
pay_db_object(struct cm_req *req, enum pay_stmt st, const char *noun)
{
	const char *id = cm_req_param(req, "id");
	char uid[24];

	if (!pay_check_id_ok(id))
		return pay_error_not_found(&req->resp, noun);
	snprintf(uid, sizeof(uid), "%lld", req->user_id);
	return pay_db_call(req, st, (const char *const[]){uid, id});
}

enum cm_err
pay_db_page(struct cm_req *req, enum pay_stmt st, const char *key)
{
	struct pay_check_err e;
	const char *after = cm_req_query(req, "starting_after");
	char uid[24], lim[PAY_CHECK_LIM_LEN];

	if (pay_check_page(cm_req_query(req, "limit"), after, lim, &e) != CM_OK)
		return pay_error_check(&req->resp, &e);
	snprintf(uid, sizeof(uid), "%lld", req->user_id);
	return pay_db_call(
	    req, st, (const char *const[]){uid, key, after, lim});
}

enum cm_err
pay_db_page_of(struct cm_req *req, enum pay_stmt st, const char *noun)
{
	const char *id = cm_req_param(req, "id");

	if (!pay_check_id_ok(id))
		return pay_error_not_found(&req->resp, noun);
	return pay_db_page(req, st, id);
}

enum cm_err
pay_db_move_params(struct cm_req *req, long long amount, struct pay_db_move *m)
{
	if (pay_check_fingerprint(req->method, req->path, req->json, m->fp) !=
	    CM_OK)
		return CM_ENOMEM;
	snprintf(m->uid, sizeof(m->uid), "%lld", req->user_id);
	snprintf(m->amount, sizeof(m->amount), "%lld", amount);
	return CM_OK;
}

enum cm_err
pay_db_user_ident(struct cm_req *req, long long user_id, long long *ver,
    char *name, size_t namelen)
{
	char uid[24];
	PGresult *res = NULL;
	enum cm_err rc;

	*ver = 0;
	name[0] = '\0';
	snprintf(uid, sizeof(uid), "%lld", user_id);
	if ((rc = pay_db_run(req, PAY_STMT_USER_IDENT,
	         (const char *const[]){uid}, &res)) != CM_OK)
		goto out;
	if (!PQgetisnull(res, 0, 0))
		*ver = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	if (!PQgetisnull(res, 0, 1))
		snprintf(name, namelen, "%s", PQgetvalue(res, 0, 1));
out:
	PQclear(res);
	return rc;
}

enum cm_err
pay_db_ping(struct cm_req *req, int version)
{
	PGresult *res = NULL;
	char v[16];
	enum cm_err rc;

	snprintf(v, sizeof(v), "%d", version);
	rc = pay_db_run(req, PAY_STMT_PING, (const char *const[]){v}, &res);
	if (rc == CM_OK && PQgetvalue(res, 0, 0)[0] != 't')
		rc = CM_ENOTFOUND;
	PQclear(res);
	return rc;
}

void *
pay_db_open(void *app, int idx)
{
	struct pay_db *db;

	if ((db = calloc(1, sizeof(*db))) == NULL)
		return NULL;
	db->app = app;
	db->idx = idx;
	db->reconnect.min_ms = PAY_DB_BACKOFF_MIN_MS;
	db->reconnect.max_ms = PAY_DB_BACKOFF_MAX_MS;
	/* Stagger the workers' pruning so they do not all run at once. */
	db->next_prune = cm_clock_ms() + 1000LL * 7 * idx;
	(void)pay_db_get(db, NULL);
	return db;
}

void
pay_db_close(void *worker)
{
	struct pay_db *db = worker;

	if (db == NULL)
		return;
	pay_db_drop(db);
	free(db);
}
