/* arenactl_ingest.c - `arenactl ingest`: prompt files -> arena.prompts (key prompt_id, message
 * type arena.v1.Prompt), parsed by the sampler's ingest (sampler_ingest.h).
 *
 *   arenactl ingest FILE... [--format auto|jsonl|arena-hard|sharegpt] [--source NAME] [--eval]
 *                   [--limit N] [--dry-run] [--strict]
 *
 * Bad lines go to stderr as "FILE:LINE: reason" and are not fatal unless --strict. Exit code 0,
 * 1 when a file could not be read, a message could not be delivered (or --strict and bad
 * lines), 2 on a usage error. "-" reads stdin. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena/codec.h"
#include "arena/kafka.h"
#include "arena/topics.h"
#include "arena/util.h"
#include "arenactl.h"
#include "sampler_ingest.h"

struct ingest_ctx {
    struct arena_producer *prod; /* NULL in --dry-run */
    bool eval;
    uint64_t limit; /* 0 = none */
    uint64_t total; /* prompts over all files */
    uint64_t sent;  /* in this file */
    uint64_t send_errors;
    const char *path;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: arenactl ingest FILE... [--format auto|jsonl|arena-hard|sharegpt]\n"
               "                        [--source NAME] [--eval] [--limit N] [--dry-run] "
               "[--strict]\n"
               "  publishes each prompt to " ARENA_TOPIC_PROMPTS " (key prompt_id)\n"
               "  --source NAME  recorded as Prompt.source (default: the file path)\n"
               "  --eval         mark prompts as eval set items (role EVAL)\n"
               "  --limit N      stop after N prompts in total\n"
               "  --dry-run      parse and report only, publish nothing\n"
               "  --strict       exit 1 when any line is bad\n");
}

static int on_prompt(void *vctx, Arena__V1__Prompt *p, uint64_t line)
{
    struct ingest_ctx *ctx = vctx;
    p->role = ctx->eval ? ARENA__V1__PROMPT_ROLE__PROMPT_ROLE_EVAL
                        : ARENA__V1__PROMPT_ROLE__PROMPT_ROLE_UNSPECIFIED;
    p->ingested_at_ms = arena_now_ms();
    int stop = 0;
    if (ctx->prod != NULL) {
        char err[512];
        if (arena_codec_validate(&p->base, err, sizeof(err)) != ARENA_ERR_OK) {
            fprintf(stderr, "%s:%" PRIu64 ": invalid prompt: %s\n", ctx->path, line, err);
            ctx->send_errors++;
            sampler_prompt_free(p);
            return 0;
        }
        size_t len;
        void *buf = arena_codec_encode(&p->base, &len);
        arena_err_t rc = arena_producer_send(
            ctx->prod, ARENA_TOPIC_PROMPTS, -1, p->prompt_id, strlen(p->prompt_id), buf, len,
            arena_codec_type_name(&arena__v1__prompt__descriptor), NULL, NULL);
        free(buf);
        if (rc != ARENA_ERR_OK) {
            fprintf(stderr, "%s:%" PRIu64 ": cannot publish to %s: %s\n", ctx->path, line,
                    ARENA_TOPIC_PROMPTS, arena_err_str(rc));
            ctx->send_errors++;
            stop = rc == ARENA_ERR_KAFKA_FATAL;
        }
        arena_producer_poll(ctx->prod, 0);
    }
    ctx->sent++;
    ctx->total++;
    sampler_prompt_free(p);
    if (ctx->limit > 0 && ctx->total >= ctx->limit) {
        stop = 1;
    }
    return stop;
}

static void on_bad(void *vctx, uint64_t line, const char *msg)
{
    (void)vctx;
    (void)line;
    fprintf(stderr, "%s\n", msg);
}

int arenactl_ingest(const struct arena_config *cfg, int argc, char **argv)
{
    enum sampler_format fmt = SAMPLER_FMT_AUTO;
    const char *source = NULL;
    bool eval = false, dry = false, strict = false;
    uint64_t limit = 0;
    const char **files = calloc((size_t)argc + 1, sizeof(*files));
    int n_files = 0;
    char err[512];
    int rc = 0;
    struct ingest_ctx ctx = {0};

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--format") == 0 && i + 1 < argc) {
            if (sampler_format_parse(argv[++i], &fmt, err, sizeof(err)) != ARENA_ERR_OK) {
                fprintf(stderr, "arenactl ingest: %s\n", err);
                rc = 2;
                goto out;
            }
        } else if (strcmp(a, "--source") == 0 && i + 1 < argc) {
            source = argv[++i];
        } else if (strcmp(a, "--limit") == 0 && i + 1 < argc) {
            char *end;
            const char *v = argv[++i];
            unsigned long long n = strtoull(v, &end, 10);
            if (*v == '\0' || *end != '\0' || *v == '-' || n == 0) {
                fprintf(stderr, "arenactl ingest: --limit expects a positive integer, got '%s'\n",
                        v);
                rc = 2;
                goto out;
            }
            limit = n;
        } else if (strcmp(a, "--eval") == 0) {
            eval = true;
        } else if (strcmp(a, "--dry-run") == 0) {
            dry = true;
        } else if (strcmp(a, "--strict") == 0) {
            strict = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            goto out;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "arenactl ingest: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            rc = 2;
            goto out;
        } else {
            files[n_files++] = a;
        }
    }
    if (n_files == 0) {
        fprintf(stderr, "arenactl ingest: no input file\n");
        usage(stderr);
        rc = 2;
        goto out;
    }
    ctx.eval = eval;
    ctx.limit = limit;
    if (!dry) {
        ctx.prod = arena_producer_new(cfg, "arenactl-ingest", err, sizeof(err));
        if (ctx.prod == NULL) {
            fprintf(stderr, "arenactl ingest: %s\n", err);
            rc = 1;
            goto out;
        }
    }
    for (int f = 0; f < n_files; f++) {
        if (limit > 0 && ctx.total >= limit) {
            break;
        }
        struct sampler_ingest_stats st;
        ctx.sent = 0;
        ctx.path = files[f];
        arena_err_t e = sampler_ingest_file(files[f], fmt, source, on_prompt, on_bad, &ctx, &st,
                                            err, sizeof(err));
        if (e != ARENA_ERR_OK) {
            fprintf(stderr, "arenactl ingest: %s\n", err);
            rc = 1;
            continue;
        }
        printf("%s %" PRIu64 " prompts (%" PRIu64 " bad lines) from %s [%s]%s\n",
               dry ? "parsed" : "ingested", ctx.sent, st.bad, files[f],
               sampler_format_name(st.format), dry ? " (dry run)" : "");
        if (strict && st.bad > 0) {
            rc = 1;
        }
    }
    if (ctx.prod != NULL) {
        if (arena_producer_flush(ctx.prod, 30000) != ARENA_ERR_OK) {
            fprintf(stderr, "arenactl ingest: %d messages still undelivered after 30 s\n",
                    arena_producer_outq_len(ctx.prod));
            rc = 1;
        }
        uint64_t failed = arena_producer_failed(ctx.prod);
        if (failed > 0 || ctx.send_errors > 0) {
            fprintf(stderr, "arenactl ingest: %" PRIu64 " prompts not delivered to %s\n",
                    failed + ctx.send_errors, ARENA_TOPIC_PROMPTS);
            rc = 1;
        }
    }
    fflush(stdout);
out:
    arena_producer_destroy(ctx.prod);
    free(files);
    return rc;
}
