"""Accuracy and speed benchmarks.

  holter bench qrs     EC57 beat-by-beat QRS statistics (bxb rules) on a PhysioNet
                       database, per record and gross; with --peers, NeuroKit2 and
                       wfdb XQRS on the same records, lead and process, with timings
  holter bench memory  RSS of the streaming detector fed 24 h in 1-s chunks
                       (exit status 1 when it is not flat)
  holter bench bridge  frame parsing + decoding throughput, and what reading a
                       24-h 3-lead ISHNE file adds to its analysis
  holter bench hrv     HRV of every chf2db / nsr2db record against NeuroKit2 on
                       the same NN series (agreement table)
  holter bench risk    risk model AUC with its 95 % CI, and the time of the RR
                       part (HRV, DC, HRT, ectopy, model, score) on a 24-h record
  holter bench delineation  QRS onset/offset and T end against qtdb q1c,
                       beside NeuroKit2's dwt delineator
  holter bench st      ST level error and ST episode Se / +P on MIT-BIH records
                       with known ST shifts added, false episodes under nstdb
                       baseline wander, and QT against qtdb q1c
  holter bench beats   EC57 VEB / SVEB statistics of the beat classifier end to
                       end (DS2, DS1, all records) and the speed of classifying 24 h
  holter bench rhythm  AF episode / duration Se and +P (epic style) and
                       ventricular couplets / runs (rxr style)
  holter bench pacing  paced beats labelled Q on the paced records, and beats
                       called paced on the 44 others (must be none)
  holter bench worker  alerts per second 1, 2, 4 holter cloud worker processes
                       drain from a pre-loaded broker queue into PostgreSQL
  holter bench store   alerts per second one writer stores into PostgreSQL and
                       SQLite (batches and one by one, with duplicates)
  holter bench dashboard  inbox page latency (p50/p95) of holter cloud serve over
                       HTTP on 1,000,000 alerts in PostgreSQL
  holter bench analyze the whole 24-h analysis + report (all 48 MIT-BIH records
                       joined) on one core: seconds and peak RSS
  holter bench gateway the edge gateway: CPU per patient (16 live devices, gateway
                       on one core), alert latency to the subscriber, 24-h RSS

Results are written with --write to benchmarks/results/ (markdown + JSON, with
the machine described).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from benchmarks._data import physionet_dir, require_physionet_dir


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``holter bench`` subcommands and their options."""
    sub = parser.add_subparsers(dest="bench", metavar="BENCHMARK", required=True)
    qrs = sub.add_parser("qrs", help="EC57 QRS statistics and speed, side by side with peers")
    qrs.add_argument(
        "--db",
        type=Path,
        help="database folder (default: mitdb in the PhysioNet folder, see HOLTER_PHYSIONET_DIR)",
    )
    qrs.add_argument(
        "--records", help="comma-separated record names (default: every annotated record)"
    )
    qrs.add_argument(
        "--leads",
        choices=("1", "all"),
        default="all",
        help="run our detector on all leads and on lead 0 (all, default) or on lead 0 only (1)",
    )
    qrs.add_argument(
        "--peers", action="store_true", help="also run NeuroKit2 and wfdb XQRS on lead 0"
    )
    qrs.add_argument(
        "--out", type=Path, help="results folder for --write (default: benchmarks/results)"
    )
    qrs.add_argument("--write", action="store_true", help="write qrs_<db>.md and .json")
    qrs.add_argument(
        "--no-cold-start", action="store_true", help="skip the cold-start subprocess timing"
    )
    qrs.add_argument(
        "--resample-hz",
        type=float,
        metavar="HZ",
        help="resample every record to HZ before detection (beats are scored at the "
        "record's own rate); results go to qrs_<db>_<HZ>hz",
    )
    mem = sub.add_parser("memory", help="RSS of the streaming detector fed 24 h in 1-s chunks")
    mem.add_argument(
        "--db", type=Path, help="MIT-BIH folder to loop (default: mitdb, else synthetic ECG)"
    )
    mem.add_argument("--hours", type=int, default=24, help="simulated hours (default 24)")
    mem.add_argument(
        "--out", type=Path, help="results folder for --write (default: benchmarks/results)"
    )
    mem.add_argument("--write", action="store_true", help="write memory.md and .json")
    bridge = sub.add_parser("bridge", help="frame parsing speed and 24-h ISHNE reading overhead")
    bridge.add_argument("--hours", type=float, default=24.0, help="length of the ISHNE file (default 24)")
    bridge.add_argument(
        "--out", type=Path, help="results folder for --write (default: benchmarks/results)"
    )
    bridge.add_argument("--write", action="store_true", help="write bridge.md and .json")
    for name, help_text in (
        ("hrv", "HRV agreement with NeuroKit2 on chf2db + nsr2db"),
        ("risk", "risk model AUC (95 %% CI) and RR-part timing on a 24-h record"),
        ("delineation", "QRS onset/offset, T end, P present vs qtdb q1c, beside NeuroKit2"),
    ):
        rr_parser = sub.add_parser(name, help=help_text)
        rr_parser.add_argument(
            "--out", type=Path, help="results folder for --write (default: benchmarks/results)"
        )
        rr_parser.add_argument("--write", action="store_true", help=f"write {name}.md and .json")
    for name, help_text in (
        ("beats", "EC57 VEB/SVEB of the beat classifier (DS2 inter-patient) and its speed"),
        ("rhythm", "AF episodes/duration (epic style) and ventricular runs (rxr style)"),
    ):
        lab = sub.add_parser(name, help=help_text)
        lab.add_argument("--db", type=Path, help="MIT-BIH folder (default: mitdb, HOLTER_PHYSIONET_DIR)")
        lab.add_argument("--records", help="comma-separated record names (default: all 48)")
        lab.add_argument(
            "--out", type=Path, help="results folder for --write (default: benchmarks/results)"
        )
        lab.add_argument("--write", action="store_true", help=f"write {name}_mitdb.md and .json")
    pacing = sub.add_parser(
        "pacing", help="paced beats labelled Q (102, 104, 107, 217) and none on the 44 others"
    )
    pacing.add_argument("--db", type=Path, help="MIT-BIH folder (default: mitdb, HOLTER_PHYSIONET_DIR)")
    pacing.add_argument("--records", help="comma-separated record names (default: all 48)")
    pacing.add_argument(
        "--out", type=Path, help="results folder for --write (default: benchmarks/results)"
    )
    pacing.add_argument("--write", action="store_true", help="write pacing_mitdb.md and .json")
    st = sub.add_parser(
        "st", help="ST error / episodes on MIT-BIH with known shifts, bw false episodes, QT vs q1c"
    )
    st.add_argument("--records", help="comma-separated mitdb record names (default: all but paced)")
    st.add_argument("--no-qt", action="store_true", help="skip the QT comparison on qtdb")
    st.add_argument(
        "--out", type=Path, help="results folder for --write (default: benchmarks/results)"
    )
    st.add_argument("--write", action="store_true", help="write st.md and .json")
    store = sub.add_parser(
        "store", help="alert store throughput (alerts/s) into PostgreSQL and SQLite"
    )
    store.add_argument(
        "--alerts", type=int, default=50_000, help="alerts stored in batches (default 50000)"
    )
    store.add_argument(
        "--single", type=int, default=5_000, help="alerts stored one by one (default 5000)"
    )
    store.add_argument("--batch-size", type=int, default=500, help="alerts per batch (default 500)")
    store.add_argument(
        "--backends",
        default="postgresql,sqlite",
        help="comma-separated: postgresql, sqlite (default both); PostgreSQL at "
        "HOLTER_BENCH_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres), "
        "in a throw-away database",
    )
    store.add_argument(
        "--inbox-alerts",
        type=int,
        default=0,
        metavar="N",
        help="also time inbox pages on a PostgreSQL store filled with N alerts (0: skip; "
        "the committed results use 1000000)",
    )
    store.add_argument(
        "--out", type=Path, help="results folder for --write (default: benchmarks/results)"
    )
    store.add_argument("--write", action="store_true", help="write store.md and .json")
    worker = sub.add_parser(
        "worker", help="alerts per second holter cloud worker processes store into PostgreSQL"
    )
    worker.add_argument("--alerts", type=int, default=50_000, help="distinct alerts (default 50000)")
    worker.add_argument("--workers", default="1,2,4", help="worker counts to run (default 1,2,4)")
    worker.add_argument("--batch-size", type=int, default=500, help="[batch] max_messages (default 500)")
    worker.add_argument("--out", type=Path, help="results folder for --write (default: benchmarks/results)")
    worker.add_argument("--write", action="store_true", help="write worker.md and .json")
    dash = sub.add_parser(
        "dashboard", help="inbox page latency over HTTP on a PostgreSQL store of N alerts"
    )
    dash.add_argument("--alerts", type=int, default=1_000_000, help="alerts bulk-loaded (default 1000000)")
    dash.add_argument("--requests", type=int, default=200, help="timed requests per row (default 200)")
    dash.add_argument(
        "--out", type=Path, help="results folder for --write (default: benchmarks/results)"
    )
    dash.add_argument("--write", action="store_true", help="write dashboard.md and .json")
    analyze = sub.add_parser(
        "analyze", help="24-h analysis + report (48 MIT-BIH records joined): time and peak RSS"
    )
    analyze.add_argument("--db", type=Path, help="MIT-BIH folder (default: mitdb, HOLTER_PHYSIONET_DIR)")
    analyze.add_argument(
        "--out", type=Path, help="results folder for --write (default: benchmarks/results)"
    )
    analyze.add_argument("--write", action="store_true", help="write analyze.md and .json")
    gw = sub.add_parser(
        "gateway", help="edge gateway: CPU per patient (16 devices, one core), alert latency, 24-h RSS"
    )
    gw.add_argument("--db", type=Path, help="MIT-BIH folder (default: mitdb, else the bundled records)")
    gw.add_argument("--patients", type=int, default=16, help="simulated devices (default 16)")
    gw.add_argument("--speed", type=float, default=10.0, help="CPU run speed (default 10x)")
    gw.add_argument("--signal-s", type=float, default=900.0, help="CPU run seconds per device (default 900)")
    gw.add_argument(
        "--latency-speed", type=float, default=1.0, help="latency run speed (default 1x, real time)"
    )
    gw.add_argument(
        "--latency-s", type=float, default=360.0, help="latency run seconds per device (default 360)"
    )
    gw.add_argument("--hours", type=int, default=24, help="RSS run hours (default 24)")
    gw.add_argument("--out", type=Path, help="results folder for --write (default: benchmarks/results)")
    gw.add_argument("--write", action="store_true", help="write gateway.md and .json")


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _write(args: argparse.Namespace, stem: str, markdown, document, machine=None) -> None:
    """Write ``stem``.md and ``stem``.json to ``--out`` (default benchmarks/results).

    ``markdown`` and ``document`` build the two from the machine description
    (``machine``, by default that of this machine).
    """
    from benchmarks import _report

    machine = machine if machine is not None else _report.machine_description()
    paths = _report.write_report(
        args.out or _report.RESULTS_DIR, stem, markdown(machine), document(machine)
    )
    for p in paths:
        _progress(f"wrote {p}")


