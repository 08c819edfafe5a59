/* testutil.h - helpers shared by the C tests: temp dirs, paths to the source/shared trees,
 * skipping when shared data is absent (exit code 77 = ctest SKIP). */
#ifndef ARENA_TESTUTIL_H
#define ARENA_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* mkdtemp under $TMPDIR; caller frees the string; removed by tu_rmtree */
char *tu_tmpdir(const char *tag);
void tu_rmtree(const char *path);
/* ARENA_SHARED_DIR/<rel> or NULL when the shared folder is absent */
char *tu_shared_path(const char *rel);
/* print a skip message and exit 77 */
void tu_skip(const char *why) __attribute__((noreturn));
/* ARENA_SOURCE_DIR/<rel> */
char *tu_source_path(const char *rel);
/* write a whole file */
void tu_write_file(const char *path, const char *data);

#define ASSERT_EQ_INT(a, b) assert_int_equal((a), (b))
#define ASSERT_EQ_STR(a, b) assert_string_equal((a), (b))
#define ASSERT_NEAR(a, b, eps) assert_true(tu_near((a), (b), (eps), #a, #b, __FILE__, __LINE__))
int tu_near(double a, double b, double eps, const char *ea, const char *eb, const char *file,
            int line);

#endif
