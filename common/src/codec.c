/* codec.c - arena.v1 protobuf encode/decode with validation, and a generic protobuf -> JSON walk.
 * Validation has two layers: a generic walk over the descriptor (every string is valid UTF-8,
 * every double finite) and per-message rules (ids, models, outcome, score ranges). */
#include "arena/codec.h"

#include "arena/util.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

const char *arena_codec_type_name(const ProtobufCMessageDescriptor *d)
{
    return d ? d->name : "";
}

void *arena_codec_encode(const ProtobufCMessage *msg, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = arena_xmalloc(n ? n : 1);
    size_t w = protobuf_c_message_pack(msg, buf);
    if (len) {
        *len = w;
    }
    return buf;
}

void arena_codec_free(ProtobufCMessage *msg)
{
    if (msg) {
        protobuf_c_message_free_unpacked(msg, NULL);
    }
}

/* ---- generic checks ------------------------------------------------------------------------- */

/* Strict UTF-8 (RFC 3629): no overlongs, no surrogates, nothing above U+10FFFF.
 * Returns the byte offset of the first invalid sequence, or -1. */
static long utf8_invalid_at(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (s[i]) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned cp, min;
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
            min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
            min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
            min = 0x10000;
        } else {
            return (long)i;
        }
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                return (long)i;
            }
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return (long)i;
        }
        i += n + 1;
    }
    return -1;
}

static bool field_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    const char *base = (const char *)m;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        return *(const uint32_t *)(const void *)(base + f->quantifier_offset) == f->id;
    }
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
        f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING) {
        return *(const protobuf_c_boolean *)(const void *)(base + f->quantifier_offset);
    }
    return true;
}

/* Element i of field f (repeated or not): pointer to the value slot. */
static const void *field_slot(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                              size_t i, size_t elem)
{
    const char *base = (const char *)m;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        const char *arr = *(const char *const *)(const void *)(base + f->offset);
        return arr + i * elem;
    }
    return base + f->offset;
}

static size_t type_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_ENUM:
        return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return 8;
    case PROTOBUF_C_TYPE_FLOAT:
        return sizeof(float);
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    }
    return sizeof(void *);
}

static size_t field_count(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        return *(const size_t *)(const void *)((const char *)m + f->quantifier_offset);
    }
    return field_present(m, f) ? 1 : 0;
}

/* Every string valid UTF-8, every float/double finite, recursively. */
static arena_err_t check_generic(const ProtobufCMessage *m, const char *path, int depth,
                                 char *errstr, size_t errstr_size)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    if (depth > 16) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_VALIDATE, "%s: nested too deeply",
                             path);
    }
    /* protobuf-c accepts field number 0 when its tag is a non-minimal varint (80 00): it is
     * invalid protobuf and would re-encode as a single 00 byte that no decoder accepts */
    for (unsigned ui = 0; ui < m->n_unknown_fields; ui++) {
        if (m->unknown_fields[ui].tag == 0) {
            return arena_err_set(errstr, errstr_size, ARENA_ERR_VALIDATE,
                                 "%s: field number 0 (invalid protobuf)", path);
        }
    }
    for (unsigned fi = 0; fi < d->n_fields; fi++) {
        const ProtobufCFieldDescriptor *f = &d->fields[fi];
        size_t n = field_count(m, f);
        size_t es = type_size(f->type);
        for (size_t i = 0; i < n; i++) {
            const void *slot = field_slot(m, f, i, es);
            char sub[256];
            int w = f->label == PROTOBUF_C_LABEL_REPEATED
                        ? snprintf(sub, sizeof(sub), "%s.%s[%zu]", path, f->name, i)
                        : snprintf(sub, sizeof(sub), "%s.%s", path, f->name);
            if (w < 0) {
                snprintf(sub, sizeof(sub), "%s", f->name);
            } else if ((size_t)w >= sizeof(sub)) {
                /* a path too deep for the buffer is cut (it only names the field in errors) */
                memcpy(sub + sizeof(sub) - 4, "...", 4);
            }
            if (f->type == PROTOBUF_C_TYPE_STRING) {
                const char *s = *(const char *const *)slot;
                long at = s ? utf8_invalid_at(s) : -1;
                if (at >= 0) {
                    return arena_err_set(errstr, errstr_size, ARENA_ERR_VALIDATE,
                                         "%s: invalid UTF-8 at byte %ld", sub, at);
                }
            } else if (f->type == PROTOBUF_C_TYPE_DOUBLE) {
                if (!isfinite(*(const double *)slot)) {
                    return arena_err_set(errstr, errstr_size, ARENA_ERR_VALIDATE,
                                         "%s: not a finite number", sub);
                }
            } else if (f->type == PROTOBUF_C_TYPE_FLOAT) {
                if (!isfinite(*(const float *)slot)) {
                    return arena_err_set(errstr, errstr_size, ARENA_ERR_VALIDATE,
                                         "%s: not a finite number", sub);
                }
            } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
                const ProtobufCMessage *sm = *(const ProtobufCMessage *const *)slot;
                if (sm) {
                    arena_err_t rc = check_generic(sm, sub, depth + 1, errstr, errstr_size);
                    if (rc) {
                        return rc;
                    }
                }
            }
        }
    }
    return ARENA_ERR_OK;
}

