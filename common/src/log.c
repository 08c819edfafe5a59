/* log.c - logfmt lines on stderr, one write(2) per line, registered secrets redacted. */
#include "arena/log.h"

#include "arena/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

int arena_log_level = ARENA_LOG_INFO;

static char log_svc[64] = "arena";
static pthread_mutex_t secrets_lock = PTHREAD_MUTEX_INITIALIZER;
static char **secrets;
static size_t n_secrets;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

static void set_svc(const char *service)
{
    /* keep the name a bare logfmt value: no spaces, quotes or '=' */
    size_t j = 0;
    for (size_t i = 0; service[i] && j < sizeof(log_svc) - 1; i++) {
        char c = service[i];
        if (c <= ' ' || c == '"' || c == '=' || (unsigned char)c >= 0x7f) {
            c = '_';
        }
        log_svc[j++] = c;
    }
    log_svc[j] = '\0';
    if (j == 0) {
        snprintf(log_svc, sizeof(log_svc), "arena");
    }
}

void arena_log_init(const char *service)
{
    if (service) {
        set_svc(service);
    }
    const char *lv = getenv("ARENA_LOG_LEVEL");
    if (lv && *lv && arena_log_set_level_name(lv) != 0) {
        const char *msg = "ARENA_LOG_LEVEL is not debug|info|warn|error: ignored";
        arena_log_write(ARENA_LOG_WARN, __FILE__, __LINE__, "event=bad_log_level msg=\"%s\"", msg);
    }
}

int arena_log_set_level_name(const char *name)
{
    if (!name) {
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            arena_log_level = i;
            return 0;
        }
    }
    if (strcasecmp(name, "warning") == 0) {
        arena_log_level = ARENA_LOG_WARN;
        return 0;
    }
    return -1;
}

void arena_log_add_secret(const char *secret)
{
    if (!secret || strlen(secret) < 4) {
        return;
    }
    pthread_mutex_lock(&secrets_lock);
    for (size_t i = 0; i < n_secrets; i++) {
        if (strcmp(secrets[i], secret) == 0) {
            pthread_mutex_unlock(&secrets_lock);
            return;
        }
    }
    secrets = arena_xrealloc(secrets, (n_secrets + 1) * sizeof(*secrets));
    secrets[n_secrets++] = arena_xstrdup(secret);
    pthread_mutex_unlock(&secrets_lock);
}

void arena_log_clear_secrets(void)
{
    pthread_mutex_lock(&secrets_lock);
    for (size_t i = 0; i < n_secrets; i++) {
        free(secrets[i]);
    }
    free(secrets);
    secrets = NULL;
    n_secrets = 0;
    pthread_mutex_unlock(&secrets_lock);
}

/* Replace every occurrence of every secret (longest match first at each position). */
static void redact_into(struct arena_buf *out, const char *s, size_t n)
{
    pthread_mutex_lock(&secrets_lock);
    if (n_secrets == 0) {
        pthread_mutex_unlock(&secrets_lock);
        arena_buf_append(out, s, n);
        return;
    }
    size_t i = 0, start = 0;
    while (i < n) {
        size_t best = 0;
        for (size_t k = 0; k < n_secrets; k++) {
            size_t sl = strlen(secrets[k]);
            if (sl > best && sl <= n - i && memcmp(s + i, secrets[k], sl) == 0) {
                best = sl;
            }
        }
        if (best) {
            arena_buf_append(out, s + start, i - start);
            arena_buf_puts(out, "[REDACTED]");
            i += best;
            start = i;
        } else {
            i++;
        }
    }
    arena_buf_append(out, s + start, n - start);
    pthread_mutex_unlock(&secrets_lock);
}

char *arena_log_redact(const char *s)
{
    struct arena_buf b;
    arena_buf_init(&b);
    if (s) {
        redact_into(&b, s, strlen(s));
    }
    return arena_buf_steal(&b, NULL);
}

void arena_log_write(int level, const char *file, int line, const char *fmt, ...)
{
    struct arena_buf msg, out;
    char ts[96];
    struct timespec now;
    struct tm tm;
    va_list ap;
    int saved_errno = errno;

    (void)file;
    (void)line;
    if (level < ARENA_LOG_DEBUG) {
        level = ARENA_LOG_DEBUG;
    } else if (level > ARENA_LOG_ERROR) {
        level = ARENA_LOG_ERROR;
    }
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (long)(now.tv_nsec / 1000000));

    arena_buf_init(&msg);
    arena_buf_printf(&msg, "ts=%s level=%s svc=%s ", ts, level_names[level], log_svc);
    va_start(ap, fmt);
    arena_buf_vprintf(&msg, fmt, ap);
    va_end(ap);

    /* one event = one line: escape embedded line breaks */
    arena_buf_init(&out);
    struct arena_buf esc;
    arena_buf_init(&esc);
    for (size_t i = 0; i < msg.len; i++) {
        char c = msg.data[i];
        if (c == '\n') {
            arena_buf_puts(&esc, "\\n");
        } else if (c == '\r') {
            arena_buf_puts(&esc, "\\r");
        } else {
            arena_buf_append(&esc, &c, 1);
        }
    }
    redact_into(&out, esc.data ? esc.data : "", esc.len);
    arena_buf_append(&out, "\n", 1);

    const char *p = out.data;
    size_t left = out.len;
    while (left > 0) {
        ssize_t w = write(2, p, left);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    arena_buf_fini(&esc);
    arena_buf_fini(&msg);
    arena_buf_fini(&out);
    errno = saved_errno;
}
