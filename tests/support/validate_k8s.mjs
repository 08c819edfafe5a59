// validate_k8s.mjs - schema and policy validation of rendered Kubernetes manifests.
//
//   node tests/support/validate_k8s.mjs --modules DIR [--partitions N] FILE...
//
// DIR holds node_modules/ installed from tests/support/k8s-validate/package-lock.json
// (npm ci). Each FILE is one rendered overlay (multi-document YAML, `kubectl kustomize`
// output). Every object is validated with the kubernetes-models class of its apiVersion/kind
// (Strimzi KafkaTopic with @kubernetes-models/strimzi-kafka-operator); an object of a kind no
// model knows is an error, not a pass. Then the project's deployment rules are checked across
// the objects of the file: security context, probes, resources, static group membership,
// volumes, references between objects, PDBs, HPAs within the partition count, topics.
// Exit 0 when every file is clean, 1 on any error (each printed as FILE: kind/name: problem),
// 2 on a usage error.
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

const TOPICS = [
    "arena.prompts",
    "arena.battles.requested",
    "arena.battles.generated",
    "arena.battles.results",
    "arena.ratings",
    "arena.shards",
    "arena.dlq",
];
const SERVICES = ["sampler", "generator", "judge", "rater", "curator"];

function usage(msg) {
    if (msg) {
        console.error(`validate_k8s: ${msg}`);
    }
    console.error("usage: node validate_k8s.mjs --modules DIR [--partitions N] FILE...");
    process.exit(2);
}

function parseArgs(argv) {
    const opt = { modules: null, partitions: 12, files: [] };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--modules") {
            opt.modules = argv[++i];
        } else if (a === "--partitions") {
            opt.partitions = Number.parseInt(argv[++i], 10);
            if (!Number.isInteger(opt.partitions) || opt.partitions < 1) {
                usage("--partitions: expected a positive integer");
            }
        } else if (a.startsWith("--")) {
            usage(`unknown option ${a}`);
        } else {
            opt.files.push(a);
        }
    }
    if (!opt.modules) {
        usage("--modules DIR is required");
    }
    if (opt.files.length === 0) {
        usage("no manifest file given");
    }
    return opt;
}

const opt = parseArgs(process.argv.slice(2));
const nodeModules = path.resolve(opt.modules, "node_modules");
if (!fs.existsSync(nodeModules)) {
    usage(`${nodeModules} does not exist (run npm ci first)`);
}
const req = createRequire(path.join(path.resolve(opt.modules), "package.json"));
const YAML = req("yaml");

// ---- schema validation --------------------------------------------------------------------

const modelCache = new Map();

async function modelClass(apiVersion, kind) {
    const key = `${apiVersion}/${kind}`;
    if (modelCache.has(key)) {
        return modelCache.get(key);
    }
    let cls = null;
    if (apiVersion.startsWith("kafka.strimzi.io/")) {
        // ESM-only package: import it by file path from the cache dir.
        const file = path.join(
            nodeModules,
            "@kubernetes-models/strimzi-kafka-operator",
            apiVersion,
            `${kind}.js`,
        );
        if (fs.existsSync(file)) {
            const mod = await import(pathToFileURL(file).href);
            cls = mod[kind] ?? null;
        }
    } else if (/^[a-z0-9.]*\/?v[0-9a-z]+$/.test(apiVersion) && /^[A-Za-z]+$/.test(kind)) {
        try {
            cls = req(`kubernetes-models/${apiVersion}/${kind}`)[kind] ?? null;
        } catch {
            cls = null;
        }
    }
    modelCache.set(key, cls);
    return cls;
}

function schemaErrors(err) {
    // @kubernetes-models/validate throws an Error whose message lists "data/path must ..."
    return String(err && err.message ? err.message : err).trim();
}

// ---- helpers ---------------------------------------------------------------------------------

function id(o) {
    const ns = o.metadata?.namespace ? `${o.metadata.namespace}/` : "";
    return `${o.kind}/${ns}${o.metadata?.name}`;
}

