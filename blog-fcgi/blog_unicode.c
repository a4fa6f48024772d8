/*
 * blog_unicode.c: Unicode slugs and usernames with ICU (Debian's libicu).
 *
 * ICU works in UTF-16, the rest of the program in UTF-8: each function
 * converts in, applies ICU's normalisers, case mapping, character
 * properties and spoof checker, and converts out. Buffers are sized by
 * asking ICU first (its "preflight"), so no input length is assumed.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/uclean.h>
#include <unicode/unorm2.h>
#include <unicode/uspoof.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include "blog_unicode.h"

/* What a step turns a UTF-16 string into. */
enum blog_unicode_op {
	BLOG_UNICODE_NFC,
	BLOG_UNICODE_NFKC,
	BLOG_UNICODE_NFKC_CASEFOLD,
	BLOG_UNICODE_LOWER,
	BLOG_UNICODE_FOLD,
};

#define BLOG_UNICODE_STR2(x) #x
#define BLOG_UNICODE_STR(x) BLOG_UNICODE_STR2(x)

static pthread_once_t blog_unicode_once = PTHREAD_ONCE_INIT;
static USpoofChecker *blog_unicode_spoof;

static const char BLOG_UNICODE_WHY_CHARS[] =
    "is invalid (use letters, digits, '_', '-' or '.')";
static const char BLOG_UNICODE_WHY_INVISIBLE[] =
    "is invalid (no invisible, control or text-direction characters)";
static const char BLOG_UNICODE_WHY_SCRIPTS[] =
    "is invalid (mixes scripts whose letters look alike, e.g. Latin and "
    "Cyrillic)";
static const char BLOG_UNICODE_WHY_DIGITS[] =
    "is invalid (mixes digits of different number systems)";
static const char BLOG_UNICODE_WHY_MARKS[] =
    "is invalid (repeated or hidden combining marks)";

static void
blog_unicode_once_init(void)
{
	UErrorCode err = U_ZERO_ERROR;
	USpoofChecker *sc;

	sc = uspoof_open(&err);
	/*
	 * Moderately restrictive: Latin with one other script is how many
	 * people write ("高可用web", "東京tokyo"), but Latin mixed with
	 * Cyrillic, Greek or Cherokee is the classic look-alike attack.
	 */
	uspoof_setChecks(sc,
	    USPOOF_RESTRICTION_LEVEL | USPOOF_INVISIBLE | USPOOF_MIXED_NUMBERS |
	        USPOOF_HIDDEN_OVERLAY,
	    &err);
	uspoof_setRestrictionLevel(sc, USPOOF_MODERATELY_RESTRICTIVE);
	if (U_FAILURE(err)) {
		uspoof_close(sc);
		return;
	}
	blog_unicode_spoof = sc;
}

enum cm_err
blog_unicode_init(void)
{
	pthread_once(&blog_unicode_once, blog_unicode_once_init);
	return blog_unicode_spoof != NULL ? CM_OK : CM_EINTERNAL;
}

void
blog_unicode_cleanup(void)
{
	uspoof_close(blog_unicode_spoof);
	blog_unicode_spoof = NULL;
	u_cleanup();
}

/*
 * UTF-8 to a new UTF-16 string (caller frees). Invalid sequences become
 * U+FFFD, counted in *bad when bad is not NULL. NULL when out of memory.
 */
static UChar *
blog_unicode_from8(const char *s, size_t len, int32_t *n, int32_t *bad)
{
	UErrorCode err = U_ZERO_ERROR;
	int32_t subs = 0;
	UChar *u;

	*n = 0;
	if (len > INT32_MAX / 2)
		return NULL;
	u_strFromUTF8WithSub(NULL, 0, n, s, (int32_t)len, 0xFFFD, &subs, &err);
	if (err != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(err))
		return NULL;
	if ((u = malloc(((size_t)*n + 1) * sizeof(*u))) == NULL)
		return NULL;
	err = U_ZERO_ERROR;
	u_strFromUTF8WithSub(
	    u, *n + 1, n, s, (int32_t)len, 0xFFFD, &subs, &err);
	if (U_FAILURE(err)) {
		free(u);
		return NULL;
	}
	if (bad != NULL)
		*bad = subs;
	return u;
}

/*
 * Apply op to u (n units) into a new string (caller frees) of *outn
 * units. NULL when ICU fails or memory runs out.
 */
