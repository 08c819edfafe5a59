/* metrics.c - Prometheus registry: series live in individually allocated structs (stable
 * pointers handed to callers), indexed by an open-addressing hash of name{labels} and grouped
 * by metric family (one # HELP / # TYPE per name) for rendering.
 * Registration and rendering take the registry mutex; updates are lock-free: doubles are kept
 * as their IEEE-754 bits in an _Atomic uint64_t and updated with compare-and-swap. */
#include "arena/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena/log.h"
#include "arena/util.h"

#define ARENA_VERSION_STR "0.1.0"

enum metric_type {
    METRIC_COUNTER = 0,
    METRIC_GAUGE = 1,
    METRIC_HISTOGRAM = 2,
};

static const char *const type_names[] = {"counter", "gauge", "histogram"};

struct metric_family {
    char *name;
    char *help;
    enum metric_type type;
    struct arena_metric **series; /* in registration order */
    size_t n_series;
    size_t cap_series;
};

struct arena_metric {
    struct metric_family *fam;
    char *labels;          /* "" or label text without braces */
    char *key;             /* name{labels}: the hash key */
    _Atomic uint64_t bits; /* counter/gauge value as double bits */
    /* histogram */
    double *bounds;
    size_t n_bounds;
    _Atomic uint64_t *buckets; /* n_bounds + 1 (the last is +Inf); not cumulative */
    _Atomic uint64_t sum_bits;
};

struct arena_metrics {
    pthread_mutex_t lock;
    char *service;
    struct metric_family **fams; /* in registration order */
    size_t n_fams;
    size_t cap_fams;
    struct arena_metric **all; /* every series, for the hash */
    size_t n_all;
    size_t cap_all;
    struct arena_metric **table; /* open addressing, size power of two */
    size_t table_size;
};

const double arena_metrics_latency_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1,  0.25, 0.5,
                                                1.0,   2.5,  5.0,   10.0, 30.0, 60.0};
const size_t arena_metrics_latency_buckets_n =
    sizeof(arena_metrics_latency_buckets) / sizeof(arena_metrics_latency_buckets[0]);

static uint64_t dbl_bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof(u));
    return u;
}

static double bits_dbl(uint64_t u)
{
    double v;
    memcpy(&v, &u, sizeof(v));
    return v;
}

static void atomic_add_double(_Atomic uint64_t *a, double v)
{
    uint64_t old = atomic_load_explicit(a, memory_order_relaxed);
    for (;;) {
        uint64_t nv = dbl_bits(bits_dbl(old) + v);
        if (atomic_compare_exchange_weak_explicit(a, &old, nv, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            return;
        }
    }
}

static bool valid_metric_name(const char *name)
{
    if (!name || !*name) {
        return false;
    }
    for (const char *p = name; *p; p++) {
        char c = *p;
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!alpha && !(p != name && c >= '0' && c <= '9')) {
            return false;
        }
    }
    return true;
}

static uint64_t key_hash(const char *key)
{
    return arena_hash64(key, strlen(key), 0x6d657472696373ULL);
}

static void table_insert(struct arena_metrics *m, struct arena_metric *s)
{
    size_t mask = m->table_size - 1;
    size_t i = (size_t)key_hash(s->key) & mask;
    while (m->table[i]) {
        i = (i + 1) & mask;
    }
    m->table[i] = s;
}

static void table_grow(struct arena_metrics *m)
{
    size_t nsize = m->table_size ? m->table_size * 2 : 64;
    free(m->table);
    m->table = arena_xcalloc(nsize, sizeof(*m->table));
    m->table_size = nsize;
    for (size_t i = 0; i < m->n_all; i++) {
        table_insert(m, m->all[i]);
    }
}

static struct arena_metric *table_find(const struct arena_metrics *m, const char *key)
{
    if (!m->table_size) {
        return NULL;
    }
    size_t mask = m->table_size - 1;
    size_t i = (size_t)key_hash(key) & mask;
    while (m->table[i]) {
        if (!strcmp(m->table[i]->key, key)) {
            return m->table[i];
        }
        i = (i + 1) & mask;
    }
    return NULL;
}

static struct metric_family *family_find(const struct arena_metrics *m, const char *name)
{
    for (size_t i = 0; i < m->n_fams; i++) {
        if (!strcmp(m->fams[i]->name, name)) {
            return m->fams[i];
        }
    }
    return NULL;
}

static void series_free(struct arena_metric *s)
{
    if (!s) {
        return;
    }
    free(s->labels);
    free(s->key);
    free(s->bounds);
    free(s->buckets);
    free(s);
}