function selects(selector, labels) {
    if (!selector || Object.keys(selector).length === 0 || !labels) {
        return false;
    }
    return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function containers(pod) {
    return [...(pod?.spec?.initContainers ?? []), ...(pod?.spec?.containers ?? [])];
}

// ---- the deployment rules ---------------------------------------------------------------------

function checkPolicies(objs, report) {
    const byKind = (k) => objs.filter((o) => o.kind === k);
    const find = (kind, ns, name) =>
        objs.find(
            (o) =>
                o.kind === kind &&
                o.metadata?.name === name &&
                (o.metadata?.namespace ?? "") === (ns ?? ""),
        );
    const seen = new Set();
    for (const o of objs) {
        const k = id(o);
        if (seen.has(k)) {
            report(o, "defined twice");
        }
        seen.add(k);
    }

    const sts = byKind("StatefulSet");
    for (const s of sts) {
        const ns = s.metadata.namespace;
        const pod = s.spec?.template;
        const svcName = s.metadata.name.replace(/^arena-/, "");
        if (!SERVICES.includes(svcName)) {
            report(s, `not one of the services arena-{${SERVICES.join(",")}}`);
        }
        if (!selects(s.spec?.selector?.matchLabels, pod?.metadata?.labels)) {
            report(s, "spec.selector.matchLabels does not select the pod template's labels");
        }
        const psc = pod?.spec?.securityContext ?? {};
        if (psc.runAsNonRoot !== true) {
            report(s, "pod securityContext.runAsNonRoot must be true");
        }
        if (psc.runAsUser !== 10001) {
            report(s, "pod securityContext.runAsUser must be 10001 (the image's arena user)");
        }
        if (psc.seccompProfile?.type !== "RuntimeDefault") {
            report(s, "pod securityContext.seccompProfile.type must be RuntimeDefault");
        }
        if (!pod?.metadata?.annotations?.["prometheus.io/scrape"]) {
            report(s, "pod template lacks the prometheus.io/scrape annotation");
        }
        const cs = containers(pod);
        if (cs.length === 0) {
            report(s, "no containers");
        }
        const volumes = new Map((pod?.spec?.volumes ?? []).map((v) => [v.name, v]));
        const claims = new Set((s.spec?.volumeClaimTemplates ?? []).map((c) => c.metadata?.name));
        if (claims.size === 0) {
            report(s, "no volumeClaimTemplates: RocksDB state needs a PersistentVolumeClaim");
        }
        for (const c of cs) {
            const where = `container ${c.name}`;
            if (!c.image || !/[:@]/.test(c.image)) {
                report(s, `${where}: image '${c.image}' has no tag or digest`);
            }
            const sc = c.securityContext ?? {};
            if (sc.allowPrivilegeEscalation !== false) {
                report(s, `${where}: securityContext.allowPrivilegeEscalation must be false`);
            }
            if (sc.readOnlyRootFilesystem !== true) {
                report(s, `${where}: securityContext.readOnlyRootFilesystem must be true`);
            }
            if (!(sc.capabilities?.drop ?? []).includes("ALL")) {
                report(s, `${where}: securityContext.capabilities.drop must contain ALL`);
            }
            for (const r of ["requests", "limits"]) {
                for (const res of ["cpu", "memory"]) {
                    if (c.resources?.[r]?.[res] === undefined) {
                        report(s, `${where}: resources.${r}.${res} is not set`);
                    }
                }
            }
            const portNames = new Set((c.ports ?? []).map((p) => p.name));
            const probe = (p, wantPath, what) => {
                if (!p?.httpGet) {
                    report(s, `${where}: no ${what} (httpGet ${wantPath})`);
                    return;
                }
                if (p.httpGet.path !== wantPath) {
                    report(s, `${where}: ${what} path is ${p.httpGet.path}, expected ${wantPath}`);
                }
                const port = p.httpGet.port;
                if (typeof port === "string" && !portNames.has(port)) {
                    report(s, `${where}: ${what} uses port '${port}' the container does not name`);
                }
            };
            probe(c.livenessProbe, "/healthz", "livenessProbe");
            probe(c.readinessProbe, "/readyz", "readinessProbe");
            const env = new Map((c.env ?? []).map((e) => [e.name, e]));
            const gi = env.get("ARENA_KAFKA_GROUP_INSTANCE_ID");
            if (gi?.valueFrom?.fieldRef?.fieldPath !== "metadata.name") {
                report(
                    s,
                    `${where}: ARENA_KAFKA_GROUP_INSTANCE_ID must come from fieldRef metadata.name ` +
                        "(static group membership)",
                );
            }
            const bs = env.get("ARENA_KAFKA_BOOTSTRAP_SERVERS");
            if (!bs?.value || !/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/.test(bs.value)) {
                report(s, `${where}: ARENA_KAFKA_BOOTSTRAP_SERVERS must be host:port[,host:port]`);
            }
            const mounts = c.volumeMounts ?? [];
            for (const m of mounts) {
                if (!volumes.has(m.name) && !claims.has(m.name)) {
                    report(s, `${where}: volumeMount ${m.name} has no volume or claim template`);
                }
            }
            const statePath = `/var/lib/arena/${svcName}`;
            const state = mounts.find((m) => m.mountPath === statePath);
            if (!state || !claims.has(state.name)) {
                report(s, `${where}: ${statePath} (RocksDB state) is not on a PersistentVolumeClaim`);
            }
            if (svcName === "curator") {
                const sh = mounts.find((m) => m.mountPath === "/var/lib/arena/shards");
                if (!sh || !claims.has(sh.name)) {
                    report(s, `${where}: /var/lib/arena/shards is not on a PersistentVolumeClaim`);
                }
            }
            if (!mounts.some((m) => m.mountPath === "/etc/arena")) {
                report(s, `${where}: the config (arena.yaml) is not mounted at /etc/arena`);
            }
            // references to ConfigMaps and Secrets must resolve unless optional
            for (const ef of c.envFrom ?? []) {
                if (ef.secretRef && !ef.secretRef.optional && !find("Secret", ns, ef.secretRef.name)) {
                    report(s, `${where}: envFrom Secret ${ef.secretRef.name} is not defined`);
                }
                if (
                    ef.configMapRef &&
                    !ef.configMapRef.optional &&
                    !find("ConfigMap", ns, ef.configMapRef.name)
                ) {
                    report(s, `${where}: envFrom ConfigMap ${ef.configMapRef.name} is not defined`);
                }
            }
            for (const e of c.env ?? []) {
                const sk = e.valueFrom?.secretKeyRef;
                if (sk && !sk.optional) {
                    const sec = find("Secret", ns, sk.name);
                    if (!sec) {
                        report(s, `${where}: env ${e.name}: Secret ${sk.name} is not defined`);
                    }
                }
                const ck = e.valueFrom?.configMapKeyRef;
                if (ck && !ck.optional && !find("ConfigMap", ns, ck.name)) {
                    report(s, `${where}: env ${e.name}: ConfigMap ${ck.name} is not defined`);
                }
            }
        }
        for (const v of volumes.values()) {
            if (v.configMap && !v.configMap.optional) {
                const cm = find("ConfigMap", ns, v.configMap.name);
                if (!cm) {
                    report(s, `volume ${v.name}: ConfigMap ${v.configMap.name} is not defined`);
                } else if (v.name === "config") {
                    checkArenaYaml(cm, svcName, report);
                }
            }
            if (v.secret && !v.secret.optional && !find("Secret", ns, v.secret.secretName)) {
                report(s, `volume ${v.name}: Secret ${v.secret.secretName} is not defined`);
            }
        }
        if (svcName === "sampler" && s.spec?.replicas !== 1) {
            report(s, `replicas ${s.spec?.replicas}: the sampler is a single active instance`);
        }
        if ((s.spec?.replicas ?? 1) > opt.partitions) {
            report(s, `replicas ${s.spec.replicas} > ${opt.partitions} partitions`);
        }
        const svc = find("Service", ns, s.spec?.serviceName);
        if (!svc) {
            report(s, `serviceName ${s.spec?.serviceName}: no such Service`);
        } else if (svc.spec?.clusterIP !== "None") {
            report(svc, "the governing Service of a StatefulSet must be headless (clusterIP: None)");
        }
        const pdbs = byKind("PodDisruptionBudget").filter(
            (p) =>
                (p.metadata.namespace ?? "") === (ns ?? "") &&
                selects(p.spec?.selector?.matchLabels, pod?.metadata?.labels),
        );
        if (pdbs.length !== 1) {
            report(s, `${pdbs.length} PodDisruptionBudgets select its pods (want exactly 1)`);
        }
    }

    for (const svc of byKind("Service")) {
        const ns = svc.metadata.namespace;
        const target = sts.find(
            (s) =>
                (s.metadata.namespace ?? "") === (ns ?? "") &&
                selects(svc.spec?.selector, s.spec?.template?.metadata?.labels),
        );
        if (!target) {
            report(svc, "its selector matches no pod template");
            continue;
        }
        const names = new Set(
            containers(target.spec.template).flatMap((c) => (c.ports ?? []).map((p) => p.name)),
        );
        for (const p of svc.spec?.ports ?? []) {
            if (typeof p.targetPort === "string" && !names.has(p.targetPort)) {
                report(svc, `port ${p.name}: targetPort '${p.targetPort}' is not a container port`);
            }
        }
    }

    for (const h of byKind("HorizontalPodAutoscaler")) {
        const ref = h.spec?.scaleTargetRef ?? {};
        const t = find(ref.kind, h.metadata.namespace, ref.name);
        if (!t) {
            report(h, `scaleTargetRef ${ref.kind}/${ref.name} is not defined`);
        } else if (!/^arena-(generator|judge)$/.test(ref.name)) {
            report(h, `${ref.name} must not autoscale (only generator and judge scale on CPU)`);
        }
        if (h.spec.maxReplicas > opt.partitions) {
            report(
                h,
                `maxReplicas ${h.spec.maxReplicas} > ${opt.partitions} partitions: ` +
                    "extra consumers would get no partition",
            );
        }
        if ((h.spec.minReplicas ?? 1) > h.spec.maxReplicas) {
            report(h, "minReplicas > maxReplicas");
        }
    }

    for (const p of byKind("PodDisruptionBudget")) {
        if (p.spec?.minAvailable === undefined && p.spec?.maxUnavailable === undefined) {
            report(p, "neither minAvailable nor maxUnavailable is set");
        }
    }

    for (const sec of byKind("Secret")) {
        for (const [k, v] of Object.entries(sec.data ?? {})) {
            const text = Buffer.from(v, "base64").toString("utf8");
            if (/^sk-[A-Za-z0-9_-]{20,}/.test(text)) {
                report(sec, `key ${k} looks like a real API key: commit placeholders only`);
            }
        }
    }

    const topics = byKind("KafkaTopic");
    if (topics.length > 0) {
        const names = new Map(topics.map((t) => [t.spec?.topicName ?? t.metadata.name, t]));
        for (const want of TOPICS) {
            if (!names.has(want)) {
                report({ kind: "KafkaTopic", metadata: { name: want } }, "topic missing");
            }
        }
        for (const [name, t] of names) {
            if (!TOPICS.includes(name)) {
                report(t, `unknown topic ${name}`);
            }
            if (t.spec?.partitions !== opt.partitions) {
                report(t, `partitions ${t.spec?.partitions}, expected ${opt.partitions}`);
            }
            const policy = t.spec?.config?.["cleanup.policy"] ?? "delete";
            if (name === "arena.ratings" && policy !== "compact") {
                report(t, "arena.ratings must have cleanup.policy=compact");
            }
            if (name !== "arena.ratings" && policy === "compact") {
                report(t, `${name} must not be compacted`);
            }
            if (!t.metadata?.labels?.["strimzi.io/cluster"]) {
                report(t, "no strimzi.io/cluster label: the Topic Operator would ignore it");
            }
        }
    }
}

// arena.yaml inside the ConfigMap: parses, has the service's section with the container
// settings the manifests assume (ops HTTP on :9090 for all interfaces, state on the PVC).
function checkArenaYaml(cm, svcName, report) {
    const text = cm.data?.["arena.yaml"];
    if (typeof text !== "string") {
        report(cm, "no arena.yaml key");
        return;
    }
    let cfg;
    try {
        cfg = YAML.parse(text, { uniqueKeys: true });
    } catch (e) {
        report(cm, `arena.yaml: ${e.message}`);
        return;
    }
    if (!cfg || typeof cfg !== "object") {
        report(cm, "arena.yaml is not a mapping");
        return;
    }
    if (!cfg.kafka || typeof cfg.kafka !== "object") {
        report(cm, "arena.yaml: no kafka: section");
    } else if (cfg.kafka["sasl.password"] !== undefined) {
        report(cm, "arena.yaml: kafka.sasl.password must come from a Secret, not the ConfigMap");
    }
    for (const m of cfg.models ?? []) {
        if (m.api_key !== undefined) {
            report(cm, `arena.yaml: model ${m.name}: use api_key_env/api_key_file, not a key`);
        }
    }
    const sec = cfg[svcName];
    if (!sec || typeof sec !== "object") {
        report(cm, `arena.yaml: no ${svcName}: section`);
        return;
    }
    if (sec.http_listen !== "0.0.0.0:9090") {
        report(cm, `arena.yaml: ${svcName}.http_listen is '${sec.http_listen}', expected 0.0.0.0:9090`);
    }
    if (sec.control !== "tcp://0.0.0.0:5555") {
        report(cm, `arena.yaml: ${svcName}.control is '${sec.control}', expected tcp://0.0.0.0:5555`);
    }
    if (sec.state_dir !== `/var/lib/arena/${svcName}`) {
        report(cm, `arena.yaml: ${svcName}.state_dir is '${sec.state_dir}', not on the PVC`);
    }
    if (svcName === "curator" && sec.shard_dir !== "/var/lib/arena/shards") {
        report(cm, `arena.yaml: curator.shard_dir is '${sec.shard_dir}', not on the shards PVC`);
    }
}

// ---- main -----------------------------------------------------------------------------------

let failed = 0;
for (const file of opt.files) {
    const errors = [];
    const report = (o, msg) => errors.push(`${id(o)}: ${msg}`);
    let docs;
    try {
        docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"));
    } catch (e) {
        console.error(`${file}: ${e.message}`);
        failed++;
        continue;
    }
    const objs = [];
    for (const [i, d] of docs.entries()) {
        if (d.errors.length > 0) {
            errors.push(`document ${i + 1}: ${d.errors.map((e) => e.message).join("; ")}`);
            continue;
        }
        const o = d.toJS();
        if (o === null || o === undefined) {
            continue;
        }
        if (typeof o !== "object" || !o.apiVersion || !o.kind || !o.metadata?.name) {
            errors.push(`document ${i + 1}: not a Kubernetes object (apiVersion, kind, metadata.name)`);
            continue;
        }
        if (o.kind === "Secret" && o.data && typeof o.data === "object") {
            // kustomize folds long base64 values over several lines; the API server's decoder
            // (Go encoding/base64) skips \r and \n, so the schema's "byte" check must too.
            for (const [k, v] of Object.entries(o.data)) {
                if (typeof v === "string") {
                    o.data[k] = v.replace(/[\r\n]/g, "");
                }
            }
        }
        objs.push(o);
        const cls = await modelClass(o.apiVersion, o.kind);
        if (!cls) {
            report(o, `no schema for ${o.apiVersion} ${o.kind}`);
            continue;
        }
        try {
            new cls(o).validate();
        } catch (e) {
            report(o, `schema: ${schemaErrors(e)}`);
        }
    }
    if (objs.length === 0) {
        errors.push("no Kubernetes objects");
    }
    checkPolicies(objs, report);
    if (errors.length > 0) {
        failed++;
        for (const e of errors) {
            console.error(`${file}: ${e}`);
        }
        console.error(`${file}: FAILED (${errors.length} errors in ${objs.length} objects)`);
    } else {
        const kinds = {};
        for (const o of objs) {
            kinds[o.kind] = (kinds[o.kind] ?? 0) + 1;
        }
        const summary = Object.entries(kinds)
            .map(([k, n]) => `${n} ${k}`)
            .join(", ");
        console.log(`${file}: ok (${objs.length} objects: ${summary})`);
    }
}
process.exit(failed > 0 ? 1 : 0);
