#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""make test-cluster: vigild on a real three-node NATS JetStream cluster and a real mosquitto
broker, all on 127.0.0.1.

Three daemons: A owns partitions 0-2, B owns 3-5, S is A's standby (same share). B also takes MQTT.
Phases, each checked against what the fixtures hold (the partition function is recomputed here):
 1. replay: every sample processed exactly once per partition (acknowledged-sample counters of A
    and B equal the fixture's per-partition counts), every alert once in the alert stream;
    MQTT QoS 1 samples reach B;
 2. the same samples again in other messages (a redelivery as the daemons see it): all dropped as
    duplicates, nothing processed twice, no new alert;
 3. kill -9 of A while a replay is under way: S takes the share over from A's checkpoint in
    JetStream; afterwards every sample message is acknowledged (nothing acknowledged is lost:
    the work-queue stream is empty, no consumer has anything pending), S processed no more
    than the phase's samples, and no alert event is in the alert stream twice;
 4. A restarts as standby; S stops (SIGTERM): A takes over at once from S's final checkpoint;
    one NATS server is killed during the next replay: the cluster keeps serving, every sample
    is acknowledged, every alert event is once in the stream, and `vigil tail --nats` prints
    exactly the stream's alerts.
Exits 1 with the failed checks listed, 0 when all pass."""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PARTITIONS = 6
FAILURES = []


def check(ok, what):
    print(("  ok   " if ok else "  FAIL ") + what, flush=True)
    if not ok:
        FAILURES.append(what)


def fnv1a(data):
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def partition(sensor):
    key = sensor.rsplit("/", 1)[0] if "/" in sensor else sensor
    return fnv1a(key.encode()) % PARTITIONS


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path, timeout=2):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.read().decode()
    except Exception:
        return None


def wait(condition, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    print(f"  (timed out after {seconds} s waiting for {what})", flush=True)
    return False


def write_fixtures(directory, machines, rows, start_ns, seed):
    """Wide CSVs m00..mNN (sensors m<k>/a, m<k>/b), one sample a minute, a spike in some."""
    import random
    rng = random.Random(seed)
    paths, counts = [], [0] * PARTITIONS
    for k in range(machines):
        name = f"m{k:02d}"
        path = os.path.join(directory, f"{name}.csv")
        with open(path, "w") as f:
            f.write("timestamp,a,b\n")
            for i in range(rows):
                ts = start_ns + i * 60_000_000_000
                a = 10 + rng.gauss(0, 0.5) + (9 if k % 3 == 0 and rows // 2 <= i < rows // 2 + 30 else 0)
                b = 5 + rng.gauss(0, 0.2)
                f.write(f"{ts // 1_000_000_000},{a:.4f},{b:.4f}\n")
        paths.append(path)
        counts[partition(f"{name}/a")] += 2 * rows
    return paths, counts


class Cluster:
    def __init__(self, work, args):
        self.work, self.args = work, args
        self.nats = {}
        self.ports = [(free_port(), free_port(), free_port()) for _ in range(3)]
        self.url = ",".join(f"nats://127.0.0.1:{c}" for c, _, _ in self.ports)
        self.daemons = {}

    def start_nats(self, i):
        client, route, http = self.ports[i]
        routes = ", ".join(f"nats-route://127.0.0.1:{r}" for j, (_, r, _) in enumerate(self.ports) if j != i)
        conf = os.path.join(self.work, f"n{i}.conf")
        with open(conf, "w") as f:
            f.write(f"""server_name: n{i}
listen: 127.0.0.1:{client}
http: 127.0.0.1:{http}
max_payload: 4MB
jetstream {{ store_dir: "{self.work}/js{i}" }}
cluster {{ name: vigiltest, listen: 127.0.0.1:{route}, routes: [{routes}] }}
""")
        log = open(os.path.join(self.work, f"n{i}.log"), "a")
        self.nats[i] = subprocess.Popen([self.args.nats_server, "-c", conf], stdout=log, stderr=subprocess.STDOUT)

    def jsz(self, i=None):
        for j in ([i] if i is not None else range(3)):
            if j in self.nats and self.nats[j].poll() is None:
                body = http_get(self.ports[j][2], "/jsz?streams=true&consumers=true&config=true")
                if body:
                    return json.loads(body)
        return None

    def stream(self, name):
        """The stream and its consumers as the meta leader's node reports them."""
        for j in range(3):
            if j not in self.nats or self.nats[j].poll() is not None:
                continue
            body = http_get(self.ports[j][2], "/jsz?streams=true&consumers=true&config=true")
            if not body:
                continue
            for account in json.loads(body).get("account_details", []):
                for s in account.get("stream_detail", []):
                    if s["name"] == name and s.get("cluster", {}).get("leader") == f"n{j}":
                        return s
        return None

    def meta_ready(self):
        """A meta leader that sees both other nodes as current (streams of 3 replicas can be placed)."""
        for j in range(3):
            body = http_get(self.ports[j][2], "/jsz")
            if not body:
                return False
            meta = json.loads(body).get("meta_cluster", {})
            if meta.get("leader") == f"n{j}":
                peers = meta.get("replicas") or []
                return len(peers) == 2 and all(p.get("current") for p in peers)
        return False

    def daemon_config(self, name, owned, mqtt_port=None):
        ports = {k: free_port() for k in ("ingest", "publish", "history", "metrics")}
        state = os.path.join(self.work, f"state-{name}")
        mqtt = ""
        if mqtt_port:
            mqtt = f"""  mqtt:
    - url: mqtt://127.0.0.1:{mqtt_port}
      topics: ["mqtt/#"]
      qos: 1
      client_id: vigild-{name}
"""
        # The fixtures compress hours into seconds: a redelivery 4 s later is hours behind in sensor
        # time, so the reorder window (which must exceed ack_wait in sensor time) is off here.
        text = f"""ingest:
  endpoints: [tcp://127.0.0.1:{ports['ingest']}]
  reorder_window: 0
{mqtt}publish: {{endpoint: "tcp://127.0.0.1:{ports['publish']}"}}
history: {{endpoint: "tcp://127.0.0.1:{ports['history']}"}}
metrics: {{listen: "127.0.0.1:{ports['metrics']}"}}
state: {{directory: {state}, checkpoint_interval: 2s}}
pipeline: {{workers: 2}}
nats:
  servers: [{", ".join(f"nats://127.0.0.1:{c}" for c, _, _ in self.ports)}]
  partitions: {PARTITIONS}
  owned_partitions: {json.dumps(owned)}
  replicas: 3
  lease_ttl: 3s
  ack_wait: 4s
"""
        path = os.path.join(self.work, f"{name}.yaml")
        with open(path, "w") as f:
            f.write(text)
        return path, ports["metrics"]

    def start_daemon(self, name, owned, mqtt_port=None):
        if name not in self.daemons:
            self.daemons[name] = {"config": self.daemon_config(name, owned, mqtt_port)}
        d = self.daemons[name]
        log = open(os.path.join(self.work, f"{name}.log"), "a")
        d["log"] = os.path.join(self.work, f"{name}.log")
        d["proc"] = subprocess.Popen([self.args.vigild, "--config", d["config"][0]], stdout=log, stderr=subprocess.STDOUT)
        return d

    def metrics(self, name):
        body = http_get(self.daemons[name]["config"][1], "/metrics")
        if body is None:
            return None
        values = {}
        for line in body.splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                values[key] = float(value)
        return values

    def ready(self, name):
        return http_get(self.daemons[name]["config"][1], "/readyz") == "ready\n"

    def log_has(self, name, text):
        with open(self.daemons[name]["log"]) as f:
            return text in f.read()

    def acked_samples(self, name, partitions):
        m = self.metrics(name) or {}
        return sum(int(m.get(f'vigil_nats_acked_samples_total{{partition="{p}"}}', 0)) for p in partitions)

    def replay(self, files, *extra, background=False):
        cmd = [self.args.vigil, "replay", "--nats", self.url, "--quiet", *extra, *files]
        if background:
            return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        check(r.returncode == 0, f"vigil replay --nats exits 0 ({r.stdout.strip()}{r.stderr.strip()})")

    def drained(self):
        s = self.stream("VIGIL_SAMPLES")
        if not s:
            return False
        consumers = s.get("consumer_detail", [])
        return s["state"]["messages"] == 0 and len(consumers) == PARTITIONS and all(
            c["num_pending"] == 0 and c["num_ack_pending"] == 0 for c in consumers)

    def alerts(self):
        """Every alert in the alert stream, read with vigil tail --nats (in stream order). Tried
        again while the stream is between leaders (a node was just killed)."""
        for _ in range(10):
            r = subprocess.run([self.args.vigil, "tail", "--nats", self.url, "--since", "0", "--json", "--idle-timeout", "3"],
                               capture_output=True, text=True, timeout=120)
            lines = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
            if r.returncode == 0 and lines:
                return lines
            print(f"  (vigil tail --nats: exit {r.returncode}, {len(lines)} alerts: {r.stderr.strip()[:200]}; again)", flush=True)
            time.sleep(2)
        return lines

    def alert_stream_messages(self):
        s = self.stream("VIGIL_ALERTS")
        return s["state"]["messages"] if s else -1

    def stop(self):
        for d in self.daemons.values():
            p = d.get("proc")
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for d in self.daemons.values():
            p = d.get("proc")
            if p:
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
        for p in self.nats.values():
            if p.poll() is None:
                p.terminate()
        for p in self.nats.values():
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


def unique_events(alerts):
    keys = [(a["id"], a["event"], a["severity"] if a["event"] == "raised" else "") for a in alerts]
    return len(keys) == len(set(keys)), [k for k in set(keys) if keys.count(k) > 1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vigild", default=os.path.join(ROOT, ".build/debug/vigild"))
    ap.add_argument("--vigil", default=os.path.join(ROOT, ".build/debug/vigil"))
    ap.add_argument("--nats-server", default=shutil.which("nats-server") or "/usr/sbin/nats-server")
    ap.add_argument("--mosquitto", default=shutil.which("mosquitto") or "/usr/sbin/mosquitto")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="vigil-cluster-")
    os.chmod(work, 0o750)
    print(f"work directory {work}", flush=True)
    cluster = Cluster(work, args)
    mosquitto = None
    try:
        for i in range(3):
            cluster.start_nats(i)
        check(wait(cluster.meta_ready, 60, "a JetStream meta leader with two current peers"), "three-node JetStream cluster formed")
        mqtt_port = free_port()
        with open(os.path.join(work, "mosquitto.conf"), "w") as f:
            f.write(f"listener {mqtt_port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        mosquitto = subprocess.Popen([args.mosquitto, "-c", os.path.join(work, "mosquitto.conf")],
                                     stdout=open(os.path.join(work, "mosquitto.log"), "w"), stderr=subprocess.STDOUT)
        time.sleep(0.5)

        cluster.start_daemon("A", [0, 1, 2])
        check(wait(lambda: cluster.ready("A"), 60, "A ready"), "daemon A (partitions 0-2) ready")
        cluster.start_daemon("B", [3, 4, 5], mqtt_port=mqtt_port)
        check(wait(lambda: cluster.ready("B"), 60, "B ready"), "daemon B (partitions 3-5, MQTT) ready")
        cluster.start_daemon("S", [0, 1, 2])
        check(wait(lambda: cluster.log_has("S", "standby: waiting for the share 0-1-2"), 30, "S waiting"),
              "daemon S waits as A's standby")

        # Phase 1.
        print("phase 1: replay, exactly once per partition", flush=True)
        fixtures = os.path.join(work, "fixtures1")
        os.mkdir(fixtures)
        start = 1_700_000_000 * 1_000_000_000
        files1, counts1 = write_fixtures(fixtures, machines=12, rows=1500, start_ns=start, seed=1)
        check(all(c > 0 for c in counts1[:3]) and all(c > 0 for c in counts1[3:]), f"fixtures cover both shares {counts1}")
        cluster.replay(files1)
        check(wait(cluster.drained, 120, "phase 1 drained"), "every sample message acknowledged (stream empty, nothing pending)")
        for p in range(PARTITIONS):
            owner = "A" if p < 3 else "B"
            got = cluster.acked_samples(owner, [p])
            check(got == counts1[p], f"partition {p}: {owner} processed {got} samples, the fixtures hold {counts1[p]}")
        a_processed = (cluster.metrics("A") or {}).get("vigil_samples_processed_total", -1)
        check(a_processed == sum(counts1[:3]), f"A scored {a_processed} samples = its partitions' {sum(counts1[:3])}")
        alerts1 = cluster.alerts()
        ok, dups = unique_events(alerts1)
        check(len(alerts1) > 0, f"phase 1 raised alerts ({len(alerts1)} events in the alert stream)")
        check(ok, f"every alert event once in the alert stream (duplicates: {dups[:3]})")
        check(len(alerts1) == cluster.alert_stream_messages(), f"vigil tail --nats printed all {cluster.alert_stream_messages()} messages of the alert stream")
        check({partition(a["sensor"]) < 3 for a in alerts1} == {True, False}, "alerts came from both daemons")

        # MQTT into B.
        b_before = (cluster.metrics("B") or {}).get("vigil_samples_processed_total", 0)
        for i in range(200):
            payload = json.dumps({"ts": start + i * 1_000_000_000, "value": 1.0 + i % 7})
            subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(mqtt_port), "-q", "1", "-t", "mqtt/line1/temp", "-m", payload], check=True)
        check(wait(lambda: (cluster.metrics("B") or {}).get("vigil_samples_processed_total", 0) >= b_before + 200, 30, "MQTT samples"),
              "200 MQTT QoS 1 samples (topic = sensor) processed by B")
        check((cluster.metrics("B") or {}).get("vigil_mqtt_messages_total") == 200, "B counted 200 MQTT messages")

        # Phase 2: the same samples again in other messages.
        print("phase 2: the same samples redelivered: deduplicated", flush=True)
        # A redelivered sample is dropped as `duplicate` (not newer than its sensor's last from NATS)
        # or, when it is older than that by more than ingest.reorder_window (5m), already by the
        # decoder as `late_sample`; either way it is not processed again.
        def dropped():
            return sum((cluster.metrics(n) or {}).get(f'vigil_dropped_samples_total{{reason="{r}"}}', 0) for n in "AB" for r in ("duplicate", "late_sample"))
        dup_before = dropped()
        cluster.replay(files1, "--batch", "100")
        check(wait(cluster.drained, 120, "phase 2 drained"), "redelivered messages acknowledged")
        dup_after = dropped()
        check(dup_after - dup_before == sum(counts1), f"{int(dup_after - dup_before)} samples dropped as duplicate or late = {sum(counts1)} sent again")
        check(sum((cluster.metrics(n) or {}).get('vigil_dropped_total{reason="duplicate"}', 0) for n in "AB") > 0, "the recent ones as duplicate")
        check(cluster.acked_samples("A", [0, 1, 2]) == sum(counts1[:3]), "A processed nothing twice")
        check(len(cluster.alerts()) == len(alerts1), "no alert from the redelivery")

        # Phase 3: kill -9 of A under load.
        print("phase 3: kill -9 of A under load; S takes over", flush=True)
        fixtures2 = os.path.join(work, "fixtures2")
        os.mkdir(fixtures2)
        files2, counts2 = write_fixtures(fixtures2, machines=12, rows=1500, start_ns=start + 1500 * 60_000_000_000, seed=2)
        replay = cluster.replay(files2, "--rate", "6000", "--batch", "20", background=True)
        time.sleep(2.5)
        a_before_kill = cluster.acked_samples("A", [0, 1, 2]) - sum(counts1[:3])
        cluster.daemons["A"]["proc"].send_signal(signal.SIGKILL)
        cluster.daemons["A"]["proc"].wait()
        check(0 < a_before_kill < sum(counts2[:3]), f"A was killed mid-phase ({a_before_kill} of {sum(counts2[:3])} samples acknowledged)")
        out, _ = replay.communicate(timeout=300)
        check(replay.returncode == 0, f"replay under failover finished ({out.strip()})")
        check(wait(lambda: cluster.ready("S"), 60, "S ready"), "standby S took the share over")
        check(cluster.log_has("S", "resuming from the share's checkpoint in JetStream"), "S resumed from A's checkpoint in JetStream")
        check(wait(cluster.drained, 120, "phase 3 drained"), "nothing acknowledged is lost: every message acknowledged, nothing pending")
        s_done = cluster.acked_samples("S", [0, 1, 2])
        check(a_before_kill + s_done >= sum(counts2[:3]) - 2 * 20 * 64 and s_done <= sum(counts2[:3]),
              f"S processed {s_done} samples: the rest of the phase's {sum(counts2[:3])}, none A had acknowledged before the scrape")
        check(cluster.acked_samples("B", [3, 4, 5]) == sum(counts1[3:]) + sum(counts2[3:]), "B unaffected: its partitions exactly once")
        alerts3 = cluster.alerts()
        ok, dups = unique_events(alerts3)
        check(ok, f"after the failover every alert event is once in the alert stream (duplicates: {dups[:3]})")
        raised = {}
        for a in alerts3:
            raised.setdefault(a["id"], []).append(a["event"])
        check(all(ev.count("cleared") <= 1 and (ev[0] == "raised" or ev == ["cleared"]) for ev in raised.values()),
              "no alert cleared twice or cleared before it was raised")

        # Phase 4: A back as standby, S stops: A takes over at once; one NATS server killed.
        print("phase 4: A restarts as standby, S stops, a NATS server is killed", flush=True)
        cluster.start_daemon("A", [0, 1, 2])
        check(wait(lambda: cluster.log_has("A", "standby: waiting for the share 0-1-2"), 30, "A waiting"), "restarted A waits as standby")
        cluster.daemons["S"]["proc"].send_signal(signal.SIGTERM)
        cluster.daemons["S"]["proc"].wait(timeout=60)
        check(wait(lambda: cluster.ready("A"), 30, "A ready again"), "A took over when S stopped (lease released)")
        fixtures3 = os.path.join(work, "fixtures3")
        os.mkdir(fixtures3)
        files3, counts3 = write_fixtures(fixtures3, machines=12, rows=1000, start_ns=start + 3000 * 60_000_000_000, seed=3)
        replay = cluster.replay(files3, "--rate", "6000", "--batch", "20", background=True)
        time.sleep(1.5)
        # The sample stream's leader: publishes get "no responders" until the other two elect
        # a new one, which replay must ride out (the hardest server to lose).
        leader = (cluster.stream("VIGIL_SAMPLES") or {}).get("cluster", {}).get("leader", "n2")
        victim = int(leader[1:])
        print(f"  killing {leader}, the leader of VIGIL_SAMPLES", flush=True)
        cluster.nats[victim].send_signal(signal.SIGKILL)
        cluster.nats[victim].wait()
        out, _ = replay.communicate(timeout=300)
        check(replay.returncode == 0, f"replay with a NATS server killed finished ({out.strip()})")
        check(wait(cluster.drained, 120, "phase 4 drained"), "the cluster kept serving: every message acknowledged")
        a_new = cluster.acked_samples("A", [0, 1, 2])
        check(a_new == sum(counts3[:3]), f"A processed the phase's {sum(counts3[:3])} samples of partitions 0-2 exactly once ({a_new})")
        b_total = cluster.acked_samples("B", [3, 4, 5])
        check(b_total == sum(counts1[3:]) + sum(counts2[3:]) + sum(counts3[3:]), f"B processed every sample of partitions 3-5 exactly once ({b_total})")
        alerts4 = cluster.alerts()
        ok, dups = unique_events(alerts4)
        check(ok, f"every alert event once in the alert stream ({len(alerts4)} events; duplicates: {dups[:3]})")
        check(len(alerts4) == cluster.alert_stream_messages(), "vigil tail --nats printed every message of the alert stream")
    finally:
        cluster.stop()
        if mosquitto and mosquitto.poll() is None:
            mosquitto.terminate()
            mosquitto.wait(timeout=10)
    if FAILURES:
        print(f"\n{len(FAILURES)} checks failed (logs in {work}):")
        for f in FAILURES:
            print("  - " + f)
        return 1
    print("\nall cluster checks passed")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