static UChar *
blog_unicode_apply(
    enum blog_unicode_op op, const UChar *u, int32_t n, int32_t *outn)
{
	const UNormalizer2 *norm = NULL;
	UErrorCode err = U_ZERO_ERROR;
	UChar *out = NULL;
	int32_t cap = n + 1, need;
	int pass;

	switch (op) {
	case BLOG_UNICODE_NFC:
		norm = unorm2_getNFCInstance(&err);
		break;
	case BLOG_UNICODE_NFKC:
		norm = unorm2_getNFKCInstance(&err);
		break;
	case BLOG_UNICODE_NFKC_CASEFOLD:
		norm = unorm2_getNFKCCasefoldInstance(&err);
		break;
	case BLOG_UNICODE_LOWER:
	case BLOG_UNICODE_FOLD:
		break;
	}
	if (U_FAILURE(err))
		return NULL;
	/* Most strings fit at once; a longer result is sized and redone. */
	for (pass = 0; pass < 2; pass++) {
		if ((out = malloc((size_t)cap * sizeof(*out))) == NULL)
			return NULL;
		err = U_ZERO_ERROR;
		if (norm != NULL)
			need = unorm2_normalize(norm, u, n, out, cap, &err);
		else if (op == BLOG_UNICODE_FOLD)
			need = u_strFoldCase(
			    out, cap, u, n, U_FOLD_CASE_DEFAULT, &err);
		else
			need = u_strToLower(out, cap, u, n, "", &err);
		if (err == U_BUFFER_OVERFLOW_ERROR ||
		    err == U_STRING_NOT_TERMINATED_WARNING) {
			free(out);
			out = NULL;
			cap = need + 1;
			continue;
		}
		if (U_FAILURE(err)) {
			free(out);
			return NULL;
		}
		*outn = need;
		return out;
	}
	return NULL;
}

/* The UTS 39 skeleton of u (n units), a new string; NULL when ICU fails. */
static UChar *
blog_unicode_skeleton(const UChar *u, int32_t n, int32_t *outn)
{
	UErrorCode err = U_ZERO_ERROR;
	UChar *out;
	int32_t need;

	need = uspoof_getSkeleton(blog_unicode_spoof, 0, u, n, NULL, 0, &err);
	if (err != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(err))
		return NULL;
	if ((out = malloc(((size_t)need + 1) * sizeof(*out))) == NULL)
		return NULL;
	err = U_ZERO_ERROR;
	*outn = uspoof_getSkeleton(
	    blog_unicode_spoof, 0, u, n, out, need + 1, &err);
	if (U_FAILURE(err)) {
		free(out);
		return NULL;
	}
	return out;
}

/* UTF-16 to UTF-8 into out (cap bytes, NUL included). -1 when too long. */
static int
blog_unicode_to8(const UChar *u, int32_t n, char *out, size_t cap, size_t *len)
{
	UErrorCode err = U_ZERO_ERROR;
	int32_t got = 0;

	if (cap == 0 || cap > INT32_MAX)
		return -1;
	u_strToUTF8(out, (int32_t)cap, &got, u, n, &err);
	if (U_FAILURE(err) || err == U_STRING_NOT_TERMINATED_WARNING ||
	    (size_t)got >= cap)
		return -1;
	*len = (size_t)got;
	return 0;
}

/* Invisible, control, format, bidi-control, unassigned or private use. */
static int
blog_unicode_invisible(UChar32 c)
{
	uint32_t gc = U_GET_GC_MASK(c);

	return u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT) ||
	    u_hasBinaryProperty(c, UCHAR_BIDI_CONTROL) ||
	    (gc &
	        (U_GC_CC_MASK | U_GC_CF_MASK | U_GC_CS_MASK | U_GC_CO_MASK |
	            U_GC_CN_MASK | U_GC_ZL_MASK | U_GC_ZP_MASK)) != 0;
}

/*
 * Letters and digits of any script, combining marks that follow one, and
 * the ASCII punctuation usernames always allowed.
 */
static int
blog_unicode_name_chars(const UChar *u, int32_t n)
{
	int32_t i = 0;
	UChar32 c;
	uint32_t gc;
	int after_alnum = 0;

	while (i < n) {
		U16_NEXT(u, i, n, c);
		gc = U_GET_GC_MASK(c);
		if ((gc & (U_GC_L_MASK | U_GC_ND_MASK)) != 0)
			after_alnum = 1;
		else if ((gc & U_GC_M_MASK) != 0 && after_alnum)
			continue;
		else if (c == '_' || c == '-' || c == '.')
			after_alnum = 0;
		else
			return 0;
	}
	return 1;
}

