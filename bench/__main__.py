"""``python -m bench all|cold|warm|latency|big|serve|rebuild|corpus [--sizes N,N] [--quick]``."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from bench import report
from bench._process import BenchError
from bench.corpus import write_corpus
from bench.scenarios import DEFAULT_SIZES, QUICK_SIZES, SCENARIOS, Options
from bench.targets import compile_sources, empty_trash


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "").replace("k", "000")) for part in text.split(",") if part]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 1000,10k, got {text!r}") from None
    if not sizes or any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError("sizes must be positive")
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Benchmarks of issue 4; see docs/benchmarks.md."
    )
    parser.add_argument("scenario", choices=["all", "corpus", "report", *SCENARIOS])
    parser.add_argument("--sizes", type=_sizes, help="corpus sizes, e.g. 1000,10k (default per scenario)")
    parser.add_argument("--quick", action="store_true", help="small sizes, 3 repeats, 5 trials, 3 s wrk runs")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/syndicate-bench"))
    parser.add_argument("--repeats", type=int, default=None, help="build runs per tool (default 5; quick 3)")
    parser.add_argument("--trials", type=int, default=None, help="latency trials (default 20; quick 5)")
    parser.add_argument("--duration", type=int, default=None, help="seconds per wrk run (default 10; quick 3)")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (for `corpus`)")
    parser.add_argument("--out", type=Path, help="where `corpus` writes posts")
    parser.add_argument(
        "--record",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write bench/results.json and docs/benchmarks.md (default: yes, except with --quick)",
    )
    args = parser.parse_args(argv)

    if args.scenario == "report":
        print(report.write_doc())
        return 0
    if args.scenario == "corpus":
        if args.out is None:
            parser.error("corpus needs --out DIR")
        for size in args.sizes or [1000]:
            info = write_corpus(args.out if len(args.sizes or [1]) == 1 else args.out / str(size), size, args.seed)
            print(
                f"{info.count} posts, {info.bytes / 1e6:.1f} MB, {len(info.categories)} categories, "
                f"{len(info.tags)} tags"
            )
        return 0

    quick = args.quick
    options = Options(
        workdir=args.workdir,
        repeats=args.repeats or (3 if quick else 5),
        trials=args.trials or (5 if quick else 20),
        duration=args.duration or (3 if quick else 10),
    )
    options.workdir.mkdir(parents=True, exist_ok=True)
    compile_sources()
    record = (not quick) if args.record is None else args.record
    names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    environment = report.machine()
    failed = 0
    try:
        failed = _run(names, args, argv, options, environment, record)
    finally:
        empty_trash(options.workdir)
    if record:
        print(report.DOC)
    return 1 if failed else 0


def _run(
    names: list[str],
    args: argparse.Namespace,
    argv: list[str] | None,
    options: Options,
    environment: dict[str, Any],
    record: bool,
) -> int:
    failed = 0
    for name in names:
        sizes = args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)[name]
        for size in sizes:
            command = "python -m bench " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
            print(f"== {name} {size}", flush=True)
            try:
                result = SCENARIOS[name](size, options)
            except (BenchError, RuntimeError, OSError) as exc:
                failed += 1
                print(f"!! {name} {size}: {exc}", file=sys.stderr, flush=True)
                continue
            if record:
                report.record(result.as_dict(), environment, command)
                report.write_doc()
            else:
                print(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
