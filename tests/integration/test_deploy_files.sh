#!/usr/bin/env bash
# test_deploy_files.sh - offline checks of the deployment files; fails on any error.
#   1. Dockerfile lint: Debian bookworm stages, compiler only in the build stage, runtime libs,
#      non-root USER in the final stage, every binary installed; .dockerignore.
#   2. docker-compose.yml: `docker-compose config -q` (or `docker compose`), then its content:
#      topics step, the five services, health checks, state volumes, Prometheus targets.
#   3. kustomize: base, overlays dev, prod and prod-strimzi (the Strimzi topics component).
#   4. yamllint (.yamllint) on the sources and on every rendered manifest.
#   5. npm ci of tests/support/k8s-validate (cached under $ARENA_BINARY_DIR/k8s-validate) and
#      tests/support/validate_k8s.mjs: kubernetes-models schemas + deployment rules on every
#      rendered object; a deliberately broken manifest must be rejected.
#   6. Grafana dashboard and deploy/README.md against the metric-name contract.
#   7. Every arena.yaml through the real config loader (arena-judge --print-config) when the
#      binaries are built.
# A missing tool (kubectl/kustomize, docker-compose, yamllint, node/npm) is reported as SKIP and
# the test exits 77 unless something else failed.
set -uo pipefail

