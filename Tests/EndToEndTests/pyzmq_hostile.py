#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Hostile and clock-confused ZeroMQ peers for Vigil's end-to-end tests (pyzmq, its own libzmq).

junk   ENDPOINT COUNT        PUSH COUNT messages that each name a new sensor but must not make
                             one: malformed JSON arrays whose first element is a valid sample
                             (the registry-exhaustion flood), VGL1 frames of NaN only, samples
                             stamped a day ahead and a truncated VGL1 frame, in turn. Prints
                             "sent N in S s".
clock  ENDPOINT SENSOR       PUSH one sensor's samples stamped around the current time, with a
                             gateway clock gone wrong in between (see the body). Prints what
                             the daemon should count, as JSON.
"""
import json
import math
import struct
import sys
import time

import zmq


def push_socket(endpoint):
    ctx = zmq.Context()
    push = ctx.socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 30000)
    push.connect(endpoint)
    return ctx, push


def vgl1(sensor, samples):
    sid = sensor.encode()
    body = b"".join(struct.pack("<qd", ts, v) for ts, v in samples)
    return b"VGL1" + struct.pack("<H", len(sid)) + sid + struct.pack("<I", len(samples)) + body


def junk(endpoint, count):
    ctx, push = push_socket(endpoint)
    now = time.time_ns()
    day = 86_400 * 1_000_000_000
    started = time.time()
    for k in range(count):
        kind = k % 4
        if kind == 0:
            msg = ('[{"sensor":"junk/%d","ts":%d,"value":1.5},{"sensor":"junk/%dx","value":}]' % (k, now, k)).encode()
        elif kind == 1:
            msg = vgl1("junk/%d" % k, [(now, math.nan), (now + 1, math.inf)])
        elif kind == 2:
            msg = json.dumps({"sensor": "junk/%d" % k, "ts": now + day, "value": 1.0}).encode()
        else:
            msg = vgl1("junk/%d" % k, [(now, 1.0)])[:-3]
        push.send(msg)
    push.close()
    ctx.term()
    print("sent %d in %.2f s" % (count, time.time() - started), flush=True)


def clock(endpoint, sensor):
    ctx, push = push_socket(endpoint)
    s = 1_000_000_000
    now = time.time_ns()
    t0 = now - 600 * s
    expected = {"accepted": 0, "future_timestamp": 0, "late_sample": 0}

    def send(ts, value, outcome="accepted"):
        push.send(json.dumps({"sensor": sensor, "ts": ts, "value": value}).encode())
        expected[outcome] += 1

    # A calm baseline, one sample a second, ending 400 s before now.
    for i in range(200):
        send(t0 + i * s, 10 + math.sin(i / 5) * 0.5 + (i % 7) * 0.01)
    last = t0 + 199 * s
    # A gateway whose clock jumped two hours ahead: dropped.
    send(now + 7200 * s, 500.0, "future_timestamp")
    # Forty minutes ahead: within max_future, accepted, and it must not freeze the sensor.
    send(now + 2400 * s, 10.2)
    # A buffered sample 4 minutes older than the newest: within the reorder window.
    send(last - 240 * s, 10.1)
    # Ten minutes older than the newest: late.
    send(last - 600 * s, 10.0, "late_sample")
    # The gateway carries on with correct timestamps, then a spike (which must raise an alert).
    for i in range(1, 31):
        send(last + i * s, 10 + (i % 7) * 0.01)
    for i in range(31, 34):
        send(last + i * s, 100.0)
    for i in range(34, 60):
        send(last + i * s, 10 + (i % 7) * 0.01)
    push.close()
    ctx.term()
    print(json.dumps(expected), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "junk":
        junk(sys.argv[2], int(sys.argv[3]))
    else:
        clock(sys.argv[2], sys.argv[3])
