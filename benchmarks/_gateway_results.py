"""Results and reports of ``holter bench gateway`` (see :mod:`benchmarks._gateway`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Targets of issue #6.
CPU_TARGET_PCT = 1.0
LATENCY_TARGET_S = 1.0
FLAT_LIMIT_MB = 4.0

# -- results -------------------------------------------------------------------


@dataclass(frozen=True)
class CpuResult:
    """The gateway process's CPU time over a multi-patient stream."""

    records: tuple[str, ...]
    speed: float
    signal_s: float  # per patient
    cpu_s: float
    wall_s: float
    gateway_cpu: int
    alerts: int
    summaries: int
    worker_errors: tuple[str, ...] = ()

    @property
    def pct_per_patient(self) -> float:
        """% of one core per patient at real time."""
        return self.cpu_s / (len(self.records) * self.signal_s) * 100.0

    @property
    def kept_up(self) -> bool:
        """The stream ended within 10 % of its paced length (no back-pressure; unpaced: True)."""
        return self.speed <= 0 or self.wall_s <= 1.1 * self.signal_s / self.speed + 2.0


@dataclass(frozen=True)
class AlertTiming:
    """One alert's delay, split (seconds; None: raised at the end of the stream)."""

    patient: str
    type: str
    total_s: float | None
    lookahead_s: float | None
    processing_s: float | None
    mqtt_s: float | None


@dataclass(frozen=True)
class LatencyResult:
    """Alert latency over a paced stream."""

    records: tuple[str, ...]
    speed: float
    signal_s: float
    timings: tuple[AlertTiming, ...]
    published: int
    received: int
    worker_errors: tuple[str, ...] = ()

    def quantiles(self, attr: str = "total_s") -> dict[str, float]:
        """p50/p95/p99/max of one part of the delay over the timed alerts.

        ``attr`` "real_time_s" is the total with the lookahead scaled back to
        real time (lookahead * speed + processing + MQTT).
        """
        timed = [t for t in self.timings if t.total_s is not None]
        if attr == "real_time_s":
            v = np.array([t.lookahead_s * self.speed + t.processing_s + t.mqtt_s for t in timed])
        else:
            v = np.array([getattr(t, attr) for t in timed], float)
        if v.size == 0:
            return {}
        return {
            "p50": float(np.percentile(v, 50)),
            "p95": float(np.percentile(v, 95)),
            "p99": float(np.percentile(v, 99)),
            "max": float(v.max()),
        }


    def by_type(self) -> dict[str, tuple[float, float]]:
        """Median and maximum total delay of the timed alerts of each type."""
        out: dict[str, list[float]] = {}
        for t in self.timings:
            if t.total_s is not None:
                out.setdefault(t.type, []).append(t.total_s)
        return {k: (float(np.median(v)), float(np.max(v))) for k, v in out.items()}


@dataclass(frozen=True)
class RssResult:
    """RSS of one patient pipeline fed ``hours`` of ECG."""

    source: str
    hours: int
    rss_mb: tuple[float, ...]  # before the first block, then after each hour
    n_beats_approx: int
    seconds: float

    @property
    def growth_mb(self) -> float:
        return self.rss_mb[-1] - self.rss_mb[1]

    @property
    def growth_12_mb(self) -> float:
        """RSS growth over the second half (hour 12 to the last hour), in MB."""
        return self.rss_mb[-1] - self.rss_mb[min(12, self.hours)]

    @property
    def slope_mb_per_h(self) -> float:
        h = np.arange(1, len(self.rss_mb))
        return float(np.polyfit(h, np.array(self.rss_mb[1:]), 1)[0]) if h.size > 1 else 0.0

    @property
    def flat(self) -> bool:
        return self.growth_mb < FLAT_LIMIT_MB


@dataclass(frozen=True)
class GatewayBenchResult:
    cpu: CpuResult | None
    latency: LatencyResult | None
    rss: RssResult | None
    notes: tuple[str, ...] = field(default_factory=tuple)


# -- reports --------------------------------------------------------------------------------


def _q(d: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.3f}" for k, v in d.items()) or "no timed alerts"