/* ---- per-message rules ---------------------------------------------------------------------- */

#define VFAIL(...) arena_err_set(errstr, errstr_size, ARENA_ERR_VALIDATE, __VA_ARGS__)

static bool is_hex(const char *s, size_t min, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++) {
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f'))) {
            return false;
        }
    }
    return n >= min && n <= max;
}

static bool empty(const char *s)
{
    return !s || !*s;
}

static arena_err_t check_prompt_id(const char *where, const char *id, char *errstr,
                                   size_t errstr_size)
{
    if (empty(id)) {
        return VFAIL("%s.prompt_id: empty", where);
    }
    if (!is_hex(id, 1, 64)) {
        return VFAIL("%s.prompt_id: expected 1-64 lowercase hex chars, got '%.70s'", where, id);
    }
    return ARENA_ERR_OK;
}

static arena_err_t check_battle_id(const char *where, const char *id, char *errstr,
                                   size_t errstr_size)
{
    if (empty(id) || !is_hex(id, 32, 32)) {
        return VFAIL("%s.battle_id: expected 32 lowercase hex chars, got '%.70s'", where,
                     id ? id : "");
    }
    return ARENA_ERR_OK;
}

static arena_err_t check_messages(const char *where, size_t n, Arena__V1__ChatMessage **msgs,
                                  bool required, char *errstr, size_t errstr_size)
{
    if (required && n == 0) {
        return VFAIL("%s.messages: no messages", where);
    }
    bool content = false;
    for (size_t i = 0; i < n; i++) {
        const Arena__V1__ChatMessage *cm = msgs[i];
        if (!cm) {
            return VFAIL("%s.messages[%zu]: missing", where, i);
        }
        if (strcmp(cm->role, "system") != 0 && strcmp(cm->role, "user") != 0 &&
            strcmp(cm->role, "assistant") != 0) {
            return VFAIL("%s.messages[%zu].role: expected system|user|assistant, got '%.40s'",
                         where, i, cm->role);
        }
        content = content || !empty(cm->content);
    }
    if (required && !content) {
        return VFAIL("%s.messages: every message is empty", where);
    }
    return ARENA_ERR_OK;
}

static arena_err_t check_pair(const char *where, const char *a, const char *b, char *errstr,
                              size_t errstr_size)
{
    if (empty(a)) {
        return VFAIL("%s.model_a: empty", where);
    }
    if (empty(b)) {
        return VFAIL("%s.model_b: empty", where);
    }
    if (strcmp(a, b) == 0) {
        return VFAIL("%s: model_a and model_b are the same model '%.60s'", where, a);
    }
    return ARENA_ERR_OK;
}

static arena_err_t check_request(const char *where, const Arena__V1__BattleRequest *r, char *errstr,
                                 size_t errstr_size)
{
    arena_err_t rc;
    if ((rc = check_battle_id(where, r->battle_id, errstr, errstr_size)) ||
        (rc = check_prompt_id(where, r->prompt_id, errstr, errstr_size)) ||
        (rc = check_messages(where, r->n_messages, r->messages, true, errstr, errstr_size)) ||
        (rc = check_pair(where, r->model_a, r->model_b, errstr, errstr_size))) {
        return rc;
    }
    return ARENA_ERR_OK;
}