/* Lookup or create; the lock is held by the caller. */
static struct arena_metric *register_locked(struct arena_metrics *m, enum metric_type type,
                                            const char *name, const char *help, const char *labels,
                                            const double *buckets, size_t n_buckets)
{
    if (!labels) {
        labels = "";
    }
    if (!valid_metric_name(name)) {
        ARENA_ERROR("event=metric_invalid name=\"%s\" reason=\"invalid metric name\"",
                    name ? name : "(null)");
        return NULL;
    }
    if (strchr(labels, '\n') || labels[0] == '{') {
        ARENA_ERROR("event=metric_invalid name=%s reason=\"labels must be escaped label text "
                    "without braces\"",
                    name);
        return NULL;
    }
    char *key = arena_xasprintf("%s{%s}", name, labels);
    struct arena_metric *s = table_find(m, key);
    if (s) {
        free(key);
        if (s->fam->type != type) {
            ARENA_ERROR("event=metric_type_conflict name=%s registered=%s requested=%s", name,
                        type_names[s->fam->type], type_names[type]);
            return NULL;
        }
        return s;
    }
    struct metric_family *fam = family_find(m, name);
    if (fam && fam->type != type) {
        ARENA_ERROR("event=metric_type_conflict name=%s registered=%s requested=%s", name,
                    type_names[fam->type], type_names[type]);
        free(key);
        return NULL;
    }
    if (type == METRIC_HISTOGRAM) {
        for (size_t i = 1; i < n_buckets; i++) {
            if (!(buckets[i] > buckets[i - 1])) {
                ARENA_ERROR("event=metric_invalid name=%s reason=\"histogram buckets must be "
                            "strictly ascending\"",
                            name);
                free(key);
                return NULL;
            }
        }
    }
    if (!fam) {
        fam = arena_xcalloc(1, sizeof(*fam));
        fam->name = arena_xstrdup(name);
        fam->help = arena_xstrdup(help ? help : "");
        fam->type = type;
        if (m->n_fams == m->cap_fams) {
            m->cap_fams = m->cap_fams ? m->cap_fams * 2 : 16;
            m->fams = arena_xrealloc(m->fams, m->cap_fams * sizeof(*m->fams));
        }
        m->fams[m->n_fams++] = fam;
    }
    s = arena_xcalloc(1, sizeof(*s));
    s->fam = fam;
    s->labels = arena_xstrdup(labels);
    s->key = key;
    atomic_init(&s->bits, dbl_bits(0.0));
    atomic_init(&s->sum_bits, dbl_bits(0.0));
    if (type == METRIC_HISTOGRAM) {
        /* a trailing +Inf bound given by the caller is the implicit one */
        if (n_buckets > 0 && isinf(buckets[n_buckets - 1]) && buckets[n_buckets - 1] > 0) {
            n_buckets--;
        }
        s->n_bounds = n_buckets;
        s->bounds = arena_xmalloc((n_buckets ? n_buckets : 1) * sizeof(double));
        if (n_buckets) {
            memcpy(s->bounds, buckets, n_buckets * sizeof(double));
        }
        s->buckets = arena_xcalloc(n_buckets + 1, sizeof(*s->buckets));
        for (size_t i = 0; i <= n_buckets; i++) {
            atomic_init(&s->buckets[i], 0);
        }
    }
    if (fam->n_series == fam->cap_series) {
        fam->cap_series = fam->cap_series ? fam->cap_series * 2 : 4;
        fam->series = arena_xrealloc(fam->series, fam->cap_series * sizeof(*fam->series));
    }
    fam->series[fam->n_series++] = s;
    if (m->n_all == m->cap_all) {
        m->cap_all = m->cap_all ? m->cap_all * 2 : 32;
        m->all = arena_xrealloc(m->all, m->cap_all * sizeof(*m->all));
    }
    m->all[m->n_all++] = s;
    if (m->n_all * 2 > m->table_size) {
        table_grow(m); /* reinserts everything, including s */
    } else {
        table_insert(m, s);
    }
    return s;
}

static struct arena_metric *metrics_register(struct arena_metrics *m, enum metric_type type,
                                             const char *name, const char *help, const char *labels,
                                             const double *buckets, size_t n_buckets)
{
    if (!m) {
        return NULL;
    }
    pthread_mutex_lock(&m->lock);
    struct arena_metric *s = register_locked(m, type, name, help, labels, buckets, n_buckets);
    pthread_mutex_unlock(&m->lock);
    return s;
}

