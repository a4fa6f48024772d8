/* Unit tests for BLOG_DB_URL parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "unit.h"

#include "../../blog-fcgi/blog_dburl.h"

/* A string field: NULL when want is NULL, else equal to it. */
static void
t_field(const char *got, const char *want)
{
	if (want == NULL)
		assert_null(got);
	else
		assert_string_equal(got, want);
}

static void
test_good(void **state)
{
	static const struct {
		const char *url, *user, *password, *host;
		unsigned int port;
		const char *name, *socket;
	} good[] = {
	    {"mysql://blog_app:p%40ss%3Aw@db.example:3307/blog", "blog_app",
	        "p@ss:w", "db.example", 3307, "blog", NULL},
	    {"mariadb://root@localhost/b?socket=/run/m.sock", "root", NULL,
	        "localhost", 3306, "b", "/run/m.sock"},
	    /* A password may contain '@': the last one before the path counts. */
	    {"mysql://u:a@b@h/d", "u", "a@b", "h", 3306, "d", NULL},
	};
	struct blog_dburl u;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(
		    blog_dburl_parse(good[i].url, &u, err, sizeof(err)), CM_OK);
		t_field(u.user, good[i].user);
		t_field(u.password, good[i].password);
		t_field(u.host, good[i].host);
		assert_int_equal(u.port, good[i].port);
		t_field(u.name, good[i].name);
		t_field(u.socket, good[i].socket);
		blog_dburl_free(&u);
	}
}

static void
test_bad(void **state)
{
	static const char *const bad[] = {"", "postgres://u@h/d", "mysql://h/d",
	    "mysql://u@h", "mysql://@h/d", "mysql://u@/d", "mysql://u@h/",
	    "mysql://u@h:0/d", "mysql://u@h:70000/d", "mysql://u@h:x/d",
	    "mysql://u@h:/d", "mysql://u%zz@h/d", "mysql://u:%0@h/d",
	    "mysql://u@h/d?x=1", "mysql://u@h/d?socket=", "mysql://u:p%00@h/d"};
	struct blog_dburl u;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(
		    blog_dburl_parse(bad[i], &u, err, sizeof(err)), CM_EINVAL);
		assert_non_null(strstr(err, "BLOG_DB_URL"));
		/* The password never appears in the message. */
		assert_null(strstr(err, "p%00"));
		assert_null(u.user);
	}
}

UNIT_MAIN(
    cmocka_unit_test(test_good),
    cmocka_unit_test(test_bad))
