/* curator_shard.h - training-shard rows (Hugging Face TRL formats) and the atomic shard writer.
 * Pure formatting plus file writes; no Kafka, no RocksDB. Thread-safe (no shared state).
 *
 * Rows are compact one-line JSON objects with keys in a fixed order (byte-identical output for
 * the same example). Invalid UTF-8 in any string is replaced by U+FFFD.
 *   SFT:      {"messages":[...prompt, {"role":"assistant","content":winner}], "prompt_id",
 *              "round", "model", "score", "target_model", "target_score", "gap", "battle_ids"}
 *   DPO / RM: {"prompt":[...], "chosen":[{"role":"assistant","content":...}], "rejected":[...],
 *              "prompt_id", "round", "chosen_model", "chosen_rating", "rejected_model",
 *              "rejected_rating", "gap", "battle_ids"}
 *
 * Manifest ownership: every string field and repeated array of an Arena__V1__ShardManifest
 * handled here must be malloc'd (arena_xstrdup) or protobuf_c_empty_string; the writer
 * replaces (and frees) the fields it fills; curator_manifest_fini() frees them all. */
#ifndef CURATOR_SHARD_H
#define CURATOR_SHARD_H

#include <stddef.h>

#include "arena/err.h"
#include "arena/v1/shard.pb-c.h"
#include "curator_select.h"

/* One row (no trailing newline), malloc'd: free(). Dispatches on ex->kind. */
char *curator_row(const struct curator_example *ex);
char *curator_row_sft(const struct curator_example *ex);
char *curator_row_pref(const struct curator_example *ex); /* DPO and RM */

/* Writes "<dir>/<shard_id>.jsonl" (compression "") or "<dir>/<shard_id>.jsonl.zst" ("zstd",
 * one zstd frame, level 3): each row followed by "\n", atomically (temp file, fsync, rename),
 * then "<dir>/<shard_id>.manifest.json" (atomic too; written after the shard, so a manifest
 * implies a complete shard). dir is created if missing.
 * manifest_out is in/out: the caller fills round, kind, target_model, min_gap, prompt_ids,
 * battle_ids, created_at_ms, partition, seq beforehand; the writer sets shard_id, path (relative
 * to dir), sha256 (of the file bytes), bytes, rows, compression and, when empty, format
 * ("trl-messages" for SFT, "trl-preference" otherwise).
 * Errors: ARENA_ERR_INVALID (bad shard_id, unknown compression, a row containing a newline),
 * ARENA_ERR_IO (errstr names the path), ARENA_ERR_LIMIT (compression failed). */
arena_err_t curator_shard_write(const char *dir, const char *shard_id, const char *const *rows,
                                size_t n_rows, const char *compression,
                                Arena__V1__ShardManifest *manifest_out, char *errstr,
                                size_t errstr_size);

/* The manifest as pretty JSON with keys in a fixed order (malloc'd: free()):
 * shard_id, round, kind ("sft"|"dpo"|"rm"|"unspecified"), path, sha256, bytes, rows, format,
 * compression, target_model, min_gap, partition, seq, created_at_ms, prompt_ids, battle_ids. */
char *curator_manifest_to_json(const Arena__V1__ShardManifest *m);

/* Frees the manifest's strings and repeated arrays and resets it to
 * ARENA__V1__SHARD_MANIFEST__INIT. NULL is a no-op. */
void curator_manifest_fini(Arena__V1__ShardManifest *m);

#endif
