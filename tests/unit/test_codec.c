/* test_codec.c - round trips, hostile bytes, header mismatch, validation rules, JSON. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "arena/codec.h"
#include "arena/util.h"

#define PID "0123456789abcdef0123456789abcdef"
#define BID "fedcba9876543210fedcba9876543210"

/* Stack-built messages pointing at static strings: encode only, never arena_codec_free them. */
static Arena__V1__ChatMessage cm_user = {
    PROTOBUF_C_MESSAGE_INIT(&arena__v1__chat_message__descriptor), "user",
    "Write a haiku about Kafka."};
static Arena__V1__ChatMessage cm_sys = {
    PROTOBUF_C_MESSAGE_INIT(&arena__v1__chat_message__descriptor), "system", "Be brief."};
static Arena__V1__ChatMessage *conv[] = {&cm_sys, &cm_user};

static void make_request(Arena__V1__BattleRequest *r)
{
    arena__v1__battle_request__init(r);
    r->battle_id = BID;
    r->round = 2;
    r->prompt_id = PID;
    r->n_messages = 2;
    r->messages = conv;
    r->model_a = "wizard-7b";
    r->model_b = "gpt-4";
    r->mode = ARENA__V1__MATCH_MODE__MATCH_MODE_TRAIN;
    r->requested_at_ms = 1700000000123;
}

static void make_result(Arena__V1__BattleResult *r)
{
    arena__v1__battle_result__init(r);
    r->battle_id = BID;
    r->round = 2;
    r->prompt_id = PID;
    r->model_a = "wizard-7b";
    r->model_b = "gpt-4";
    r->outcome = ARENA__V1__OUTCOME__OUTCOME_MODEL_B;
    r->score_a = 4.5;
    r->score_b = 8.25;
    r->weight = 1;
    r->n_messages = 2;
    r->messages = conv;
}

static arena_err_t roundtrip(const ProtobufCMessage *m, ProtobufCMessage **out, char *err,
                             size_t errn)
{
    size_t len = 0;
    void *buf = arena_codec_encode(m, &len);
    arena_err_t rc =
        arena_codec_decode(m->descriptor, buf, len, m->descriptor->name, out, err, errn);
    free(buf);
    return rc;
}