enum cm_err
blog_unicode_username(
    const char *s, size_t len, struct blog_unicode_name *out, const char **why)
{
	static const char too_long[] =
	    "is too long (maximum is " BLOG_UNICODE_STR(
	        BLOG_USERNAME_MAX) " characters or " BLOG_UNICODE_STR(BLOG_USERNAME_BYTES_MAX) " bytes)";
	UChar *u = NULL, *nfc = NULL, *nfkc = NULL, *key = NULL, *skel = NULL;
	UChar *fold = NULL;
	int32_t n, nn, kn, fn, sn, bad = 0, i, chars = 0, checks;
	UErrorCode err = U_ZERO_ERROR;
	UChar32 c;
	enum cm_err rc = CM_EVALIDATION;

	*why = BLOG_UNICODE_WHY_CHARS;
	memset(out, 0, sizeof(*out));
	if (len == 0)
		return CM_EVALIDATION;
	/* Longer input cannot pass, whatever normalisation does. */
	if (len > (size_t)4 * BLOG_USERNAME_BYTES_MAX) {
		*why = too_long;
		return CM_EVALIDATION;
	}
	if (blog_unicode_init() != CM_OK)
		return CM_EINTERNAL;
	rc = CM_EINTERNAL;
	if ((u = blog_unicode_from8(s, len, &n, &bad)) == NULL)
		goto out;
	rc = CM_EVALIDATION;
	if (bad > 0)
		goto out;
	for (i = 0; i < n;) {
		U16_NEXT(u, i, n, c);
		if (blog_unicode_invisible(c)) {
			*why = BLOG_UNICODE_WHY_INVISIBLE;
			goto out;
		}
	}
	rc = CM_EINTERNAL;
	if ((nfkc = blog_unicode_apply(BLOG_UNICODE_NFKC, u, n, &nn)) == NULL ||
	    (nfc = blog_unicode_apply(BLOG_UNICODE_NFC, u, n, &fn)) == NULL ||
	    (key = blog_unicode_apply(BLOG_UNICODE_NFKC_CASEFOLD, u, n, &kn)) ==
	        NULL)
		goto out;
	rc = CM_EVALIDATION;
	/* Compatibility forms are judged by what they stand for. */
	if (!blog_unicode_name_chars(nfkc, nn))
		goto out;
	checks = uspoof_check2(blog_unicode_spoof, nfkc, nn, NULL, &err);
	if (U_FAILURE(err)) {
		rc = CM_EINTERNAL;
		goto out;
	}
	if (checks & USPOOF_RESTRICTION_LEVEL) {
		*why = BLOG_UNICODE_WHY_SCRIPTS;
		goto out;
	}
	if (checks & USPOOF_MIXED_NUMBERS) {
		*why = BLOG_UNICODE_WHY_DIGITS;
		goto out;
	}
	if (checks != 0) {
		*why = BLOG_UNICODE_WHY_MARKS;
		goto out;
	}
	/*
	 * The skeleton of the case-folded skeleton: UTS 39 skeletons keep
	 * case, and Cyrillic "ВОВ" looks like "BOB" while "вов" does not
	 * look like "bob"; folding between the two passes makes the
	 * upper-case look-alike collide with every case of the Latin name.
	 */
	rc = CM_EINTERNAL;
	if ((skel = blog_unicode_skeleton(nfkc, nn, &sn)) == NULL ||
	    (fold = blog_unicode_apply(BLOG_UNICODE_FOLD, skel, sn, &sn)) ==
	        NULL)
		goto out;
	free(skel);
	if ((skel = blog_unicode_skeleton(fold, sn, &sn)) == NULL)
		goto out;
	rc = CM_EVALIDATION;
	*why = too_long;
	for (i = 0; i < fn; chars++)
		U16_FWD_1(nfc, i, fn);
	if (chars > BLOG_USERNAME_MAX ||
	    blog_unicode_to8(nfc, fn, out->display, sizeof(out->display),
	        &out->display_len) != 0 ||
	    blog_unicode_to8(
	        key, kn, out->key, sizeof(out->key), &out->key_len) != 0 ||
	    blog_unicode_to8(skel, sn, out->skeleton, sizeof(out->skeleton),
	        &out->skeleton_len) != 0)
		goto out;
	*why = NULL;
	rc = CM_OK;
out:
	if (rc != CM_OK)
		memset(out, 0, sizeof(*out));
	free(u);
	free(nfc);
	free(nfkc);
	free(key);
	free(skel);
	free(fold);
	return rc;
}

