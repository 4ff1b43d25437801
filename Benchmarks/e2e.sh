#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# End-to-end throughput of Vigil: samples/s from a separate sender process (e2e_sender.py,
# pyzmq PUSH) through a real daemon on loopback, with a zero-loss check, two ways:
#
# 1. in-process: the `Daemon` inside the benchmark process
#    (Benchmarks/VigilBenchmarks/EndToEndBenchmarks.swift), its own samplesProcessed counter;
# 2. process: a release `vigild` built from this checkout, started with a generated config on
#    free ports (e2e_process.py), scraping vigil_samples_processed_total from /metrics; checks
#    processed == received == sent, every vigil_dropped_total 0, and a clean exit on SIGTERM.
#
# Both send binary VGL1 batches of 256 and one-sample JSON over 1000 sensors.
#
#   Benchmarks/e2e.sh                        # both ways, 3 runs per case
#   Benchmarks/e2e.sh --process              # only the vigild process
#   Benchmarks/e2e.sh --in-process           # only the in-process benchmark
#   VIGIL_E2E_SCALE=0.2 Benchmarks/e2e.sh    # smaller runs (both ways)
#   VIGIL_E2E_RUNS=5 Benchmarks/e2e.sh       # runs per case of the process measurement
#   Benchmarks/e2e.sh --filter 'E2E/.*JSON'  # other options go to `swift package benchmark`
set -euo pipefail
cd "$(dirname "$0")"
python3 -c 'import zmq' 2>/dev/null || { echo "e2e.sh: needs pyzmq (pip install pyzmq)" >&2; exit 1; }

in_process=1
process=1
rest=()
for a in "$@"; do
    case $a in
        --process) in_process=0 ;;
        --in-process) process=0 ;;
        *) rest+=("$a") ;;
    esac
done

if (( in_process )); then
    echo "== in-process Daemon (swift package benchmark, E2E/*)"
    filter=(--filter 'E2E/.*')
    for a in "${rest[@]+"${rest[@]}"}"; do [[ $a == --filter ]] && filter=(); done
    swift package --allow-writing-to-package-directory benchmark "${filter[@]}" --no-progress "${rest[@]+"${rest[@]}"}"
fi

if (( process )); then
    echo "== vigild process (release build, generated config, /metrics scrape)"
    swift build -c release --product vigild
    vigild="$(swift build -c release --product vigild --show-bin-path)/vigild"
    python3 e2e_process.py "$vigild" --runs "${VIGIL_E2E_RUNS:-3}" --scale "${VIGIL_E2E_SCALE:-1}"
fi