static void test_roundtrip_all(void **state)
{
    (void)state;
    char err[256];
    ProtobufCMessage *out = NULL;

    Arena__V1__Prompt p;
    arena__v1__prompt__init(&p);
    p.prompt_id = PID;
    p.n_messages = 2;
    p.messages = conv;
    p.source = "question.jsonl";
    p.difficulty_present_case = ARENA__V1__PROMPT__DIFFICULTY_PRESENT_DIFFICULTY;
    p.difficulty = 7.5;
    p.role = ARENA__V1__PROMPT_ROLE__PROMPT_ROLE_EVAL;
    ASSERT_EQ_INT(roundtrip(&p.base, &out, err, sizeof(err)), ARENA_ERR_OK);
    Arena__V1__Prompt *pp = (Arena__V1__Prompt *)out;
    ASSERT_EQ_STR(pp->prompt_id, PID);
    ASSERT_EQ_INT(pp->n_messages, 2);
    ASSERT_EQ_STR(pp->messages[1]->content, "Write a haiku about Kafka.");
    ASSERT_EQ_INT(pp->difficulty_present_case, ARENA__V1__PROMPT__DIFFICULTY_PRESENT_DIFFICULTY);
    ASSERT_NEAR(pp->difficulty, 7.5, 0);
    arena_codec_free(out);

    Arena__V1__BattleRequest r;
    make_request(&r);
    ASSERT_EQ_INT(roundtrip(&r.base, &out, err, sizeof(err)), ARENA_ERR_OK);
    Arena__V1__BattleRequest *rr = (Arena__V1__BattleRequest *)out;
    ASSERT_EQ_STR(rr->battle_id, BID);
    ASSERT_EQ_STR(rr->model_b, "gpt-4");
    assert_true(rr->requested_at_ms == 1700000000123);
    arena_codec_free(out);

    Arena__V1__Response ra, rb;
    arena__v1__response__init(&ra);
    arena__v1__response__init(&rb);
    ra.model = "wizard-7b";
    ra.content = "Logs flow like rivers";
    rb.model = "gpt-4";
    rb.content = "Partitions hum";
    Arena__V1__GeneratedBattle g;
    arena__v1__generated_battle__init(&g);
    g.request = &r;
    g.response_a = &ra;
    g.response_b = &rb;
    ASSERT_EQ_INT(roundtrip(&g.base, &out, err, sizeof(err)), ARENA_ERR_OK);
    ASSERT_EQ_STR(((Arena__V1__GeneratedBattle *)out)->response_b->content, "Partitions hum");
    arena_codec_free(out);

    Arena__V1__BattleResult res;
    make_result(&res);
    Arena__V1__Judgment j1;
    arena__v1__judgment__init(&j1);
    j1.order = ARENA__V1__JUDGE_ORDER__JUDGE_ORDER_BA;
    j1.score_a = 4;
    j1.score_b = 9;
    Arena__V1__Judgment *js[] = {&j1};
    res.n_judgments = 1;
    res.judgments = js;
    ASSERT_EQ_INT(roundtrip(&res.base, &out, err, sizeof(err)), ARENA_ERR_OK);
    Arena__V1__BattleResult *rres = (Arena__V1__BattleResult *)out;
    ASSERT_EQ_INT(rres->outcome, ARENA__V1__OUTCOME__OUTCOME_MODEL_B);
    ASSERT_NEAR(rres->score_b, 8.25, 0);
    ASSERT_EQ_INT(rres->judgments[0]->order, ARENA__V1__JUDGE_ORDER__JUDGE_ORDER_BA);
    arena_codec_free(out);

    Arena__V1__RatingRow row;
    arena__v1__rating_row__init(&row);
    row.model = "gpt-4";
    row.rating = 1123.5;
    row.games = 10;
    Arena__V1__RatingRow *rows[] = {&row};
    Arena__V1__Leaderboard lb;
    arena__v1__leaderboard__init(&lb);
    lb.name = "wizardarena";
    lb.n_rows = 1;
    lb.rows = rows;
    lb.seed = UINT64_MAX;
    ASSERT_EQ_INT(roundtrip(&lb.base, &out, err, sizeof(err)), ARENA_ERR_OK);
    assert_true(((Arena__V1__Leaderboard *)out)->seed == UINT64_MAX);
    arena_codec_free(out);

    Arena__V1__ShardManifest sm;
    arena__v1__shard_manifest__init(&sm);
    sm.shard_id = "sft-r1-p0-000001";
    sm.sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    char *bids[] = {BID, BID};
    sm.n_battle_ids = 2;
    sm.battle_ids = bids;
    ASSERT_EQ_INT(roundtrip(&sm.base, &out, err, sizeof(err)), ARENA_ERR_OK);
    ASSERT_EQ_INT(((Arena__V1__ShardManifest *)out)->n_battle_ids, 2);
    arena_codec_free(out);

    /* header absent is accepted */
    size_t len;
    void *buf = arena_codec_encode(&sm.base, &len);
    ASSERT_EQ_INT(ARENA_DECODE(Arena__V1__ShardManifest, arena__v1__shard_manifest__descriptor, buf,
                               len, NULL, &out, err, sizeof(err)),
                  ARENA_ERR_OK);
    arena_codec_free(out);
    /* wrong header */
    ASSERT_EQ_INT(arena_codec_decode(&arena__v1__shard_manifest__descriptor, buf, len,
                                     "arena.v1.Prompt", &out, err, sizeof(err)),
                  ARENA_ERR_VALIDATE);
    assert_null(out);
    assert_non_null(strstr(err, "arena.v1.Prompt"));
    assert_non_null(strstr(err, "arena.v1.ShardManifest"));
    free(buf);
    ASSERT_EQ_STR(arena_codec_type_name(&arena__v1__battle_result__descriptor),
                  "arena.v1.BattleResult");
}

