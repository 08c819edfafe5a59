/* sampler_ingest.h - prompt files into arena.v1.Prompt messages. Pure (no Kafka, no store).
 * Formats: JSONL ({"prompt"} | {"messages":[{role,content}]} | {"instruction"[,"input"]}),
 * Arena-Hard question.jsonl (uid, category, cluster, prompt; v0.1 "turns":[{"content"}]),
 * ShareGPT ({"conversations":[{"from","value"}]} per line, or a whole-file JSON array of them).
 * Normalisation of stored content: trimmed, NULs stripped, "\r\n" -> "\n"; invalid UTF-8 is an
 * error. Whitespace inside a turn is kept (code!), identity and dedup collapse it (prompt_id.h).
 * Prompts handed out belong to the caller: free with sampler_prompt_free(). Thread-safe. */
#ifndef SAMPLER_INGEST_H
#define SAMPLER_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena/err.h"
#include "arena/v1/prompt.pb-c.h"

enum sampler_format {
    SAMPLER_FMT_AUTO,
    SAMPLER_FMT_JSONL,      /* {"prompt":...} or {"messages":[...]} or {"instruction":...} */
    SAMPLER_FMT_ARENA_HARD, /* question.jsonl: uid, category, cluster, prompt | turns */
    SAMPLER_FMT_SHAREGPT,   /* {"conversations":[{"from":"human|gpt|system","value":...}]} */
};

/* "auto" | "jsonl" | "arena-hard" | "sharegpt" */
const char *sampler_format_name(enum sampler_format f);
/* ARENA_ERR_INVALID with a message listing the known names. */
arena_err_t sampler_format_parse(const char *name, enum sampler_format *out, char *errstr,
                                 size_t errstr_size);
/* Format of a record (first non-empty line, or first element of a JSON array):
 * "conversations" -> sharegpt; "uid" with "prompt"|"turns" (or "question_id"+"turns") ->
 * arena-hard; anything else -> jsonl. */
enum sampler_format sampler_ingest_detect(const char *line, size_t len);

/* Parse one line/record into a Prompt (prompt_id = arena_prompt_id over the
 * user/system/assistant turns, up to and including the last user turn; trailing assistant
 * turns dropped). role = UNSPECIFIED, ingested_at_ms = 0 (the caller stamps them).
 * SAMPLER_FMT_AUTO detects per record. Returns ARENA_ERR_PARSE with a reason
 * ("missing field 'prompt'") in errstr; *out = NULL then. */
arena_err_t sampler_ingest_parse_line(enum sampler_format fmt, const char *line, size_t len,
                                      const char *source, Arena__V1__Prompt **out, char *errstr,
                                      size_t errstr_size);

/* The Prompt takes ownership: return 0 to go on, non-zero to stop the stream. The callback
 * owns *p (free it with sampler_prompt_free, or keep it). line = 1-based line (or array item). */
typedef int(sampler_prompt_cb)(void *ctx, Arena__V1__Prompt *p, uint64_t line);
/* A bad record: msg is "FILE:LINE: reason". */
typedef void(sampler_bad_line_cb)(void *ctx, uint64_t line, const char *msg);

struct sampler_ingest_stats {
    enum sampler_format format; /* the format used (detected when AUTO) */
    uint64_t records;           /* non-empty lines / array items seen */
    uint64_t prompts;           /* handed to the callback */
    uint64_t bad;               /* reported through the bad-line callback */
    uint64_t bytes;
};

/* Stream a buffer (a whole file's content). AUTO detects once per buffer from the first
 * non-empty line (or the first element of a top-level JSON array). Bad records go to bad_cb
 * and the rest goes on. Returns ARENA_ERR_OK, or ARENA_ERR_PARSE when the whole document is
 * unusable (a top-level array that does not parse). */
arena_err_t sampler_ingest_buffer(const char *data, size_t len, enum sampler_format fmt,
                                  const char *source, sampler_prompt_cb *cb,
                                  sampler_bad_line_cb *bad_cb, void *ctx,
                                  struct sampler_ingest_stats *stats, char *errstr,
                                  size_t errstr_size);
/* Same for a file ("-" = stdin); ARENA_ERR_IO naming the file when it cannot be read.
 * source NULL = the path. */
arena_err_t sampler_ingest_file(const char *path, enum sampler_format fmt, const char *source,
                                sampler_prompt_cb *cb, sampler_bad_line_cb *bad_cb, void *ctx,
                                struct sampler_ingest_stats *stats, char *errstr,
                                size_t errstr_size);

/* Content of the last user turn (the instruction), "" if none. Borrowed from p. */
const char *sampler_prompt_instruction(const Arena__V1__Prompt *p);
/* The text the pipeline judges: every user turn, whitespace-collapsed, joined by "\n".
 * Caller frees. */
char *sampler_prompt_text(const Arena__V1__Prompt *p);
/* Count of UTF-8 code points. */
size_t sampler_utf8_len(const char *s);
void sampler_prompt_free(Arena__V1__Prompt *p);

#endif
