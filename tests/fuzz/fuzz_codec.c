/* fuzz_codec.c - every arena.v1 decoder plus to_json on hostile bytes.
 * Input: byte 0 selects the message type, the rest is the protobuf payload. Properties checked:
 * no crash/leak; a message that decodes re-encodes and decodes again to an equal encoding. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const ProtobufCMessageDescriptor *const descs[] = {
    &arena__v1__prompt__descriptor,           &arena__v1__battle_request__descriptor,
    &arena__v1__generated_battle__descriptor, &arena__v1__battle_result__descriptor,
    &arena__v1__leaderboard__descriptor,      &arena__v1__shard_manifest__descriptor,
    &arena__v1__chat_message__descriptor,     &arena__v1__judgment__descriptor,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    const ProtobufCMessageDescriptor *d = descs[data[0] % (sizeof(descs) / sizeof(descs[0]))];
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    char err[256];
    ProtobufCMessage *m = NULL;

    /* to_json must cope with unvalidated messages too (bad UTF-8, NaN) */
    ProtobufCMessage *raw = protobuf_c_message_unpack(d, NULL, n, p);
    if (raw) {
        free(arena_codec_to_json(raw));
        protobuf_c_message_free_unpacked(raw, NULL);
    }

    arena_err_t rc = arena_codec_decode(d, p, n, d->name, &m, err, sizeof(err));
    if (rc != ARENA_ERR_OK) {
        if (m != NULL || err[0] == '\0') {
            abort(); /* errors always come with a reason and no message */
        }
        return 0;
    }
    free(arena_codec_to_json(m));
    size_t len1 = 0, len2 = 0;
    void *enc1 = arena_codec_encode(m, &len1);
    ProtobufCMessage *m2 = NULL;
    if (arena_codec_decode(d, enc1, len1, NULL, &m2, err, sizeof(err)) != ARENA_ERR_OK) {
        abort(); /* a valid message must stay valid after a round trip */
    }
    void *enc2 = arena_codec_encode(m2, &len2);
    if (len1 != len2 || memcmp(enc1, enc2, len1) != 0) {
        abort();
    }
    free(enc1);
    free(enc2);
    arena_codec_free(m2);
    arena_codec_free(m);
    return 0;
}
