/* The rater's web page (rater_web.h): escaping (no markup can come in through a model name),
 * win rates and /pairs.json, the bounded history, and the rendered page's content. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena/util.h"
#include "rater_web.h"
#include "testutil.h"

static char *escape(const char *s, size_t max)
{
    struct arena_buf b;
    arena_buf_init(&b);
    rater_web_escape(&b, s, max);
    return arena_buf_steal(&b, NULL);
}

static void test_escape(void **state)
{
    (void)state;
    char *e = escape("<script>alert('x')</script> & \"q\"", 0);
    ASSERT_EQ_STR(e, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
    free(e);
    /* UTF-8 passes through; invalid bytes and control characters become U+FFFD */
    e = escape("caf\xc3\xa9 \xe6\xa8\xa1\xe5\x9e\x8b", 0);
    ASSERT_EQ_STR(e, "caf\xc3\xa9 \xe6\xa8\xa1\xe5\x9e\x8b");
    free(e);
    e = escape("a\xff"
               "b\x01"
               "c\xc0\xaf"
               "d\xed\xa0\x80",
               0); /* bad byte, ctl, overlong, surrogate */
    ASSERT_EQ_STR(e, "a\xef\xbf\xbd"
                     "b\xef\xbf\xbd"
                     "c\xef\xbf\xbd\xef\xbf\xbd"
                     "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    free(e);
    e = escape("truncated \xc3", 0); /* cut multibyte sequence at the end */
    ASSERT_EQ_STR(e, "truncated \xef\xbf\xbd");
    free(e);
    /* truncation counts code points and never splits one */
    e = escape("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 3);
    ASSERT_EQ_STR(e, "\xc3\xa9\xc3\xa9\xc3\xa9\xe2\x80\xa6");
    free(e);
    e = escape("abc", 3);
    ASSERT_EQ_STR(e, "abc");
    free(e);
    e = escape(NULL, 0);
    ASSERT_EQ_STR(e, "");
    free(e);
}

static void test_pairs(void **state)
{
    (void)state;
    const char *models[] = {"a", "b", "c"};
    struct rater_web_pairs p;
    rater_web_pairs_init(&p, 3, models);
    rater_web_pairs_set(&p, 0, 1, 6, 2, 2); /* a beat b 6x, lost 2x, 2 ties */
    rater_web_pairs_set(&p, 2, 0, 1, 3, 0); /* c vs a from c's side */
    rater_web_pairs_set(&p, 1, 1, 9, 9, 9); /* ignored */
    rater_web_pairs_set(&p, 0, 7, 9, 9, 9); /* ignored */
    ASSERT_EQ_INT(rater_web_pairs_games(&p, 0, 1), 10);
    ASSERT_EQ_INT(rater_web_pairs_games(&p, 1, 0), 10);
    ASSERT_NEAR(rater_web_pairs_win_rate(&p, 0, 1), 0.7, 1e-12);
    ASSERT_NEAR(rater_web_pairs_win_rate(&p, 1, 0), 0.3, 1e-12);
    ASSERT_NEAR(rater_web_pairs_win_rate(&p, 0, 2), 0.75, 1e-12);
    ASSERT_NEAR(rater_web_pairs_win_rate(&p, 2, 0), 0.25, 1e-12);
    assert_true(isnan(rater_web_pairs_win_rate(&p, 1, 2))); /* never met */
    assert_true(isnan(rater_web_pairs_win_rate(&p, 1, 1)));

    json_t *js = rater_web_pairs_to_json(&p);
    char *text = json_dumps(js, JSON_COMPACT);
    ASSERT_EQ_STR(text, "{\"models\":[\"a\",\"b\",\"c\"],"
                        "\"win_rate\":[[null,0.69999999999999996,0.75],"
                        "[0.29999999999999999,null,null],[0.25,null,null]],"
                        "\"games\":[[0,10,4],[10,0,0],[4,0,0]],"
                        "\"wins\":[[0,6,3],[2,0,0],[1,0,0]],"
                        "\"ties\":[[0,2,0],[2,0,0],[0,0,0]]}");
    free(text);
    json_decref(js);
    rater_web_pairs_fini(&p);
    rater_web_pairs_fini(&p); /* idempotent */
}

static void test_history_bounded(void **state)
{
    (void)state;
    struct rater_web_history h;
    rater_web_history_init(&h, 4);
    ASSERT_EQ_INT(rater_web_history_len(&h), 0);
    for (int i = 1; i <= 10; i++) {
        rater_web_history_add(&h, 1000 * i, (uint64_t)(10 * i));
    }
    ASSERT_EQ_INT(rater_web_history_len(&h), 4);
    for (size_t i = 0; i < 4; i++) { /* the last four, oldest first */
        struct rater_web_point pt = rater_web_history_at(&h, i);
        ASSERT_EQ_INT(pt.t_ms, 1000 * (7 + (int64_t)i));
        ASSERT_EQ_INT(pt.battles, 10 * (7 + i));
    }
    rater_web_history_fini(&h);
    rater_web_history_init(&h, 0);
    ASSERT_EQ_INT(h.cap, RATER_WEB_HISTORY_DEFAULT);
    /* note: points closer than the gap update the newest one */
    rater_web_history_note(&h, 1000, 1, 2000);
    rater_web_history_note(&h, 2500, 5, 2000); /* 1.5 s later: replaces */
    ASSERT_EQ_INT(rater_web_history_len(&h), 1);
    ASSERT_EQ_INT(rater_web_history_at(&h, 0).t_ms, 2500);
    ASSERT_EQ_INT(rater_web_history_at(&h, 0).battles, 5);
    rater_web_history_note(&h, 4500, 9, 2000); /* 2 s later: a new point */
    ASSERT_EQ_INT(rater_web_history_len(&h), 2);
    ASSERT_EQ_INT(rater_web_history_at(&h, 1).battles, 9);
    rater_web_history_fini(&h);
    rater_web_history_fini(&h); /* idempotent */
}

/* a leaderboard with a hostile model name; the rows point into `rows` */
struct fixture {
    Arena__V1__Leaderboard lb;
    Arena__V1__RatingRow rows[3];
    Arena__V1__RatingRow *rowp[3];
};

static const char *const evil = "<img src=x onerror=alert(1)>\"'&evil";

static void fixture_init(struct fixture *f)
{
    static const char *const names[3] = {"gpt-4o", "<img src=x onerror=alert(1)>\"'&evil",
                                         "llama-3-8b"};
    const double rating[3] = {1104.25, 1000.0, 895.75}, lo[3] = {1090.04, 985.5, 880.0},
                 hi[3] = {1118.96, 1014.56, 910.26};
    arena__v1__leaderboard__init(&f->lb);
    for (int i = 0; i < 3; i++) {
        arena__v1__rating_row__init(&f->rows[i]);
        f->rows[i].model = (char *)names[i];
        f->rows[i].rating = rating[i];
        f->rows[i].ci_low = lo[i];
        f->rows[i].ci_high = hi[i];
        f->rows[i].rank = (uint32_t)i + 1;
        f->rows[i].games = 100;
        f->rows[i].wins = 50;
        f->rows[i].losses = 40;
        f->rows[i].ties = 10;
        f->rows[i].elo_online = rating[i] + 1;
        f->rowp[i] = &f->rows[i];
    }
    f->lb.name = "wizardarena";
    f->lb.method = "bt";
    f->lb.battles = 12345;
    f->lb.rows = f->rowp;
    f->lb.n_rows = 3;
    f->lb.bootstrap_rounds = 100;
    f->lb.seed = 42;
    f->lb.anchor_model = "";
    f->lb.updated_at_ms = 1700000000000;
}

static char *render(const struct rater_web_page *pg)
{
    struct arena_buf b;
    arena_buf_init(&b);
    rater_web_render(pg, &b);
    return arena_buf_steal(&b, NULL);
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

static void test_page_content(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    const char *names[3] = {f.rows[0].model, f.rows[1].model, f.rows[2].model};
    struct rater_web_pairs pairs;
    rater_web_pairs_init(&pairs, 3, names);
    rater_web_pairs_set(&pairs, 0, 1, 30, 10, 0); /* 75% */
    rater_web_pairs_set(&pairs, 1, 2, 20, 20, 10);
    struct rater_web_history h;
    rater_web_history_init(&h, 0);
    rater_web_history_add(&h, 1700000000000 - 60000, 12045);
    rater_web_history_add(&h, 1700000000000, 12345);
    struct rater_web_page pg = {.lb = &f.lb, .pairs = &pairs, .history = &h, .refresh_s = 5};
    char *html = render(&pg);

    /* the hostile name never appears raw; its escaped form does (table, chart, heatmap) */
    assert_null(strstr(html, "<img"));
    assert_null(strstr(html, evil));
    assert_true(count(html, "&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;evil") >= 2);
    /* no script, no external asset */
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "http://"));
    assert_null(strstr(html, "https://"));
    assert_null(strstr(html, "@import"));
    assert_non_null(strstr(html, "<meta http-equiv=\"refresh\" content=\"5\">"));
    /* every model with its rating and CI */
    assert_non_null(strstr(html, "<td class=\"model\">gpt-4o</td><td>1104.2</td>"
                                 "<td class=\"ci\">[1090.0, 1119.0]</td>"));
    assert_non_null(strstr(html, "<td class=\"ci\">[985.5, 1014.6]</td>"));
    assert_non_null(strstr(html, "<td class=\"model\">llama-3-8b</td><td>895.8</td>"
                                 "<td class=\"ci\">[880.0, 910.3]</td>"));
    /* the CI chart has one bar (and one dot) per model, the heatmap 6 off-diagonal cells */
    assert_non_null(strstr(html, "id=\"ci-chart\""));
    ASSERT_EQ_INT(count(html, "<circle cx="), 3 + 1 /* last history point */);
    assert_non_null(strstr(html, "id=\"heatmap\""));
    assert_non_null(strstr(html, ": 75.0% over 40 games (30 W, 10 L, 0 T)</title>"));
    assert_non_null(strstr(html, ": never met</title>"));
    /* battles over time: a polyline with both points, the counter and the rate */
    assert_non_null(strstr(html, "<polyline points=\""));
    assert_non_null(strstr(html, "12,345"));
    assert_non_null(strstr(html, "<div class=\"v\">5.0</div>")); /* 300 battles / 60 s */
    assert_non_null(strstr(html, "2023-11-14 22:13:20 UTC"));
    /* well-formed enough: tags balance */
    ASSERT_EQ_INT(count(html, "<svg "), count(html, "</svg>"));
    ASSERT_EQ_INT(count(html, "<section"), count(html, "</section>"));
    ASSERT_EQ_INT(count(html, "<tr>"), count(html, "</tr>"));
    ASSERT_EQ_INT(count(html, "<g>"), count(html, "</g>"));
    free(html);

    /* the heatmap cap: 2 models shown of 3, with a note */
    pg.heatmap_max = 2;
    html = render(&pg);
    assert_non_null(strstr(html, "Top 2 of 3 models shown"));
    free(html);

    rater_web_pairs_fini(&pairs);
    rater_web_history_fini(&h);
}

