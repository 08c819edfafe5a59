#define _GNU_SOURCE /* nftw, FTW_DEPTH: not in the default feature set */
#include "testutil.h"

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *tu_tmpdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof(tmpl), "%s/arena-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    if (!mkdtemp(tmpl)) {
        fprintf(stderr, "mkdtemp %s: %s\n", tmpl, strerror(errno));
        abort();
    }
    return strdup(tmpl);
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

void tu_rmtree(const char *path)
{
    if (path) {
        nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    }
}

char *tu_shared_path(const char *rel)
{
    const char *base = getenv("ARENA_SHARED_DIR");
    char p[4096];
    struct stat st;
    if (!base || !*base) {
        base = ARENA_SHARED_DIR;
    }
    snprintf(p, sizeof(p), "%s/%s", base, rel);
    if (stat(p, &st) != 0) {
        return NULL;
    }
    return strdup(p);
}

void tu_skip(const char *why)
{
    fprintf(stderr, "SKIP: %s\n", why);
    exit(77);
}

char *tu_source_path(const char *rel)
{
    char p[4096];
    snprintf(p, sizeof(p), "%s/%s", ARENA_SOURCE_DIR, rel);
    return strdup(p);
}

void tu_write_file(const char *path, const char *data)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "open %s: %s\n", path, strerror(errno));
        abort();
    }
    fputs(data, f);
    fclose(f);
}

int tu_near(double a, double b, double eps, const char *ea, const char *eb, const char *file,
            int line)
{
    if (fabs(a - b) <= eps) {
        return 1;
    }
    fprintf(stderr, "%s:%d: %s = %.9g, %s = %.9g, |diff| = %.3g > %.3g\n", file, line, ea, a, eb, b,
            fabs(a - b), eps);
    return 0;
}
