/* offsets.c - per-partition ordered queue of consumed offsets with a done flag.
 * begin() appends at the tail (offsets arrive in increasing order: O(1) amortised), done() finds
 * the entry by binary search (O(log n)) and pops finished entries from the head, so the head is
 * always the lowest unfinished offset: the committable position. */
#include "arena/offsets.h"

#include "arena/util.h"

#include <stdlib.h>
#include <string.h>

struct off_entry {
    int64_t offset;
    bool done;
};

struct off_part {
    char *topic;
    int32_t partition;
    struct off_entry *q; /* q[head..tail) sorted by offset */
    size_t head, tail, cap;
    int64_t highest_done; /* -1: none */
    int64_t reported;     /* last committable returned by next_commit; -1: none */
    size_t unfinished;
};

struct arena_offsets {
    struct off_part *parts;
    size_t n_parts, cap_parts;
    size_t last_hit;
    size_t inflight;
};

struct arena_offsets *arena_offsets_new(void)
{
    return arena_xcalloc(1, sizeof(struct arena_offsets));
}

void arena_offsets_destroy(struct arena_offsets *o)
{
    if (!o) {
        return;
    }
    for (size_t i = 0; i < o->n_parts; i++) {
        free(o->parts[i].topic);
        free(o->parts[i].q);
    }
    free(o->parts);
    free(o);
}

static struct off_part *find_part(struct arena_offsets *o, const char *topic, int32_t partition)
{
    if (o->last_hit < o->n_parts) {
        struct off_part *p = &o->parts[o->last_hit];
        if (p->partition == partition && strcmp(p->topic, topic) == 0) {
            return p;
        }
    }
    for (size_t i = 0; i < o->n_parts; i++) {
        struct off_part *p = &o->parts[i];
        if (p->partition == partition && strcmp(p->topic, topic) == 0) {
            o->last_hit = i;
            return p;
        }
    }
    return NULL;
}

static struct off_part *get_part(struct arena_offsets *o, const char *topic, int32_t partition)
{
    struct off_part *p = find_part(o, topic, partition);
    if (p) {
        return p;
    }
    if (o->n_parts == o->cap_parts) {
        o->cap_parts = o->cap_parts ? o->cap_parts * 2 : 8;
        o->parts = arena_xrealloc(o->parts, o->cap_parts * sizeof(*o->parts));
    }
    p = &o->parts[o->n_parts];
    memset(p, 0, sizeof(*p));
    p->topic = arena_xstrdup(topic);
    p->partition = partition;
    p->highest_done = -1;
    p->reported = -1;
    o->last_hit = o->n_parts++;
    return p;
}

static void part_reserve(struct off_part *p)
{
    if (p->tail < p->cap) {
        return;
    }
    size_t live = p->tail - p->head;
    if (p->head > 0 && live <= p->cap / 2) {
        /* compact in place: amortised O(1) because at least cap/2 slots are freed */
        memmove(p->q, p->q + p->head, live * sizeof(*p->q));
    } else {
        p->cap = p->cap ? p->cap * 2 : 64;
        struct off_entry *nq = arena_xmalloc(p->cap * sizeof(*nq));
        if (live) {
            memcpy(nq, p->q + p->head, live * sizeof(*nq));
        }
        free(p->q);
        p->q = nq;
    }
    p->head = 0;
    p->tail = live;
}

/* index of the first entry with offset >= off in [head, tail) */
static size_t lower_bound(const struct off_part *p, int64_t off)
{
    size_t lo = p->head, hi = p->tail;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->q[mid].offset < off) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

void arena_offsets_begin(struct arena_offsets *o, const char *topic, int32_t partition,
                         int64_t offset)
{
    if (!o || !topic || offset < 0) {
        return;
    }
    struct off_part *p = get_part(o, topic, partition);
    part_reserve(p);
    size_t at = p->tail;
    if (p->tail > p->head && p->q[p->tail - 1].offset >= offset) {
        /* out of contract (re-consumed after a seek): keep the queue sorted anyway */
        at = lower_bound(p, offset);
        if (at < p->tail && p->q[at].offset == offset) {
            if (p->q[at].done) {
                p->q[at].done = false;
                p->unfinished++;
                o->inflight++;
            }
            return;
        }
        memmove(p->q + at + 1, p->q + at, (p->tail - at) * sizeof(*p->q));
    }
    p->q[at].offset = offset;
    p->q[at].done = false;
    p->tail++;
    p->unfinished++;
    o->inflight++;
}

void arena_offsets_done(struct arena_offsets *o, const char *topic, int32_t partition,
                        int64_t offset)
{
    if (!o || !topic) {
        return;
    }
    struct off_part *p = find_part(o, topic, partition);
    if (!p) {
        return;
    }
    size_t at = lower_bound(p, offset);
    if (at >= p->tail || p->q[at].offset != offset || p->q[at].done) {
        return; /* unknown or already done: idempotent */
    }
    p->q[at].done = true;
    p->unfinished--;
    o->inflight--;
    if (offset > p->highest_done) {
        p->highest_done = offset;
    }
    while (p->head < p->tail && p->q[p->head].done) {
        p->head++;
    }
    if (p->head == p->tail) {
        p->head = p->tail = 0;
    }
}

void arena_offsets_forget(struct arena_offsets *o, const char *topic, int32_t partition)
{
    if (!o || !topic) {
        return;
    }
    struct off_part *p = find_part(o, topic, partition);
    if (!p) {
        return;
    }
    size_t i = (size_t)(p - o->parts);
    o->inflight -= p->unfinished;
    free(p->topic);
    free(p->q);
    o->parts[i] = o->parts[o->n_parts - 1];
    o->n_parts--;
    o->last_hit = 0;
}

size_t arena_offsets_inflight(const struct arena_offsets *o)
{
    return o ? o->inflight : 0;
}

static int64_t committable(const struct off_part *p)
{
    if (p->head < p->tail) {
        return p->q[p->head].offset; /* lowest unfinished (head is never done) */
    }
    return p->highest_done >= 0 ? p->highest_done + 1 : -1;
}

bool arena_offsets_next_commit(struct arena_offsets *o, const char **topic, int32_t *partition,
                               int64_t *next_offset)
{
    if (!o) {
        return false;
    }
    for (size_t i = 0; i < o->n_parts; i++) {
        struct off_part *p = &o->parts[i];
        int64_t c = committable(p);
        if (c >= 0 && c != p->reported && (p->reported < 0 || c > p->reported)) {
            p->reported = c;
            *topic = p->topic;
            *partition = p->partition;
            *next_offset = c;
            return true;
        }
    }
    return false;
}
