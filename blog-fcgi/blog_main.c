/*
 * blog_main.c: blog-fcgi, the RealWorld ("Conduit") API over FastCGI.
 *
 *   blog-fcgi            serve (settings from the environment, DESIGN.md)
 *   blog-fcgi --migrate  apply the schema migrations and exit
 *
 * Everything loaded here (settings, keys, the route table) is process
 * lifetime and read-only once the workers run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include <curl/curl.h>
#include <mysql.h>

#include "blog.h"
#include "blog_dburl.h"
#include "blog_articles.h"
#include "blog_cache.h"
#include "blog_comments.h"
#include "blog_db.h"
#include "blog_error.h"
#include "blog_health.h"
#include "blog_idem.h"
#include "blog_ident.h"
#include "blog_migrate.h"
#include "blog_unicode.h"
#include "blog_profiles.h"
#include "blog_tags.h"
#include "blog_users.h"
#include "cm_config.h"
#include "cm_log.h"
#include "cm_metrics.h"
#include "cm_password.h"
#include "cm_server.h"

#define BLOG_PROG "blog-fcgi"

/*
 * Connect quickly: a down database is a 503 at once, never a hung request.
 * The read timeout must outlast a Galera cluster losing a node: until the
 * survivors declare it dead (evs.suspect_timeout 3 s, tests/ha/hadb.sh;
 * 3.7-4 s measured) they hold every commit and causal read, and with 2 s
 * those waits became 503s, reads included. A hung database is a 503 after
 * 6 s. Lock waits (1 s, see blog_db.c) end well before.
 */
#define BLOG_DB_CONNECT_TIMEOUT 1
#define BLOG_DB_RW_TIMEOUT 6

/*
 * The modules whose routes the blog serves, joined in this order at start
 * (cm_router_join). Order matters only where patterns overlap, and they
 * overlap only within a module (the literal /api/articles/feed before
 * /api/articles/:slug).
 */
static const struct cm_route *const blog_route_tables[] = {
    blog_health_routes,
    blog_users_routes,
    blog_profiles_routes,
    blog_articles_routes,
    blog_comments_routes,
    blog_tags_routes,
    NULL,
};

/*
 * Request bodies are parsed by the handlers (blog_valid_root), not by the
 * server: invalid UTF-8 is then a 422 and a missing body names the root key
 * the client forgot.
 */

static void blog_settings_tls(struct blog_app *app);

static void *
blog_worker_open(void *app, int idx)
{
	struct blog_db *db;

	db = blog_db_new(app, BLOG_DB_CONNECT_TIMEOUT, BLOG_DB_RW_TIMEOUT);
	if (db == NULL) {
		cm_log(CM_LOG_ERROR, NULL, "worker %d: out of memory", idx);
		return NULL;
	}
	/* A database that is down now is retried by the first request. */
	(void)blog_db_ready(db, NULL);
	return db;
}

static void
blog_worker_close(void *worker)
{
	blog_db_free(worker);
}

/*
 * BLOG_DB_URL (or BLOG_DB_URL_FILE) instead of the BLOG_DB_* variables.
 * Returns 0 when it was set and filled app, -1 when it is not set; exits
 * with one line when it is invalid or mixed with the separate variables.
 */
static int
blog_settings_url(struct blog_app *app)
{
	static const char *const parts[] = {"BLOG_DB_HOST", "BLOG_DB_PORT",
	    "BLOG_DB_SOCKET", "BLOG_DB_USER", "BLOG_DB_PASSWORD",
	    "BLOG_DB_PASSWORD_FILE", "BLOG_DB_NAME"};
	struct blog_dburl u;
	char err[256], *url;
	size_t i;

	if (cm_config_str("BLOG_DB_URL", NULL, 0, &url, err, sizeof(err)) !=
	    CM_OK)
		cm_config_fatal(BLOG_PROG, err);
	if (url == NULL)
		return -1;
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (getenv(parts[i]) != NULL) {
			snprintf(err, sizeof(err),
			    "BLOG_DB_URL and %s are both set; use one form",
			    parts[i]);
			cm_config_fatal(BLOG_PROG, err);
		}
	}
	if (blog_dburl_parse(url, &u, err, sizeof(err)) != CM_OK)
		cm_config_fatal(BLOG_PROG, err);
	free(url);
	app->db_host = u.host;
	app->db_port = u.port;
	app->db_socket = u.socket;
	app->db_user = u.user;
	app->db_password = u.password;
	app->db_name = u.name;
	return 0;
}

/*
 * BLOG_IDENTITY_URLS: pay's internal identity route, one or more http(s)
 * URLs separated by spaces (each pay replica's admin port, or a Service);
 * unset leaves identity changes in the outbox (warned at start).
 */
