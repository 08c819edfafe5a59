/* metrics.h - a Prometheus registry: counters, gauges and histograms with fixed label sets.
 * Names follow Prometheus conventions with the arena_ prefix and a unit suffix
 * (arena_battles_total, arena_model_call_duration_seconds).
 * Updates are lock-free (C11 atomics) and safe from any thread; registering takes a lock and
 * returns the same series for the same name+labels. The registry owns every series. */
#ifndef ARENA_METRICS_H
#define ARENA_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct arena_metrics;
struct arena_metric; /* one series */

struct arena_metrics *arena_metrics_new(const char *service);
void arena_metrics_destroy(struct arena_metrics *m);

/* labels: "" or Prometheus label text without braces, e.g. "model=\"gpt\",status=\"ok\"".
 * Label values are escaped by the caller with arena_metrics_label() when they come from input. */
struct arena_metric *arena_metrics_counter(struct arena_metrics *m, const char *name,
                                           const char *help, const char *labels);
struct arena_metric *arena_metrics_gauge(struct arena_metrics *m, const char *name,
                                         const char *help, const char *labels);
/* buckets: ascending upper bounds (the +Inf bucket is implicit); copied. */
struct arena_metric *arena_metrics_histogram(struct arena_metrics *m, const char *name,
                                             const char *help, const char *labels,
                                             const double *buckets, size_t n_buckets);

void arena_metric_inc(struct arena_metric *c);
void arena_metric_add(struct arena_metric *c, double v);
void arena_metric_set(struct arena_metric *g, double v);
void arena_metric_observe(struct arena_metric *h, double v);
double arena_metric_value(const struct arena_metric *c);

/* Convenience: counter/gauge by name + labels built with printf. */
void arena_metrics_incf(struct arena_metrics *m, const char *name, const char *help, double v,
                        const char *labels_fmt, ...) __attribute__((format(printf, 5, 6)));

/* Escape a label value (quotes, backslash, newline) into out; returns out. */
char *arena_metrics_label(const char *value, char *out, size_t out_size);

/* Prometheus text exposition format 0.0.4. Caller frees. */
char *arena_metrics_render(struct arena_metrics *m);

/* Default latency buckets in seconds (0.005 .. 60). */
extern const double arena_metrics_latency_buckets[];
extern const size_t arena_metrics_latency_buckets_n;

#endif
