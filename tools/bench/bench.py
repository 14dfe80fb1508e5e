#!/usr/bin/env python3
"""Side-by-side C-STORE benchmark: countylinkd against what a county would install instead.

Servers: countylinkd (defaults: validation, zstd, fsync before the answer), DCMTK storescp
(plain and --fork) and Orthanc (StorageCompression off and on). Workloads are generated once
with countylink-synth; every server gets the same files from DCMTK storescu (1 and 8
concurrent senders, TCP_NODELAY=1), rounds interleaved A B C A B C so drift hits all alike.
Prints median and min-max per row, and the ratio to storescp. Usage:

    tools/bench/bench.py [--rounds 3] [--scale 1.0] [--workloads small,ecg,ct,large]

--scale shrinks object counts (0.02 gives a smoke run in seconds; CI uses it with no targets).
Needs a Release build (scripts/build.sh) and the peers from scripts/setup.sh.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("COUNTYLINK_BIN_DIR", ROOT / "build" / "bin"))

WORKLOADS = {
    # name: (synth kind, count, extra synth args)
    "small": ("dx", 2000, []),
    "ecg": ("ecg", 2000, []),
    "ct": ("ct", 500, []),
    "large": ("mf", 10, ["--frames", "100", "--rows", "512", "--cols", "512"]),
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, limit=60):
    deadline = time.time() + limit
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def proc_stats(pid):
    """CPU seconds (self + reaped children) and peak RSS in MB of a running process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    cpu = sum(int(fields[i]) for i in (11, 12, 13, 14)) / tick
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                rss = int(line.split()[1]) / 1024
    return cpu, rss


def dir_bytes(path):
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


class Server:
    """Starts one server kind in its own fresh directory; stop() returns its figures."""

    def __init__(self, kind, work, nodelay=True):
        self.kind, self.work = kind, Path(work)
        self.port = free_port()
        self.store = self.work / "store"
        self.store.mkdir(parents=True)
        env = dict(os.environ)
        env.pop("TCP_NODELAY", None)
        if nodelay:
            env["TCP_NODELAY"] = "1"
        log = open(self.work / "server.log", "w")
        if kind == "countylinkd":
            cmd = [str(BIN / "countylinkd"), "--data-dir", str(self.store), "--dicom-port",
                   str(self.port), "--http-port", str(free_port())]
        elif kind.startswith("storescp"):
            cmd = ["storescp", "+xa", "-od", str(self.store), str(self.port)]
            if kind == "storescp-fork":
                cmd.insert(1, "--fork")
        else:  # orthanc, orthanc-zlib
            self.http = free_port()
            config = {"Name": "bench", "StorageDirectory": str(self.store),
                      "IndexDirectory": str(self.store), "DicomPort": self.port,
                      "HttpPort": self.http, "DicomAet": "ORTHANC", "RemoteAccessAllowed": False,
                      "AuthenticationEnabled": False, "DicomCheckCalledAet": False,
                      "StorageCompression": kind == "orthanc-zlib", "Plugins": []}
            (self.work / "orthanc.json").write_text(json.dumps(config))
            cmd = ["Orthanc", str(self.work / "orthanc.json")]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, env=env,
                                     start_new_session=True)
        wait_port(self.port)

    def stop(self):
        cpu, rss = proc_stats(self.proc.pid)
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait()
        return cpu, rss, dir_bytes(self.store)


def send(files, port, senders, called_ae, nodelay=True):
    lists = [files[i::senders] for i in range(senders)]
    env = dict(os.environ)
    env.pop("TCP_NODELAY", None)
    if nodelay:
        env["TCP_NODELAY"] = "1"  # DCMTK's switch; without it Nagle stays on, as on most modalities
    start = time.time()
    procs = []
    for chunk in lists:
        if chunk:
            procs.append(subprocess.Popen(
                ["storescu", "-aec", called_ae, "127.0.0.1", str(port)] + [str(f) for f in chunk],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env))
    failed = sum(p.wait() != 0 for p in procs)
    return time.time() - start, failed


