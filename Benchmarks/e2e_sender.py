#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Vigil end-to-end load generator: PUSHes N ingest messages to a daemon's PULL endpoint as fast
as it can, in a process of its own.

  e2e_sender.py ENDPOINT binary|json MESSAGES [--sensors 1000] [--batch 256] [--rounds R] [--duration S]

binary: VGL1 frames of --batch samples, sensors round-robin over --sensors ids.
json:   one-sample JSON messages {"sensor","ts","value"}, sensors round-robin.

Messages are built before connecting (a pool of --rounds per sensor, cycled), so the timed loop is
only socket sends. With --duration S, whole laps of the pool are sent until S seconds have passed
(MESSAGES is then only an upper bound) and the report says how many were sent. Prints one line of JSON on stdout when every message is handed to libzmq and
the socket has flushed (linger): first_send_ns / last_send_ns (CLOCK_MONOTONIC, comparable with
the daemon process), messages, samples.
"""
import argparse
import json
import random
import struct
import sys
import time

import zmq


def sensor_id(i):
    return "plant1/unit%04d/vibration" % i


def binary_pool(sensors, batch, rounds, rng):
    pool = []
    base = 1_732_500_000_000_000_000
    for r in range(rounds):
        for s in range(sensors):
            sid = sensor_id(s).encode()
            head = b"VGL1" + struct.pack("<H", len(sid)) + sid + struct.pack("<I", batch)
            t0 = base + (r * batch) * 1_000_000
            flat = []
            for k in range(batch):
                flat.append(t0 + k * 1_000_000)
                flat.append(10.0 + rng.gauss(0, 1))
            body = struct.pack("<" + "qd" * batch, *flat)
            pool.append(head + body)
    return pool


def json_pool(sensors, rounds, rng):
    pool = []
    base = 1_732_500_000_000_000_000
    for r in range(rounds):
        for s in range(sensors):
            msg = '{"sensor":"%s","ts":%d,"value":%.6f}' % (sensor_id(s), base + r * 1_000_000, 10.0 + rng.gauss(0, 1))
            pool.append(msg.encode())
    return pool


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("endpoint")
    ap.add_argument("mode", choices=["binary", "json"])
    ap.add_argument("messages", type=int)
    ap.add_argument("--sensors", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--hwm", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=0, help="messages per sensor in the pool (default 4 binary, 16 json)")
    ap.add_argument("--duration", type=float, default=0, help="send whole laps of the pool for this many seconds")
    args = ap.parse_args()

    rng = random.Random(42)
    if args.mode == "binary":
        pool = binary_pool(args.sensors, args.batch, args.rounds or 4, rng)
        per = args.batch
    else:
        pool = json_pool(args.sensors, args.rounds or 16, rng)
        per = 1
    # Whole laps of the pool plus a remainder, as one flat list: the loop is a plain for.
    laps, rest = divmod(args.messages, len(pool))
    schedule = pool * laps + pool[:rest] if args.duration <= 0 else pool

    ctx = zmq.Context(io_threads=1)
    sock = ctx.socket(zmq.PUSH)
    sock.setsockopt(zmq.SNDHWM, args.hwm)
    sock.setsockopt(zmq.LINGER, -1)  # deliver everything before close returns
    sock.setsockopt(zmq.SNDBUF, 4 << 20)
    sock.connect(args.endpoint)
    time.sleep(0.2)  # let the TCP connection come up so the first send is not a local queue fill
    send = sock.send
    first = time.monotonic_ns()
    sent = 0
    if args.duration <= 0:
        for m in schedule:
            send(m)
        sent = len(schedule)
    else:
        end = first + int(args.duration * 1e9)
        while sent + len(pool) <= args.messages and time.monotonic_ns() < end:
            for m in pool:
                send(m)
            sent += len(pool)
    last = time.monotonic_ns()
    sock.close()
    ctx.term()
    flushed = time.monotonic_ns()
    print(json.dumps({"first_send_ns": first, "last_send_ns": last, "flushed_ns": flushed,
                      "messages": sent, "samples": sent * per}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
