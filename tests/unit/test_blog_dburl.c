/* Unit tests for BLOG_DB_URL parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "unit.h"

#include "../../blog-fcgi/blog_dburl.h"

static void
test_full(void **state)
{
	struct blog_dburl u;
	char err[256];

	(void)state;
	assert_int_equal(blog_dburl_parse("mysql://blog_app:p%40ss%3Aw@db.example:3307/blog",
	                     &u, err, sizeof(err)),
	    CM_OK);
	assert_string_equal(u.user, "blog_app");
	assert_string_equal(u.password, "p@ss:w");
	assert_string_equal(u.host, "db.example");
	assert_int_equal(u.port, 3307);
	assert_string_equal(u.name, "blog");
	assert_null(u.socket);
	blog_dburl_free(&u);
}

static void
test_defaults_and_socket(void **state)
{
	struct blog_dburl u;
	char err[256];

	(void)state;
	assert_int_equal(blog_dburl_parse("mariadb://root@localhost/b?socket=/run/m.sock",
	                     &u, err, sizeof(err)),
	    CM_OK);
	assert_string_equal(u.user, "root");
	assert_null(u.password);
	assert_int_equal(u.port, 3306);
	assert_string_equal(u.name, "b");
	assert_string_equal(u.socket, "/run/m.sock");
	blog_dburl_free(&u);
	/* A password may contain '@': the last one before the path counts. */
	assert_int_equal(blog_dburl_parse("mysql://u:a@b@h/d", &u, err,
	                     sizeof(err)),
	    CM_OK);
	assert_string_equal(u.password, "a@b");
	assert_string_equal(u.host, "h");
	blog_dburl_free(&u);
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
    cmocka_unit_test(test_full),
    cmocka_unit_test(test_defaults_and_socket),
    cmocka_unit_test(test_bad))
