/* err.c - the error table (see err.h). */
#include "arena/err.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const err_desc[] = {
#define ARENA__ERR_DESC(name, desc, retr) desc,
    ARENA_ERR_MAP(ARENA__ERR_DESC)
#undef ARENA__ERR_DESC
};

static const char *const err_name[] = {
#define ARENA__ERR_NAME(name, desc, retr) #name,
    ARENA_ERR_MAP(ARENA__ERR_NAME)
#undef ARENA__ERR_NAME
};

static const bool err_retr[] = {
#define ARENA__ERR_RETR(name, desc, retr) (retr) != 0,
    ARENA_ERR_MAP(ARENA__ERR_RETR)
#undef ARENA__ERR_RETR
};

const char *arena_err_str(arena_err_t err)
{
    if ((unsigned)err >= ARENA_ERR__COUNT) {
        return "unknown error";
    }
    return err_desc[err];
}

const char *arena_err_name(arena_err_t err)
{
    if ((unsigned)err >= ARENA_ERR__COUNT) {
        return "UNKNOWN";
    }
    return err_name[err];
}

bool arena_err_is_retriable(arena_err_t err)
{
    if ((unsigned)err >= ARENA_ERR__COUNT) {
        return false;
    }
    return err_retr[err];
}

arena_err_t arena_err_set(char *errstr, size_t errstr_size, arena_err_t err, const char *fmt, ...)
{
    if (errstr && errstr_size > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errstr, errstr_size, fmt, ap);
        va_end(ap);
    }
    return err;
}
