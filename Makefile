# Vigil — make targets. `make demo` and `make test` are the two set-up commands.
# SPDX-License-Identifier: GPL-3.0-or-later

SWIFT        ?= swift
NAB          ?= ../shared/datasets/nab
APT_PACKAGES := libzmq3-dev libfftw3-dev libsqlite3-dev libnats-dev libmosquitto-dev pkg-config curl
## Servers for make test-cluster (and mosquitto_pub for its MQTT check).
CLUSTER_PACKAGES := nats-server mosquitto mosquitto-clients
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BIN          := .build/release

.PHONY: all deps cluster-deps test-cluster build release test test-tsan fuzz fuzz-smoke demo bench soak eval-nab eval-nab-detectors tep-eval clean

all: build

## Install the system libraries (ZeroMQ, FFTW, SQLite, NATS, Mosquitto) and pyzmq (for tests) when missing.
deps:
	@if ! command -v curl >/dev/null || ! pkg-config --exists libzmq fftw3 sqlite3 libnats libmosquitto 2>/dev/null; then \
	  echo "installing $(APT_PACKAGES)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES); \
	fi
	@python3 -c 'import zmq' 2>/dev/null || python3 -m pip install -q pyzmq 2>/dev/null || \
	  echo "note: pyzmq not installed; the pyzmq peer test will fail"

## nats-server, mosquitto and mosquitto_pub for make test-cluster, installed when missing.
cluster-deps: deps
	@if ! command -v nats-server >/dev/null && [ ! -x /usr/sbin/nats-server ] || \
	    ! command -v mosquitto_pub >/dev/null || { ! command -v mosquitto >/dev/null && [ ! -x /usr/sbin/mosquitto ]; }; then \
	  echo "installing $(CLUSTER_PACKAGES)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(CLUSTER_PACKAGES); \
	fi

## Several vigild on a real three-node NATS JetStream cluster and a mosquitto broker on loopback:
## exactly once per partition, redeliveries deduplicated, kill -9 of a daemon under load and its
## standby's takeover, a NATS server killed (Tests/Cluster/cluster_test.py).
test-cluster: cluster-deps
	$(SWIFT) build
	python3 Tests/Cluster/cluster_test.py --vigild .build/debug/vigild --vigil .build/debug/vigil

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

## The whole test suite (unit, real sockets, real FFTW and SQLite, real vigild processes).
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

## The lock-free parts and the pipeline under Thread Sanitizer (separate build folder).
test-tsan: deps
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan
	$(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan \
	  --filter 'RingBufferTests|VigilPipelineTests|FFTTests|DaemonInProcessTests|StreamingIsolationForestTests'

## libFuzzer targets (separate package in Tests/Fuzz/, built with -sanitize=fuzzer,address): each runs
## FUZZ_SECONDS seconds; prints executions and crashes per target, fails on any crash or hang.
## Targets: the ingest decoder (JSON and VGL1), the config loader, the detector snapshot reader,
## the history request parser.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= FuzzIngestDecoder FuzzConfigLoader FuzzDetectorSnapshot FuzzHistoryRequest
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) Tests/Fuzz/run.sh $(FUZZ_TARGETS)

## A few seconds per target (what CI runs).
fuzz-smoke: deps
	FUZZ_SECONDS=5 Tests/Fuzz/run.sh $(FUZZ_TARGETS)

## Start vigild on the default config, replay bundled fixtures into it, show the alerts.
demo: release
	@scripts=$$(mktemp -d); state=$$scripts/state; \
	sed "s|directory: ./state|directory: $$state|" Configs/vigil.yaml > $$scripts/vigil.yaml; \
	echo "== starting vigild (config Configs/vigil.yaml, state in $$state)"; \
	$(BIN)/vigild --config $$scripts/vigil.yaml & daemon=$$!; \
	trap 'kill $$daemon 2>/dev/null' EXIT; \
	for i in $$(seq 1 50); do curl -sf http://127.0.0.1:9464/readyz >/dev/null 2>&1 && break; sleep 0.1; done; \
	echo "== vigil tail (alerts as an operator sees them)"; \
	$(BIN)/vigil tail --idle-timeout 4 & tail=$$!; sleep 0.5; \
	echo "== vigil replay: a plant machine that failed (NAB), then a synthetic pump row by row (its sensors are one asset)"; \
	$(BIN)/vigil replay Fixtures/nab/data/realKnownCause/machine_temperature_system_failure.csv --speed max; \
	$(BIN)/vigil replay Fixtures/synthetic/pump7.csv --speed max --batch 1; \
	wait $$tail; \
	echo "== metrics (http://127.0.0.1:9464/metrics)"; \
	curl -s http://127.0.0.1:9464/metrics | grep -E '^vigil_(samples|alert_seq|sensors)' ; \
	kill -TERM $$daemon; wait $$daemon; trap - EXIT; \
	echo "== vigild drained and stopped"

## Benchmarks (package-benchmark, separate package in Benchmarks/).
bench: deps
	cd Benchmarks && $(SWIFT) package --allow-writing-to-package-directory benchmark

## Soak: a release vigild (shipped config) under looped replay for SOAK_SECONDS (600), RSS and
## open file descriptors printed every 5 s and required flat after the warm-up.
soak: release
	python3 Benchmarks/soak.py --seconds $${SOAK_SECONDS:-600} --vigild $(BIN)/vigild --vigil $(BIN)/vigil --nab $(NAB)

## Evaluate the detectors on the whole NAB corpus (needs ../shared/datasets/nab or NAB=path).
eval-nab: release
	@if [ ! -d "$(NAB)/data" ]; then \
	  echo "eval-nab: the NAB corpus is not at $(NAB) (set NAB=/path/to/nab); the bundled series are in Fixtures/nab"; exit 2; fi
	$(BIN)/vigil eval $(NAB)/data --labels $(NAB)/labels/combined_windows.json

## The same per detector (Configs/eval/*.yaml), totals only.
eval-nab-detectors: release
	@if [ ! -d "$(NAB)/data" ]; then \
	  echo "eval-nab-detectors: the NAB corpus is not at $(NAB) (set NAB=/path/to/nab)"; exit 2; fi
	@for c in surprise zscore-raw zscore spectral_residual isolation_forest combined; do \
	  printf '%-18s ' $$c; \
	  $(BIN)/vigil eval $(NAB)/data --labels $(NAB)/labels/combined_windows.json --config Configs/eval/$$c.yaml 2>/dev/null | grep '^total'; \
	done

# Tennessee Eastman (Braatz data, not bundled): make tep-eval TEP=/path/to/data
tep-eval: release
	python3 Benchmarks/tep_eval.py "$(TEP)" $(BIN)/vigil Configs/vigil.yaml

clean:
	rm -rf .build .build-tsan Tests/Fuzz/.build
