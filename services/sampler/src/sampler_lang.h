/* sampler_lang.h - the pipeline's language filter hook (sampler.language).
 *   "any": keep everything (no hook).
 *   "en":  an ASCII-ratio heuristic: keep a prompt when at least 90% of its letters are ASCII
 *          letters (code points counted; digits, punctuation, whitespace and symbols ignored,
 *          so code and maths pass); a prompt with no letter at all is kept.
 * Pure, thread-safe. */
#ifndef SAMPLER_LANG_H
#define SAMPLER_LANG_H

#include <stdbool.h>

#include "arena/err.h"

/* Share of letters that are ASCII (1.0 when there are no letters). Invalid UTF-8 bytes count as
 * non-ASCII letters. */
double sampler_lang_ascii_ratio(const char *text);
/* A sampler_pipeline_opts.language_hook: 1 keep, 0 drop (ctx unused). */
int sampler_lang_en(void *ctx, const char *text);
/* "any" -> *hook = NULL; "en" -> sampler_lang_en; else ARENA_ERR_CONFIG naming the value. */
arena_err_t sampler_lang_hook(const char *name, int (**hook)(void *, const char *), char *errstr,
                              size_t errstr_size);

#endif