static void
blog_settings_ident(struct blog_app *app)
{
	char err[256], *urls = NULL, *tok, *save = NULL, **more;

	if (cm_config_str("BLOG_IDENTITY_URLS", NULL, 0, &urls, err,
	        sizeof(err)) != CM_OK ||
	    cm_config_long("BLOG_IDENTITY_TIMEOUT_MS", 1000, 50, 60000,
	        &app->ident_timeout_ms, err, sizeof(err)) != CM_OK ||
	    cm_config_long("BLOG_IDENTITY_RELAY_MS", 500, 10, 600000,
	        &app->ident_relay_ms, err, sizeof(err)) != CM_OK)
		cm_config_fatal(BLOG_PROG, err);
	if (urls == NULL)
		return;
	for (tok = strtok_r(urls, " \t\n", &save); tok != NULL;
	     tok = strtok_r(NULL, " \t\n", &save)) {
		if (strncmp(tok, "http://", 7) != 0 &&
		    strncmp(tok, "https://", 8) != 0) {
			snprintf(err, sizeof(err),
			    "BLOG_IDENTITY_URLS: %.100s is not an http(s) URL",
			    tok);
			cm_config_fatal(BLOG_PROG, err);
		}
		more = realloc(app->pay_urls,
		    (app->npay_urls + 1) * sizeof(*app->pay_urls));
		if (more == NULL)
			cm_config_fatal(BLOG_PROG, "out of memory");
		app->pay_urls = more;
		if ((app->pay_urls[app->npay_urls] = strdup(tok)) == NULL)
			cm_config_fatal(BLOG_PROG, "out of memory");
		app->npay_urls++;
	}
	free(urls);
}

static void
blog_settings_load(struct blog_app *app, int migrate)
{
	char err[256];
	long db_port, cache_mb;

	cm_config_log_level(BLOG_PROG);
	if (blog_settings_url(app) == 0)
		goto db_done;
	if (cm_config_str("BLOG_DB_HOST", "127.0.0.1", 0, &app->db_host, err,
	        sizeof(err)) != CM_OK ||
	    cm_config_long("BLOG_DB_PORT", 3306, 1, 65535, &db_port, err,
	        sizeof(err)) != CM_OK ||
	    cm_config_str("BLOG_DB_SOCKET", NULL, 0, &app->db_socket, err,
	        sizeof(err)) != CM_OK ||
	    cm_config_str("BLOG_DB_USER", NULL, 1, &app->db_user, err,
	        sizeof(err)) != CM_OK ||
	    cm_config_str("BLOG_DB_PASSWORD", NULL, 0, &app->db_password, err,
	        sizeof(err)) != CM_OK ||
	    cm_config_str("BLOG_DB_NAME", "blog", 0, &app->db_name, err,
	        sizeof(err)) != CM_OK)
		cm_config_fatal(BLOG_PROG, err);
	if (app->db_socket != NULL && *app->db_socket == '\0') {
		free(app->db_socket);
		free(app->db_tls_ca);
		app->db_socket = NULL;
	}
	app->db_port = (unsigned int)db_port;
db_done:
	blog_settings_tls(app);
	if (migrate)
		return;
	if (cm_config_long("BLOG_IDEMPOTENCY_TTL_HOURS", 24, 1, 24L * 366 * 10,
	        &app->idem_ttl_hours, err, sizeof(err)) != CM_OK ||
	    cm_config_long("BLOG_READ_CACHE_MB", 32, 0, 65536, &cache_mb, err,
	        sizeof(err)) != CM_OK ||
	    cm_config_long("BLOG_READ_VERSION_WINDOW_US", 1000, 0, 10000000,
	        &app->read_window_us, err, sizeof(err)) != CM_OK)
		cm_config_fatal(BLOG_PROG, err);
	app->jwt = cm_config_jwt(BLOG_PROG, 1);
	blog_settings_ident(app);
	if (cache_mb > 0 &&
	    (app->cache = blog_cache_new((size_t)cache_mb << 20)) == NULL) {
		fprintf(stderr, "%s: out of memory\n", BLOG_PROG);
		exit(1);
	}
	if (app->cache != NULL) {
		blog_cache_window(app->cache, app->read_window_us);
		cm_metrics_extra(blog_cache_metrics, app->cache);
	}
}

/*
 * BLOG_DB_TLS: "off" (the default; the local stack uses a unix socket) or
 * "verify-full" with BLOG_DB_TLS_CA_FILE, for a database across a network.
 */