SRC=${ARENA_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${ARENA_BINARY_DIR:-$SRC/build}
BINDIR=${ARENA_BIN_DIR:-$BUILD/services}
WORK="$BUILD/deploy-files"
rm -rf "$WORK/rendered" "$WORK/neg"
mkdir -p "$WORK/rendered" "$WORK/neg"
cd "$SRC" || exit 1

n_pass=0
n_fail=0
skipped=()
pass() {
    echo "ok: $*"
    n_pass=$((n_pass + 1))
}
fail() {
    echo "FAIL: $*" >&2
    n_fail=$((n_fail + 1))
}
skip() {
    echo "SKIP: $*"
    skipped+=("$*")
}

TOPICS=(arena.prompts arena.battles.requested arena.battles.generated arena.battles.results
    arena.ratings arena.shards arena.dlq)
SERVICES=(sampler generator judge rater curator)
BINARIES=(arena-sampler arena-generator arena-judge arena-rater arena-curator arena-devbroker
    arenactl)
METRICS=(arena_messages_consumed_total arena_messages_produced_total arena_produce_errors_total
    arena_dlq_messages_total arena_battles_total arena_battles_issued_total
    arena_battles_duplicate_total arena_inflight_battles arena_consumer_lag_messages
    arena_model_calls_total arena_model_call_retries_total arena_model_call_duration_seconds
    arena_model_tokens_total arena_cache_requests_total arena_judge_position_disagreement_ratio
    arena_judge_position_mean_score arena_prompts_total arena_rating
    arena_rater_fit_duration_seconds arena_curator_examples_total arena_curator_shards_total
    arena_store_size_bytes arena_service_up arena_paused)

# ---- 1. Dockerfile ------------------------------------------------------------------------------
lint_dockerfile() {
    local df="$1" errs=0 joined stages final
    [ -f "$df" ] || {
        echo "$df: missing"
        return 1
    }
    # join continuation lines, drop comments and blank lines
    joined=$(sed -e 's/[[:space:]]*#.*$//' "$df" | awk '/\\$/ { sub(/\\$/, ""); printf "%s", $0; next } { print }' |
        grep -v '^[[:space:]]*$')
    stages=$(grep -ciE '^FROM[[:space:]]' <<<"$joined")
    if [ "$stages" -lt 2 ]; then
        echo "$df: $stages FROM lines: a multi-stage build (build + runtime) is required"
        errs=$((errs + 1))
    fi
    while read -r line; do
        if ! grep -qE '^FROM[[:space:]]+(--platform=[^[:space:]]+[[:space:]]+)?debian:bookworm([-:@][^[:space:]]*)?([[:space:]]|$)' \
            <<<"$line"; then
            echo "$df: '$line': every stage must be FROM debian:bookworm*"
            errs=$((errs + 1))
        fi
    done < <(grep -iE '^FROM[[:space:]]' <<<"$joined")
    final=$(awk 'toupper($1) == "FROM" { buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }' <<<"$joined")
    local build
    build=$(awk 'toupper($1) == "FROM" { n++ } n == 1' <<<"$joined")
    local user
    user=$(grep -iE '^USER[[:space:]]' <<<"$final" | tail -n1 | awk '{ print $2 }')
    if [ -z "$user" ]; then
        echo "$df: the final stage has no USER (it would run as root)"
        errs=$((errs + 1))
    elif grep -qE '^(root|0)(:|$)' <<<"$user"; then
        echo "$df: the final stage runs as '$user'"
        errs=$((errs + 1))
    fi
    local installs
    installs=$(grep -iE '^RUN[[:space:]].*apt-get[[:space:]]+install' <<<"$final")
    if grep -qwE 'gcc|g\+\+|clang|cmake|make|build-essential|cpp|protobuf-c-compiler|[a-z0-9.+-]+-dev' <<<"$installs"; then
        echo "$df: the final stage installs build tools or -dev packages: $(grep -owE 'gcc|g\+\+|clang|cmake|make|build-essential|cpp|protobuf-c-compiler|[a-z0-9.+-]+-dev' <<<"$installs" | sort -u | tr '\n' ' ')"
        errs=$((errs + 1))
    fi
    for lib in librdkafka1 librocksdb7.8 libzmq5 libprotobuf-c1 libcurl4 libmicrohttpd12 \
        libyaml-0-2 libjansson4 libzstd1 curl; do
        if ! grep -qE "(^|[[:space:]])${lib//./\\.}([[:space:]]|$)" <<<"$installs"; then
            echo "$df: the final stage does not install $lib"
            errs=$((errs + 1))
        fi
    done
    if grep -qiE '^COPY[[:space:]]+\.[[:space:]]' <<<"$final"; then
        echo "$df: the final stage copies the source tree"
        errs=$((errs + 1))
    fi
    if ! grep -qiE '^COPY[[:space:]]+--from=' <<<"$final"; then
        echo "$df: the final stage copies nothing from the build stage"
        errs=$((errs + 1))
    fi
    for tool in cmake gcc; do
        if ! grep -iE '^RUN[[:space:]].*apt-get[[:space:]]+install' <<<"$build" | grep -qw "$tool"; then
            echo "$df: the build stage does not install $tool"
            errs=$((errs + 1))
        fi
    done
    if ! grep -qE 'cmake[[:space:]]+--install' <<<"$build"; then
        echo "$df: the build stage does not run cmake --install"
        errs=$((errs + 1))
    fi
    for b in "${BINARIES[@]}"; do
        if ! grep -qw -- "$b" <<<"$joined"; then
            echo "$df: binary $b is not checked into the image"
            errs=$((errs + 1))
        fi
    done
    return "$errs"
}

if out=$(lint_dockerfile deploy/docker/Dockerfile); then
    pass "Dockerfile lint"
else
    fail "Dockerfile lint:"$'\n'"$out"
fi
# the lint must catch a compiler and root in the final stage
printf 'FROM debian:bookworm-slim AS build\nRUN apt-get install -y gcc cmake\nRUN cmake --install /b\nFROM ubuntu:22.04\nRUN apt-get install -y gcc librdkafka-dev\nUSER root\n' \
    >"$WORK/neg/Dockerfile"
if out=$(lint_dockerfile "$WORK/neg/Dockerfile"); then
    fail "Dockerfile lint accepted a bad Dockerfile"
else
    missing=""
    for want in "FROM debian:bookworm" "runs as 'root'" "build tools or -dev" "copies nothing"; do
        grep -qF "$want" <<<"$out" || missing="$missing [$want]"
    done
    if [ -z "$missing" ]; then
        pass "Dockerfile lint rejects a bad Dockerfile"
    else
        fail "Dockerfile lint missed:$missing"$'\n'"$out"
    fi
fi
if [ -f .dockerignore ] && grep -qxE '\.git' .dockerignore && grep -qE '^build' .dockerignore &&
    grep -q 'node_modules' .dockerignore; then
    pass ".dockerignore excludes .git, build dirs, node_modules"
else
    fail ".dockerignore must exclude .git, build*, node_modules"
fi

# ---- 2. docker-compose.yml ----------------------------------------------------------------------
COMPOSE=()
if command -v docker-compose >/dev/null 2>&1; then
    COMPOSE=(docker-compose)
elif command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
    COMPOSE=(docker compose)
fi
if [ ${#COMPOSE[@]} -eq 0 ]; then
    skip "docker-compose / docker compose not installed: compose file not checked by compose"
else
    # no .env or shell variables may leak into the check
    if out=$(env -u OPENAI_API_KEY -u GRAFANA_ADMIN_PASSWORD "${COMPOSE[@]}" -f docker-compose.yml \
        --project-directory "$SRC" config -q 2>&1); then
        pass "${COMPOSE[*]} config -q"
    else
        fail "${COMPOSE[*]} config -q:"$'\n'"$out"
    fi
    if env -u OPENAI_API_KEY "${COMPOSE[@]}" -f docker-compose.yml --project-directory "$SRC" \
        config >"$WORK/rendered/compose.yaml" 2>"$WORK/rendered/compose.err"; then
        :
    else
        fail "${COMPOSE[*]} config: $(cat "$WORK/rendered/compose.err")"
    fi
fi

# ---- 3. kustomize -------------------------------------------------------------------------------
KUSTOMIZE=()
if command -v kustomize >/dev/null 2>&1; then
    KUSTOMIZE=(kustomize build)
elif command -v kubectl >/dev/null 2>&1; then
    kver=$(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\{0,1\}\([0-9]*\).*/\1/p')
    if [ -n "$kver" ] && [ "$kver" -ge 4 ]; then
        KUSTOMIZE=(kubectl kustomize)
    else
        skip "kubectl $(kubectl version --client 2>/dev/null | head -n1) embeds a kustomize older than v4 (no components): install kustomize or kubectl >= 1.21"
    fi
else
    skip "neither kubectl nor kustomize installed: Kubernetes manifests not rendered"
fi
RENDERED=()
if [ ${#KUSTOMIZE[@]} -gt 0 ]; then
    for k in base overlays/dev overlays/prod overlays/prod-strimzi; do
        name=${k##*/}
        if out=$("${KUSTOMIZE[@]}" "deploy/k8s/$k" 2>&1 >"$WORK/rendered/$name.yaml"); then
            pass "${KUSTOMIZE[*]} deploy/k8s/$k ($(grep -c '^kind:' "$WORK/rendered/$name.yaml") objects)"
            RENDERED+=("$WORK/rendered/$name.yaml")
        else
            fail "${KUSTOMIZE[*]} deploy/k8s/$k: $out"
        fi
    done
    if [ -f "$WORK/rendered/prod-strimzi.yaml" ]; then
        nt=$(grep -c '^kind: KafkaTopic$' "$WORK/rendered/prod-strimzi.yaml")
        nd=$(cat "$WORK/rendered/dev.yaml" "$WORK/rendered/prod.yaml" 2>/dev/null | grep -c '^kind: KafkaTopic$')
        if [ "$nt" -eq ${#TOPICS[@]} ] && [ "$nd" -eq 0 ]; then
            pass "strimzi-topics component adds ${#TOPICS[@]} KafkaTopics (only where enabled)"
        else
            fail "strimzi-topics: $nt KafkaTopics with the component (want ${#TOPICS[@]}), $nd without (want 0)"
        fi
    fi
fi

# ---- 4. yamllint --------------------------------------------------------------------------------
if command -v yamllint >/dev/null 2>&1; then
    if out=$(yamllint -s -c .yamllint .yamllint docker-compose.yml deploy/compose deploy/k8s 2>&1); then
        pass "yamllint sources"
    else
        fail "yamllint sources:"$'\n'"$out"
    fi
    if [ ${#RENDERED[@]} -gt 0 ]; then
        if out=$(yamllint -s -c .yamllint "${RENDERED[@]}" 2>&1); then
            pass "yamllint rendered manifests (${#RENDERED[@]} files)"
        else
            fail "yamllint rendered manifests:"$'\n'"$out"
        fi
    fi
else
    skip "yamllint not installed"
fi

# ---- 5. schema validation -----------------------------------------------------------------------
NM_OK=0
VDIR="$BUILD/k8s-validate"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    skip "node/npm not installed: manifests not schema-checked"
else
    mkdir -p "$VDIR"
    lock_sum=$(cat tests/support/k8s-validate/package.json tests/support/k8s-validate/package-lock.json | sha256sum | cut -d' ' -f1)
    if [ -d "$VDIR/node_modules" ] && [ "$(cat "$VDIR/.lock-sha256" 2>/dev/null)" = "$lock_sum" ]; then
        NM_OK=1
        pass "npm packages cached in $VDIR"
    else
        rm -rf "$VDIR/node_modules" "$VDIR/.lock-sha256"
        cp tests/support/k8s-validate/package.json tests/support/k8s-validate/package-lock.json "$VDIR/"
        if out=$(cd "$VDIR" && npm ci --no-audit --no-fund --loglevel=error 2>&1); then
            echo "$lock_sum" >"$VDIR/.lock-sha256"
            NM_OK=1
            pass "npm ci (k8s-validate) into $VDIR"
        else
            fail "npm ci in $VDIR failed:"$'\n'"$out"
        fi
    fi
fi
if [ "$NM_OK" = 1 ] && [ ${#RENDERED[@]} -gt 0 ]; then
    if out=$(node tests/support/validate_k8s.mjs --modules "$VDIR" --partitions 12 "${RENDERED[@]}" 2>&1); then
        pass "kubernetes-models validation:"$'\n'"$out"
    else
        fail "kubernetes-models validation:"$'\n'"$out"
    fi
    # the validator must reject a broken manifest: schema, security and partition rules
    sed -e 's/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/' \
        -e 's/maxReplicas: 2$/maxReplicas: 24/' "$WORK/rendered/dev.yaml" >"$WORK/neg/dev-broken.yaml"
    printf -- '---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: broken\nspec:\n  replicas: two\n  selector: {}\n  template: {}\n---\napiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: nope\n' \
        >>"$WORK/neg/dev-broken.yaml"
    if out=$(node tests/support/validate_k8s.mjs --modules "$VDIR" "$WORK/neg/dev-broken.yaml" 2>&1); then
        fail "validate_k8s.mjs accepted a broken manifest"
    else
        missing=""
        for want in "readOnlyRootFilesystem must be true" "maxReplicas 24 > 12 partitions" \
            "replicas must be integer" "no schema for example.com/v1 Gadget"; do
            grep -qF "$want" <<<"$out" || missing="$missing [$want]"
        done
        if [ -z "$missing" ]; then
            pass "validate_k8s.mjs rejects a broken manifest"
        else
            fail "validate_k8s.mjs missed:$missing"$'\n'"$out"
        fi
    fi
fi

# compose content (needs the yaml package from the same cache)
if [ "$NM_OK" = 1 ] && [ -s "$WORK/rendered/compose.yaml" ]; then
    cat >"$WORK/check_compose.cjs" <<'EOF'
const fs = require("fs");
const path = require("path");
const YAML = require(require.resolve("yaml", { paths: [process.argv[2]] }));
const c = YAML.parse(fs.readFileSync(process.argv[3], "utf8"));
const prom = YAML.parse(fs.readFileSync(process.argv[4], "utf8"));
const topics = process.argv[5].split(" ");
const errs = [];
const s = c.services || {};
const kafka = s.kafka || {};
if (!/^apache\/kafka:(3\.([7-9]|\d\d)|[4-9])/.test(kafka.image || "")) errs.push(`kafka image ${kafka.image}: want apache/kafka >= 3.7.0`);
const kenv = kafka.environment || {};
if (kenv.KAFKA_PROCESS_ROLES !== "broker,controller") errs.push("kafka: KAFKA_PROCESS_ROLES must be broker,controller (KRaft)");
if (!/^[A-Za-z0-9_-]{22}$/.test(kenv.CLUSTER_ID || "")) errs.push(`kafka: CLUSTER_ID '${kenv.CLUSTER_ID}' is not a base64url UUID`);
const init = s["kafka-topics"];
if (!init) errs.push("no kafka-topics service");
else {
  const cmd = [].concat(init.entrypoint || [], init.command || []).join(" ");
  for (const t of topics) if (!cmd.includes(t)) errs.push(`kafka-topics: topic ${t} not created`);
  for (const w of ["kafka-topics.sh", "--if-not-exists", "--partitions 12", "arena.ratings --config cleanup.policy=compact"])
    if (!cmd.includes(w)) errs.push(`kafka-topics: command lacks '${w}'`);
  if ((init.depends_on || {}).kafka?.condition !== "service_healthy") errs.push("kafka-topics must wait for kafka to be healthy");
}
const targets = new Set();
for (const sc of prom.scrape_configs || []) for (const st of sc.static_configs || []) for (const t of st.targets || []) targets.add(t);
for (const svc of ["sampler", "generator", "judge", "rater", "curator"]) {
  const d = s[svc];
  if (!d) { errs.push(`service ${svc} missing`); continue; }
  const cmd = d.command || [];
  if (cmd[0] !== `arena-${svc}` || cmd[1] !== "--config" || cmd[2] !== "/etc/arena/arena.yaml") errs.push(`${svc}: command ${JSON.stringify(cmd)}`);
  if (!d.build || !String(d.build.dockerfile || "").endsWith("deploy/docker/Dockerfile")) errs.push(`${svc}: not built from deploy/docker/Dockerfile`);
  if (d.image !== "arena-flywheel:local") errs.push(`${svc}: image ${d.image}, want the one arena-flywheel:local`);
  if ((d.depends_on || {})["kafka-topics"]?.condition !== "service_completed_successfully") errs.push(`${svc}: must depend on kafka-topics completing`);
  const hc = [].concat(d.healthcheck?.test || []).join(" ");
  if (!/curl .*http:\/\/127\.0\.0\.1:9090\/healthz/.test(hc)) errs.push(`${svc}: healthcheck '${hc}' does not curl /healthz`);
  if ((d.environment || {}).ARENA_KAFKA_BOOTSTRAP_SERVERS !== "kafka:9092") errs.push(`${svc}: ARENA_KAFKA_BOOTSTRAP_SERVERS must be kafka:9092`);
  const vols = (d.volumes || []).map((v) => (typeof v === "string" ? v : `${v.source}:${v.target}`));
  const has = (target, named) => (d.volumes || []).some((v) => typeof v === "object" ? v.target === target && (!named || v.type === "volume") : v.split(":")[1] === target);
  if (!has(`/var/lib/arena/${svc}`, true)) errs.push(`${svc}: no named volume at /var/lib/arena/${svc} (${vols.join(", ")})`);
  if (!has("/etc/arena/arena.yaml", false)) errs.push(`${svc}: arena.yaml not mounted`);
  if (svc === "curator" && !has("/var/lib/arena/shards", true)) errs.push("curator: no shards volume");
  if (!targets.has(`${svc}:9090`)) errs.push(`prometheus does not scrape ${svc}:9090`);
}
for (const svc of ["prometheus", "grafana"]) if (!s[svc]) errs.push(`service ${svc} missing`);
if (errs.length) { console.error(errs.join("\n")); process.exit(1); }
console.log(`compose: ${Object.keys(s).length} services checked`);
EOF
    if out=$(node "$WORK/check_compose.cjs" "$VDIR" "$WORK/rendered/compose.yaml" \
        deploy/compose/prometheus/prometheus.yml "${TOPICS[*]}" 2>&1); then
        pass "compose content: $out"
    else
        fail "compose content:"$'\n'"$out"
    fi
fi

# ---- 6. dashboard and README against the metric contract ----------------------------------------
DASH=deploy/compose/grafana/dashboards/arena.json
if command -v node >/dev/null 2>&1; then
    if out=$(node -e '
const fs = require("fs");
const d = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
const contract = new Set(process.argv[2].split(" "));
const used = new Set(); const errs = [];
const walk = (ps) => { for (const p of ps || []) { walk(p.panels);
  for (const t of p.targets || []) {
    if (!t.expr) errs.push(`panel "${p.title}": target without expr`);
    for (const m of (t.expr || "").match(/\barena_[a-z_]+/g) || []) {
      const base = m.replace(/_(bucket|sum|count)$/, "");
      if (!contract.has(base)) errs.push(`panel "${p.title}": ${m} is not a contract metric`);
      used.add(base);
    } } } };
walk(d.panels);
for (const m of contract) if (!used.has(m)) errs.push(`no panel uses ${m}`);
const ids = new Set(); for (const p of d.panels) { if (ids.has(p.id)) errs.push(`duplicate panel id ${p.id}`); ids.add(p.id); }
if (d.uid !== "arena-flywheel") errs.push(`dashboard uid ${d.uid}`);
if (errs.length) { console.error(errs.join("\n")); process.exit(1); }
console.log(`${used.size} metrics in ${d.panels.length} panels`);
' "$DASH" "${METRICS[*]}" 2>&1); then
        pass "Grafana dashboard uses every contract metric: $out"
    else
        fail "Grafana dashboard ($DASH):"$'\n'"$out"
    fi
fi
if [ -f deploy/README.md ]; then
    missing=""
    for m in "${METRICS[@]}"; do
        grep -qE "^\| *\`$m[{\`]" deploy/README.md || missing="$missing $m"
    done
    if [ -z "$missing" ]; then
        pass "deploy/README.md documents every metric"
    else
        fail "deploy/README.md metric table lacks:$missing"
    fi
else
    fail "deploy/README.md missing"
fi

# ---- 7. arena.yaml files through the real config loader -----------------------------------------
if [ -x "$BINDIR/arena-judge" ]; then
    for f in deploy/compose/arena.yaml deploy/k8s/base/arena.yaml deploy/k8s/overlays/prod/arena.yaml; do
        if out=$(env -i PATH="$PATH" ARENA_KAFKA_GROUP_INSTANCE_ID=arena-judge-0 \
            ARENA_KAFKA_SASL_PASSWORD=placeholder "$BINDIR/arena-judge" --config "$f" --print-config 2>&1); then
            if grep -q 'group.instance.id.*arena-judge-0' <<<"$out" &&
                ! grep -q 'placeholder' <<<"$out"; then
                pass "$f loads (arena-judge --print-config; env overrides applied, secret redacted)"
            else
                fail "$f: env override or redaction not as expected:"$'\n'"$out"
            fi
        else
            fail "$f rejected by the config loader: $out"
        fi
    done
else
    echo "note: $BINDIR/arena-judge not built: arena.yaml files not checked by the loader"
fi

echo "deploy files: $n_pass passed, $n_fail failed, ${#skipped[@]} skipped"
if [ "$n_fail" -gt 0 ]; then
    exit 1
fi
if [ ${#skipped[@]} -gt 0 ]; then
    printf 'SKIP: %s\n' "${skipped[@]}"
    exit 77
fi
exit 0