static const ProtobufCMessageDescriptor *all_desc[] = {
    &arena__v1__prompt__descriptor,           &arena__v1__battle_request__descriptor,
    &arena__v1__generated_battle__descriptor, &arena__v1__battle_result__descriptor,
    &arena__v1__leaderboard__descriptor,      &arena__v1__shard_manifest__descriptor,
};

static void test_garbage(void **state)
{
    (void)state;
    char err[256];
    ProtobufCMessage *out = NULL;
    /* truncations of a valid message: never OK with garbage, never a crash */
    Arena__V1__BattleResult res;
    make_result(&res);
    size_t len;
    uint8_t *buf = arena_codec_encode(&res.base, &len);
    int decode_errs = 0;
    for (size_t cut = 0; cut < len; cut++) {
        arena_err_t rc = arena_codec_decode(&arena__v1__battle_result__descriptor, buf, cut, NULL,
                                            &out, err, sizeof(err));
        if (rc == ARENA_ERR_OK) {
            /* cut at a field boundary: a valid, shorter message (fewer chat turns) */
            Arena__V1__BattleResult *t = (Arena__V1__BattleResult *)out;
            assert_true(t->n_messages < 2);
            arena_codec_free(out);
            continue;
        }
        assert_true(rc == ARENA_ERR_DECODE || rc == ARENA_ERR_VALIDATE);
        assert_null(out);
        decode_errs += rc == ARENA_ERR_DECODE;
    }
    assert_true(decode_errs > (int)len / 2);
    free(buf);

    /* a field with a length past the end */
    const uint8_t trunc[] = {0x0a, 0x40, 'a', 'b'};
    ASSERT_EQ_INT(arena_codec_decode(&arena__v1__prompt__descriptor, trunc, sizeof(trunc), NULL,
                                     &out, err, sizeof(err)),
                  ARENA_ERR_DECODE);
    assert_non_null(strstr(err, "malformed protobuf"));

    /* 10k random buffers against every message type */
    uint64_t rng = 12345;
    uint8_t rnd[512];
    int ok = 0;
    for (int i = 0; i < 10000; i++) {
        rng = arena_mix64(rng);
        size_t n = rng % sizeof(rnd);
        for (size_t k = 0; k < n; k++) {
            rng = arena_mix64(rng);
            rnd[k] = (uint8_t)rng;
        }
        const ProtobufCMessageDescriptor *d = all_desc[i % 6];
        arena_err_t rc = arena_codec_decode(d, rnd, n, NULL, &out, err, sizeof(err));
        if (rc == ARENA_ERR_OK) {
            ok++;
            char *js = arena_codec_to_json(out);
            assert_non_null(js);
            free(js);
            arena_codec_free(out);
        } else {
            assert_true(rc == ARENA_ERR_DECODE || rc == ARENA_ERR_VALIDATE);
            assert_null(out);
        }
    }
    printf("random buffers accepted: %d of 10000\n", ok);

    /* size limit */
    ASSERT_EQ_INT(arena_codec_decode(&arena__v1__prompt__descriptor, rnd,
                                     (size_t)ARENA_CODEC_MAX_BYTES + 1, NULL, &out, err,
                                     sizeof(err)),
                  ARENA_ERR_LIMIT);
    ASSERT_EQ_INT(
        arena_codec_decode(&arena__v1__prompt__descriptor, NULL, 0, NULL, &out, err, sizeof(err)),
        ARENA_ERR_VALIDATE); /* empty Prompt: no prompt_id */
}