def _command() -> str:
    return "holter bench " + " ".join(shlex.quote(a) for a in sys.argv[2:])


def _run_st(args: argparse.Namespace) -> int:
    from benchmarks import _st

    records = [r.strip() for r in args.records.split(",") if r.strip()] if args.records else None
    result = _st.run_st_bench(
        require_physionet_dir("mitdb"), physionet_dir("nstdb"),
        None if args.no_qt else physionet_dir("qtdb"), records, _progress,
    )
    print(_st.st_text(result))
    if args.write:
        _write(
            args,
            "st",
            lambda machine: _st.st_markdown(result, machine, _command()),
            lambda machine: _st.st_json(result, machine),
        )
    return 0


def _run_qrs(args: argparse.Namespace) -> int:
    from benchmarks import _report
    from benchmarks._qrs_bench import measure_cold_start, run_qrs_bench

    db = args.db if args.db is not None else require_physionet_dir("mitdb")
    records = [r.strip() for r in args.records.split(",") if r.strip()] if args.records else None
    if args.resample_hz is not None and not 100.0 <= args.resample_hz <= 1000.0:
        raise ValueError(f"--resample-hz must be between 100 and 1000, got {args.resample_hz:g}")
    result = run_qrs_bench(
        db, records, leads=args.leads, peers=args.peers, resample_hz=args.resample_hz,
        progress=_progress,
    )
    print(_report.format_qrs_text(result))
    if not args.write:
        return 0
    cold = None
    if not args.no_cold_start:
        _progress("timing the cold start in fresh processes ...")
        cold = measure_cold_start()
        print(
            f"cold start: import dsp {cold.import_s:.3f} s; first call {cold.first_call_no_cache_s:.3f} s "
            f"without Numba cache, {cold.first_call_cached_s:.3f} s with it; "
            f"second call {cold.second_call_s * 1000:.2f} ms"
        )
    _write(
        args,
        f"qrs_{result.db_name}",
        lambda machine: _report.qrs_result_markdown(result, cold, machine, _command()),
        lambda machine: _report.qrs_result_json(result, cold, machine),
    )
    return 0


