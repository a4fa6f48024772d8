/*
 * fuzz_cm_json: the JSON parser and typed getters. Properties: whatever
 * parses dumps and parses again to an equal value (round trip); every
 * getter answers one of its documented results and a borrowed string is
 * valid UTF-8 (jansson accepts it back); cm_json_utf8_len never counts
 * more characters than bytes.
 */
#include "cm_json.h"
#include "fuzz_util.h"

static void
fuzz_getters(const json_t *obj, const char *key)
{
	const char *s = NULL;
	json_int_t i;
	json_t *o, *v;
	enum cm_jget g;
	int b;

	g = cm_json_str(obj, key, &s);
	FUZZ_CHECK(g >= CM_JSON_OK && g <= CM_JSON_WRONG_TYPE);
	if (g == CM_JSON_OK) {
		FUZZ_CHECK(s != NULL);
		FUZZ_CHECK(cm_json_utf8_len(s) <= strlen(s));
		v = json_string(s);
		FUZZ_CHECK(v != NULL);
		json_decref(v);
	}
	g = cm_json_int(obj, key, &i);
	FUZZ_CHECK(g >= CM_JSON_OK && g <= CM_JSON_WRONG_TYPE);
	g = cm_json_bool(obj, key, &b);
	FUZZ_CHECK(g != CM_JSON_OK || b == 0 || b == 1);
	g = cm_json_obj(obj, key, &o);
	FUZZ_CHECK(g != CM_JSON_OK || json_is_object(o));
	g = cm_json_arr(obj, key, &o);
	FUZZ_CHECK(g != CM_JSON_OK || json_is_array(o));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *v = NULL, *w = NULL;
	const char *key;
	json_t *val;
	char err[128], *dump;
	size_t len = 0;

	if (cm_json_parse((const char *)data, size, &v, err, sizeof(err)) !=
	    CM_OK)
		return 0;
	dump = cm_json_dump(v, &len);
	FUZZ_CHECK(dump != NULL);
	FUZZ_CHECK(cm_json_parse(dump, len, &w, err, sizeof(err)) == CM_OK);
	FUZZ_CHECK(json_equal(v, w));
	free(dump);
	json_decref(w);
	fuzz_getters(v, "user");
	fuzz_getters(v, "");
	if (json_is_object(v)) {
		json_object_foreach(v, key, val) fuzz_getters(v, key);
	}
	json_decref(v);
	return 0;
}