static void expect_invalid(const ProtobufCMessage *m, const char *needle)
{
    char err[256] = "";
    ProtobufCMessage *out = NULL;
    ASSERT_EQ_INT(arena_codec_validate(m, err, sizeof(err)), ARENA_ERR_VALIDATE);
    if (!strstr(err, needle)) {
        fail_msg("error '%s' does not mention '%s'", err, needle);
    }
    /* the same through the wire */
    ASSERT_EQ_INT(roundtrip(m, &out, err, sizeof(err)), ARENA_ERR_VALIDATE);
    assert_null(out);
}

static void test_validation(void **state)
{
    (void)state;
    Arena__V1__BattleRequest r;
    make_request(&r);
    r.battle_id = "xyz";
    expect_invalid(&r.base, "battle_id");
    make_request(&r);
    r.prompt_id = "ABCDEF"; /* upper-case hex is not a prompt id */
    expect_invalid(&r.base, "prompt_id");
    make_request(&r);
    r.model_b = "wizard-7b";
    expect_invalid(&r.base, "same model");
    make_request(&r);
    r.model_a = "";
    expect_invalid(&r.base, "model_a");
    make_request(&r);
    r.n_messages = 0;
    expect_invalid(&r.base, "no messages");
    Arena__V1__ChatMessage bad_role = {
        PROTOBUF_C_MESSAGE_INIT(&arena__v1__chat_message__descriptor), "robot", "hi"};
    Arena__V1__ChatMessage *bad_conv[] = {&bad_role};
    make_request(&r);
    r.n_messages = 1;
    r.messages = bad_conv;
    expect_invalid(&r.base, "role");

    /* invalid UTF-8 in a nested string: overlong, lone continuation, surrogate, truncated */
    const char *bad_utf8[] = {"ok \xc0\xaf", "\x80", "\xed\xa0\x80", "abc\xe2\x82",
                              "\xf5\x80\x80\x80"};
    for (size_t i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
        Arena__V1__ChatMessage u = {PROTOBUF_C_MESSAGE_INIT(&arena__v1__chat_message__descriptor),
                                    "user", (char *)bad_utf8[i]};
        Arena__V1__ChatMessage *uc[] = {&u};
        make_request(&r);
        r.n_messages = 1;
        r.messages = uc;
        expect_invalid(&r.base, "invalid UTF-8");
    }
    /* valid multi-byte UTF-8 passes */
    Arena__V1__ChatMessage u8 = {PROTOBUF_C_MESSAGE_INIT(&arena__v1__chat_message__descriptor),
                                 "user", "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80"};
    Arena__V1__ChatMessage *u8c[] = {&u8};
    make_request(&r);
    r.messages = u8c;
    r.n_messages = 1;
    char err[256];
    ASSERT_EQ_INT(arena_codec_validate(&r.base, err, sizeof(err)), ARENA_ERR_OK);

    Arena__V1__BattleResult res;
    make_result(&res);
    res.outcome = (Arena__V1__Outcome)42;
    expect_invalid(&res.base, "outcome");
    make_result(&res);
    res.outcome = ARENA__V1__OUTCOME__OUTCOME_UNSPECIFIED;
    expect_invalid(&res.base, "outcome");
    make_result(&res);
    res.score_a = NAN;
    expect_invalid(&res.base, "score_a");
    make_result(&res);
    res.score_b = 11;
    expect_invalid(&res.base, "[0, 10]");
    make_result(&res);
    res.weight = 0;
    expect_invalid(&res.base, "weight");
    /* an error outcome carries no scores and needs no weight */
    make_result(&res);
    res.outcome = ARENA__V1__OUTCOME__OUTCOME_JUDGE_ERROR;
    res.score_a = -1;
    res.weight = 0;
    ASSERT_EQ_INT(arena_codec_validate(&res.base, err, sizeof(err)), ARENA_ERR_OK);

    Arena__V1__Response ra, rb;
    arena__v1__response__init(&ra);
    arena__v1__response__init(&rb);
    ra.model = "wizard-7b";
    rb.model = "llama";
    Arena__V1__GeneratedBattle g;
    arena__v1__generated_battle__init(&g);
    make_request(&r);
    g.request = &r;
    g.response_a = &ra;
    expect_invalid(&g.base, "response_b: missing");
    g.response_b = &rb;
    expect_invalid(&g.base, "response_b.model");
    g.request = NULL;
    expect_invalid(&g.base, "request: missing");

    Arena__V1__Leaderboard lb;
    arena__v1__leaderboard__init(&lb);
    expect_invalid(&lb.base, "Leaderboard.name");
    Arena__V1__ShardManifest sm;
    arena__v1__shard_manifest__init(&sm);
    sm.shard_id = "x";
    sm.sha256 = "abc";
    expect_invalid(&sm.base, "sha256");
    Arena__V1__Prompt p;
    arena__v1__prompt__init(&p);
    p.prompt_id = PID;
    p.n_messages = 1;
    Arena__V1__ChatMessage empty = {PROTOBUF_C_MESSAGE_INIT(&arena__v1__chat_message__descriptor),
                                    "user", ""};
    Arena__V1__ChatMessage *ec[] = {&empty};
    p.messages = ec;
    expect_invalid(&p.base, "empty");
}

