#!/usr/bin/env bash
# deploy/README.md's metrics table against the code: every metric registered with
# arena_metrics_counter/gauge/histogram/incf in common/src and services/*/src has a row, of the
# type it is registered as (incf = counter), and every row names a registered metric.
# A metric added to the code without a row (or a row left behind after a rename) fails here.
set -euo pipefail

ROOT=${ARENA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }

python3 - "$ROOT" <<'PY'
import glob, os, re, sys

root = sys.argv[1]
# the name is the second argument; the call may wrap after the opening parenthesis
call = re.compile(r'arena_metrics_(counter|gauge|histogram|incf)\(\s*[^,()]+,\s*"(arena_[a-z0-9_]+)"')
kind = {"counter": "counter", "incf": "counter", "gauge": "gauge", "histogram": "histogram"}
code = {}
files = glob.glob(f"{root}/common/src/*.c") + glob.glob(f"{root}/services/*/src/*.c")
for path in sorted(files):
    for fn, name in call.findall(open(path, encoding="utf-8").read()):
        rel = os.path.relpath(path, root)
        code.setdefault(name, {}).setdefault(kind[fn], set()).add(rel)
if len(code) < 10:
    print(f"FAIL: only {len(code)} metrics found in the code: the pattern no longer matches")
    sys.exit(1)

text = open(f"{root}/deploy/README.md", encoding="utf-8").read()
section = text.split("\n## Metrics\n", 1)
if len(section) != 2:
    print("FAIL: deploy/README.md has no '## Metrics' section")
    sys.exit(1)
rows = {}
for line in section[1].split("\n## ", 1)[0].splitlines():
    m = re.match(r"\| `(arena_[a-z0-9_]+)(\{[^}`]*\})?` \| (\w+) \| ([^|]+) \|", line)
    if m:
        rows[m.group(1)] = m.group(3)

fail = []
for name, kinds in sorted(code.items()):
    if len(kinds) > 1:
        fail.append(f"{name} is registered as {sorted(kinds)} in {sorted(set().union(*kinds.values()))}")
    if name not in rows:
        fail.append(f"{name} ({', '.join(sorted(set().union(*kinds.values())))}) has no row in deploy/README.md")
    elif rows[name] not in kinds:
        fail.append(f"{name}: the table says {rows[name]}, the code registers a {'/'.join(sorted(kinds))}")
for name in sorted(set(rows) - set(code)):
    fail.append(f"deploy/README.md documents {name}, which no code registers")
print(f"{len(code)} metrics registered in the code, {len(rows)} rows in deploy/README.md")
if fail:
    print("FAIL:\n  " + "\n  ".join(fail))
    sys.exit(1)
print("PASS: the metrics table matches the code")
PY
