#!/usr/bin/env python3
# Generates dashboards/arena.json (Grafana dashboard of the arena_* metrics contract).
#   python3 deploy/compose/grafana/gen_dashboard.py > deploy/compose/grafana/dashboards/arena.json
import json
DS = {"type": "prometheus", "uid": "${datasource}"}
S = 'service=~"$service"'
panels = []
pid = [0]
y = [0]

def nid():
    pid[0] += 1
    return pid[0]

def row(title):
    panels.append({"type": "row", "title": title, "id": nid(), "collapsed": False,
                   "gridPos": {"h": 1, "w": 24, "x": 0, "y": y[0]}, "panels": []})
    y[0] += 1

x = [0]
def panel(title, targets, unit="short", kind="timeseries", w=8, h=8, desc="", stack=False,
          mn=None, mx=None):
    if x[0] + w > 24:
        x[0] = 0
        y[0] += h
    p = {"type": kind, "title": title, "id": nid(), "datasource": DS, "description": desc,
         "gridPos": {"h": h, "w": w, "x": x[0], "y": y[0]},
         "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
         "options": {"legend": {"displayMode": "table", "placement": "bottom",
                                "calcs": ["lastNotNull", "max"]},
                     "tooltip": {"mode": "multi", "sort": "desc"}},
         "targets": []}
    if mn is not None:
        p["fieldConfig"]["defaults"]["min"] = mn
    if mx is not None:
        p["fieldConfig"]["defaults"]["max"] = mx
    if kind == "timeseries" and stack:
        p["fieldConfig"]["defaults"]["custom"] = {"stacking": {"mode": "normal"}, "fillOpacity": 30}
    if kind == "stat":
        p["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                        "colorMode": "background", "graphMode": "none", "textMode": "auto"}
    for i, (expr, legend) in enumerate(targets):
        p["targets"].append({"refId": chr(65 + i), "datasource": DS, "expr": expr,
                             "legendFormat": legend, "range": True})
    panels.append(p)
    x[0] += w
    if x[0] >= 24:
        x[0] = 0
        y[0] += h

def newrow(title):
    if x[0] != 0:
        x[0] = 0
        y[0] += 8
    row(title)

newrow("Fleet")
panel("Services up", [(f'arena_service_up{{{S}}}', "{{service}} {{version}}")], kind="stat", w=8, h=5,
      desc="arena_service_up: 1 per running service process (labels service, version).")
panel("Paused", [(f'arena_paused{{{S}}}', "{{service}} {{instance}}")], kind="stat", w=8, h=5,
      desc="arena_paused: 1 while a service is paused through its control socket (arenactl pause).")
panel("RocksDB state size", [(f'arena_store_size_bytes{{{S}}}', "{{service}} {{instance}}")], unit="bytes", kind="stat", w=8, h=5,
      desc="arena_store_size_bytes: size of each service's RocksDB state.")
newrow("Battles")
panel("Battles by outcome /s", [(f'sum by (service, outcome) (rate(arena_battles_total{{{S}}}[$__rate_interval]))', "{{service}} {{outcome}}")], unit="ops", stack=True,
      desc="arena_battles_total{outcome}: judge verdicts (model_a, model_b, tie, judge_error, generation_error) and battles rated by the rater.")
panel("Battles issued /s and duplicates /s", [
    (f'sum(rate(arena_battles_issued_total{{{S}}}[$__rate_interval]))', "issued (sampler)"),
    (f'sum by (service) (rate(arena_battles_duplicate_total{{{S}}}[$__rate_interval]))', "duplicates ignored ({{service}})")], unit="ops",
      desc="arena_battles_issued_total (sampler) and arena_battles_duplicate_total (replayed battle ids ignored by sampler, rater, curator).")
panel("Battles in flight", [(f'sum by (service) (arena_inflight_battles{{{S}}})', "{{service}}")],
      desc="arena_inflight_battles: sampler = issued and not yet resulted (bounded by max_in_flight); generator/judge = in progress.")
panel("Judge error share", [
    (f'sum(rate(arena_battles_total{{service=~"$service",outcome=~"judge_error|generation_error"}}[$__rate_interval])) / clamp_min(sum(rate(arena_battles_total{{service=~"$service"}}[$__rate_interval])), 1e-9)', "errors / all")],
      unit="percentunit", mn=0, mx=1, desc="Share of battles that ended in judge_error or generation_error.")
newrow("Kafka")
panel("Consumed /s by topic", [(f'sum by (topic) (rate(arena_messages_consumed_total{{{S}}}[$__rate_interval]))', "{{topic}}")], unit="ops",
      desc="arena_messages_consumed_total{topic}.")
panel("Produced /s by topic", [(f'sum by (topic) (rate(arena_messages_produced_total{{{S}}}[$__rate_interval]))', "{{topic}}")], unit="ops",
      desc="arena_messages_produced_total{topic}: acknowledged by the broker.")
panel("Consumer lag", [(f'sum by (service, topic) (arena_consumer_lag_messages{{{S}}})', "{{service}} {{topic}}")],
      desc="arena_consumer_lag_messages{topic}: messages behind the partition end. Scale generator/judge out (up to the partition count) when it grows.")
panel("Produce errors /s", [(f'sum by (service, topic) (rate(arena_produce_errors_total{{{S}}}[$__rate_interval]))', "{{service}} {{topic}}")], unit="ops",
      desc="arena_produce_errors_total{topic}: delivery reports with an error.")
panel("Dead-letter queue /s", [(f'sum by (service, topic, reason) (rate(arena_dlq_messages_total{{{S}}}[$__rate_interval]))', "{{service}} {{topic}} {{reason}}")], unit="ops",
      desc="arena_dlq_messages_total{topic,reason}: input messages sent to arena.dlq (undecodable or invalid).")
newrow("Model calls")
panel("Model calls /s", [(f'sum by (model, status) (rate(arena_model_calls_total{{{S}}}[$__rate_interval]))', "{{model}} {{status}}")], unit="ops",
      desc="arena_model_calls_total{model,status}: completed model calls, ok or error (after retries).")
panel("Model call latency p50 / p95 / p99", [
    (f'histogram_quantile(0.5, sum by (model, le) (rate(arena_model_call_duration_seconds_bucket{{{S}}}[$__rate_interval])))', "p50 {{model}}"),
    (f'histogram_quantile(0.95, sum by (model, le) (rate(arena_model_call_duration_seconds_bucket{{{S}}}[$__rate_interval])))', "p95 {{model}}"),
    (f'histogram_quantile(0.99, sum by (model, le) (rate(arena_model_call_duration_seconds_bucket{{{S}}}[$__rate_interval])))', "p99 {{model}}")], unit="s",
      desc="arena_model_call_duration_seconds{model} histogram.")
panel("Retries /s by reason", [(f'sum by (model, reason) (rate(arena_model_call_retries_total{{{S}}}[$__rate_interval]))', "{{model}} {{reason}}")], unit="ops",
      desc="arena_model_call_retries_total{model,reason}: timeout, connect, http_429, http_5xx, parse.")
panel("Tokens /s", [(f'sum by (model, kind) (rate(arena_model_tokens_total{{{S}}}[$__rate_interval]))', "{{model}} {{kind}}")], stack=True,
      desc="arena_model_tokens_total{model,kind}: prompt and completion tokens reported by the backend.")
panel("Cache hit ratio", [(f'sum by (cache) (rate(arena_cache_requests_total{{service=~"$service",result="hit"}}[$__rate_interval])) / clamp_min(sum by (cache) (rate(arena_cache_requests_total{{{S}}}[$__rate_interval])), 1e-9)', "{{cache}}")],
      unit="percentunit", mn=0, mx=1, desc="arena_cache_requests_total{cache,result}: response cache (generator) and judgment cache (judge).")
panel("Average model call duration", [(f'sum by (model) (rate(arena_model_call_duration_seconds_sum{{{S}}}[$__rate_interval])) / clamp_min(sum by (model) (rate(arena_model_call_duration_seconds_count{{{S}}}[$__rate_interval])), 1e-9)', "{{model}}")], unit="s",
      desc="Mean of arena_model_call_duration_seconds.")
newrow("Judge")
panel("Position disagreement", [(f'arena_judge_position_disagreement_ratio{{{S}}}', "{{instance}}")], unit="percentunit", mn=0, mx=1,
      desc="arena_judge_position_disagreement_ratio: share of battles whose two position orders disagree (position bias).")
panel("Mean score by position", [(f'avg by (position) (arena_judge_position_mean_score{{{S}}})', "{{position}}")], mn=0, mx=10,
      desc="arena_judge_position_mean_score{position}: mean score given to the answer shown first / second.")
panel("Prompt pipeline /s", [(f'sum by (stage, decision) (rate(arena_prompts_total{{{S}}}[$__rate_interval]))', "{{stage}} {{decision}}")], unit="ops", stack=True,
      desc="arena_prompts_total{stage,decision}: sampler data pipeline (min_length, prefix_dup, minhash_dup, decontam, language, accepted).")
newrow("Leaderboard and training data")
panel("Rating by model", [(f'max by (model) (arena_rating{{{S}}})', "{{model}}")], w=12,
      desc="arena_rating{model}: current Bradley-Terry rating (rater).")
panel("Rater fit duration p50 / p95", [
    (f'histogram_quantile(0.5, sum by (le) (rate(arena_rater_fit_duration_seconds_bucket{{{S}}}[$__rate_interval])))', "p50"),
    (f'histogram_quantile(0.95, sum by (le) (rate(arena_rater_fit_duration_seconds_bucket{{{S}}}[$__rate_interval])))', "p95")], unit="s", w=12,
      desc="arena_rater_fit_duration_seconds: Bradley-Terry fit plus bootstrap.")
panel("Curated examples /s", [(f'sum by (kind) (rate(arena_curator_examples_total{{{S}}}[$__rate_interval]))', "{{kind}}")], unit="ops", stack=True, w=12,
      desc="arena_curator_examples_total{kind}: sft, dpo, rm examples written.")
panel("Shards published", [(f'sum by (kind) (arena_curator_shards_total{{{S}}})', "{{kind}}")], w=12,
      desc="arena_curator_shards_total{kind}: shards cut and announced on arena.shards.")

dash = {
    "uid": "arena-flywheel",
    "title": "Arena Flywheel",
    "tags": ["arena"],
    "timezone": "",
    "schemaVersion": 39,
    "version": 1,
    "editable": False,
    "graphTooltip": 1,
    "refresh": "10s",
    "time": {"from": "now-1h", "to": "now"},
    "annotations": {"list": []},
    "templating": {"list": [
        {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source",
         "current": {"text": "Prometheus", "value": "arena-prometheus"}, "hide": 0},
        {"name": "service", "type": "query", "label": "Service", "datasource": DS,
         "query": {"query": "label_values(arena_service_up, service)", "refId": "service"},
         "definition": "label_values(arena_service_up, service)",
         "refresh": 2, "includeAll": True, "multi": True, "allValue": ".*",
         "current": {"text": "All", "value": "$__all"}, "hide": 0, "sort": 1}]},
    "panels": panels,
}
print(json.dumps(dash, indent=2))
