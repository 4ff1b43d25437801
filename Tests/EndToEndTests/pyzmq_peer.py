#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""An independent ZeroMQ peer for Vigil's end-to-end tests (pyzmq, its own libzmq build).

send  ENDPOINT SENSOR N SPIKE_AT      PUSH N one-sample JSON messages (a calm signal with a
                                      3-sample spike at SPIKE_AT), then exit.
sub   ENDPOINT COUNT TIMEOUT_S        SUBSCRIBE to alert/, print each alert's JSON on one line,
                                      exit after COUNT alerts or TIMEOUT_S seconds.
ask   ENDPOINT JSON TIMEOUT_S         REQ one history request, print the reply (or "no reply").
flood ENDPOINT BYTES FRAMES TIMEOUT_S DEALER one request of BYTES bytes split into FRAMES frames
                                      (after the empty delimiter), print the reply or "no reply".
handshake ENDPOINT TYPE TIMEOUT_S     connect a push, sub or req socket and print how its handshake
                                      ended, as pyzmq's socket monitor reports it: "succeeded",
                                      "failed_auth STATUS", "failed_protocol 0xCODE",
                                      "failed_no_detail" or "timeout".
pub ENDPOINT SECRET_FILE CLIENT_PUB SENSOR N SPIKE_AT TIMEOUT_S
                                      bind a CURVE PUB server with the secret key in SECRET_FILE and
                                      a ZAP handler that admits only CLIENT_PUB (Z85); once a
                                      subscriber is in, publish N samples (as `send`), print
                                      "admitted KEY" / "refused KEY" per ZAP request, then exit.
burst ENDPOINT PID MESSAGES SAMPLES   PUSH MESSAGES VGL1 messages of SAMPLES samples (100 sensors),
                                      built first and sent back to back, SIGTERM process PID right
                                      after the last send returns, then close with a long linger;
                                      print the samples sent.
load  ENDPOINT SENSORS RATE           PUSH a steady load until killed: every 10 ms one VGL1 message
                                      of RATE/100 samples per sensor chaos/s<k>, calm with a 3-sample
                                      spike every 150 samples (staggered by sensor), 1 s apart.

