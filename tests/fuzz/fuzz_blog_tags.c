/*
 * fuzz_blog_tags: tagList validation (a JSON array from the input) and the
 * stored form. Properties: accepted tags are distinct, sorted, at most
 * BLOG_TAGS_MAX of them, each valid UTF-8; the stored form reads back to
 * exactly that list (round trip). Also: blog_valid_utf8 agrees with
 * jansson and with cm_log_escape on every string.
 */
#include "../../blog-fcgi/blog.h"
#include "../../blog-fcgi/blog_tags.h"
#include "../../blog-fcgi/blog_valid.h"
#include "cm_json.h"
#include "cm_log.h"
#include "fuzz_util.h"

static void
fuzz_utf8_agree(const char *s, size_t n)
{
	char *esc, *str;
	json_t *j;
	int ok = blog_valid_utf8(s, n);

	j = json_stringn(s, n);
	FUZZ_CHECK(ok == (j != NULL));
	json_decref(j);
	if (memchr(s, 0, n) != NULL)
		return;
	if ((esc = malloc(4 * n + 1)) == NULL || (str = malloc(n + 1)) == NULL)
		abort();
	memcpy(str, s, n);
	str[n] = '\0';
	/* cm_log_escape changes a string exactly when it is not UTF-8. */
	FUZZ_CHECK((cm_log_escape(str, esc, 4 * n + 1) == n &&
	               memcmp(esc, str, n) == 0) == ok);
	free(str);
	free(esc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cm_req req;
	const char **tags = NULL;
	char *joined = NULL, err[64];
	json_t *arr = NULL, *back;
	size_t ntags = 0, i;
	enum cm_err rc;

	fuzz_utf8_agree((const char *)data, size);
	if (cm_json_parse((const char *)data, size, &arr, err, sizeof(err)) !=
	        CM_OK ||
	    !json_is_array(arr)) {
		json_decref(arr);
		return 0;
	}
	memset(&req, 0, sizeof(req));
	req.request_id = "fuzz";
	rc = blog_tags_parse(&req, arr, &tags, &ntags, &joined);
	if (rc == CM_OK) {
		FUZZ_CHECK(ntags <= BLOG_TAGS_MAX);
		for (i = 0; i < ntags; i++) {
			FUZZ_CHECK(blog_valid_utf8(tags[i], strlen(tags[i])));
			if (i > 0)
				FUZZ_CHECK(strcmp(tags[i - 1], tags[i]) < 0);
		}
		back =
		    blog_tags_json(joined, joined != NULL ? strlen(joined) : 0);
		FUZZ_CHECK(back != NULL && json_array_size(back) == ntags);
		for (i = 0; i < ntags; i++)
			FUZZ_CHECK(
			    strcmp(json_string_value(json_array_get(back, i)),
			        tags[i]) == 0);
		json_decref(back);
	} else {
		/* Refused as a client error, in its own words (cm_req_fail). */
		FUZZ_CHECK(cm_err_status(rc) >= 400 && cm_err_status(rc) < 500);
		FUZZ_CHECK(req.fail_code == rc && req.fail_key != NULL &&
		    req.fail_msg != NULL);
	}
	cm_req_reset(&req);
	json_decref(arr);
	return 0;
}
