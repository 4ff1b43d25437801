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
burst ENDPOINT PID MESSAGES SAMPLES   PUSH MESSAGES VGL1 messages of SAMPLES samples (100 sensors),
                                      built first and sent back to back, SIGTERM process PID right
                                      after the last send returns, then close with a long linger;
                                      print the samples sent.
load  ENDPOINT SENSORS RATE           PUSH a steady load until killed: every 10 ms one VGL1 message
                                      of RATE/100 samples per sensor chaos/s<k>, calm with a 3-sample
                                      spike every 150 samples (staggered by sensor), 1 s apart.
"""
import json
import math
import os
import signal
import struct
import sys
import time

import zmq


def send(endpoint, sensor, n, spike_at):
    ctx = zmq.Context()
    push = ctx.socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 10000)
    push.connect(endpoint)
    t0 = 1_750_000_000_000_000_000
    for i in range(n):
        value = 10 + math.sin(i / 5) * 0.5 + (i % 7) * 0.01
        if spike_at <= i < spike_at + 3:
            value = 100.0
        push.send(json.dumps({"sensor": sensor, "ts": t0 + i * 1_000_000_000, "value": value}).encode())
    # Python's json writes NaN: the daemon must count it, not choke on it.
    push.send(json.dumps({"sensor": sensor, "ts": t0, "value": float("nan")}).encode())
    push.close()
    ctx.term()


def sub(endpoint, count, timeout):
    ctx = zmq.Context()
    s = ctx.socket(zmq.SUB)
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
    s = ctx.socket(zmq.REQ)
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
    elif sys.argv[1] == "burst":
        burst(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    elif sys.argv[1] == "load":
        load(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sub(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