def loadgen(data, rounds, idle, leftovers):
    """countylinkd under our own load generator: 8 and 64 associations, then 8 with `idle`
    associations held open and a C-ECHO every 20 ms; storescp (plain and --fork) at 8 beside
    them. Interleaved (every configuration once per round), data directories kept until the
    end like the other runs'. Returns printable rows."""
    out = []
    idle_args = ["--idle", str(idle), "--echo-ms", "20"]
    configs = (("countylinkd", 8, []), ("storescp", 8, []), ("storescp-fork", 8, []),
               ("countylinkd", 64, []), ("countylinkd", 8, idle_args))
    runs = {i: [] for i in range(len(configs))}
    sent = sum(f.stat().st_size for f in data.iterdir())
    for r in range(rounds):
        for i, (server, n, extra) in enumerate(configs):
            work = Path(tempfile.mkdtemp(prefix="countylink-loadgen-"))
            srv = Server(server, work)
            called = "COUNTYLINK" if server == "countylinkd" else "ANY"
            res = subprocess.run([str(BIN / "countylink-load"), "--dir", str(data), "--port",
                                  str(srv.port), "--called-ae", called, "-n", str(n),
                                  "--json"] + extra,
                                 capture_output=True, text=True)
            cpu, rss, _ = srv.stop()
            leftovers.done(work, sent)
            runs[i].append(dict(json.loads(res.stdout), rss=rss, rc=res.returncode))
    for i, (server, n, extra) in enumerate(configs):
        med = statistics.median(x["objects_per_s"] for x in runs[i])
        label = f"x{n}" + (f" +{idle} idle, echo/20ms" if extra else "")
        echo = statistics.median(x["echo_ms"]["p99"] for x in runs[i]) if extra else None
        out.append(f"countylink-load {server:13} {label:28} {med:7.0f} obj/s  C-STORE p50 "
                   f"{statistics.median(x['latency_ms']['p50'] for x in runs[i]):6.1f} ms  p99 "
                   f"{statistics.median(x['latency_ms']['p99'] for x in runs[i]):6.1f} ms  "
                   f"peak RSS {max(x['rss'] for x in runs[i]):5.0f} MB"
                   + (f"  C-ECHO p99 {echo:.1f} ms" if echo is not None else "")
                   + f"  failed runs {sum(x['rc'] != 0 for x in runs[i])}")
    return out


class Leftovers:
    """Data directories of finished runs, removed only when the benchmark ends. ext4 without a
    journal skips inodes freed in the last 30-60 s and reads each one's table entry to find out
    (session 5's profile: 8 % of the server's CPU), so deleting a run's files seconds before the
    next run starts taxes every file that run creates, more for whoever runs after a big
    delete. Kept while the disk has room (twice the run's size plus 5 GB); removed at once
    otherwise."""

    def __init__(self):
        self.dirs = []

    def done(self, work, size):
        if shutil.disk_usage(work.parent).free > 2 * size + 5e9:
            self.dirs.append(work)
        else:
            shutil.rmtree(work, ignore_errors=True)

    def remove(self):
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)
        self.dirs = []


