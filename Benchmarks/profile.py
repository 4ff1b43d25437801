#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where vigild's CPU goes on the binary end-to-end path, from a `perf record -g` profile.

  profile.py VIGILD VIGIL [--samples 40960000] [--format binary] [--sensors 1000] [--workers N]
             [--frequency 2000] [--event cpu-clock] [--spike-every 5000] [--keep DIR] [--leaves]
             [--layout bench|lone|plant] [--detectors shipped|none]

Starts VIGILD on a generated config (free ports, shipped detector defaults, or none with
--detectors none), attaches
`perf record -e EVENT -g` to it, drives it with `vigil bench-send`, waits until every sample is
processed, then classifies every profile sample by the innermost frame of its stack that belongs
to a known part (so libm's erfc under the calibrator counts as the detector chain, a memmove under
Pipeline.enqueue as the ring hop) and prints the share of vigild's CPU time each part takes and
that time per sample processed. `cpu-clock` (a timer) works where the hardware counters do not
(`perf stat -e instructions true` says "not supported" on this VM).
"""
import argparse
import collections
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_process as e2e  # noqa: E402

# (part, pattern on a frame's symbol or object), innermost match wins; checked in this order per frame.
PARTS = [
    ("detector chain (SensorDetectors: z-score, calibrators, combiner, alert state; libm)", r"VigilDetectors|\blibm\b|erfc|__ieee754|exp_fma"),
    ("decode (IngestDecoder)", r"IngestDecoder|JSONIngestParser"),
    ("id hashing / interning (SensorRegistry)", r"SensorRegistry"),
    ("ring hops (SPSCRing push/consume, Pipeline.submit sharding)", r"SPSCRing|Pipeline.*(submit|enqueue)|10RingBuffer8SPSC"),
    ("worker loop (Pipeline.runWorker around the chain)", r"runWorker"),
    ("idle / backoff (spin, sched_yield, usleep)", r"Backoff|sched_yield|usleep|nanosleep|zmq_poll|\bpoll\b"),
    ("publish (AlertPublisher: JSON, SQLite journal, PUB send)", r"AlertPublisher|AlertRecord|Journal|sqlite|JSONText"),
    ("ZeroMQ receive (zmq_msg_recv in ingest)", r"libzmq|zmq_"),
    ("ingest loop (IngestService: clock reads, stamping, metrics)", r"IngestService"),
    ("metrics / history / other daemon threads", r"MetricsServer|HistoryServer|JournalRetention"),
]


def classify(comm, frames):
    if comm.startswith("ZMQbg"):
        return "ZeroMQ I/O thread (TCP receive into messages; kernel copies)"
    for frame in frames:  # innermost first
        for name, pattern in PARTS:
            if re.search(pattern, frame):
                return name
    return "other (%s)" % comm


def parse(script_output):
    """Yields (comm, [frames innermost first]) from `perf script` output."""
    comm, frames = None, []
    for line in script_output.splitlines():
        if not line.strip():
            if comm is not None:
                yield comm, frames
            comm, frames = None, []
            continue
        if not line.startswith((" ", "\t")):
            comm = line.split()[0]
            frames = []
        else:
            frames.append(line.strip())
    if comm is not None:
        yield comm, frames


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vigild")
    ap.add_argument("vigil")
    ap.add_argument("--samples", type=int, default=40_960_000)
    ap.add_argument("--format", default="binary")
    ap.add_argument("--sensors", type=int, default=1000)
    ap.add_argument("--workers", type=int)
    ap.add_argument("--frequency", type=int, default=2000)
    ap.add_argument("--event", default="cpu-clock")
    ap.add_argument("--spike-every", type=int, default=5000)
    ap.add_argument("--keep", help="keep perf.data in this directory")
    ap.add_argument("--leaves", action="store_true", help="also list the hottest innermost functions of each part")
    ap.add_argument("--layout", default="bench", choices=sorted(e2e.LAYOUTS), help="sensor ids (see e2e_process.py)")
    ap.add_argument("--detectors", default="shipped", choices=sorted(e2e.DETECTORS),
                    help="shipped, or none: no detector, the pipeline's own cost (see e2e_process.py)")
    args = ap.parse_args()
    e2e.EXTRA_CONFIG[0] = e2e.DETECTORS[args.detectors]
    vigild, vigil = os.path.abspath(args.vigild), os.path.abspath(args.vigil)
    if shutil.which("perf") is None:
        raise SystemExit("profile.py needs perf (Debian: apt-get install linux-perf)")
    work = tempfile.mkdtemp(prefix="vigil-profile-")
    data = os.path.join(args.keep or work, "vigild.perf.data")
    daemon = e2e.Daemon(vigild, args.workers)
    try:
        perf = subprocess.Popen(["perf", "record", "-e", args.event, "-F", str(args.frequency), "-g", "-p",
                                 str(daemon.process.pid), "-o", data], stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        sent = e2e.run_sender([vigil, "bench-send", "--to", daemon.ingest, "--format", args.format, "--samples", str(args.samples),
                               "--sensors", str(args.sensors), "--spike-every", str(args.spike_every), "--json"]
                              + (["--batch", "256"] if args.format != "json" else []) + e2e.LAYOUTS[args.layout])
        e2e.wait_processed(daemon, args.samples)
        perf.send_signal(signal.SIGINT)
        perf.wait()
        metrics = e2e.scrape(daemon.metrics_port)
    finally:
        daemon.stop()
    script = subprocess.run(["perf", "script", "-i", data, "-F", "comm,ip,sym,dso"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True).stdout
    counts = collections.Counter()
    threads = collections.Counter()
    leaves = collections.defaultdict(collections.Counter)
    for comm, frames in parse(script):
        part = classify(comm, frames)
        counts[part] += 1
        if frames:
            leaves[part][" ".join(frames[0].split()[1:])[:90]] += 1
        threads[re.sub(r"\d+$", "N", comm)] += 1
    total = sum(counts.values())
    seconds = total / args.frequency
    form = "binary VGL1 batches of 256" if args.format == "binary" else args.format
    print("vigild, %s over %d sensors, %d samples sent at %s by bench-send (%s alerts published); "
          "%d profile samples = %.2f CPU-seconds (%s at %d Hz)"
          % (form, args.sensors, sent["samples"], e2e.m(sent["rate"]), int(metrics.get("vigil_alert_seq", 0)), total,
             seconds, args.event, args.frequency))
    print("%-82s %7s %10s" % ("part", "share", "ns/sample"))
    for name, n in counts.most_common():
        print("%-82s %6.1f%% %10.1f" % (name, 100.0 * n / total, n / args.frequency / args.samples * 1e9))
    if args.leaves:
        for name, n in counts.most_common():
            print("  %s: %s" % (name, "; ".join("%s %.1f%%" % (leaf, 100.0 * k / total) for leaf, k in leaves[name].most_common(4))))
    print("by thread: " + ", ".join("%s %.1f%%" % (t, 100.0 * n / total) for t, n in threads.most_common()))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