def gateway_text(r: GatewayBenchResult) -> str:
    """Printable summary."""
    lines = []
    if r.cpu:
        c = r.cpu
        lines.append(
            f"CPU: {len(c.records)} patients x {c.signal_s:.0f} s at {c.speed:g}x, gateway on CPU "
            f"{c.gateway_cpu}: {c.cpu_s:.2f} CPU s in {c.wall_s:.1f} s wall -> "
            f"{c.pct_per_patient:.3f} % of a core per patient at real time (target <= "
            f"{CPU_TARGET_PCT} %); kept up: {c.kept_up}; {c.alerts} alerts, {c.summaries} summaries; "
            f"worker errors: {'; '.join(c.worker_errors) or 'none'}"
        )
    if r.latency:
        lat = r.latency
        timed = sum(t.total_s is not None for t in lat.timings)
        lines.append(
            f"latency: {', '.join(lat.records)} at {lat.speed:g}x, {lat.signal_s:.0f} s: "
            f"{lat.published} alerts published, {lat.received} received, {timed} timed; "
            f"worker errors: {'; '.join(lat.worker_errors) or 'none'}"
        )
        for part in ("total_s", "lookahead_s", "processing_s", "mqtt_s", "real_time_s"):
            lines.append(f"  {part:13s} {_q(lat.quantiles(part))}")
        kinds: dict[str, int] = {}
        for t in lat.timings:
            kinds[t.type] = kinds.get(t.type, 0) + 1
        lines.append("  alert types: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
        lines.append("  total_s by type (median / max): " + ", ".join(
            f"{k} {v[0]:.2f} / {v[1]:.2f}" for k, v in sorted(lat.by_type().items())))
    if r.rss:
        s = r.rss
        lines.append(
            f"RSS: {s.hours} h ({s.source}): hour 1 {s.rss_mb[1]:.1f} MB, "
            f"hour {min(12, s.hours)} {s.rss_mb[min(12, s.hours)]:.1f} MB, hour {s.hours} "
            f"{s.rss_mb[-1]:.1f} MB; growth {s.growth_mb:+.2f} MB, slope "
            f"{s.slope_mb_per_h:+.3f} MB/h ({'flat' if s.flat else 'NOT flat'}); "
            f"{s.n_beats_approx} beats, {s.seconds:.0f} s"
        )
        lines.append(
            f"  growth hour 12 -> {s.hours}: {s.growth_12_mb:+.2f} MB; RSS by hour: "
            + " ".join(f"{v:.1f}" for v in s.rss_mb)
        )
    lines.extend(r.notes)
    return "\n".join(lines)


def gateway_json(r: GatewayBenchResult, machine: dict[str, object]) -> dict[str, object]:
    """The JSON document for ``benchmarks/results/gateway.json``."""
    doc: dict[str, object] = {"benchmark": "gateway", "machine": machine, "notes": list(r.notes)}
    if r.cpu:
        c = r.cpu
        doc["cpu"] = {
            "records": list(c.records),
            "speed": c.speed,
            "signal_s_per_patient": c.signal_s,
            "cpu_s": round(c.cpu_s, 3),
            "wall_s": round(c.wall_s, 2),
            "gateway_cpu": c.gateway_cpu,
            "alerts": c.alerts,
            "summaries": c.summaries,
            "pct_core_per_patient_real_time": round(c.pct_per_patient, 4),
            "target_pct": CPU_TARGET_PCT,
            "met": c.pct_per_patient <= CPU_TARGET_PCT,
            "kept_up": c.kept_up,
            "worker_errors": list(c.worker_errors),
        }
    if r.latency:
        lat = r.latency
        doc["latency"] = {
            "records": list(lat.records),
            "speed": lat.speed,
            "signal_s": lat.signal_s,
            "published": lat.published,
            "received": lat.received,
            "worker_errors": list(lat.worker_errors),
            "quantiles_s": {
                p: lat.quantiles(p)
                for p in ("total_s", "lookahead_s", "processing_s", "mqtt_s", "real_time_s")
            },
            "target_p99_s": LATENCY_TARGET_S,
            "met": bool(lat.quantiles()) and lat.quantiles()["p99"] <= LATENCY_TARGET_S,
            "total_s_by_type": {k: {"median": v[0], "max": v[1]} for k, v in lat.by_type().items()},
            "alerts": [t.__dict__ for t in lat.timings],
        }
    if r.rss:
        s = r.rss
        doc["rss"] = {
            "source": s.source,
            "hours": s.hours,
            "rss_mb_by_hour": list(s.rss_mb),
            "growth_mb_hour1_to_last": round(s.growth_mb, 3),
            "growth_mb_hour12_to_last": round(s.growth_12_mb, 3),
            "slope_mb_per_h": round(s.slope_mb_per_h, 4),
            "flat_limit_mb": FLAT_LIMIT_MB,
            "flat": s.flat,
            "n_beats": s.n_beats_approx,
            "seconds": round(s.seconds, 1),
        }
    return doc


def gateway_markdown(r: GatewayBenchResult, machine: dict[str, object], command: str) -> str:
    """The markdown report for ``benchmarks/results/gateway.md``."""
    from benchmarks import _gateway
    from benchmarks._report import _machine_lines

    doc = (_gateway.__doc__ or "").split("\n\n", 1)[1]
    return "\n".join(
        [
            "# Edge gateway: CPU per patient, alert latency, RSS over 24 h",
            "",
            f"`{command}`",
            "",
            "## Results",
            "",
            "```",
            gateway_text(r),
            "```",
            "",
            "## What is measured",
            "",
            doc.strip(),
            "",
            "## Machine",
            "",
            *_machine_lines(machine),
            "",
        ]
    )
