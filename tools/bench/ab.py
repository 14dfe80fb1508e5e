#!/usr/bin/env python3
"""Before/after: two countylinkd builds side by side, interleaved A B A B, on one workload.

For measuring a change to the server: copy the old build's bin directory aside, rebuild, and

    tools/bench/ab.py --a /tmp/before/bin --b build/bin --kind dx --count 300 --rounds 5

Each run gets a fresh data directory (kept until the end, so no run follows a big delete: see
docs/benchmarks.md, session 5). Senders are DCMTK storescu; `--nagle` leaves Nagle on (an
untuned modality), otherwise TCP_NODELAY=1. Prints each run, then medians and the ratio B/A.
"""
import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (Server, send)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--a", required=True, help="bin directory of build A (before)")
    ap.add_argument("--b", required=True, help="bin directory of build B (after)")
    ap.add_argument("--kind", default="dx", help="countylink-synth kind (dx, ct, ecg, ...)")
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--senders", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--nagle", action="store_true", help="senders without TCP_NODELAY")
    args = ap.parse_args()
    bins = {"A": Path(args.a), "B": Path(args.b)}
    for name, path in bins.items():
        if not (path / "countylinkd").exists():
            sys.exit(f"ab: no countylinkd in {path} (build {name}); give its bin directory")

    tmp = Path(tempfile.mkdtemp(prefix="countylink-ab-"))
    try:
        data = tmp / "data"
        print(f"ab: generating {args.count} {args.kind} objects ...", file=sys.stderr, flush=True)
        subprocess.run([str(bins["B"] / "countylink-synth"), "--out", str(data), "--kind",
                        args.kind, "--count", str(args.count), "--seed", "1"], check=True,
                       stdout=subprocess.DEVNULL)
        files = sorted(data.iterdir())
        rates = {"A": [], "B": []}
        cpus = {"A": [], "B": []}
        rss = {"A": [], "B": []}
        stored = {"A": [], "B": []}
        sent = sum(f.stat().st_size for f in files)
        for r in range(args.rounds):
            for name in rates:
                bench.BIN = bins[name]
                srv = bench.Server("countylinkd", tmp / f"{name}-{r}", nodelay=not args.nagle)
                wall, failed = bench.send(files, srv.port, args.senders, "COUNTYLINK",
                                          nodelay=not args.nagle)
                cpu, peak, size = srv.stop()
                if failed:
                    log = (tmp / f"{name}-{r}" / "server.log").read_text(errors="replace")
                    sys.exit(f"ab: {failed} sender(s) failed against build {name}; its log "
                             f"ends:\n{log[-3000:]}")
                rates[name].append(len(files) / wall)
                cpus[name].append(cpu * 1000 / len(files))
                rss[name].append(peak)
                stored[name].append(size / sent)
                print(f"ab: round {r + 1} {name}: {rates[name][-1]:.0f} obj/s, "
                      f"{cpus[name][-1]:.2f} ms server CPU/object", file=sys.stderr, flush=True)
        med = {k: statistics.median(v) for k, v in rates.items()}
        for name in rates:
            runs = " ".join(f"{x:.0f}" for x in rates[name])
            print(f"{name} {bins[name]}: {med[name]:.0f} obj/s median ({runs}), "
                  f"{statistics.median(cpus[name]):.2f} ms server CPU/object, peak RSS "
                  f"{max(rss[name]):.0f} MB, stored/sent {statistics.median(stored[name]):.4f}")
        print(f"B/A = {med['B'] / med['A']:.2f}x ({args.count} {args.kind}, {args.senders} "
              f"sender(s){', Nagle on' if args.nagle else ''}, {args.rounds} rounds)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