static void test_to_json(void **state)
{
    (void)state;
    Arena__V1__BattleResult res;
    make_result(&res);
    char *js = arena_codec_to_json(&res.base);
    json_error_t jerr;
    json_t *j = json_loads(js, 0, &jerr);
    if (!j) {
        fail_msg("invalid JSON '%s': %s", js, jerr.text);
    }
    ASSERT_EQ_STR(json_string_value(json_object_get(j, "battle_id")), BID);
    ASSERT_EQ_STR(json_string_value(json_object_get(j, "outcome")), "OUTCOME_MODEL_B");
    ASSERT_NEAR(json_real_value(json_object_get(j, "score_b")), 8.25, 0);
    ASSERT_EQ_INT(json_integer_value(json_object_get(j, "round")), 2);
    json_t *msgs = json_object_get(j, "messages");
    ASSERT_EQ_INT(json_array_size(msgs), 2);
    ASSERT_EQ_STR(json_string_value(json_object_get(json_array_get(msgs, 0), "role")), "system");
    assert_null(json_object_get(j, "response_a")); /* absent sub-message omitted */
    ASSERT_EQ_INT(json_array_size(json_object_get(j, "judgments")), 0);
    assert_null(strchr(js, '\n')); /* compact */
    json_decref(j);
    free(js);

    /* oneof respected */
    Arena__V1__Prompt p;
    arena__v1__prompt__init(&p);
    p.prompt_id = PID;
    js = arena_codec_to_json(&p.base);
    assert_null(strstr(js, "difficulty"));
    free(js);
    p.difficulty_present_case = ARENA__V1__PROMPT__DIFFICULTY_PRESENT_DIFFICULTY;
    p.difficulty = 3;
    p.ingested_at_ms = 1700000000123;
    js = arena_codec_to_json(&p.base);
    assert_non_null(strstr(js, "\"difficulty\":3"));
    assert_non_null(strstr(js, "\"ingested_at_ms\":1700000000123"));
    assert_non_null(strstr(js, "\"role\":\"PROMPT_ROLE_UNSPECIFIED\""));
    free(js);

    /* strings with quotes and non-ASCII are escaped correctly */
    Arena__V1__ChatMessage cm = {PROTOBUF_C_MESSAGE_INIT(&arena__v1__chat_message__descriptor),
                                 "user", "say \"hi\"\n\xc3\xa9"};
    js = arena_codec_to_json(&cm.base);
    j = json_loads(js, 0, &jerr);
    assert_non_null(j);
    ASSERT_EQ_STR(json_string_value(json_object_get(j, "content")), "say \"hi\"\n\xc3\xa9");
    json_decref(j);
    free(js);
}

