/*
 * Unit tests for blog_unicode: slugs and usernames over a table of scripts
 * (Chinese, Japanese, Korean, Cyrillic, Greek, Arabic, Devanagari, accented
 * Latin, emoji) and of tricks (zero-width and bidi characters, confusable
 * letters, mixed digit systems, width, case and composition variants,
 * single-script look-alikes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../blog-fcgi/blog_slug.h"
#include "../../blog-fcgi/blog_unicode.h"
#include "../../blog-fcgi/blog_valid.h"

/* Titles and the slug base they give (the suffix is checked apart). */
static const struct {
	const char *title, *base;
} slugs[] = {
    /* ASCII: exactly what the ASCII-only rules made. */
    {"How to train your dragon", "how-to-train-your-dragon"},
    {"  Hello,   World!!  ", "hello-world"},
    {"C++ & C# -- 2024", "c-c-2024"},
    {"'; DROP TABLE articles; --", "drop-table-articles"},
    {"", "article"},
    {"----", "article"},
    /* Chinese, with a Latin word lower-cased in place (the title). */
    {"高可用性和低延迟的Web应用程序", "高可用性和低延迟的web应用程序"},
    {"云计算：入门与实践（第2版）", "云计算-入门与实践-第2版"},
    /* Japanese: kanji, hiragana, katakana; half-width katakana widened. */
    {"東京の夜", "東京の夜"},
    {"ｶﾀｶﾅ と ひらがな", "カタカナ-と-ひらがな"},
    /* Korean. */
    {"한국어 제목", "한국어-제목"},
    /* Cyrillic and Greek, upper case lowered (final sigma kept). */
    {"Привет мир", "привет-мир"},
    {"ΣΊΣΥΦΟΣ", "σίσυφος"},
    /* Arabic (right to left) with Arabic-Indic digits. */
    {"مرحبا بالعالم ٢٠٢٤", "مرحبا-بالعالم-٢٠٢٤"},
    /* Devanagari: vowel signs are marks and stay with their letters. */
    {"नमस्ते दुनिया", "नमस्ते-दुनिया"},
    /* Accented Latin, decomposed input composed, ß kept (lower case). */
    {"Ünïcödé Straße", "ünïcödé-straße"},
    {"Cafe\xcc\x81 cre\xcc\x80me", "café-crème"},
    /* NFKC: full-width, ligatures, circled and Roman numerals. */
    {"ＦＵＬＬ　ｗｉｄｔｈ", "full-width"},
    {"\xef\xac\x81nance \xe2\x91\xa0", "finance-1"},
    {"Chapter \xe2\x85\xab", "chapter-xii"},
    /* Emoji are not words. */
    {"\xf0\x9f\x98\x80 Party \xf0\x9f\x8e\x89 time", "party-time"},
    {"\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91"
     "\xa7",
        "article"},
    /* Invisible characters vanish instead of splitting a word. */
    {"zero\xe2\x80\x8bwidth", "zerowidth"},
    {"soft\xc2\xadhyphen", "softhyphen"},
    {"evil\xe2\x80\xae"
     "txt.exe",
        "eviltxt-exe"},
    {"\xe2\x80\x8f\xe2\x80\x8e", "article"},
    /* Invalid UTF-8 is a separator, never copied. */
    {"bad\xff"
     "byte",
        "bad-byte"},
};

static void
test_slug_table(void **state)
{
	char out[BLOG_SLUG_MAX + 1], want[BLOG_SLUG_MAX + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(slugs) / sizeof(slugs[0]); i++) {
		blog_slug_make(
		    slugs[i].title, strlen(slugs[i].title), 0x1a2b3c4d, out);
		snprintf(want, sizeof(want), "%s-1a2b3c4d", slugs[i].base);
		if (strcmp(out, want) != 0)
			fail_msg("slug of \"%s\": got \"%s\", want \"%s\"",
			    slugs[i].title, out, want);
		assert_true(blog_slug_valid(out));
		assert_true(blog_valid_utf8(out, strlen(out)));
	}
}

/*
 * A long title in a script of 3-byte characters: cut at a character
 * boundary within the byte bound, never between a letter and its mark.
 */
