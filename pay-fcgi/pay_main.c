/*
 * pay_main.c: pay-fcgi, the payments service. `pay-fcgi --migrate` applies
 * the schema and exits; without arguments it serves FastCGI until SIGTERM.
 * Every setting comes from the environment (DESIGN.md); a bad one stops the
 * program at start with one line naming it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cm_config.h"
#include "cm_log.h"
#include "cm_server.h"
#include "pay.h"
#include "pay_accounts.h"
#include "pay_check.h"
#include "pay_db.h"
#include "pay_deposits.h"
#include "pay_error.h"
#include "pay_health.h"
#include "pay_ident.h"
#include "pay_migrate.h"
#include "pay_payments.h"

#define PAY_PROG "pay-fcgi"

/*
 * The modules whose routes pay serves, in matching order. No public route
 * sets CM_ROUTE_BODY: the handlers read their bodies with pay_check_body,
 * which is stricter than the server's parser (content type, unknown fields,
 * a too large number named by its field).
 */
static const struct cm_route *const pay_route_tables[] = {
    pay_health_routes,
    pay_accounts_routes,
    pay_deposits_routes,
    pay_payments_routes,
    pay_ident_routes, /* the blog's identity events, admin port only */
    NULL,
};

int
main(int argc, char **argv)
{
	static struct pay_app app;
	struct cm_server_conf conf;
	struct cm_route *routes;
	char err[256];
	int migrate = cm_config_args(argc, argv, PAY_PROG);

	cm_log_set_service("pay");
	cm_config_log_level(PAY_PROG);
	app.db_url = cm_config_str_or_exit(PAY_PROG, "PAY_DB_URL", NULL, 1);
	if (migrate)
		return pay_migrate_run(app.db_url) == 0 ? 0 : 1;

	if (sodium_init() < 0) {
		fprintf(stderr, "%s: sodium_init failed\n", PAY_PROG);
		return 1;
	}
	if (cm_config_bool("PAY_SANDBOX", 0, &app.sandbox, err, sizeof(err)) !=
	    CM_OK)
		cm_config_fatal(PAY_PROG, err);
	app.idempotency_ttl_hours = cm_config_long_or_exit(
	    PAY_PROG, "PAY_IDEMPOTENCY_TTL_HOURS", 24, 1, 24L * 366 * 10);
	app.max_deposit = cm_config_long_or_exit(
	    PAY_PROG, "PAY_MAX_DEPOSIT", 100000000L, 1, PAY_AMOUNT_MAX);
	app.jwt = cm_config_jwt(PAY_PROG, 0);

	memset(&conf, 0, sizeof(conf));
	cm_config_server(PAY_PROG, "127.0.0.1:9101", 256, &conf);
	conf.service = "pay";
	if ((routes = cm_router_join(pay_route_tables, &conf.nroutes)) == NULL)
		cm_config_fatal(PAY_PROG, "out of memory");
	conf.routes = routes;
	conf.jwt = app.jwt;
	conf.error = pay_error_server;
	conf.app = &app;
	conf.worker_open = pay_db_open;
	conf.worker_close = pay_db_close;
	conf.after = pay_db_prune;
	conf.auth_check = pay_ident_check;
	cm_log(CM_LOG_INFO, NULL, "sandbox %s, idempotency keys kept %ld h",
	    app.sandbox ? "on" : "off", app.idempotency_ttl_hours);
	if (cm_server_run(&conf) != 0)
		return 1;
	cm_jwt_free(app.jwt);
	free(app.db_url);
	cm_config_server_free(&conf);
	free(routes);
	return 0;
}