/* Real data: every Arena-Hard v0.1 prompt (code, maths, non-ASCII text) survives
 * encode -> decode -> validate -> to_json unchanged. */
static void test_real_arena_hard(void **state)
{
    (void)state;
    char *path = tu_shared_path("data/arena_hard_v0.1/question.jsonl");
    if (!path) {
        fprintf(stderr, "SKIP test_real_arena_hard: shared data folder absent "
                        "(data/arena_hard_v0.1/question.jsonl)\n");
        skip();
    }
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    int n = 0, non_ascii = 0;
    size_t bytes = 0;
    uint64_t us = 0;
    char err[256];
    while (getline(&line, &cap, f) > 0) {
        json_error_t jerr;
        json_t *q = json_loads(line, 0, &jerr);
        assert_non_null(q);
        const char *text = json_string_value(json_object_get(q, "prompt"));
        const char *uid = json_string_value(json_object_get(q, "uid"));
        assert_non_null(text);
        for (const char *c = text; *c; c++) {
            if ((unsigned char)*c >= 0x80) {
                non_ascii++;
                break;
            }
        }
        char pid[65];
        arena_sha256_hex(text, strlen(text), pid);
        pid[32] = '\0';
        Arena__V1__ChatMessage cm = {PROTOBUF_C_MESSAGE_INIT(&arena__v1__chat_message__descriptor),
                                     "user", (char *)text};
        Arena__V1__ChatMessage *cv[] = {&cm};
        Arena__V1__Prompt p;
        arena__v1__prompt__init(&p);
        p.prompt_id = pid;
        p.n_messages = 1;
        p.messages = cv;
        p.uid = (char *)uid;
        uint64_t t0 = arena_mono_us();
        size_t len;
        void *buf = arena_codec_encode(&p.base, &len);
        ProtobufCMessage *out = NULL;
        arena_err_t rc = arena_codec_decode(&arena__v1__prompt__descriptor, buf, len,
                                            "arena.v1.Prompt", &out, err, sizeof(err));
        us += arena_mono_us() - t0;
        if (rc != ARENA_ERR_OK) {
            fail_msg("prompt %s rejected: %s", uid, err);
        }
        ASSERT_EQ_STR(((Arena__V1__Prompt *)out)->messages[0]->content, text);
        char *js = arena_codec_to_json(out);
        json_t *back = json_loads(js, 0, &jerr);
        assert_non_null(back);
        json_t *msgs = json_object_get(back, "messages");
        ASSERT_EQ_STR(json_string_value(json_object_get(json_array_get(msgs, 0), "content")), text);
        json_decref(back);
        free(js);
        bytes += len;
        arena_codec_free(out);
        free(buf);
        json_decref(q);
        n++;
    }
    free(line);
    fclose(f);
    free(path);
    ASSERT_EQ_INT(n, 500);
    assert_true(non_ascii > 0);
    printf("arena-hard: %d prompts (%d with non-ASCII), %zu bytes, encode+decode+validate "
           "%.1f us/prompt\n",
           n, non_ascii, bytes, (double)us / n);
}

static void test_chat_helpers(void **state)
{
    (void)state;
    Arena__V1__ChatMessage **m = arena_codec_chat_new(2);
    m[0]->role = arena_xstrdup("user");
    m[0]->content = arena_xstrdup("hello there");
    /* m[1] left with the default empty strings */
    Arena__V1__Prompt p;
    arena__v1__prompt__init(&p);
    p.prompt_id = PID;
    p.n_messages = 1;
    p.messages = m;
    char err[256];
    ASSERT_EQ_INT(arena_codec_validate(&p.base, err, sizeof(err)), ARENA_ERR_OK);
    arena_codec_chat_free(m, 2);
    arena_codec_chat_free(NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_all), cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_validation),    cmocka_unit_test(test_to_json),
        cmocka_unit_test(test_chat_helpers),  cmocka_unit_test(test_real_arena_hard),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