struct arena_metrics *arena_metrics_new(const char *service)
{
    struct arena_metrics *m = arena_xcalloc(1, sizeof(*m));
    pthread_mutex_init(&m->lock, NULL);
    m->service = arena_xstrdup(service ? service : "");
    char esc[256];
    char *labels =
        arena_xasprintf("service=\"%s\",version=\"%s\"",
                        arena_metrics_label(m->service, esc, sizeof(esc)), ARENA_VERSION_STR);
    struct arena_metric *up =
        arena_metrics_gauge(m, "arena_service_up", "1 while the service process runs", labels);
    free(labels);
    arena_metric_set(up, 1.0);
    return m;
}

void arena_metrics_destroy(struct arena_metrics *m)
{
    if (!m) {
        return;
    }
    for (size_t i = 0; i < m->n_all; i++) {
        series_free(m->all[i]);
    }
    for (size_t i = 0; i < m->n_fams; i++) {
        free(m->fams[i]->name);
        free(m->fams[i]->help);
        free(m->fams[i]->series);
        free(m->fams[i]);
    }
    free(m->fams);
    free(m->all);
    free(m->table);
    free(m->service);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

struct arena_metric *arena_metrics_counter(struct arena_metrics *m, const char *name,
                                           const char *help, const char *labels)
{
    return metrics_register(m, METRIC_COUNTER, name, help, labels, NULL, 0);
}

struct arena_metric *arena_metrics_gauge(struct arena_metrics *m, const char *name,
                                         const char *help, const char *labels)
{
    return metrics_register(m, METRIC_GAUGE, name, help, labels, NULL, 0);
}

struct arena_metric *arena_metrics_histogram(struct arena_metrics *m, const char *name,
                                             const char *help, const char *labels,
                                             const double *buckets, size_t n_buckets)
{
    if (!buckets) {
        n_buckets = 0;
    }
    return metrics_register(m, METRIC_HISTOGRAM, name, help, labels, buckets, n_buckets);
}

void arena_metric_inc(struct arena_metric *c)
{
    arena_metric_add(c, 1.0);
}

void arena_metric_add(struct arena_metric *c, double v)
{
    if (!c || isnan(v)) {
        return;
    }
    if (c->fam->type == METRIC_HISTOGRAM) {
        arena_metric_observe(c, v);
        return;
    }
    if (c->fam->type == METRIC_COUNTER && v < 0) {
        ARENA_WARN("event=metric_negative_add name=%s value=%g reason=\"counters only go up\"",
                   c->fam->name, v);
        return;
    }
    atomic_add_double(&c->bits, v);
}

void arena_metric_set(struct arena_metric *g, double v)
{
    if (!g) {
        return;
    }
    if (g->fam->type == METRIC_HISTOGRAM) {
        arena_metric_observe(g, v);
        return;
    }
    atomic_store_explicit(&g->bits, dbl_bits(v), memory_order_relaxed);
}

void arena_metric_observe(struct arena_metric *h, double v)
{
    if (!h || isnan(v)) {
        return;
    }
    if (h->fam->type != METRIC_HISTOGRAM) {
        arena_metric_set(h, v);
        return;
    }
    size_t i = 0;
    while (i < h->n_bounds && v > h->bounds[i]) {
        i++;
    }
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    atomic_add_double(&h->sum_bits, v);
}

double arena_metric_value(const struct arena_metric *c)
{
    if (!c) {
        return 0.0;
    }
    if (c->fam->type == METRIC_HISTOGRAM) {
        uint64_t n = 0;
        for (size_t i = 0; i <= c->n_bounds; i++) {
            n += atomic_load_explicit(&c->buckets[i], memory_order_relaxed);
        }
        return (double)n;
    }
    return bits_dbl(atomic_load_explicit(&c->bits, memory_order_relaxed));
}

void arena_metrics_incf(struct arena_metrics *m, const char *name, const char *help, double v,
                        const char *labels_fmt, ...)
{
    if (!m) {
        return;
    }
    struct arena_buf labels;
    arena_buf_init(&labels);
    va_list ap;
    va_start(ap, labels_fmt);
    arena_buf_vprintf(&labels, labels_fmt ? labels_fmt : "", ap);
    va_end(ap);
    const char *l = labels.len ? labels.data : "";
    pthread_mutex_lock(&m->lock);
    struct metric_family *fam = family_find(m, name ? name : "");
    enum metric_type type = fam && fam->type == METRIC_GAUGE ? METRIC_GAUGE : METRIC_COUNTER;
    struct arena_metric *s = register_locked(m, type, name, help, l, NULL, 0);
    pthread_mutex_unlock(&m->lock);
    arena_metric_add(s, v);
    arena_buf_fini(&labels);
}

char *arena_metrics_label(const char *value, char *out, size_t out_size)
{
    if (!out || out_size == 0) {
        return out;
    }
    size_t o = 0;
    for (const char *p = value ? value : ""; *p; p++) {
        const char *rep = NULL;
        char one[2] = {*p, 0};
        if (*p == '\\') {
            rep = "\\\\";
        } else if (*p == '"') {
            rep = "\\\"";
        } else if (*p == '\n') {
            rep = "\\n";
        } else {
            rep = one;
        }
        size_t n = strlen(rep);
        if (o + n >= out_size) {
            break; /* truncate on a whole escape, never half of one */
        }
        memcpy(out + o, rep, n);
        o += n;
    }
    out[o] = '\0';
    return out;
}

/* Shortest text that reads back as the same double; Prometheus spellings for the specials. */
static void fmt_value(char *out, size_t n, double v)
{
    if (isnan(v)) {
        snprintf(out, n, "NaN");
    } else if (isinf(v)) {
        snprintf(out, n, v > 0 ? "+Inf" : "-Inf");
    } else {
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(out, n, "%.*g", prec, v);
            if (strtod(out, NULL) == v) {
                break;
            }
        }
    }
}