static bool rated(Arena__V1__Outcome o)
{
    return o == ARENA__V1__OUTCOME__OUTCOME_MODEL_A || o == ARENA__V1__OUTCOME__OUTCOME_MODEL_B ||
           o == ARENA__V1__OUTCOME__OUTCOME_TIE;
}

static arena_err_t check_result(const Arena__V1__BattleResult *r, char *errstr, size_t errstr_size)
{
    const char *w = "BattleResult";
    arena_err_t rc;
    if ((rc = check_battle_id(w, r->battle_id, errstr, errstr_size)) ||
        (rc = check_prompt_id(w, r->prompt_id, errstr, errstr_size)) ||
        (rc = check_pair(w, r->model_a, r->model_b, errstr, errstr_size)) ||
        (rc = check_messages(w, r->n_messages, r->messages, false, errstr, errstr_size))) {
        return rc;
    }
    if (!protobuf_c_enum_descriptor_get_value(&arena__v1__outcome__descriptor, (int)r->outcome)) {
        return VFAIL("BattleResult.outcome: unknown value %d", (int)r->outcome);
    }
    if (r->outcome == ARENA__V1__OUTCOME__OUTCOME_UNSPECIFIED) {
        return VFAIL("BattleResult.outcome: unspecified");
    }
    if (rated(r->outcome)) {
        if (r->score_a < 0 || r->score_a > 10 || r->score_b < 0 || r->score_b > 10) {
            return VFAIL("BattleResult: scores must be in [0, 10] for a rated outcome, got "
                         "score_a=%g score_b=%g",
                         r->score_a, r->score_b);
        }
        if (!(r->weight > 0)) {
            return VFAIL("BattleResult.weight: must be > 0 for a rated outcome, got %g", r->weight);
        }
    }
    return ARENA_ERR_OK;
}

static arena_err_t check_specific(const ProtobufCMessage *msg, char *errstr, size_t errstr_size)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    if (d == &arena__v1__prompt__descriptor) {
        const Arena__V1__Prompt *p = (const Arena__V1__Prompt *)msg;
        arena_err_t rc = check_prompt_id("Prompt", p->prompt_id, errstr, errstr_size);
        if (rc) {
            return rc;
        }
        return check_messages("Prompt", p->n_messages, p->messages, true, errstr, errstr_size);
    }
    if (d == &arena__v1__battle_request__descriptor) {
        return check_request("BattleRequest", (const Arena__V1__BattleRequest *)msg, errstr,
                             errstr_size);
    }
    if (d == &arena__v1__generated_battle__descriptor) {
        const Arena__V1__GeneratedBattle *g = (const Arena__V1__GeneratedBattle *)msg;
        if (!g->request) {
            return VFAIL("GeneratedBattle.request: missing");
        }
        arena_err_t rc = check_request("GeneratedBattle.request", g->request, errstr, errstr_size);
        if (rc) {
            return rc;
        }
        if (!g->response_a || !g->response_b) {
            return VFAIL("GeneratedBattle.%s: missing",
                         g->response_a ? "response_b" : "response_a");
        }
        if (strcmp(g->response_a->model, g->request->model_a) != 0) {
            return VFAIL("GeneratedBattle.response_a.model: '%.60s' is not request.model_a '%.60s'",
                         g->response_a->model, g->request->model_a);
        }
        if (strcmp(g->response_b->model, g->request->model_b) != 0) {
            return VFAIL("GeneratedBattle.response_b.model: '%.60s' is not request.model_b '%.60s'",
                         g->response_b->model, g->request->model_b);
        }
        return ARENA_ERR_OK;
    }
    if (d == &arena__v1__battle_result__descriptor) {
        return check_result((const Arena__V1__BattleResult *)msg, errstr, errstr_size);
    }
    if (d == &arena__v1__leaderboard__descriptor) {
        const Arena__V1__Leaderboard *l = (const Arena__V1__Leaderboard *)msg;
        if (empty(l->name)) {
            return VFAIL("Leaderboard.name: empty");
        }
        for (size_t i = 0; i < l->n_rows; i++) {
            if (!l->rows[i] || empty(l->rows[i]->model)) {
                return VFAIL("Leaderboard.rows[%zu].model: empty", i);
            }
        }
        return ARENA_ERR_OK;
    }
    if (d == &arena__v1__shard_manifest__descriptor) {
        const Arena__V1__ShardManifest *s = (const Arena__V1__ShardManifest *)msg;
        if (empty(s->shard_id)) {
            return VFAIL("ShardManifest.shard_id: empty");
        }
        if (!is_hex(s->sha256, 64, 64)) {
            return VFAIL("ShardManifest.sha256: expected 64 lowercase hex chars, got '%.80s'",
                         s->sha256);
        }
        return ARENA_ERR_OK;
    }
    if (d == &arena__v1__chat_message__descriptor) {
        const Arena__V1__ChatMessage *cm = (const Arena__V1__ChatMessage *)msg;
        Arena__V1__ChatMessage *one[1] = {(Arena__V1__ChatMessage *)cm};
        return check_messages("ChatMessage", 1, one, true, errstr, errstr_size);
    }
    return ARENA_ERR_OK;
}