def _run_memory(args: argparse.Namespace) -> int:
    from benchmarks._memory_bench import memory_json, memory_markdown, memory_text, run_memory_bench

    db = args.db if args.db is not None else physionet_dir("mitdb")
    if db is not None and not Path(db).is_dir():
        raise FileNotFoundError(f"database folder not found: {db}")
    result = run_memory_bench(db, hours=args.hours, progress=_progress)
    print(memory_text(result))
    if args.write:
        _write(
            args,
            "memory",
            lambda machine: memory_markdown(result, machine, _command()),
            lambda machine: memory_json(result, machine),
        )
    return 0 if result.flat else 1


def _run_bridge(args: argparse.Namespace) -> int:
    from benchmarks._bridge_bench import bridge_json, bridge_markdown, bridge_text, run_bridge_bench

    result = run_bridge_bench(hours=args.hours, progress=_progress)
    print(bridge_text(result))
    if args.write:
        _write(
            args,
            "bridge",
            lambda machine: bridge_markdown(result, machine, _command()),
            lambda machine: bridge_json(result, machine),
        )
    return 0


def _run_rr(args: argparse.Namespace) -> int:
    from benchmarks import _rr_bench

    root = require_physionet_dir()
    if args.bench != "delineation":
        for db in _rr_bench.DATABASES:
            require_physionet_dir(db)
    if args.bench == "delineation":
        from benchmarks import _delineation_bench as dl

        result = dl.run_split(require_physionet_dir("qtdb"), _progress)
        text, md, doc = dl.delineation_text, dl.delineation_markdown, dl.delineation_json
    elif args.bench == "hrv":
        result = _rr_bench.run_hrv_bench(root, _progress)
        text, md, doc = _rr_bench.hrv_text, _rr_bench.hrv_markdown, _rr_bench.hrv_json
    else:
        result = _rr_bench.run_risk_bench(root, _progress)
        text, md, doc = _rr_bench.risk_text, _rr_bench.risk_markdown, _rr_bench.risk_json
    print(text(result))
    if args.write:
        _write(
            args,
            args.bench,
            lambda machine: md(result, machine, _command()),
            lambda machine: doc(result, machine),
        )
    return 0