static void render_series_name(struct arena_buf *b, const char *name, const char *suffix,
                               const char *labels, const char *extra)
{
    arena_buf_puts(b, name);
    arena_buf_puts(b, suffix);
    bool has_labels = labels && *labels;
    bool has_extra = extra && *extra;
    if (has_labels || has_extra) {
        arena_buf_puts(b, "{");
        if (has_labels) {
            arena_buf_puts(b, labels);
        }
        if (has_labels && has_extra) {
            arena_buf_puts(b, ",");
        }
        if (has_extra) {
            arena_buf_puts(b, extra);
        }
        arena_buf_puts(b, "}");
    }
}

static void render_help(struct arena_buf *b, const char *help)
{
    for (const char *p = help; *p; p++) {
        if (*p == '\\') {
            arena_buf_puts(b, "\\\\");
        } else if (*p == '\n') {
            arena_buf_puts(b, "\\n");
        } else {
            arena_buf_append(b, p, 1);
        }
    }
}

char *arena_metrics_render(struct arena_metrics *m)
{
    struct arena_buf b;
    size_t blen = 0;
    arena_buf_init(&b);
    arena_buf_puts(&b, ""); /* an empty registry still renders "" */
    if (!m) {
        return arena_buf_steal(&b, &blen);
    }
    char val[64];
    char le[96];
    pthread_mutex_lock(&m->lock);
    for (size_t f = 0; f < m->n_fams; f++) {
        const struct metric_family *fam = m->fams[f];
        arena_buf_printf(&b, "# HELP %s ", fam->name);
        render_help(&b, fam->help);
        arena_buf_printf(&b, "\n# TYPE %s %s\n", fam->name, type_names[fam->type]);
        for (size_t i = 0; i < fam->n_series; i++) {
            struct arena_metric *s = fam->series[i];
            if (fam->type != METRIC_HISTOGRAM) {
                render_series_name(&b, fam->name, "", s->labels, NULL);
                fmt_value(val, sizeof(val), arena_metric_value(s));
                arena_buf_printf(&b, " %s\n", val);
                continue;
            }
            uint64_t cum = 0;
            for (size_t k = 0; k <= s->n_bounds; k++) {
                cum += atomic_load_explicit(&s->buckets[k], memory_order_relaxed);
                fmt_value(val, sizeof(val), k < s->n_bounds ? s->bounds[k] : INFINITY);
                snprintf(le, sizeof(le), "le=\"%s\"", val);
                render_series_name(&b, fam->name, "_bucket", s->labels, le);
                arena_buf_printf(&b, " %llu\n", (unsigned long long)cum);
            }
            render_series_name(&b, fam->name, "_sum", s->labels, NULL);
            fmt_value(val, sizeof(val),
                      bits_dbl(atomic_load_explicit(&s->sum_bits, memory_order_relaxed)));
            arena_buf_printf(&b, " %s\n", val);
            render_series_name(&b, fam->name, "_count", s->labels, NULL);
            arena_buf_printf(&b, " %llu\n", (unsigned long long)cum);
        }
    }
    pthread_mutex_unlock(&m->lock);
    return arena_buf_steal(&b, &blen);
}
