"""deploy/grafana/fangpin-dashboard.json: valid, and every query uses metrics and labels that
the services export (shared/metrics.py when importable, else the documented contract)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.deploy.conftest import DEPLOY

DASHBOARD = DEPLOY / "grafana" / "fangpin-dashboard.json"

# name -> (type, labels): the metrics contract of the kernel.
CONTRACT: dict[str, tuple[str, tuple[str, ...]]] = {
    "fangpin_http_requests_total": ("counter", ("service", "method", "route", "status")),
    "fangpin_http_request_duration_seconds": ("histogram", ("service", "method", "route")),
    "fangpin_http_requests_in_flight": ("gauge", ("service",)),
    "fangpin_job_duration_seconds": ("histogram", ("service", "job")),
    "fangpin_job_rows_total": ("counter", ("service", "job", "outcome")),
    "fangpin_outbox_pending": ("gauge", ("service",)),
    "fangpin_outbox_delivered_total": ("counter", ("service", "target")),
    "fangpin_outbox_delivery_failures_total": ("counter", ("service", "target")),
}
REQUIRED = {
    "fangpin_http_requests_total",
    "fangpin_http_request_duration_seconds",
    "fangpin_job_duration_seconds",
    "fangpin_job_rows_total",
    "fangpin_outbox_pending",
    "fangpin_outbox_delivery_failures_total",
}
PROMQL_WORDS = {
    "sum",
    "by",
    "without",
    "rate",
    "irate",
    "increase",
    "histogram_quantile",
    "topk",
    "bottomk",
    "avg",
    "max",
    "min",
    "count",
    "le",
    "label_values",
    "on",
    "ignoring",
    "group_left",
    "or",
    "and",
}


def exported_metrics() -> dict[str, tuple[str, tuple[str, ...]]]:
    """What the code exports; falls back to the contract before shared/metrics.py exists."""
    try:
        import shared.metrics as metrics
    except ImportError:
        return CONTRACT
    from prometheus_client import Counter, Gauge, Histogram

    found = {}
    for value in vars(metrics).values():
        for cls, kind in ((Counter, "counter"), (Histogram, "histogram"), (Gauge, "gauge")):
            if isinstance(value, cls):
                name = value._name + ("_total" if kind == "counter" else "")
                found[name] = (kind, tuple(value._labelnames))
    return found


def series_names(metrics: dict[str, tuple[str, tuple[str, ...]]]) -> dict[str, tuple[str, ...]]:
    """Every series name Prometheus stores for these metrics, with its labels."""
    out: dict[str, tuple[str, ...]] = {}
    for name, (kind, labels) in metrics.items():
        out[name] = labels
        if kind == "histogram":
            out[name + "_bucket"] = (*labels, "le")
            out[name + "_sum"] = labels
            out[name + "_count"] = labels
    return out


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def all_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    panels = []
    for panel in dashboard["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))
    return panels


def expressions(dashboard: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for p in all_panels(dashboard) for t in p.get("targets", [])]
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query":
            exprs.append(var["definition"])
    return exprs


def test_code_exports_the_contract_metrics() -> None:
    exported = exported_metrics()
    for name in REQUIRED:
        assert name in exported, f"{name} is not exported"
        assert exported[name] == CONTRACT[name], f"{name}: {exported[name]} != contract {CONTRACT[name]}"


def test_dashboard_shape(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] == "fangpin-overview"
    assert dashboard["schemaVersion"] >= 36
    ids = [p["id"] for p in all_panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    names = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"datasource", "service"} <= names
    for panel in all_panels(dashboard):
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"])
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}"
            assert panel["targets"], panel["title"]


def test_queries_use_exported_metrics_and_labels(dashboard: dict[str, Any]) -> None:
    series = series_names(exported_metrics())
    used = set()
    for expr in expressions(dashboard):
        names = {n for n in re.findall(r"\b(fangpin_[a-z_]+)\b", expr)}
        assert names, f"no fangpin metric in {expr}"
        for name in names:
            assert name in series, f"{name} is not exported (query: {expr})"
            used.add(name)
        labels_in_expr = (
            set(series[next(iter(names))]) if len(names) == 1 else set.union(*(set(series[n]) for n in names))
        )
        for group in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr):
            for label in (label.strip() for label in group.split(",")):
                assert label in labels_in_expr, f"label {label} not on {names} (query: {expr})"
        for matcher in re.findall(r"\{([^}]*)\}", expr):
            for label in re.findall(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)", matcher):
                assert label in labels_in_expr, f"label {label} not on {names} (query: {expr})"
    for name in REQUIRED:
        assert any(s == name or s.startswith(name + "_") for s in used), f"no panel shows {name}"


def test_http_panels_cover_rate_errors_and_latency(dashboard: dict[str, Any]) -> None:
    text = "\n".join(expressions(dashboard))
    assert 'status=~"5.."' in text
    assert "histogram_quantile(0.95" in text
    assert "histogram_quantile(0.99" in text
    assert "by (service, method, route" in text