static void
blog_settings_tls(struct blog_app *app)
{
	char err[256], *mode = NULL;

	if (cm_config_str("BLOG_DB_TLS", "off", 0, &mode, err, sizeof(err)) !=
	        CM_OK ||
	    cm_config_str("BLOG_DB_TLS_CA_FILE", NULL, 0, &app->db_tls_ca, err,
	        sizeof(err)) != CM_OK)
		cm_config_fatal(BLOG_PROG, err);
	if (strcmp(mode, "verify-full") == 0)
		app->db_tls = 1;
	else if (strcmp(mode, "off") != 0)
		cm_config_fatal(BLOG_PROG,
		    "BLOG_DB_TLS: must be off or "
		    "verify-full");
	free(mode);
	if (app->db_tls_ca != NULL && *app->db_tls_ca == '\0') {
		free(app->db_tls_ca);
		app->db_tls_ca = NULL;
	}
	if (app->db_tls && app->db_tls_ca == NULL)
		cm_config_fatal(BLOG_PROG,
		    "BLOG_DB_TLS=verify-full needs "
		    "BLOG_DB_TLS_CA_FILE (the CA that "
		    "signed the server's certificate)");
	if (!app->db_tls && app->db_tls_ca != NULL)
		cm_config_fatal(BLOG_PROG,
		    "BLOG_DB_TLS_CA_FILE is set but "
		    "BLOG_DB_TLS is off");
	if (app->db_tls && access(app->db_tls_ca, R_OK) != 0)
		cm_config_fatal(BLOG_PROG,
		    "BLOG_DB_TLS_CA_FILE: cannot read "
		    "the file");
	if (app->db_tls && app->db_socket != NULL)
		cm_config_fatal(BLOG_PROG,
		    "BLOG_DB_TLS needs a TCP address "
		    "(BLOG_DB_HOST), not BLOG_DB_SOCKET");
}

static void
blog_settings_free(struct blog_app *app)
{
	cm_jwt_free(app->jwt);
	blog_cache_free(app->cache);
	while (app->npay_urls > 0)
		free(app->pay_urls[--app->npay_urls]);
	free(app->pay_urls);
	free(app->db_host);
	free(app->db_socket);
	free(app->db_user);
	free(app->db_password);
	free(app->db_name);
}

int
main(int argc, char **argv)
{
	struct cm_server_conf conf;
	struct blog_app app;
	struct cm_route *routes = NULL;
	const char *why = NULL;
	int migrate = cm_config_args(argc, argv, BLOG_PROG), rc;

	cm_log_set_service("blog");
	memset(&app, 0, sizeof(app));
	memset(&conf, 0, sizeof(conf));
	blog_settings_load(&app, migrate);
	if (!migrate)
		cm_config_server(BLOG_PROG, "127.0.0.1:9001", 1024, &conf);
	/* Not thread-safe: once, before any worker connects. */
	if (mysql_library_init(0, NULL, NULL) != 0) {
		fprintf(stderr, "%s: cannot initialise the MariaDB client\n",
		    BLOG_PROG);
		cm_config_server_free(&conf);
		blog_settings_free(&app);
		return 1;
	}
	if (migrate) {
		rc = blog_migrate_run(&app, 30) == 0 ? 0 : 1;
		goto out;
	}
	/*
	 * Once, before the relay and the workers start (none is thread-safe).
	 * Missing ICU data stops the start, not every later register.
	 */
	if (cm_password_init() != CM_OK)
		why = "cannot initialise password hashing";
	else if (blog_unicode_init() != CM_OK)
		why = "cannot initialise ICU (libicu72 data)";
	else if ((routes = cm_router_join(blog_route_tables, &conf.nroutes)) ==
	    NULL)
		why = "out of memory";
	else if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		why = "cannot initialise libcurl";
	if (why != NULL) {
		fprintf(stderr, "%s: %s\n", BLOG_PROG, why);
		rc = 1;
		goto out;
	}
	conf.service = "blog";
	conf.routes = routes;
	conf.jwt = app.jwt;
	conf.error = blog_error;
	conf.app = &app;
	conf.worker_open = blog_worker_open;
	conf.worker_close = blog_worker_close;
	conf.around = blog_cache_around;
	conf.after = blog_idem_prune;
	conf.auth_check = blog_ident_check;
	if (blog_ident_relay_start(&app) != 0) {
		rc = 1;
		curl_global_cleanup();
		goto out;
	}
	rc = cm_server_run(&conf) == 0 ? 0 : 1;
	blog_ident_relay_stop(&app);
	curl_global_cleanup();
out:
	cm_config_server_free(&conf);
	free(routes);
	mysql_library_end();
	blog_settings_free(&app);
	return rc;
}
