#!/usr/bin/env bash
# End-to-end: the rater's web page at `/` on a running local fleet (deploy/local/run.sh with the
# prebuilt binaries), rendered by headless Chromium:
#   - a screenshot is saved in the build dir (path printed) for a human to look at;
#   - the rendered DOM shows every model of /leaderboard.json with its rating and 95% CI, a CI
#     bar per model in the SVG chart, the heatmap and the battles-over-time chart;
#   - the page loads nothing from outside and runs no script;
#   - /pairs.json is consistent with the leaderboard (each model's games and wins add up).
# Skips (77) when chromium, python3 or curl is missing. Stops every process it started.
set -euo pipefail

ROOT=${ARENA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=../support/fleet_lib.sh
. "$ROOT/tests/support/fleet_lib.sh"
OUT_DIR=$ARENA_BINARY_DIR/tests
fleet_need_exec "$BIN/arena-rater"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || { echo "SKIP: chromium missing (Debian package chromium)"; exit 77; }
fleet_need_cmd python3 curl

fleet_workdir e2e-page
BATTLES=400
export ARENA_WAIT_TIMEOUT_S=240
fleet_run_start "${ARENA_E2E_PAGE_PORT_BASE:-23200}" "$BATTLES" || { echo "FAIL: fleet not up"; exit 1; }

URL="http://$(fleet_run_http rater)"
# the rater publishes every rater.every_ms: wait until the published leaderboard has them all
ok=0
for _ in $(seq 1 100); do
    if curl -sf "$URL/leaderboard.json" -o "$WORK/lb.json" &&
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["battles"]+d["skipped"]>=int(sys.argv[2]) else 1)' \
            "$WORK/lb.json" "$BATTLES" 2>/dev/null; then
        ok=1
        break
    fi
    sleep 0.2
done
[ "$ok" = 1 ] || { cat "$WORK/lb.json" || true; echo "FAIL: leaderboard never reached $BATTLES battles"; exit 1; }
# the sampler may issue a few battles past the target: wait until no publication is pending
# (the rater publishes fresh battles within rater.every_ms = 2 s)
stamp() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["updated_at_ms"])' "$1"; }
for _ in $(seq 1 20); do
    sleep 2.5
    curl -sf "$URL/leaderboard.json" -o "$WORK/lb_next.json" || { echo "FAIL: GET /leaderboard.json"; exit 1; }
    [ "$(stamp "$WORK/lb.json")" = "$(stamp "$WORK/lb_next.json")" ] && break
    mv "$WORK/lb_next.json" "$WORK/lb.json"
done
# battles-over-time needs two history points: the rater adds one at least every 5 s
for _ in $(seq 1 75); do
    curl -sf "$URL/" | grep -q "<polyline" && break
    sleep 0.2
done
curl -sf "$URL/pairs.json" -o "$WORK/pairs.json" || { echo "FAIL: GET /pairs.json"; exit 1; }
curl -sf -D "$WORK/headers" "$URL/" -o "$WORK/page.html" || { echo "FAIL: GET /"; exit 1; }
grep -qi '^content-type: text/html; charset=utf-8' "$WORK/headers" ||
    { cat "$WORK/headers"; echo "FAIL: / is not served as UTF-8 HTML"; exit 1; }

chrome() {
    # a private HOME and profile; the network stays on loopback; killed if it hangs
    HOME="$WORK/home" timeout -k 5 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
        --disable-quic --no-first-run --disable-background-networking --disable-component-update \
        --disable-sync --disable-dev-shm-usage --hide-scrollbars \
        --user-data-dir="$(mktemp -d "$WORK/profile-XXXXXX")" "$@" 2>>"$WORK/chromium.log"
}
mkdir -p "$WORK/home" "$OUT_DIR"
SHOT="$OUT_DIR/leaderboard_page.png"
rm -f "$SHOT"
chrome --screenshot="$SHOT" --window-size=1280,1600 "$URL/" >/dev/null ||
    { tail -20 "$WORK/chromium.log"; echo "FAIL: chromium --screenshot"; exit 1; }
chrome --dump-dom "$URL/" >"$WORK/dom.html" ||
    { tail -20 "$WORK/chromium.log"; echo "FAIL: chromium --dump-dom"; exit 1; }
curl -sf "$URL/leaderboard.json" -o "$WORK/lb2.json"

python3 - "$WORK" "$SHOT" <<'PY'
import json, struct, sys
from html.parser import HTMLParser

work, shot = sys.argv[1], sys.argv[2]
fail = []
lb = json.load(open(f"{work}/lb.json"))
lb2 = json.load(open(f"{work}/lb2.json"))
if lb2["updated_at_ms"] != lb["updated_at_ms"]:
    fail.append("the leaderboard was republished during the test although no battle was left")
pairs = json.load(open(f"{work}/pairs.json"))
dom = open(f"{work}/dom.html", encoding="utf-8").read()


