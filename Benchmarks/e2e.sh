#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# End-to-end figures of Vigil, every one as a ratio to its floor measured in the same run (this
# machine's speed varies by more than 2x from day to day, and from minute to minute when it is
# shared, so only such a ratio means anything). The sender is always `vigil bench-send`.
#
# 1. process (default): a release `vigild` built from this checkout, generated config on free
#    ports (e2e_process.py): binary VGL1 batches of 256 and one-sample JSON over 1000 sensors,
#    each run next to the raw ZeroMQ receive floor (`vigil bench-receive` taking the same
#    bench-send stream); pipeline.workers 1, 2, 3; ingest-to-alert latency at half the binary
#    rate. Zero loss is checked in every run.
# 2. in-process (--in-process): the `Daemon` inside the package-benchmark process
#    (Benchmarks/VigilBenchmarks/EndToEndBenchmarks.swift), each run next to the same floor.
#
#   Benchmarks/e2e.sh                          # the vigild process: throughput, scaling, latency
#   Benchmarks/e2e.sh --in-process             # only the in-process benchmark
#   Benchmarks/e2e.sh --all                    # both
#   Benchmarks/e2e.sh --only throughput        # e2e_process.py options pass through
#   Benchmarks/e2e.sh --pyzmq                  # also a receive-only pyzmq floor
#   VIGIL_E2E_SCALE=0.2 Benchmarks/e2e.sh      # smaller runs (both ways)
#   VIGIL_E2E_RUNS=5 Benchmarks/e2e.sh         # runs per case of the process measurement
set -euo pipefail
cd "$(dirname "$0")"

in_process=0
process=1
py=()
for a in "$@"; do
    case $a in
        --in-process) in_process=1; process=0 ;;
        --all) in_process=1; process=1 ;;
        --process) ;;
        *) py+=("$a") ;;
    esac
done

(cd .. && swift build -c release --product vigild && swift build -c release --product vigil)
bin="$(cd .. && swift build -c release --show-bin-path)"
export VIGIL_BENCH_SEND="$bin/vigil"

if (( process )); then
    echo "== vigild process (release build, generated config, /metrics scrape; sender: vigil bench-send)"
    python3 e2e_process.py "$bin/vigild" "$bin/vigil" --runs "${VIGIL_E2E_RUNS:-3}" --scale "${VIGIL_E2E_SCALE:-1}" "${py[@]+"${py[@]}"}"
fi

if (( in_process )); then
    echo "== in-process Daemon (swift package benchmark, E2E/*; ratios in .build/vigil-bench-details.log)"
    swift package --allow-writing-to-package-directory benchmark --filter 'E2E/.*' --no-progress
fi
