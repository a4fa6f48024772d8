/*
 * fuzz_blog_dburl: BLOG_DB_URL (mysql://USER[:PASSWORD]@HOST[:PORT]/DB
 * [?socket=...]). Properties: a refusal says why without echoing the
 * password; an accepted URL has a user, a host, a database name and a port
 * in 1..65535.
 */
#include "../../blog-fcgi/blog_dburl.h"
#include "fuzz_util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct blog_dburl u;
	char *f[1], err[256];

	fuzz_fields(data, size, 1, f);
	memset(&u, 0, sizeof(u));
	err[0] = '\0';
	if (blog_dburl_parse(f[0], &u, err, sizeof(err)) == CM_OK) {
		FUZZ_CHECK(u.user != NULL && u.host != NULL && u.name != NULL);
		FUZZ_CHECK(u.port >= 1 && u.port <= 65535);
	} else {
		FUZZ_CHECK(err[0] != '\0');
	}
	blog_dburl_free(&u);
	fuzz_fields_free(1, f);
	return 0;
}
