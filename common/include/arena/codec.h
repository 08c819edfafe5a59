/* codec.h - protobuf encoding/decoding with validation for every arena.v1 message.
 * Decoding never trusts input: garbage bytes, a wrong message-type header or a message that
 * breaks the schema's rules (empty ids, unknown model names are the service's business) return
 * ARENA_ERR_DECODE / ARENA_ERR_VALIDATE with a reason, never crash.
 * Decoded messages are freed with arena_codec_free(). Thread-safe (no shared state). */
#ifndef ARENA_CODEC_H
#define ARENA_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "arena/v1/battle.pb-c.h"
#include "arena/v1/common.pb-c.h"
#include "arena/v1/leaderboard.pb-c.h"
#include "arena/v1/prompt.pb-c.h"
#include "arena/v1/shard.pb-c.h"

#include "arena/err.h"

/* Largest message accepted (bytes); larger input is ARENA_ERR_LIMIT. */
#define ARENA_CODEC_MAX_BYTES (16u * 1024u * 1024u)

/* "arena.v1.BattleResult" etc. */
const char *arena_codec_type_name(const ProtobufCMessageDescriptor *d);

/* malloc'd serialisation; *len set. */
void *arena_codec_encode(const ProtobufCMessage *msg, size_t *len);

/* Decode and validate. message_type may be NULL (header absent: accepted) or must equal the
 * descriptor's full name. */
arena_err_t arena_codec_decode(const ProtobufCMessageDescriptor *d, const void *buf, size_t len,
                               const char *message_type, ProtobufCMessage **out, char *errstr,
                               size_t errstr_size);
/* Validation alone (also used before producing). */
arena_err_t arena_codec_validate(const ProtobufCMessage *msg, char *errstr, size_t errstr_size);
void arena_codec_free(ProtobufCMessage *msg);

/* Typed helpers */
#define ARENA_DECODE(Type, desc, buf, len, mt, outp, err, errn)                                    \
    arena_codec_decode(&(desc), (buf), (len), (mt), (ProtobufCMessage **)(outp), (err), (errn))

/* Protobuf -> JSON (proto3 JSON mapping: lowerCamel names off, original field names kept,
 * enums as names, 64-bit ints as numbers). Caller frees. For arenactl tail/export. */
char *arena_codec_to_json(const ProtobufCMessage *msg);

/* Helpers to build chat messages (caller-owned arrays freed by arena_codec_chat_free). */
Arena__V1__ChatMessage **arena_codec_chat_new(size_t n);
void arena_codec_chat_free(Arena__V1__ChatMessage **msgs, size_t n);

#endif