class Page(HTMLParser):
    """rows of table#leaderboard (cell texts), SVG circles per chart, scripts, external refs"""

    def __init__(self):
        super().__init__()
        self.rows, self.row, self.cell = [], None, None
        self.in_table = False
        self.svg = None
        self.circles = {}
        self.polylines = {}
        self.rects = {}
        self.scripts = 0
        self.external = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ("src", "href"):
            v = a.get(k) or ""
            if v.startswith(("http:", "https:", "//")):
                self.external.append(v)
        if tag == "script":
            self.scripts += 1
        if tag == "table" and a.get("id") == "leaderboard":
            self.in_table = True
        if self.in_table and tag == "tr":
            self.row = []
        if self.row is not None and tag == "td":
            self.cell = ""
        if tag == "svg":
            self.svg = a.get("id")
        if tag == "circle":
            self.circles[self.svg] = self.circles.get(self.svg, 0) + 1
        if tag == "polyline":
            self.polylines[self.svg] = self.polylines.get(self.svg, 0) + 1
        if tag == "rect":
            self.rects[self.svg] = self.rects.get(self.svg, 0) + 1

    def handle_endtag(self, tag):
        if tag == "td" and self.cell is not None:
            self.row.append(self.cell)
            self.cell = None
        elif tag == "tr" and self.row is not None:
            if self.row:
                self.rows.append(self.row)
            self.row = None
        elif tag == "table":
            self.in_table = False
        elif tag == "svg":
            self.svg = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


p = Page()
p.feed(dom)
models = lb["models"]
if len(models) < 2:
    fail.append(f"only {len(models)} models on the leaderboard")
by_name = {r[1]: r for r in p.rows if len(r) >= 4}
for m in models:
    row = by_name.get(m["model"])
    ci = f"[{m['ci_low']:.1f}, {m['ci_high']:.1f}]"
    if row is None:
        fail.append(f"model {m['model']} missing from the rendered table")
        continue
    if row[2] != f"{m['rating']:.1f}" or row[3] != ci:
        fail.append(f"{m['model']}: page shows rating {row[2]} CI {row[3]}, "
                    f"leaderboard.json has {m['rating']:.1f} {ci}")
    if not (m["ci_low"] < m["rating"] < m["ci_high"]):
        fail.append(f"{m['model']}: no CI around the rating: {ci} vs {m['rating']}")
    if row[0] != str(m["rank"]):
        fail.append(f"{m['model']}: rank {row[0]} on the page, {m['rank']} in JSON")
    print(f"  {m['rank']:>2}  {m['model']:<12} {m['rating']:7.1f}  95% CI {ci}  (page: {row[3]})")
if len(p.rows) != len(models):
    fail.append(f"table has {len(p.rows)} rows for {len(models)} models")
if p.circles.get("ci-chart", 0) != len(models):
    fail.append(f"CI chart has {p.circles.get('ci-chart', 0)} dots for {len(models)} models")
n = len(models)
if p.rects.get("heatmap", 0) != n * n:
    fail.append(f"heatmap has {p.rects.get('heatmap', 0)} cells, expected {n * n}")
if p.polylines.get("history", 0) != 1:
    fail.append("no battles-over-time polyline")
if p.scripts:
    fail.append(f"{p.scripts} <script> elements")
if p.external:
    fail.append(f"external references: {p.external}")

# /pairs.json: same models in leaderboard order; each model's games and wins add up
if pairs["models"] != [m["model"] for m in models]:
    fail.append(f"pairs.json models {pairs['models']} != leaderboard order")
else:
    for i, m in enumerate(models):
        g = sum(pairs["games"][i])
        w = sum(pairs["wins"][i])
        if g != m["games"] or w != m["wins"]:
            fail.append(f"{m['model']}: pairs.json sums games={g} wins={w}, "
                        f"leaderboard games={m['games']} wins={m['wins']}")
        for j in range(n):
            wr, gm = pairs["win_rate"][i][j], pairs["games"][i][j]
            if gm:
                exp = (pairs["wins"][i][j] + 0.5 * pairs["ties"][i][j]) / gm
                if wr is None or abs(wr - exp) > 1e-12 or abs(wr + pairs["win_rate"][j][i] - 1) > 1e-12:
                    fail.append(f"win_rate[{i}][{j}]={wr}, expected {exp}")
            elif wr is not None:
                fail.append(f"win_rate[{i}][{j}]={wr} for models that never met")

# the screenshot: a PNG of the window size
with open(shot, "rb") as f:
    head = f.read(24)
if head[:8] != b"\x89PNG\r\n\x1a\n":
    fail.append("screenshot is not a PNG")
else:
    w, h = struct.unpack(">II", head[16:24])
    if (w, h) != (1280, 1600):
        fail.append(f"screenshot is {w}x{h}, expected 1280x1600")
print(f"{lb['battles']} battles, {n} models; screenshot: {shot}")
if fail:
    print("FAIL:\n  " + "\n  ".join(fail))
    sys.exit(1)
print("PASS: the leaderboard page shows every model with its 95% CI")
PY

fleet_run_stop
