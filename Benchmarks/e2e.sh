#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# End-to-end throughput of Vigil: samples/s from a separate sender process (e2e_sender.py,
# pyzmq PUSH) through a real daemon on loopback, with a zero-loss check.
#
# The brief asks for this against a release `vigild --config` scraping
# vigil_samples_processed_total from /metrics. On this branch `vigild` is still a stub
# (Sources/vigild/main.swift only prints its name), so this script drives the in-process
# `Daemon` benchmark instead (Benchmarks/VigilBenchmarks/EndToEndBenchmarks.swift): same daemon
# code, same sockets, the daemon's own samplesProcessed counter instead of the /metrics scrape.
#
#   Benchmarks/e2e.sh                      # both cases, 3 runs each
#   VIGIL_E2E_SCALE=0.2 Benchmarks/e2e.sh  # smaller runs
#   Benchmarks/e2e.sh --filter 'E2E/.*JSON' # extra options go to `swift package benchmark`
set -euo pipefail
cd "$(dirname "$0")"
python3 -c 'import zmq' 2>/dev/null || { echo "e2e.sh: needs pyzmq (pip install pyzmq)" >&2; exit 1; }
filter=(--filter 'E2E/.*')
for a in "$@"; do [[ $a == --filter ]] && filter=(); done
exec swift package --allow-writing-to-package-directory benchmark "${filter[@]}" --no-progress "$@"