static void test_page_empty_and_degenerate(void **state)
{
    (void)state;
    struct rater_web_page pg = {0};
    char *html = render(&pg);
    assert_non_null(strstr(html, "No battles rated yet."));
    assert_null(strstr(html, "http-equiv"));
    assert_non_null(strstr(html, "</html>"));
    free(html);

    /* one model, no pairs, one history point, NaN CI, no bootstrap: renders, no NaN in SVG */
    struct fixture f;
    fixture_init(&f);
    f.lb.n_rows = 1;
    f.lb.bootstrap_rounds = 0;
    f.rows[0].ci_low = NAN;
    struct rater_web_history h;
    rater_web_history_init(&h, 0);
    rater_web_history_add(&h, 1, 1);
    pg.lb = &f.lb;
    pg.history = &h;
    html = render(&pg);
    assert_non_null(strstr(html, "Not enough models yet."));
    assert_non_null(strstr(html, "Collecting data"));
    assert_non_null(strstr(html, "No bootstrap"));
    assert_null(strstr(html, "\"nan"));
    assert_null(strstr(html, "\"-nan"));
    free(html);

    /* absurd scales (rating 1e17, a CI narrower than a double's step there, the clock going
     * back) still render, with a bounded number of ticks */
    f.rows[0].rating = 1e17;
    f.rows[0].ci_low = 1e17 - 16;
    f.rows[0].ci_high = 1e17 + 16;
    rater_web_history_add(&h, 0, UINT64_MAX);
    html = render(&pg);
    assert_non_null(strstr(html, "id=\"ci-chart\""));
    assert_true(count(html, "<line ") < 100);
    free(html);
    rater_web_history_fini(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_pairs),
        cmocka_unit_test(test_history_bounded),
        cmocka_unit_test(test_page_content),
        cmocka_unit_test(test_page_empty_and_degenerate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