def nagle(data, rounds, count, leftovers):
    """Untuned senders: one storescu without TCP_NODELAY (Nagle on, as most modalities run)
    against countylinkd and storescp, interleaved. Returns printable rows. The wall time holds
    storescu's own start (~0.1 s of dictionary loading), so `count` must be large enough for the
    transfer to dominate: 50 objects understated countylinkd's rate by ~1.4x."""
    files = sorted(data.iterdir())[:count]
    walls = {"countylinkd": [], "storescp": []}
    for r in range(rounds):
        for server in walls:
            work = Path(tempfile.mkdtemp(prefix="countylink-nagle-"))
            try:
                srv = Server(server, work, nodelay=False)  # installed as shipped, untuned
                called = "COUNTYLINK" if server == "countylinkd" else "ANY"
                wall, failed = send(files, srv.port, 1, called, nodelay=False)
                srv.stop()
                walls[server].append(wall if not failed else float("inf"))
            finally:
                leftovers.done(work, sum(f.stat().st_size for f in files))
    med = {k: statistics.median(v) for k, v in walls.items()}
    return [f"untuned sender (Nagle on), {len(files)} objects: {server} "
            f"{len(files) / med[server]:.0f} obj/s ({med['storescp'] / med[server]:.1f}x storescp)"
            for server in walls]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--workloads", default="small,ecg,ct,large")
    ap.add_argument("--servers", default="countylinkd,storescp,storescp-fork,orthanc,orthanc-zlib")
    ap.add_argument("--senders", default="1,8")
    ap.add_argument("--loadgen", action="store_true",
                    help="also run countylink-load at 8 and 64 associations and with 1,000 idle "
                         "associations plus C-ECHO pings, on the first workload")
    ap.add_argument("--nagle-count", type=int, default=200,
                    help="objects the untuned sender sends per run (default 200)")
    ap.add_argument("--idle", type=int, default=1000)
    ap.add_argument("--nagle", action="store_true",
                    help="also time one untuned sender (no TCP_NODELAY) against countylinkd and "
                         "storescp on the first workload")
    args = ap.parse_args()
    if not (BIN / "countylinkd").exists():
        sys.exit("bench: no build/bin/countylinkd; run scripts/build.sh first")
    tmp = Path(tempfile.mkdtemp(prefix="countylink-bench-"))
    leftovers = Leftovers()
    rows = []
    extra_rows = []
    try:
        for name in args.workloads.split(","):
            kind, count, extra = WORKLOADS[name]
            count = max(2, int(count * args.scale))
            data = tmp / f"data-{name}"
            print(f"bench: generating {count} {name} objects ...", file=sys.stderr, flush=True)
            subprocess.run([str(BIN / "countylink-synth"), "--out", str(data), "--kind", kind,
                            "--count", str(count), "--seed", "1"] + extra, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            files = sorted(data.iterdir())
            sent_bytes = sum(f.stat().st_size for f in files)
            for senders in (int(s) for s in args.senders.split(",")):
                results = {s: [] for s in args.servers.split(",")}
                for r in range(args.rounds):
                    for server in results:  # interleaved: A B C A B C
                        work = tmp / f"{name}-{senders}-{server}-{r}"
                        srv = Server(server, work)
                        called = "COUNTYLINK" if server == "countylinkd" else "ANY"
                        wall, failed = send(files, srv.port, senders, called)
                        cpu, rss, stored = srv.stop()
                        results[server].append(dict(wall=wall, failed=failed, cpu=cpu, rss=rss,
                                                    ratio=stored / sent_bytes))
                        leftovers.done(work, sent_bytes)
                        print(f"bench: {name} x{senders} {server} round {r + 1}: "
                              f"{len(files) / wall:.0f} obj/s", file=sys.stderr, flush=True)
                base = statistics.median(x["wall"] for x in results.get("storescp", [])) \
                    if "storescp" in results else None
                for server, runs in results.items():
                    walls = [x["wall"] for x in runs]
                    med = statistics.median(walls)
                    rows.append(dict(
                        workload=name, senders=senders, server=server,
                        objects_s=len(files) / med, objects_s_min=len(files) / max(walls),
                        objects_s_max=len(files) / min(walls),
                        mb_s=sent_bytes / 1e6 / med,
                        cpu_s=statistics.median(x["cpu"] for x in runs),
                        rss_mb=max(x["rss"] for x in runs),
                        stored_ratio=statistics.median(x["ratio"] for x in runs),
                        failed=sum(x["failed"] for x in runs),
                        vs_storescp=(base / med) if base else None))
            if args.loadgen and not extra_rows:
                print("bench: countylink-load runs ...", file=sys.stderr, flush=True)
                extra_rows = loadgen(data, args.rounds, args.idle, leftovers)
            if args.nagle and not any(line.startswith("untuned") for line in extra_rows):
                print("bench: untuned sender runs ...", file=sys.stderr, flush=True)
                extra_rows += nagle(data, args.rounds, args.nagle_count, leftovers)
    finally:
        leftovers.remove()
        shutil.rmtree(tmp, ignore_errors=True)
    failures = sum(r["failed"] for r in rows)

    print(f"{'workload':8} {'snd':>3} {'server':14} {'obj/s (min-max)':>20} {'MB/s':>7} "
          f"{'cpu s':>6} {'rss MB':>7} {'stored':>7} {'x storescp':>10} {'fail':>4}")
    for r in rows:
        ratio = f"{r['vs_storescp']:.2f}" if r["vs_storescp"] else "-"
        span = f"{r['objects_s']:.0f} ({r['objects_s_min']:.0f}-{r['objects_s_max']:.0f})"
        print(f"{r['workload']:8} {r['senders']:>3} {r['server']:14} {span:>20} "
              f"{r['mb_s']:7.1f} {r['cpu_s']:6.1f} {r['rss_mb']:7.0f} {r['stored_ratio']:7.2f} "
              f"{ratio:>10} {r['failed']:>4}")
    for line in extra_rows:
        print(line)
    if failures:
        sys.exit(f"bench: {failures} sender runs failed (see the fail column)")


if __name__ == "__main__":
    main()