def _run_store(args: argparse.Namespace) -> int:
    from benchmarks import _report
    from benchmarks import _store_bench as sb

    backends = tuple(b.strip() for b in args.backends.split(",") if b.strip())
    unknown = sorted(set(backends) - {"postgresql", "sqlite"})
    if unknown or not backends:
        raise ValueError(f"--backends takes postgresql and/or sqlite, got {args.backends!r}")
    runs = sb.run_store_bench(
        n_alerts=args.alerts,
        n_single=args.single,
        batch_size=args.batch_size,
        backends=backends,
        progress=_progress,
    )
    print(sb.store_text(runs))
    inbox = None
    if args.inbox_alerts:
        inbox = sb.run_inbox_bench(n_stored=args.inbox_alerts, progress=_progress)
        print(sb.inbox_text(inbox))
    if args.write:
        _write(
            args,
            "store",
            lambda machine: sb.store_markdown(runs, machine, _command(), inbox),
            lambda machine: sb.store_json(runs, machine, inbox),
            machine={**_report.machine_description(), **sb.store_versions()},
        )
    return 0


def _run_analyze(args: argparse.Namespace) -> int:
    from benchmarks import _analyze

    db = args.db if args.db is not None else require_physionet_dir("mitdb")
    result = _analyze.run_analyze_bench(db, _progress)
    print(_analyze.analyze_text(result))
    if args.write:
        _write(
            args,
            "analyze",
            lambda machine: _analyze.analyze_markdown(result, machine, _command()),
            lambda machine: _analyze.analyze_json(result, machine),
        )
    return 0