arena_err_t arena_codec_validate(const ProtobufCMessage *msg, char *errstr, size_t errstr_size)
{
    if (!msg || !msg->descriptor) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID, "no message");
    }
    arena_err_t rc = check_generic(msg, msg->descriptor->short_name, 0, errstr, errstr_size);
    if (rc) {
        return rc;
    }
    return check_specific(msg, errstr, errstr_size);
}

arena_err_t arena_codec_decode(const ProtobufCMessageDescriptor *d, const void *buf, size_t len,
                               const char *message_type, ProtobufCMessage **out, char *errstr,
                               size_t errstr_size)
{
    if (out) {
        *out = NULL;
    }
    if (!d || !out || (!buf && len > 0)) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_INVALID, "decode: bad arguments");
    }
    if (len > ARENA_CODEC_MAX_BYTES) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_LIMIT,
                             "%s: message of %zu bytes exceeds the %u byte limit", d->name, len,
                             ARENA_CODEC_MAX_BYTES);
    }
    if (message_type && strcmp(message_type, d->name) != 0) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_VALIDATE,
                             "message-type header '%.80s' does not match expected %s", message_type,
                             d->name);
    }
    static const uint8_t none = 0;
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, buf ? buf : &none);
    if (!m) {
        return arena_err_set(errstr, errstr_size, ARENA_ERR_DECODE,
                             "%s: malformed protobuf (%zu bytes)", d->name, len);
    }
    arena_err_t rc = arena_codec_validate(m, errstr, errstr_size);
    if (rc) {
        protobuf_c_message_free_unpacked(m, NULL);
        return rc;
    }
    *out = m;
    return ARENA_ERR_OK;
}

/* ---- JSON ----------------------------------------------------------------------------------- */

static json_t *json_str_safe(const char *s)
{
    json_t *j = json_string(s);
    if (j) {
        return j;
    }
    /* invalid UTF-8 (message not validated): replace bad bytes with U+FFFD */
    struct arena_buf b;
    arena_buf_init(&b);
    const char *p = s;
    while (*p) {
        long bad = utf8_invalid_at(p);
        if (bad < 0) {
            arena_buf_puts(&b, p);
            break;
        }
        arena_buf_append(&b, p, (size_t)bad);
        arena_buf_puts(&b, "\xef\xbf\xbd");
        p += bad + 1;
    }
    j = json_string(b.data ? b.data : "");
    arena_buf_fini(&b);
    return j ? j : json_string("");
}

static json_t *b64(const ProtobufCBinaryData *bd)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    struct arena_buf b;
    arena_buf_init(&b);
    arena_buf_puts(&b, "");
    for (size_t i = 0; i < bd->len; i += 3) {
        uint32_t v = (uint32_t)bd->data[i] << 16;
        size_t rem = bd->len - i;
        if (rem > 1) {
            v |= (uint32_t)bd->data[i + 1] << 8;
        }
        if (rem > 2) {
            v |= bd->data[i + 2];
        }
        char q[4] = {tbl[(v >> 18) & 63], tbl[(v >> 12) & 63], rem > 1 ? tbl[(v >> 6) & 63] : '=',
                     rem > 2 ? tbl[v & 63] : '='};
        arena_buf_append(&b, q, 4);
    }
    json_t *j = json_string(b.data);
    arena_buf_fini(&b);
    return j;
}