enum cm_err
blog_unicode_nfc(
    const char *s, size_t len, char *out, size_t cap, size_t *outlen)
{
	UChar *u, *nfc = NULL;
	int32_t n, fn, bad = 0;
	enum cm_err rc = CM_EINTERNAL;

	*outlen = 0;
	if ((u = blog_unicode_from8(s, len, &n, &bad)) == NULL)
		return CM_EINTERNAL;
	if (bad > 0) {
		rc = CM_EINVAL;
		goto out;
	}
	if ((nfc = blog_unicode_apply(BLOG_UNICODE_NFC, u, n, &fn)) == NULL)
		goto out;
	rc = blog_unicode_to8(nfc, fn, out, cap, outlen) == 0 ? CM_OK
	                                                      : CM_ETOOBIG;
out:
	free(u);
	free(nfc);
	return rc;
}

/*
 * Append c as UTF-8 to out at *n when it fits in cap - 1 bytes. Returns
 * 0, or -1 when it does not fit (nothing written).
 */
static int
blog_unicode_put(char *out, size_t cap, size_t *n, UChar32 c)
{
	char b[U8_MAX_LENGTH];
	size_t k = 0;

	if (c < 0x80)
		b[k++] = (char)c;
	else if (c < 0x800) {
		b[k++] = (char)(0xC0 | (c >> 6));
		b[k++] = (char)(0x80 | (c & 0x3F));
	} else if (c < 0x10000) {
		b[k++] = (char)(0xE0 | (c >> 12));
		b[k++] = (char)(0x80 | ((c >> 6) & 0x3F));
		b[k++] = (char)(0x80 | (c & 0x3F));
	} else {
		b[k++] = (char)(0xF0 | (c >> 18));
		b[k++] = (char)(0x80 | ((c >> 12) & 0x3F));
		b[k++] = (char)(0x80 | ((c >> 6) & 0x3F));
		b[k++] = (char)(0x80 | (c & 0x3F));
	}
	if (*n + k > cap - 1)
		return -1;
	memcpy(out + *n, b, k);
	*n += k;
	return 0;
}

size_t
blog_unicode_slug(const char *s, size_t len, char *out, size_t cap)
{
	UChar *u = NULL, *a = NULL, *b = NULL;
	int32_t n, an, bn, i;
	size_t w = 0, word = 0;
	UChar32 c;
	uint32_t gc;
	int dash = 0, in_word = 0;

	if (cap == 0)
		return 0;
	out[0] = '\0';
	/*
	 * NFKC first (full-width letters, ligatures, circled digits become
	 * plain ones), then lower case, then NFKC again since lower-casing
	 * can leave a string that is no longer normalised.
	 */
	if ((u = blog_unicode_from8(s, len, &n, NULL)) == NULL ||
	    (a = blog_unicode_apply(BLOG_UNICODE_NFKC, u, n, &an)) == NULL ||
	    (b = blog_unicode_apply(BLOG_UNICODE_LOWER, a, an, &bn)) == NULL)
		goto out;
	free(a);
	if ((a = blog_unicode_apply(BLOG_UNICODE_NFKC, b, bn, &an)) == NULL)
		goto out;
	for (i = 0; i < an;) {
		U16_NEXT(a, i, an, c);
		gc = U_GET_GC_MASK(c);
		/* Invisible: dropped, so "soft\u00ADhyphen" stays one word. */
		if (u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT))
			continue;
		if ((gc & U_GC_M_MASK) != 0 && in_word) {
			/* A mark that does not fit drops its letter too. */
			if (blog_unicode_put(out, cap, &w, c) != 0) {
				w = word;
				break;
			}
			continue;
		}
		if ((gc & (U_GC_L_MASK | U_GC_N_MASK)) == 0) {
			dash = 1;
			in_word = 0;
			continue;
		}
		if (dash && w > 0) {
			/* The dash only with the character after it. */
			if (w + 2 > cap - 1)
				break;
			out[w++] = '-';
		}
		dash = 0;
		word = w;
		if (blog_unicode_put(out, cap, &w, c) != 0)
			break;
		in_word = 1;
	}
	/* A cut right after a dash leaves it trailing. */
	while (w > 0 && out[w - 1] == '-')
		w--;
out:
	if (u == NULL || a == NULL || b == NULL)
		w = 0;
	out[w] = '\0';
	free(u);
	free(a);
	free(b);
	return w;
}