CURVE: with VIGIL_CURVE_SERVER_KEY (the server's Z85 public key) and VIGIL_CURVE_KEY_FILE (a
file holding the client's Z85 secret key, as `vigil keygen --out` writes it) in the environment,
every client socket is a CURVE client (its public key derived with zmq.curve_public).
VIGIL_PEER_LINGER_MS overrides the sender's linger (10 s); VIGIL_PEER_SEND_TIMEOUT_MS bounds each
send (a PUSH whose only peer refused it has nowhere to queue: its sends block forever), after
which `send` prints "send timed out after K messages" and stops.
"""
import json
import math
import os
import signal
import struct
import sys
import threading
import time

import zmq
import zmq.utils.z85


def read_key(path):
    """The one Z85 key line of a key file (comments and blank lines ignored)."""
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if line and not (line.startswith("#") and len(line) != 40):
            return line.split()[0].encode()
    raise SystemExit(f"no key in {path}")


def secure(s):
    """Makes s a CURVE client when the environment names the keys."""
    server = os.environ.get("VIGIL_CURVE_SERVER_KEY")
    key_file = os.environ.get("VIGIL_CURVE_KEY_FILE")
    if server and key_file:
        secret = read_key(key_file)
        s.curve_serverkey = server.encode()
        s.curve_secretkey = secret
        s.curve_publickey = zmq.curve_public(secret)
    return s


def samples(sensor, n, spike_at):
    t0 = 1_750_000_000_000_000_000
    for i in range(n):
        value = 10 + math.sin(i / 5) * 0.5 + (i % 7) * 0.01
        if spike_at <= i < spike_at + 3:
            value = 100.0
        yield json.dumps({"sensor": sensor, "ts": t0 + i * 1_000_000_000, "value": value}).encode()


def send(endpoint, sensor, n, spike_at):
    ctx = zmq.Context()
    push = secure(ctx.socket(zmq.PUSH))
    push.setsockopt(zmq.LINGER, int(os.environ.get("VIGIL_PEER_LINGER_MS", "10000")))
    push.setsockopt(zmq.SNDTIMEO, int(os.environ.get("VIGIL_PEER_SEND_TIMEOUT_MS", "-1")))
    push.connect(endpoint)
    # Python's json writes NaN: the daemon must count it, not choke on it.
    nan = json.dumps({"sensor": sensor, "ts": 1_750_000_000_000_000_000, "value": float("nan")}).encode()
    for k, message in enumerate(list(samples(sensor, n, spike_at)) + [nan]):
        try:
            push.send(message)
        except zmq.Again:
            print(f"send timed out after {k} messages", flush=True)
            break
    push.close()
    ctx.term()


def sub(endpoint, count, timeout):
    ctx = zmq.Context()
    s = secure(ctx.socket(zmq.SUB))
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.SUBSCRIBE, b"alert/")
    s.connect(endpoint)
    print("subscribed", flush=True)
    deadline = time.time() + timeout
    got = 0
    while got < count and time.time() < deadline:
        if s.poll(100):
            topic, payload = s.recv_multipart()
            alert = json.loads(payload)
            assert topic.decode() == "alert/" + alert["sensor"], (topic, alert)
            print(json.dumps(alert), flush=True)
            got += 1
    s.close()
    ctx.term()


def reply_or_none(s, timeout):
    if s.poll(int(timeout * 1000)):
        return s.recv_multipart()[-1].decode()
    return "no reply"


def ask(endpoint, request, timeout):
    ctx = zmq.Context()
    s = secure(ctx.socket(zmq.REQ))
    s.setsockopt(zmq.LINGER, 0)
    s.connect(endpoint)
    s.send(request.encode())
    print(reply_or_none(s, timeout), flush=True)
    s.close()
    ctx.term()


def flood(endpoint, size, frames, timeout):
    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(endpoint)
    chunk = b'{"since_seq": 0, "pad": "' + b"x" * (size // frames)
    s.send_multipart([b""] + [chunk] * frames, copy=False)
    print(reply_or_none(s, timeout), flush=True)
    s.close()
    ctx.term()


def handshake(endpoint, kind, timeout):
    from zmq.utils.monitor import recv_monitor_message
    ctx = zmq.Context()
    s = secure(ctx.socket({"push": zmq.PUSH, "sub": zmq.SUB, "req": zmq.REQ}[kind]))
    s.setsockopt(zmq.LINGER, 0)
    monitor = s.get_monitor_socket()
    s.connect(endpoint)
    deadline = time.time() + timeout
    outcome = "timeout"
    while time.time() < deadline:
        if not monitor.poll(100):
            continue
        event = recv_monitor_message(monitor)
        kind_ = event["event"]
        if kind_ == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            outcome = "succeeded"
        elif kind_ == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            outcome = f"failed_auth {event['value']}"
        elif kind_ == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL:
            outcome = f"failed_protocol {hex(event['value'])}"
        elif kind_ == zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL:
            outcome = "failed_no_detail"
            continue  # a later attempt may say more; keep the first telling outcome
        else:
            continue
        break
    print(outcome, flush=True)
    s.disable_monitor()
    monitor.close()
    s.close()
    ctx.term()


def pub(endpoint, secret_file, client_pub, sensor, n, spike_at, timeout):
    from zmq.utils.monitor import recv_monitor_message
    ctx = zmq.Context()
    zap = ctx.socket(zmq.REP)
    zap.setsockopt(zmq.LINGER, 0)
    zap.bind("inproc://zeromq.zap.01")

    def handler():
        while True:
            try:
                frames = zap.recv_multipart()
            except zmq.ZMQError:
                return
            key = zmq.utils.z85.encode(frames[6]).decode() if len(frames) > 6 and len(frames[6]) == 32 else "?"
            ok = key == client_pub
            print(("admitted " if ok else "refused ") + key, flush=True)
            zap.send_multipart([b"1.0", frames[1], b"200" if ok else b"400", b"OK" if ok else b"no", b"", b""])

    threading.Thread(target=handler, daemon=True).start()
    s = ctx.socket(zmq.PUB)
    s.setsockopt(zmq.LINGER, 2000)
    s.curve_server = True
    s.curve_secretkey = read_key(secret_file)
    monitor = s.get_monitor_socket()
    s.bind(endpoint)
    print("bound", flush=True)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if monitor.poll(100) and recv_monitor_message(monitor)["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            break
    else:
        print("no subscriber", flush=True)
        os._exit(1)
    time.sleep(0.5)  # the subscription message follows the handshake
    for message in samples(sensor, n, spike_at):
        s.send(message)
    time.sleep(1)
    print("published", flush=True)
    os._exit(0)  # the ZAP thread blocks in recv; the PUB linger already flushed


def vgl1(sensor, samples):
    sid = sensor.encode()
    head = b"VGL1" + struct.pack("<H", len(sid)) + sid + struct.pack("<I", len(samples))
    return head + struct.pack("<" + "qd" * len(samples), *[x for s in samples for x in s])


def burst(endpoint, pid, messages, count):
    ctx = zmq.Context()
    push = ctx.socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 120000)
    push.connect(endpoint)
    t0 = 1_750_000_000_000_000_000
    # Built first, then sent as fast as libzmq takes them, so most are still queued at the signal.
    payloads = []
    for m in range(messages):
        base = t0 + (m // 100) * count * 1_000_000_000
        samples = [(base + i * 1_000_000_000, 10.0 + (i % 7) * 0.01) for i in range(count)]
        payloads.append(vgl1("burst/s%d" % (m % 100), samples))
    sent = 0
    for p in payloads:
        push.send(p, copy=False)
        sent += count
    os.kill(pid, signal.SIGTERM)
    print(sent, flush=True)
    push.close()
    ctx.term()


def load(endpoint, sensors, rate):
    ctx = zmq.Context()
    push = ctx.socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 0)
    push.connect(endpoint)
    t0 = 1_750_000_000_000_000_000
    per = max(1, rate // 100 // sensors)
    i = 0
    while True:
        for k in range(sensors):
            samples = []
            for j in range(i, i + per):
                phase = (j + k * 17) % 150
                value = 100.0 if 100 <= phase < 103 else 10 + math.sin(j / 5) * 0.5 + (j % 7) * 0.01
                samples.append((t0 + j * 1_000_000_000, value))
            push.send(vgl1("chaos/s%d" % k, samples))
        i += per
        time.sleep(0.01)


if __name__ == "__main__":
    if sys.argv[1] == "send":
        send(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif sys.argv[1] == "ask":
        ask(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    elif sys.argv[1] == "flood":
        flood(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
    elif sys.argv[1] == "handshake":
        handshake(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    elif sys.argv[1] == "pub":
        pub(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]), int(sys.argv[7]), float(sys.argv[8]))
    elif sys.argv[1] == "burst":
        burst(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    elif sys.argv[1] == "load":
        load(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sub(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
