#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""End-to-end figures of a real `vigild` process, each as a ratio to its floor measured in the same run.

  e2e_process.py VIGILD VIGIL [--runs 3] [--scale 1] [--sensors 1000] [--workers 1,2,3]
                 [--latency-seconds 10] [--pyzmq] [--only throughput,scaling,latency]
                 [--layout bench|lone|plant] [--detectors shipped|none] [--baseline VIGILD0]

--layout picks bench-send's sensor ids and so what the shipped grouping (by parent path) makes of
them: bench (bench/s0000…: one asset of every sensor, too wide for its PCA monitor), lone (s0000…:
no asset, each sensor's own chain only), plant (plant1/unit00/s00…: assets of 20 with PCA).

The sender is always `vigil bench-send` (Swift through the ZeroMQ module, its own process).

--detectors none runs the daemon with the surprise detector off, so no detector runs at all: the
pipeline's own cost (ingest, decode, rings, workers' loop, metrics) against the same floor, i.e.
the most any detector chain could reach on this machine.

throughput: for each case (binary VGL1 batches of 256; one-sample JSON) and run, first the floor:
  `vigil bench-receive` (a receive-only PULL loop set up and drained as vigild's ingest is) takes
  the same bench-send stream; its rate is samples / (its last receive - the sender's first send).
  Optionally (--pyzmq) a receive-only pyzmq loop as well. Then a fresh vigild (generated config:
  free loopback ports, temporary state, shipped detector defaults, metrics on) takes the stream;
  /metrics is scraped every 5 ms until vigil_samples_processed_total reaches what was sent; the
  rate is samples / (that moment - the sender's first send), all on CLOCK_MONOTONIC. Zero loss is
  checked (processed == received == sent, every vigil_dropped_total 0) and vigild must exit 0 on
  SIGTERM. Each run prints `X M/s = R × raw ZeroMQ receive (Y M/s)`; the summary gives medians.
scaling: the binary case with pipeline.workers = each of --workers, each run next to its floor.
latency: a vigild taking binary batches at half the binary rate measured above (same run), with
  spikes (--spike-every 5000) so alerts happen, for --latency-seconds; the ingest-to-alert
  histogram vigil_alert_latency_seconds is scraped before and after and its quantiles read from
  the difference (linear within a bucket; the buckets are at most 25 % wide).
ab (with --baseline VIGILD0): the binary case alternating between VIGILD0 and VIGILD, run for run,
  each next to its floor: a before/after comparison in the same run.
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

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = {
    "binary": ("binary VGL1 batches of 256", 40_000, 256),
    "json": ("one-sample JSON", 1_000_000, 1),
}


def compile_floor(name):
    """Benchmarks/Floors/NAME.c built with gcc -O2 into Benchmarks/.build/floors/; None without gcc."""
    directory = os.path.join(HERE, ".build", "floors")
    os.makedirs(directory, exist_ok=True)
    binary = os.path.join(directory, name)
    try:
        subprocess.run(["gcc", "-O2", "-pthread", "-o", binary, os.path.join(HERE, "Floors", name + ".c")], check=True)
    except (OSError, subprocess.CalledProcessError):
        print("note: gcc could not build Floors/%s.c; that floor is left out" % name)
        return None
    return binary


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape_text(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
        return r.read().decode()


def scrape(port):
    values = {}
    for line in scrape_text(port).splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _, value = line.rpartition(" ")
        values[name] = float(value)
    return values


def ready(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/readyz" % port, timeout=1) as r:
            return r.status == 200
    except Exception:
        return False


# Sensor id layouts (--layout): what the shipped grouping by parent path makes of bench-send's ids.
LAYOUTS = {
    # bench/s0000 … bench/s0999: one asset of every sensor (too wide for its PCA monitor, so the
    # asset only keeps its rounds), the layout of every figure before 2026-12-02.
    "bench": [],
    # s0000 … s0999: no parent path, so no asset: each sensor's own chain only.
    "lone": ["--sensor-prefix", "s"],
    # plant1/unit00/s00 … plant1/unit49/s19: 50 assets of 20 sensors, each with its PCA monitor.
    "plant": ["--sensor-prefix", "plant1/unit", "--asset-size", "20"],
}
LAYOUT = []


def sender_args(vigil, endpoint, mode, samples, sensors, extra=()):
    per = CASES[mode][2]
    args = [vigil, "bench-send", "--to", endpoint, "--format", mode, "--samples", str(samples),
            "--sensors", str(sensors), "--json"] + LAYOUT
    if mode == "binary":
        args += ["--batch", str(per)]
    return args + list(extra)


def run_sender(args):
    out = subprocess.run(args, stdout=subprocess.PIPE, check=True).stdout
    return json.loads(out)


def raw_receive(vigil, mode, samples, sensors):
    """The floor: vigil bench-receive taking the same stream. Returns samples/s."""
    endpoint = "tcp://127.0.0.1:%d" % free_port()
    messages = (samples + CASES[mode][2] - 1) // CASES[mode][2]
    receiver = subprocess.Popen([vigil, "bench-receive", "--bind", endpoint, "--messages", str(messages), "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    receiver.stderr.readline()  # "listening on ..."
    sent = run_sender(sender_args(vigil, endpoint, mode, samples, sensors))
    out, _ = receiver.communicate(timeout=300)
    got = json.loads(out)
    if got["messages"] != sent["messages"] or got["bytes"] != sent["bytes"]:
        raise SystemExit("raw receive: got %s of %s" % (got, sent))
    return sent["samples"] / ((got["last_receive_ns"] - sent["first_send_ns"]) / 1e9)


PYZMQ_RECEIVER = r"""
import json, sys, time, zmq
ctx = zmq.Context(io_threads=1)
s = ctx.socket(zmq.PULL)
s.setsockopt(zmq.RCVHWM, 10000)
s.setsockopt(zmq.RCVBUF, 4 << 20)
s.bind(sys.argv[1])
print("listening", flush=True)
n = int(sys.argv[2])
recv = s.recv
for _ in range(n):
    recv(copy=False)
print(json.dumps({"last_receive_ns": time.monotonic_ns()}), flush=True)
"""


def pyzmq_receive(vigil, mode, samples, sensors):
    endpoint = "tcp://127.0.0.1:%d" % free_port()
    messages = (samples + CASES[mode][2] - 1) // CASES[mode][2]
    receiver = subprocess.Popen([sys.executable, "-c", PYZMQ_RECEIVER, endpoint, str(messages)], stdout=subprocess.PIPE)
    receiver.stdout.readline()
    sent = run_sender(sender_args(vigil, endpoint, mode, samples, sensors))
    out, _ = receiver.communicate(timeout=300)
    return sent["samples"] / ((json.loads(out)["last_receive_ns"] - sent["first_send_ns"]) / 1e9)


# Appended to every generated daemon config (--detectors).
DETECTORS = {
    "shipped": "",
    "none": "detectors:\n  surprise:\n    enabled: false\n",
}
EXTRA_CONFIG = [""]


class Daemon:
    """A release vigild on free ports with a generated config and a temporary state directory."""

    def __init__(self, vigild, workers=None):
        self.directory = tempfile.mkdtemp(prefix="vigil-e2e-")
        self.ingest = "tcp://127.0.0.1:%d" % free_port()
        self.metrics_port = free_port()
        self.publish = "tcp://127.0.0.1:%d" % free_port()
        config = os.path.join(self.directory, "vigil.yaml")
        with open(config, "w") as f:
            f.write("""# Generated by Benchmarks/e2e_process.py: free ports, temporary state, shipped detector defaults unless --detectors says otherwise.
ingest:
  endpoints: [%s]
publish:
  endpoint: %s
history:
  endpoint: tcp://127.0.0.1:%d
metrics:
  listen: "127.0.0.1:%d"
state:
  directory: %s
logging:
  level: warning
%s%s""" % (self.ingest, self.publish, free_port(), self.metrics_port, os.path.join(self.directory, "state"),
                   "pipeline:\n  workers: %d\n" % workers if workers else "", EXTRA_CONFIG[0]))
        self.process = subprocess.Popen([vigild, "--config", config], cwd=self.directory)
        deadline = time.monotonic() + 30
        while not ready(self.metrics_port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("vigild did not become ready (status %s)" % self.process.poll())
            time.sleep(0.05)

    def peak_rss_mib(self):
        with open("/proc/%d/status" % self.process.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return 0

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            status = self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise SystemExit("vigild did not stop within 60 s of SIGTERM")
        shutil.rmtree(self.directory, ignore_errors=True)
        if status != 0:
            raise SystemExit("vigild exited with status %d" % status)


def wait_processed(daemon, total, sender=None, timeout=300):
    deadline = time.monotonic() + timeout
    while True:
        processed = scrape(daemon.metrics_port).get("vigil_samples_processed_total", 0)
        if processed >= total:
            return time.monotonic_ns()
        if time.monotonic() > deadline or (sender is not None and sender.poll() not in (None, 0)):
            raise SystemExit("%d of %d processed (sender status %s)" % (processed, total, sender and sender.poll()))
        time.sleep(0.005)


def check_no_loss(daemon, base, sent):
    time.sleep(0.05)
    m = scrape(daemon.metrics_port)
    processed = m["vigil_samples_processed_total"] - base
    received = m["vigil_samples_received_total"] - base
    drops = {k: v for k, v in m.items() if k.startswith("vigil_dropped") and v != 0}
    if processed != sent or received != sent or drops:
        raise SystemExit("LOSS sent %d received %d processed %d drops %s" % (sent, received, processed, drops))


def end_to_end(vigild, vigil, mode, samples, sensors, workers=None):
    """Returns (samples/s end to end, sender's own rate, daemon peak RSS MiB)."""
    daemon = Daemon(vigild, workers)
    try:
        base = scrape(daemon.metrics_port).get("vigil_samples_processed_total", 0)
        sender = subprocess.Popen(sender_args(vigil, daemon.ingest, mode, samples, sensors), stdout=subprocess.PIPE)
        done = wait_processed(daemon, base + samples, sender)
        out, _ = sender.communicate()
        if sender.returncode != 0:
            raise SystemExit("bench-send failed")
        report = json.loads(out)
        if report["samples"] != samples:
            raise SystemExit("bench-send sent %d of %d" % (report["samples"], samples))
        check_no_loss(daemon, base, samples)
        rss = daemon.peak_rss_mib()
    finally:
        daemon.stop()
    return samples / ((done - report["first_send_ns"]) / 1e9), report["rate"], rss


def m(rate):
    return "%.2f M/s" % (rate / 1e6)


def histogram(text, name):
    buckets = []
    for line in text.splitlines():
        if line.startswith(name + "_bucket{le=\""):
            le = line.split("le=\"")[1].split("\"")[0]
            buckets.append((float("inf") if le == "+Inf" else float(le), float(line.rpartition(" ")[2])))
    return buckets


def quantile(buckets, q):
    """Prometheus histogram_quantile over cumulative (le, count) pairs."""
    total = buckets[-1][1]
    if total == 0:
        return float("nan")
    rank = q * total
    lower, previous = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if le == float("inf"):
                return lower
            return lower + (le - lower) * ((rank - previous) / (count - previous) if count > previous else 1)
        lower, previous = le, count
    return lower


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vigild")
    ap.add_argument("vigil")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1)
    ap.add_argument("--sensors", type=int, default=1000)
    ap.add_argument("--workers", default="1,2,3")
    ap.add_argument("--latency-seconds", type=float, default=10)
    ap.add_argument("--latency-rate", type=float, help="offer this rate (samples/s) in the latency run instead of half the measured one")
    ap.add_argument("--pyzmq", action="store_true", help="also measure a receive-only pyzmq loop")
    ap.add_argument("--only", default="throughput,scaling,latency", help="any of throughput, scaling, latency, ab")
    ap.add_argument("--baseline", help="with --only ab: another vigild to compare with, run for run")
    ap.add_argument("--layout", default="bench", choices=sorted(LAYOUTS),
                    help="sensor ids: bench (bench/s*, one asset of all), lone (s*, no asset), plant (assets of 20)")
    ap.add_argument("--detectors", default="shipped", choices=sorted(DETECTORS),
                    help="shipped (the default config's detectors) or none (no detector: the pipeline alone)")
    args = ap.parse_args()
    LAYOUT[:] = LAYOUTS[args.layout]
    EXTRA_CONFIG[0] = DETECTORS[args.detectors]
    args.vigild, args.vigil = os.path.abspath(args.vigild), os.path.abspath(args.vigil)
    if args.baseline:
        args.baseline = os.path.abspath(args.baseline)
    only = set(args.only.split(","))
    load = os.getloadavg()
    print("machine: %d cores, load average %.2f %.2f %.2f at the start; sensor ids: %s layout %s; detectors: %s"
          % (os.cpu_count(), *load, args.layout, " ".join(LAYOUT) or "(bench-send's default)", args.detectors), flush=True)
    medians = {}

    if "throughput" in only:
        for mode, (label, messages, per) in CASES.items():
            samples = int(messages * args.scale) * per
            ratios, rates, floors, py = [], [], [], []
            for r in range(args.runs):
                floor = raw_receive(args.vigil, mode, samples, args.sensors)
                if args.pyzmq:
                    py.append(pyzmq_receive(args.vigil, mode, samples, args.sensors))
                rate, sender_rate, rss = end_to_end(args.vigild, args.vigil, mode, samples, args.sensors)
                ratios.append(rate / floor)
                rates.append(rate)
                floors.append(floor)
                print("  %s run %d: end to end %s = %.3f × raw ZeroMQ receive (%s)%s; bench-send alone %s; "
                      "processed == received == sent, dropped 0, exit 0; peak RSS %.0f MiB"
                      % (mode, r + 1, m(rate), rate / floor, m(floor),
                         "; pyzmq receive %s" % m(py[-1]) if py else "", m(sender_rate), rss), flush=True)
            medians[mode] = statistics.median(rates)
            print("%s end to end over %d sensors: %s = %.3f × raw ZeroMQ receive (%s), medians of %d runs (ratios %s)%s"
                  % (label, args.sensors, m(statistics.median(rates)), statistics.median(ratios), m(statistics.median(floors)),
                     args.runs, " ".join("%.3f" % x for x in ratios),
                     "; pyzmq receive %s = %.3f × the Swift loop" % (m(statistics.median(py)), statistics.median(py) / statistics.median(floors)) if py else ""),
                  flush=True)

    if "scaling" in only:
        label, messages, per = CASES["binary"]
        samples = int(messages * args.scale) * per
        for w in [int(x) for x in args.workers.split(",")]:
            ratios, rates = [], []
            for r in range(args.runs):
                floor = raw_receive(args.vigil, "binary", samples, args.sensors)
                rate, _, _ = end_to_end(args.vigild, args.vigil, "binary", samples, args.sensors, workers=w)
                ratios.append(rate / floor)
                rates.append(rate)
            print("workers %d: %s end to end %s = %.3f × raw ZeroMQ receive (median of %d runs; ratios %s)"
                  % (w, label, m(statistics.median(rates)), statistics.median(ratios), args.runs,
                     " ".join("%.3f" % x for x in ratios)), flush=True)

    if "ab" in only:
        # Before/after in the same run: the binary case alternating between --baseline and VIGILD,
        # each run next to its own floor.
        label, messages, per = CASES["binary"]
        samples = int(messages * args.scale) * per
        results = {"baseline": [], "this": []}
        for r in range(args.runs):
            for which, binary in (("baseline", args.baseline), ("this", args.vigild)):
                floor = raw_receive(args.vigil, "binary", samples, args.sensors)
                rate, _, _ = end_to_end(binary, args.vigil, "binary", samples, args.sensors)
                results[which].append((rate, rate / floor))
                print("  %s run %d: %s = %.3f × raw ZeroMQ receive (%s)" % (which, r + 1, m(rate), rate / floor, m(floor)), flush=True)
        for which in ("baseline", "this"):
            print("%s (%s): %s end to end %s = %.3f × raw ZeroMQ receive (medians of %d runs)"
                  % (which, args.baseline if which == "baseline" else args.vigild, label,
                     m(statistics.median(x[0] for x in results[which])), statistics.median(x[1] for x in results[which]), args.runs))
        print("this / baseline: %.3f (ratio of the median floor ratios)" % (
            statistics.median(x[1] for x in results["this"]) / statistics.median(x[1] for x in results["baseline"])), flush=True)

    if "latency" in only:
        if args.latency_rate:
            medians["binary"] = args.latency_rate * 2
        elif "binary" not in medians:
            medians["binary"] = statistics.median(end_to_end(args.vigild, args.vigil, "binary", 40_000 * 256, args.sensors)[0]
                                                  for _ in range(args.runs))
        rate = medians["binary"] / 2
        wakeup = compile_floor("wakeup")
        daemon = Daemon(args.vigild)
        try:
            # The latency floor, concurrently: how late a thread sleeping in poll(2) on an eventfd
            # wakes on this machine under the same load (Floors/wakeup.c).
            floor = subprocess.Popen([wakeup, str(args.latency_seconds), "500"], stdout=subprocess.PIPE) if wakeup else None
            before = scrape_text(daemon.metrics_port)
            base = scrape(daemon.metrics_port).get("vigil_samples_processed_total", 0)
            report = run_sender([args.vigil, "bench-send", "--to", daemon.ingest, "--batch", "256", "--sensors", str(args.sensors),
                                 "--rate", str(int(rate)), "--duration", str(args.latency_seconds), "--spike-every", "5000",
                                 "--json"] + LAYOUT)
            wait_processed(daemon, base + report["samples"])
            time.sleep(0.5)
            check_no_loss(daemon, base, report["samples"])
            after = scrape_text(daemon.metrics_port)
            wake = json.loads(floor.communicate()[0]) if floor else None
        finally:
            daemon.stop()
        h0 = dict(histogram(before, "vigil_alert_latency_seconds"))
        h1 = histogram(after, "vigil_alert_latency_seconds")
        delta = [(le, count - h0.get(le, 0)) for le, count in h1]
        n = delta[-1][1]
        where = ("at --latency-rate %s (%s achieved)" % (m(rate), m(report["rate"])) if args.latency_rate else
                 "at half the binary end-to-end rate (%s offered, %s achieved = %.3f × the sustainable %s measured in this run)"
                 % (m(rate), m(report["rate"]), report["rate"] / medians["binary"], m(medians["binary"])))
        print("latency %s, binary batches of 256, a spike every 5000 samples of each sensor: "
              "%d alert events; ingest-to-alert p50 %.0f µs, p90 %.0f µs, p99 %.0f µs, p99.9 %.0f µs"
              % (where, n,
                 quantile(delta, 0.5) * 1e6, quantile(delta, 0.9) * 1e6, quantile(delta, 0.99) * 1e6, quantile(delta, 0.999) * 1e6),
              flush=True)
        if wake:
            print("latency floor in the same run (a thread sleeping in poll(2) on an eventfd, woken every 500 µs; "
                  "an alert crosses two such wake-ups when the daemon idles between samples): "
                  "p50 %.0f µs, p90 %.0f µs, p99 %.0f µs, p99.9 %.0f µs; daemon p50 = %.1f × and p99 = %.1f × the floor's"
                  % (wake["p50_us"], wake["p90_us"], wake["p99_us"], wake["p999_us"],
                     quantile(delta, 0.5) * 1e6 / max(wake["p50_us"], 0.1), quantile(delta, 0.99) * 1e6 / max(wake["p99_us"], 0.1)),
                  flush=True)
    print("machine: load average %.2f %.2f %.2f at the end" % os.getloadavg())


if __name__ == "__main__":
    main()