static json_t *msg_to_json(const ProtobufCMessage *m, int depth);

static json_t *value_to_json(const ProtobufCFieldDescriptor *f, const void *slot, int depth)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return json_integer(*(const int32_t *)slot);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_integer(*(const uint32_t *)slot);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return json_integer(*(const int64_t *)slot);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: {
        uint64_t v = *(const uint64_t *)slot;
        if (v <= (uint64_t)INT64_MAX) {
            return json_integer((json_int_t)v);
        }
        return json_real((double)v); /* jansson has no unsigned 64-bit integers */
    }
    case PROTOBUF_C_TYPE_FLOAT: {
        double v = *(const float *)slot;
        return isfinite(v) ? json_real(v) : json_null();
    }
    case PROTOBUF_C_TYPE_DOUBLE: {
        double v = *(const double *)slot;
        return isfinite(v) ? json_real(v) : json_null();
    }
    case PROTOBUF_C_TYPE_BOOL:
        return json_boolean(*(const protobuf_c_boolean *)slot);
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)slot;
        const ProtobufCEnumValue *ev =
            protobuf_c_enum_descriptor_get_value((const ProtobufCEnumDescriptor *)f->descriptor, v);
        return ev ? json_string(ev->name) : json_integer(v);
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(const char *const *)slot;
        return json_str_safe(s ? s : "");
    }
    case PROTOBUF_C_TYPE_BYTES:
        return b64((const ProtobufCBinaryData *)slot);
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sm = *(const ProtobufCMessage *const *)slot;
        return sm ? msg_to_json(sm, depth + 1) : json_null();
    }
    }
    return json_null();
}

static json_t *msg_to_json(const ProtobufCMessage *m, int depth)
{
    json_t *obj = json_object();
    if (depth > 32) {
        return obj;
    }
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned fi = 0; fi < d->n_fields; fi++) {
        const ProtobufCFieldDescriptor *f = &d->fields[fi];
        size_t es = type_size(f->type);
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = field_count(m, f);
            json_t *arr = json_array();
            for (size_t i = 0; i < n; i++) {
                json_array_append_new(arr, value_to_json(f, field_slot(m, f, i, es), depth));
            }
            json_object_set_new(obj, f->name, arr);
            continue;
        }
        if (!field_present(m, f)) {
            continue; /* unset oneof member or proto2/proto3-optional without has_ */
        }
        if (f->type == PROTOBUF_C_TYPE_MESSAGE &&
            !*(const ProtobufCMessage *const *)field_slot(m, f, 0, es)) {
            continue; /* absent sub-message */
        }
        json_object_set_new(obj, f->name, value_to_json(f, field_slot(m, f, 0, es), depth));
    }
    return obj;
}

char *arena_codec_to_json(const ProtobufCMessage *msg)
{
    if (!msg || !msg->descriptor) {
        return arena_xstrdup("null");
    }
    json_t *j = msg_to_json(msg, 0);
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(j);
    if (!s) {
        return arena_xstrdup("null");
    }
    char *out = arena_xstrdup(s);
    free(s);
    return out;
}

/* ---- chat helpers --------------------------------------------------------------------------- */

Arena__V1__ChatMessage **arena_codec_chat_new(size_t n)
{
    Arena__V1__ChatMessage **v = arena_xcalloc(n ? n : 1, sizeof(*v));
    for (size_t i = 0; i < n; i++) {
        v[i] = arena_xmalloc(sizeof(**v));
        arena__v1__chat_message__init(v[i]);
    }
    return v;
}

void arena_codec_chat_free(Arena__V1__ChatMessage **msgs, size_t n)
{
    if (!msgs) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (msgs[i]) {
            if (msgs[i]->role != protobuf_c_empty_string) {
                free(msgs[i]->role);
            }
            if (msgs[i]->content != protobuf_c_empty_string) {
                free(msgs[i]->content);
            }
            free(msgs[i]);
        }
    }
    free(msgs);
}
