/* prompt_id.h - the stable identity of a prompt: prompt_id = first 32 hex chars of the SHA-256
 * of the normalised conversation. Normalisation: every message's content trimmed, runs of
 * whitespace collapsed to one space, role lower-cased; messages joined as
 * "<role>\x1f<content>\x1e". Case and punctuation are kept (dedup stages handle near-copies).
 * Pure functions, thread-safe. Used by ingest (sampler, arenactl) and the replay backend, which
 * must agree byte for byte. */
#ifndef ARENA_PROMPT_ID_H
#define ARENA_PROMPT_ID_H

#include <stddef.h>

/* Normalised copy of text (trim + collapse whitespace). Caller frees. */
char *arena_prompt_normalise(const char *text);
/* roles[i]/contents[i] for i < n; out: 32 lowercase hex + NUL. */
void arena_prompt_id(const char *const *roles, const char *const *contents, size_t n, char out[33]);
/* Single user turn shortcut. */
void arena_prompt_id_text(const char *user_text, char out[33]);

#endif
