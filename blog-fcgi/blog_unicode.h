/*
 * blog_unicode.h: the Unicode rules for slugs and usernames, on ICU.
 *
 * Every function here is pure (input bytes in, output bytes out, no
 * request, no database), so unit tests and fuzz targets call them directly.
 * The only state is ICU's immutable data and one spoof checker built once
 * per process (thread-safe for checking, per ICU's documentation).
 */
#ifndef BLOG_UNICODE_H
#define BLOG_UNICODE_H

#include <stddef.h>

#include "blog.h"
#include "cm_err.h"

/* A username that passed the rules: both forms NUL-terminated. */
struct blog_unicode_name {
	char display[BLOG_USERNAME_BYTES_MAX + 1]; /* NFC: shown, looked up */
	size_t display_len;
	char key[BLOG_USERNAME_KEY_MAX + 1]; /* NFKC_Casefold: unique */
	size_t key_len;
	/* A UTS 39 skeleton: look-alikes share it, so unique too. */
	char skeleton[BLOG_USERNAME_SKELETON_MAX + 1];
	size_t skeleton_len;
};

/*
 * Build ICU's spoof checker now, so that missing ICU data stops the
 * program at start instead of failing requests. Optional: the functions
 * below build it on first use. CM_EINTERNAL when ICU cannot.
 */
enum cm_err blog_unicode_init(void);

/*
 * Release the spoof checker and ICU's caches (u_cleanup). Only at exit,
 * when no other thread uses ICU: tests call it to stay leak-free under
 * valgrind.
 */
void blog_unicode_cleanup(void);

/*
 * Apply the username rules to s (len bytes of UTF-8):
 * - no invisible characters: default-ignorable code points (zero-width
 *   spaces and joiners, Hangul fillers, ...), bidi controls, other
 *   control or format characters, unassigned or private-use code points;
 * - after NFKC, only letters and digits of any script, combining marks
 *   after them, and the ASCII '_', '-' and '.';
 * - ICU's spoof checker at the moderately restrictive level: Latin plus
 *   at most one other script (never Cyrillic, Greek or Cherokee mixed
 *   with Latin), no mixed digit systems, no hidden overlays or repeated
 *   marks;
 * - at most BLOG_USERNAME_MAX characters and BLOG_USERNAME_BYTES_MAX
 *   bytes (of the NFC form), a key of at most BLOG_USERNAME_KEY_MAX and a
 *   skeleton of at most BLOG_USERNAME_SKELETON_MAX bytes.
 * The skeleton (ICU's uspoof_getSkeleton, twice, with case folding
 * between) is equal for names that look alike even in one script each
 * ("ѕсоре" or "ВОВ" in Cyrillic and "scope" or "BOB", "rn" and "m", "l"
 * and "1"): a unique index on it refuses the look-alike of a name already
 * taken.
 * CM_OK fills out; CM_EVALIDATION sets *why to a message for a 422
 * ("is invalid (...)"); CM_EINTERNAL when ICU fails.
 */
enum cm_err blog_unicode_username(
    const char *s, size_t len, struct blog_unicode_name *out, const char **why);

/*
 * The NFC form of s (len bytes of valid UTF-8) into out (cap bytes, NUL
 * included) as *outlen bytes: how a looked-up name is matched against the
 * stored display forms. CM_ETOOBIG when it does not fit, CM_EINVAL for
 * invalid UTF-8, CM_EINTERNAL when ICU fails.
 */
enum cm_err blog_unicode_nfc(
    const char *s, size_t len, char *out, size_t cap, size_t *outlen);

/*
 * The readable base of a slug: s (len bytes, UTF-8; invalid sequences
 * count as separators) after NFKC and lower-casing, keeping letters and
 * digits of every script (with their combining marks), dropping invisible
 * characters, any other run becoming one '-', trimmed of '-', cut at a
 * character boundary to at most cap - 1 bytes (never between a letter and
 * its marks), NUL-terminated. Returns the length, 0 when nothing is left
 * (or ICU fails: the caller then uses a fixed word).
 */
size_t blog_unicode_slug(const char *s, size_t len, char *out, size_t cap);

#endif