static void
test_slug_long(void **state)
{
	char title[4000], out[BLOG_SLUG_MAX + 1];
	size_t i, n = 0;

	(void)state;
	for (i = 0; i < 400; i++) {
		memcpy(title + n, "\xe6\x97\xa5", 3); /* 日 */
		n += 3;
	}
	title[n] = '\0';
	blog_slug_make(title, n, 7, out);
	/* 33 characters of 3 bytes fit in 100, and the suffix. */
	assert_int_equal(strlen(out), 33 * 3 + 9);
	assert_true(blog_valid_utf8(out, strlen(out)));
	assert_true(blog_slug_valid(out));

	/* "नि" is a letter and a mark: repeat it until the bound bites. */
	n = 0;
	for (i = 0; i < 200; i++) {
		memcpy(title + n, "\xe0\xa4\xa8\xe0\xa4\xbf", 6);
		n += 6;
	}
	title[n] = '\0';
	blog_slug_make(title, n, 7, out);
	/* 16 pairs are 96 bytes; a 17th letter would fit, its mark not. */
	assert_int_equal(strlen(out), 16 * 6 + 9);
	assert_string_equal(out + 96, "-00000007");
}

/* Usernames the rules accept: the display form and the key they keep. */
static const struct {
	const char *in, *display, *key;
} names_ok[] = {
    {"auth_1732550000123", "auth_1732550000123", "auth_1732550000123"},
    {"A.b-C_9", "A.b-C_9", "a.b-c_9"},
    {"用户19508", "用户19508", "用户19508"},
    {"東京の夜", "東京の夜", "東京の夜"},
    {"tokyo東京", "tokyo東京", "tokyo東京"},
    {"한국어", "한국어", "한국어"},
    {"Пётр", "Пётр", "пётр"},
    {"Σίσυφος", "Σίσυφος", "σίσυφοσ"},
    {"مرحبا", "مرحبا", "مرحبا"},
    {"नमस्ते", "नमस्ते", "नमस्ते"},
    {"José", "José", "josé"},
    /* Decomposed input is stored composed (NFC). */
    {"Jose\xcc\x81", "José", "josé"},
    /* Width and case: kept for display, folded in the key. */
    {"ｂｏｂ", "ｂｏｂ", "bob"},
    {"BOB", "BOB", "bob"},
    {"Straße", "Straße", "strasse"},
    {"\xe3\x8d\xbf", "\xe3\x8d\xbf", "株式会社"},
    /* A Cyrillic name alone is one script: allowed. */
    {"\xd0\xb0", "\xd0\xb0", "\xd0\xb0"},
};

/* Usernames the rules refuse, and the start of the message. */
static const struct {
	const char *in, *why;
} names_bad[] = {
    {"", "is invalid (use"},
    {"a b", "is invalid (use"},
    {"a'b", "is invalid (use"},
    {"a@b", "is invalid (use"},
    {"\xf0\x9f\x98\x80", "is invalid (use"},
    {"bob\xf0\x9f\x98\x80", "is invalid (use"},
    {"\xcc\x81"
     "abc",
        "is invalid (use"},
    /* Zero-width space, joiner, non-joiner, BOM, word joiner. */
    {"a\xe2\x80\x8b"
     "b",
        "is invalid (no invisible"},
    {"a\xe2\x80\x8d"
     "b",
        "is invalid (no invisible"},
    {"a\xe2\x80\x8c"
     "b",
        "is invalid (no invisible"},
    {"\xef\xbb\xbf"
     "ab",
        "is invalid (no invisible"},
    {"a\xe2\x81\xa0"
     "b",
        "is invalid (no invisible"},
    /* Bidi overrides, isolates and marks (the RTLO file-name trick). */
    {"abc\xe2\x80\xae"
     "fed",
        "is invalid (no invisible"},
    {"\xe2\x81\xa7"
     "abc",
        "is invalid (no invisible"},
    {"\xd9\x85\xe2\x80\x8f", "is invalid (no invisible"},
    {"\xd8\x9c\xd9\x85", "is invalid (no invisible"},
    /* Hangul filler, soft hyphen, a control, a private-use character. */
    {"\xe3\x85\xa4", "is invalid (no invisible"},
    {"ab\xc2\xad", "is invalid (no invisible"},
    {"a\x01"
     "b",
        "is invalid (no invisible"},
    {"a\xee\x80\x80", "is invalid (no invisible"},
    /* Confusables: Latin with Cyrillic or Greek letters in it. */
    {"b\xd0\xb0nk", "is invalid (mixes scripts"},
    {"p\xd0\xb0yp\xd0\xb0l", "is invalid (mixes scripts"},
    {"\xce\xbf"
     "ops",
        "is invalid (mixes scripts"},
    {"用户\xd0\xb0", "is invalid (mixes scripts"},
    /* Digits of two systems: ASCII with Arabic-Indic. */
    {"user\xd9\xa1\xd9\xa2"
     "3",
        "is invalid (mixes digits"},
    /* Repeated or hidden marks: e + two acutes, i + a dot above. */
    {"e\xcc\x81\xcc\x81", "is invalid (repeated"},
    {"i\xcc\x87", "is invalid (repeated"},
    /* Bounds: 65 characters; 43 Chinese characters are 129 bytes. */
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "is too long"},
    {"一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三"
     "四五六七八九十一二三",
        "is too long"},
    /* Invalid UTF-8. */
    {"ab\xff", "is invalid (use"},
};

