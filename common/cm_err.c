/*
 * cm_err.c: the single table from error codes to HTTP statuses.
 */
#include <stddef.h>

#include "cm_err.h"

static const struct {
	int status;
	const char *name;
} cm_err_table[] = {
    [CM_OK] = {200, "OK"},
    [CM_EINVAL] = {400, "EINVAL"},
    [CM_EAUTH] = {401, "EAUTH"},
    [CM_EEXPIRED] = {401, "EEXPIRED"},
    [CM_EREVOKED] = {401, "EREVOKED"},
    [CM_EFORBIDDEN] = {403, "EFORBIDDEN"},
    [CM_ENOTFOUND] = {404, "ENOTFOUND"},
    [CM_EMETHOD] = {405, "EMETHOD"},
    [CM_ECONFLICT] = {409, "ECONFLICT"},
    [CM_ETOOBIG] = {413, "ETOOBIG"},
    [CM_EVALIDATION] = {422, "EVALIDATION"},
    [CM_ENOMEM] = {500, "ENOMEM"},
    [CM_EDB] = {500, "EDB"},
    [CM_EUNAVAIL] = {503, "EUNAVAIL"},
    [CM_EINTERNAL] = {500, "EINTERNAL"},
    [CM_EBADJSON] = {400, "EBADJSON"},
    [CM_ETOOMANY] = {429, "ETOOMANY"},
};

#define CM_ERR_COUNT (sizeof(cm_err_table) / sizeof(cm_err_table[0]))

int
cm_err_status(enum cm_err err)
{
	if ((unsigned)err >= CM_ERR_COUNT || cm_err_table[err].name == NULL)
		return 500;
	return cm_err_table[err].status;
}

const char *
cm_err_name(enum cm_err err)
{
	if ((unsigned)err >= CM_ERR_COUNT || cm_err_table[err].name == NULL)
		return "EUNKNOWN";
	return cm_err_table[err].name;
}