def _run_dashboard(args: argparse.Namespace) -> int:
    from benchmarks import _dashboard as db

    result = db.run_dashboard_bench(n_alerts=args.alerts, requests=args.requests, progress=_progress)
    print(db.dashboard_text(result))
    if args.write:
        _write(
            args,
            "dashboard",
            lambda machine: db.dashboard_markdown(result, machine, _command()),
            lambda machine: db.dashboard_json(result, machine),
        )
    return 0


def _run_worker(args: argparse.Namespace) -> int:
    from benchmarks import _worker

    runs = _worker.run_worker_bench(
        n_alerts=args.alerts, batch_max_messages=args.batch_size, progress=_progress,
        worker_counts=tuple(int(n) for n in args.workers.split(",")),
    )  # fmt: skip
    print(_worker.worker_text(runs))
    if args.write:
        from benchmarks import _report

        machine = _report.machine_description() | _worker.worker_machine_notes()
        _write(args, "worker", lambda m: _worker.worker_markdown(runs, m, _command()),
               lambda m: _worker.worker_json(runs, m), machine)  # fmt: skip
    return 0


def _run_gateway(args: argparse.Namespace) -> int:
    from benchmarks import _gateway as gb

    db = args.db if args.db is not None else physionet_dir("mitdb")
    result = gb.run_gateway_bench(
        db, patients=args.patients, cpu_speed=args.speed, cpu_signal_s=args.signal_s,
        latency_speed=args.latency_speed, latency_signal_s=args.latency_s, hours=args.hours,
        progress=_progress,
    )  # fmt: skip
    print(gb.gateway_text(result))
    if args.write:
        _write(args, "gateway", lambda m: gb.gateway_markdown(result, m, _command()),
               lambda m: gb.gateway_json(result, m))  # fmt: skip
    return 0


def _run_pacing(args: argparse.Namespace) -> int:
    from benchmarks import _pacing_bench as pb

    db = args.db if args.db is not None else require_physionet_dir("mitdb")
    records = [r.strip() for r in args.records.split(",") if r.strip()] if args.records else None
    result = pb.run_pacing_bench(db, records, _progress)
    print(pb.pacing_text(result))
    if args.write:
        _write(args, "pacing_mitdb", lambda m: pb.pacing_markdown(result, m, _command()),
               lambda m: pb.pacing_json(result, m))  # fmt: skip
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the chosen benchmark; returns the exit status."""
    if args.bench == "pacing":
        return _run_pacing(args)
    if args.bench == "st":
        return _run_st(args)
    if args.bench in ("hrv", "risk", "delineation"):
        return _run_rr(args)
    if args.bench in ("beats", "rhythm"):
        from benchmarks._beats_report import run_cli

        return run_cli(args, _progress, _command())
    if args.bench == "qrs":
        return _run_qrs(args)
    if args.bench == "bridge":
        return _run_bridge(args)
    if args.bench == "store":
        return _run_store(args)
    if args.bench == "worker":
        return _run_worker(args)
    if args.bench == "dashboard":
        return _run_dashboard(args)
    if args.bench == "analyze":
        return _run_analyze(args)
    if args.bench == "gateway":
        return _run_gateway(args)
    return _run_memory(args)