/*
 * One username through the rules: accepted with its display form and key
 * when why is NULL, else refused with a message that starts with why.
 */
static void
t_name(const char *in, const char *why, const char *display, const char *key)
{
	struct blog_unicode_name n;
	const char *got;
	enum cm_err rc = blog_unicode_username(in, strlen(in), &n, &got);

	if (why == NULL) {
		if (rc != CM_OK)
			fail_msg("\"%s\" refused: %s", in,
			    got != NULL ? got : "(ICU failed)");
		assert_string_equal(n.display, display);
		assert_int_equal(n.display_len, strlen(display));
		assert_string_equal(n.key, key);
		assert_int_equal(n.key_len, strlen(key));
		/* Whatever we accept, lookups accept too. */
		assert_true(blog_valid_username(n.display, n.display_len));
		return;
	}
	if (rc != CM_EVALIDATION)
		fail_msg("\"%s\" accepted (rc %d, key \"%s\")", in, rc, n.key);
	if (strncmp(got, why, strlen(why)) != 0)
		fail_msg("\"%s\": \"%s\", want \"%s...\"", in, got, why);
	assert_int_equal(n.key_len, 0);
}

static void
test_names(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names_ok) / sizeof(names_ok[0]); i++)
		t_name(names_ok[i].in, NULL, names_ok[i].display,
		    names_ok[i].key);
	for (i = 0; i < sizeof(names_bad) / sizeof(names_bad[0]); i++)
		t_name(names_bad[i].in, names_bad[i].why, NULL, NULL);
}

/* Names that differ only by width, case or composition share a key. */
static void
test_same_name(void **state)
{
	static const char *groups[][4] = {
	    {"bob", "BOB", "ｂｏｂ", "Bob"},
	    {"josé", "JOSÉ", "jose\xcc\x81", "JOSE\xcc\x81"},
	    {"用户19508", "用户１９５０８", "用户19508", "用户19508"},
	    {"strasse", "STRASSE", "Straße", "STRAẞE"},
	};
	struct blog_unicode_name a, b;
	const char *why;
	size_t g, k;

	(void)state;
	for (g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		assert_int_equal(blog_unicode_username(groups[g][0],
		                     strlen(groups[g][0]), &a, &why),
		    CM_OK);
		for (k = 1; k < 4; k++) {
			assert_int_equal(blog_unicode_username(groups[g][k],
			                     strlen(groups[g][k]), &b, &why),
			    CM_OK);
			assert_string_equal(a.key, b.key);
		}
	}
	/* Look-alikes of different scripts are different keys. */
	assert_int_equal(blog_unicode_username("a", 1, &a, &why), CM_OK);
	assert_int_equal(blog_unicode_username("\xd0\xb0", 2, &b, &why), CM_OK);
	assert_string_not_equal(a.key, b.key);
	/* Accents are not case: "jose" is not "josé". */
	assert_int_equal(blog_unicode_username("jose", 4, &a, &why), CM_OK);
	assert_int_equal(blog_unicode_username("josé", 5, &b, &why), CM_OK);
	assert_string_not_equal(a.key, b.key);
}

