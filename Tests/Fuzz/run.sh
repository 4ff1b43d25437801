#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Builds the libFuzzer targets of Tests/Fuzz/ (coverage instrumentation and AddressSanitizer in every
# module of the graph, libFuzzer's main) and runs each for FUZZ_SECONDS seconds, starting from its seed
# corpus (written by the target itself from the fixtures and valid encodings), the corpus grown by
# earlier runs (Tests/Fuzz/.build/fuzz/<target>/corpus) and the inputs it found before (Tests/Fuzz/Findings/<target>).
# Prints executions and crashes per target; exits 1 when any target crashed, hung or ran out of
# memory (the input is kept in Tests/Fuzz/.build/fuzz/<target>/artifacts; turn it into a test, fix it,
# and add it to Tests/Fuzz/Findings/<target>), 2 when the build fails.
#
#   FUZZ_SECONDS=60 Tests/Fuzz/run.sh                   # what `make fuzz` runs
#   FUZZ_SECONDS=300 Tests/Fuzz/run.sh FuzzConfigLoader # one target, longer
set -uo pipefail
cd "$(dirname "$0")"

seconds=${FUZZ_SECONDS:-60}
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(FuzzIngestDecoder FuzzConfigLoader FuzzDetectorSnapshot FuzzHistoryRequest)
# --sanitize=fuzzer tells SwiftPM that libFuzzer supplies main (it then does not rename the
# targets' entry points); the -Xswiftc -sanitize=fuzzer,address after it is the one the compiler
# obeys (the last -sanitize= wins; SwiftPM's --sanitize=fuzzer --sanitize=address would pass two,
# in no fixed order, leaving a build without coverage or without AddressSanitizer). C targets
# (libyaml in Yams, the shims) get coverage and ASan through -Xcc.
flags=(-c release --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address)

quiet() { grep -Ev '^(\[[0-9]+/[0-9]+\]|warning: prohibited flag|/usr/bin/ld.gold: warning|Building for|Build of product)' || true; }
# Whether libFuzzer finds coverage counters in the target (it prints "Loaded N modules").
instrumented() {
  local out
  out=$(SWIFT_BACKTRACE=enable=no "$bin/$1" -runs=0 2>&1 </dev/null)
  grep -q 'INFO: Loaded [0-9]* modules' <<<"$out"
}
bin=$(swift build "${flags[@]}" --show-bin-path) || exit 2
for t in "${targets[@]}"; do
  echo "== building $t (swift build ${flags[*]} --product $t)"
  swift build "${flags[@]}" --product "$t" 2>&1 | quiet
  [ -x "$bin/$t" ] || { echo "fuzz: $t did not build"; exit 2; }
  # A target without coverage counters would fuzz blind and report nothing.
  instrumented "$t" || { echo "fuzz: $t has no coverage instrumentation (a build from other flags? rm -rf Tests/Fuzz/.build)"; exit 2; }
done

work=.build/fuzz
status=0
summary=()
for t in "${targets[@]}"; do
  dir=$work/$t
  rm -rf "$dir/seeds" "$dir/artifacts"
  mkdir -p "$dir/corpus" "$dir/artifacts" "Findings/$t"
  VIGIL_FUZZ_SEEDS=$dir/seeds "$bin/$t" >/dev/null 2>"$dir/seeds.log" || { echo "fuzz: $t could not write its seeds"; cat "$dir/seeds.log"; exit 2; }
  echo "== $t: ${seconds} s"
  SWIFT_BACKTRACE=enable=no "$bin/$t" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix="$dir/artifacts/" "$dir/corpus" "$dir/seeds" "Findings/$t" >"$dir/log" 2>&1
  rc=$?
  execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$dir/log" | tail -1)
  crashes=$(find "$dir/artifacts" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)
  corpus=$(find "$dir/corpus" -type f | wc -l)
  line=$(printf '%-22s %12s executions  %2d crashes  %6d corpus inputs' "$t" "${execs:-?}" "$crashes" "$corpus")
  summary+=("$line")
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    status=1
    echo "fuzz: $t failed (exit $rc); inputs kept:"
    find "$dir/artifacts" -type f | sed 's/^/  /'
    grep -E 'ERROR|invariant broken|Fatal error|SUMMARY|panic' "$dir/log" | head -5 | sed 's/^/  /'
    echo "  full log: Tests/Fuzz/$dir/log"
  fi
done
echo "== fuzzing summary (${seconds} s per target)"
printf '%s\n' "${summary[@]}"
exit $status
