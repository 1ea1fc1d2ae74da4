"""Results: kept in ``bench/results.json`` (one entry per scenario and size, replaced by each new run) and
rendered into ``docs/benchmarks.md`` with the machine, the versions and the exact commands."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results.json"
DOC = ROOT / "docs" / "benchmarks.md"
WHERE_TIME_GOES = ROOT / "bench" / "where_time_goes.md"

_ORDER = ("cold", "warm", "start", "latency", "archive", "big", "serve", "rebuild")
_TITLES = {
    "cold": "Cold full build vs. Hugo",
    "warm": "Warm start (nothing changed, parse cache present) vs. Hugo",
    "latency": "New post while serving: time until the category feed has it",
    "big": "Cold build of a large corpus: wall time, peak RSS, scaling",
    "serve": "Serving a 50-entry category feed (wrk) vs. a bare Starlette app and nginx",
    "rebuild": "Serving while the corpus is rebuilt every second",
    "start": "Server start (exec until ready and every subscription feed answered) vs. Hugo's full build",
    "archive": "An archive page requested for the first time",
}


def _run(command: list[str]) -> str:
    if shutil.which(command[0]) is None and not Path(command[0]).exists():
        return "not installed"
    proc = subprocess.run(command, capture_output=True, text=True, timeout=30)
    return (proc.stdout + proc.stderr).strip().splitlines()[0] if (proc.stdout + proc.stderr).strip() else "?"


def machine() -> dict[str, str]:
    cpu = "?"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        match = re.search(r"^model name\s*:\s*(.+)$", f.read(), re.M)
        if match:
            cpu = match.group(1)
    with open("/proc/meminfo", encoding="utf-8") as f:
        mem_match = re.search(r"^MemTotal:\s+(\d+) kB", f.read(), re.M)
    memory = f"{int(mem_match.group(1)) / 1024 / 1024:.1f} GiB" if mem_match else "?"
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "hugo": _run(["hugo", "version"]),
        "wrk": _run(["wrk", "--version"]),
        "nginx": _run(["/usr/sbin/nginx", "-v"]),
        "commit": commit.stdout.strip() or "?",
    }


def load() -> dict[str, Any]:
    if RESULTS.exists():
        data: dict[str, Any] = json.loads(RESULTS.read_text(encoding="utf-8"))
        return data
    return {"results": {}}


def record(result: dict[str, Any], environment: dict[str, str], command: str) -> None:
    data = load()
    key = f"{result['scenario']}-{result['size']}"
    data["results"][key] = {**result, "machine": environment, "bench_command": command}
    RESULTS.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _fmt(value: Any, unit: str = "") -> str:
    if isinstance(value, float):
        if value >= 100:
            return f"{value:,.0f}{unit}"
        if value >= 1:
            return f"{value:.2f}{unit}"
        return f"{value:.3f}{unit}"
    return f"{value}{unit}"


def _met(value: Any) -> str:
    return {True: "**met**", False: "**missed**", None: "—"}.get(value, "?")


def _table(scenario: str, size: int, row: dict[str, Any]) -> list[str]:
    if scenario in ("cold", "warm"):
        return [
            "| posts | ours (median) | Hugo (median) | ratio | target | result | ours peak RSS |",
            "|---:|---:|---:|---:|---|---|---:|",
            f"| {size:,} | {_fmt(row['ours_s'], ' s')} | {_fmt(row['hugo_s'], ' s')} | {row['ratio']:.2f}× "
            f"| {row['target']} | {_met(row['met'])} | {row['ours_max_rss_mib']:.0f} MiB |",
            "",
            f"Samples (s): ours {row['ours_samples']}, Hugo {row['hugo_samples']}.",
        ]
    if scenario == "start":
        return [
            "| posts | start | ours (median) | Hugo (median) | ratio | target | result | peak RSS, all processes |",
            "|---:|---|---:|---:|---:|---|---|---:|",
            f"| {size:,} | {row['case']} | {_fmt(row['ours_s'], ' s')} | {_fmt(row['hugo_s'], ' s')} | "
            f"{row['ratio']:.2f}× | {row['target']} | {_met(row['met'])} | {row['ours_max_rss_mib']:.0f} MiB |",
            "",
            f"Samples (s): ours {row['ours_samples']}, Hugo {row['hugo_samples']}; {row['feeds']} feeds answered."
            + (
                f" Exec → /readyz 200 (median): {_fmt(row['ours_ready_s'], ' s')}, samples {row['ours_ready_samples']}."
                if "ours_ready_s" in row
                else ""
            )
            + (
                f" Start floor (bench/startfloor.py, median): {_fmt(row['floor_s'], ' s')}, "
                f"{row['floor_s'] / row['hugo_s']:.2f}× Hugo; ours {row['ours_s'] / row['floor_s']:.2f}× the floor; "
                f"samples {row['floor_samples']}."
                if "floor_s" in row and row["case"] == "warm"
                else ""
            ),
            "",
        ]
    if scenario == "archive":
        return [
            "| posts | p50 | p95 | max | pages requested | archive pages | target | result |",
            "|---:|---:|---:|---:|---:|---:|---|---|",
            f"| {size:,} | {row['p50_ms']:.1f} ms | {row['p95_ms']:.1f} ms | {row['max_ms']:.1f} ms | "
            f"{row['trials']} | {row['pages']:,} | {row['target']} | {_met(row['met'])} |",
        ]
    if scenario == "latency":
        return [
            "| posts | p50 | p95 | max | trials | not seen in 30 s | target | result |",
            "|---:|---:|---:|---:|---:|---:|---|---|",
            f"| {size:,} | {row['p50_ms']:.0f} ms | {row['p95_ms']:.0f} ms | {row['max_ms']:.0f} ms | "
            f"{row['trials']} | {row['misses']} | {row['target']} | {_met(row['met'])} |",
        ]
    if scenario == "big":
        return [
            "| posts | wall time | peak RSS | reference | ratio | target | result |",
            "|---:|---:|---:|---:|---:|---|---|",
            f"| {size:,} | {_fmt(row['ours_s'], ' s')} | {row['max_rss_mib']:.0f} MiB | "
            f"{row['reference_size']:,} posts: {_fmt(row['reference_s'], ' s')} | {row['ratio']:.1f}× | "
            f"{row['target']} | {_met(row['met'])} |",
        ]
    raise AssertionError(scenario)


def _wrk_table(size: int, rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| posts | case | ours req/s | peer req/s | ratio | target | result | ours statuses | peer statuses |",
        "|---:|---|---:|---:|---:|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {size:,} | {row['case']} | {row['ours_rps']:,.0f} | {row['peer_rps']:,.0f} | {row['ratio']:.2f}× | "
            f"{row['target']} | {_met(row['met'])} | {row['ours_statuses']} (errors {row['ours_errors']}) | "
            f"{row['peer_statuses']} |"
        )
    return lines


def _headline(scenario: str, row: dict[str, Any]) -> str:
    if scenario in ("cold", "warm"):
        return f"{_fmt(row['ours_s'], ' s')} vs. Hugo {_fmt(row['hugo_s'], ' s')}: {row['ratio']:.2f}×"
    if scenario == "start":
        return f"{row['case']}: {_fmt(row['ours_s'], ' s')} vs. Hugo {_fmt(row['hugo_s'], ' s')}: {row['ratio']:.2f}×"
    if scenario in ("latency", "archive"):
        return f"p50 {row['p50_ms']:.1f} ms, p95 {row['p95_ms']:.1f} ms"
    if scenario == "big":
        rss = row["max_rss_mib"]
        return f"{_fmt(row['ours_s'], ' s')}, peak RSS {rss:.0f} MiB, {row['ratio']:.1f}× the tenth-size time"
    return f"{row['case']}: {row['ours_rps']:,.0f} vs. {row['peer_rps']:,.0f} req/s: {row['ratio']:.2f}×"


def _summary(results: dict[str, Any]) -> list[str]:
    lines = ["## Summary", "", "| scenario | posts | figure | target | result |", "|---|---:|---|---|---|"]
    for scenario in _ORDER:
        for entry in sorted((r for r in results.values() if r["scenario"] == scenario), key=lambda r: r["size"]):
            for row in entry["rows"]:
                lines.append(
                    f"| {scenario} | {entry['size']:,} | {_headline(scenario, row)} | {row['target']} | "
                    f"{_met(row['met'])} |"
                )
    return [*lines, ""]


def render() -> str:
    data = load()
    results: dict[str, Any] = data["results"]
    lines = [
        "# Benchmarks",
        "",
        "Generated by `python -m bench` (bench/report.py) from bench/results.json; do not edit by hand except",
        "bench/where_time_goes.md, which is included below. Every ratio compares figures taken in the same run",
        "on the same machine; absolute figures from another machine are not comparable.",
        "",
        "Run everything: `python -m bench all` (5–10 minutes here, plus ~2 minutes to generate the 100k corpus the",
        "first time); one scenario: `python -m bench cold --sizes 1000,10000`; a smoke run, not recorded here:",
        "`python -m bench all --quick`.",
        "Corpora are generated by bench/corpus.py from seed 1 (same seed, byte-identical posts) under `--workdir`",
        "(default /tmp/syndicate-bench).",
        "",
    ]
    machines = {
        json.dumps({k: v for k, v in r["machine"].items() if k != "commit"}, sort_keys=True) for r in results.values()
    }
    for m in sorted(machines):
        env = json.loads(m)
        lines += [
            f"Machine: {env['cores']} cores ({env['cpu']}), {env['memory']} RAM, {env['os']}, Python {env['python']}; "
            f"{env['hugo']}; {env['wrk']}; {env['nginx']}.",
            "",
        ]
    lines += _summary(results)
    for scenario in _ORDER:
        entries = sorted((r for r in results.values() if r["scenario"] == scenario), key=lambda r: r["size"])
        if not entries:
            continue
        lines += [f"## {_TITLES[scenario]}", ""]
        for entry in entries:
            if scenario in ("serve", "rebuild"):
                lines += _wrk_table(entry["size"], entry["rows"])
                lines += _rebuild_counts(entry["rows"])
            else:
                for row in entry["rows"]:
                    lines += _table(scenario, entry["size"], row)
            lines.append("")
            for note in entry["notes"]:
                lines += [f"- {note}"]
            lines += [
                f"- Measured with HEAD at {entry['machine']['commit']} (the shared working tree may have held "
                "uncommitted edits).",
                "",
                "Commands:",
                "",
            ]
            lines += [f"    {c}" for c in [entry["bench_command"], *entry["commands"]]]
            lines.append("")
    if WHERE_TIME_GOES.exists():
        lines += [WHERE_TIME_GOES.read_text(encoding="utf-8").rstrip(), ""]
    return "\n".join(lines)


def _rebuild_counts(rows: list[dict[str, Any]]) -> list[str]:
    """What the rebuild scenario's median pair saw, and every pair's ratio (rows of older runs lack some)."""
    lines = []
    for row in rows:
        if "builds_completed" not in row:
            continue
        text = f"Median pair: {row['builds_completed']} builds completed, {row['build_pause_s']} s paused between them"
        if "pair_ratios" in row:
            ratios = ", ".join(f"{r:.2f}×" for r in row["pair_ratios"])
            text += f"; busy/idle ratio of each pair, in run order: {ratios}; errors in all pairs: "
            text += str(row["errors_all_pairs"])
        lines += ["", text + "."]
    return lines


def write_doc() -> Path:
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(render(), encoding="utf-8")
    return DOC