/*
 * Look-alikes share a skeleton (the unique index then refuses the second),
 * even when each name is in one script; different names do not.
 */
static void
test_lookalikes(void **state)
{
	static const char *same[][2] = {
	    {"scope",
	        "\xd1\x95\xd1\x81\xd0\xbe\xd1\x80\xd0\xb5"}, /* Cyrillic */
	    {"admin", "adrnin"},
	    /* Upper-case Cyrillic looks like upper-case Latin. */
	    {"BOB", "\xd0\x92\xd0\x9e\xd0\x92"},
	    {"bob", "\xd0\x92\xd0\x9e\xd0\x92"},
	    {"system", "\xd0\x85\xd0\xa3\xd0\x85\xd0\xa2\xd0\x95\xd0\x9c"},
	    {"user1", "userl"},
	    {"Bob", "bob"},
	    {"用户19508", "用户l9508"},
	    {"\xe3\x82\xa8", "\xe5\xb7\xa5"}, /* katakana E, Han "work" */
	    {"カメラ", "力メラ"},
	};
	static const char *differ[][2] = {
	    {"bob", "bab"},
	    {"用户19508", "用户19509"},
	    {"jose", "josé"},
	    /* Lower-case Cyrillic "вов" does not look like "bob". */
	    {"bob", "\xd0\xb2\xd0\xbe\xd0\xb2"},
	};
	struct blog_unicode_name a, b;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		assert_int_equal(blog_unicode_username(
		                     same[i][0], strlen(same[i][0]), &a, &why),
		    CM_OK);
		assert_int_equal(blog_unicode_username(
		                     same[i][1], strlen(same[i][1]), &b, &why),
		    CM_OK);
		if (strcmp(a.skeleton, b.skeleton) != 0)
			fail_msg("\"%s\" and \"%s\": skeletons \"%s\", \"%s\"",
			    same[i][0], same[i][1], a.skeleton, b.skeleton);
		assert_int_equal(a.skeleton_len, strlen(a.skeleton));
	}
	for (i = 0; i < sizeof(differ) / sizeof(differ[0]); i++) {
		assert_int_equal(blog_unicode_username(differ[i][0],
		                     strlen(differ[i][0]), &a, &why),
		    CM_OK);
		assert_int_equal(blog_unicode_username(differ[i][1],
		                     strlen(differ[i][1]), &b, &why),
		    CM_OK);
		assert_string_not_equal(a.skeleton, b.skeleton);
	}
	/* 64 "m" are a 128-byte skeleton: within its column. */
	assert_int_equal(
	    blog_unicode_username("mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm"
	                          "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm",
	        64, &a, &why),
	    CM_OK);
	assert_int_equal(a.skeleton_len, 128);
}

/* The lookup filter and the NFC form lookups use. */
static void
test_lookup(void **state)
{
	char out[BLOG_USERNAME_BYTES_MAX + 1];
	size_t n;

	(void)state;
	assert_true(blog_valid_username("用户19508", strlen("用户19508")));
	assert_true(blog_valid_username("bob", 3));
	assert_false(blog_valid_username("", 0));
	assert_false(blog_valid_username("a b", 3));
	assert_false(blog_valid_username("ab\xff", 3));
	assert_int_equal(
	    blog_unicode_nfc("Jose\xcc\x81", 6, out, sizeof(out), &n), CM_OK);
	assert_string_equal(out, "José");
	assert_int_equal(n, strlen("José"));
	assert_int_equal(
	    blog_unicode_nfc("ab\xff", 3, out, sizeof(out), &n), CM_EINVAL);
	assert_int_equal(blog_unicode_nfc("abcdef", 6, out, 4, &n), CM_ETOOBIG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_slug_table),
	    cmocka_unit_test(test_slug_long),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_same_name),
	    cmocka_unit_test(test_lookalikes),
	    cmocka_unit_test(test_lookup),
	};
	int rc;

	assert_int_equal(blog_unicode_init(), CM_OK);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	/* ICU's caches, so that valgrind reports no leak. */
	blog_unicode_cleanup();
	return rc;
}
