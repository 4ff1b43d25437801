// SPDX-License-Identifier: GPL-3.0-or-later
import Benchmark
import RingBuffer
import Synchronization
import VigilCore
#if canImport(Glibc)
import Glibc
#endif

/// Batch size of every ring benchmark (the brief's 256).
private let batch = 256
/// Samples moved per run: 4 Mi (16 384 batches).
private let samplesPerRun = 1 << 22

/// A consumer thread that lives across runs: it drains `ring` in batches of 256 into its own
/// buffer (or in place with `consume`) and publishes how many samples it has taken.
private final class RingConsumer: @unchecked Sendable {
    let ring = SPSCRing<Sample>(minimumCapacity: 65_536)
    let consumed = Atomic<Int>(0)
    let stop = Atomic<Bool>(false)
    /// While set, the consumer sleeps instead of spinning (so a floor measured between runs
    /// has both cores).
    let paused = Atomic<Bool>(false)
    let zeroCopy: Bool
    private var thread = pthread_t()

    init(zeroCopy: Bool) {
        self.zeroCopy = zeroCopy
        let me = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&thread, nil, { raw in
            let consumer = Unmanaged<RingConsumer>.fromOpaque(raw!).takeRetainedValue()
            consumer.run()
            return nil
        }, me)
        precondition(rc == 0)
    }

    private func run() {
        let buffer = UnsafeMutableBufferPointer<Sample>.allocate(capacity: batch)
        defer { buffer.deallocate() }
        var total = 0
        var checksum: UInt32 = 0
        while !stop.load(ordering: .relaxed) {
            if paused.load(ordering: .relaxed) { usleep(1_000); continue }
            let n: Int
            if zeroCopy {
                n = ring.consume(maximum: batch) { run in
                    for s in run { checksum &+= s.sensor }
                }
            } else {
                n = ring.pop(into: buffer)
                for k in 0..<n { checksum &+= buffer[k].sensor }
            }
            if n == 0 { continue }  // spin: the producer is the other core
            total += n
            consumed.store(total, ordering: .releasing)
        }
        blackHole(checksum)
    }

    func shutdown() {
        stop.store(true, ordering: .releasing)
        pthread_join(thread, nil)
    }
}

/// `batch` samples of 8 sensors, the producer's source.
private func sourceBatch() -> UnsafeMutableBufferPointer<Sample> {
    let p = UnsafeMutableBufferPointer<Sample>.allocate(capacity: batch)
    for k in 0..<batch {
        p[k] = Sample(sensor: UInt32(k & 7), timestamp: Int64(k), value: Double(k))
    }
    return p
}

func ringBenchmarks() {
    let config = Benchmark.Configuration(
        metrics: [.mallocCountTotal, BenchMetric.itemsPerSecond],
        scalingFactor: .one, maxDuration: .seconds(3), maxIterations: 200)
    var twoThreads = config
    twoThreads.metrics += [Floor.floorRate, Floor.ratio]
    twoThreads.maxIterations = 40

    // Two threads: this thread produces, a long-lived consumer thread pops.
    for zeroCopy in [false, true] {
        let name = zeroCopy ? "Ring/2 threads push(contentsOf:) 256 / consume(maximum: 256)"
                            : "Ring/2 threads push(contentsOf:) 256 / pop(into:) 256"
        let holder = Holder<RingConsumer>()
        Benchmark(name, configuration: twoThreads) { benchmark in
            let c = holder.value!
            let source = UnsafeBufferPointer(sourceBatch())
            defer { UnsafeMutableBufferPointer(mutating: source).deallocate() }
            let target = c.consumed.load(ordering: .acquiring) + samplesPerRun
            benchmark.startMeasurement()
            let rate = measure(benchmark, items: samplesPerRun) {
                var pushed = 0
                while pushed < samplesPerRun {
                    let n = c.ring.push(contentsOf: source)
                    pushed += n
                    // Full ring: spin (the consumer runs on the other core).
                }
                while c.consumed.load(ordering: .acquiring) < target {}
            }
            // The floor, in the same run: a textbook C SPSC ring moving the same samples in the
            // same batches (Floors/spsc_ring.c), while our consumer sleeps.
            c.paused.store(true, ordering: .relaxed)
            Floor.record(benchmark, name, rate: rate, floor: Floor.cRingRate(samples: samplesPerRun), floorName: "C SPSC ring (gcc -O2)")
            c.paused.store(false, ordering: .relaxed)
        } setup: {
            holder.value = RingConsumer(zeroCopy: zeroCopy)
        } teardown: {
            holder.value?.shutdown()
            holder.value = nil
        }
    }

    // One thread: push a batch, pop it back (the cost of the ring itself, no cache-line traffic).
    Benchmark("Ring/1 thread push(contentsOf:) 256 + pop(into:) 256", configuration: config) { benchmark in
        let ring = SPSCRing<Sample>(minimumCapacity: 65_536)
        let source = UnsafeBufferPointer(sourceBatch())
        let sink = UnsafeMutableBufferPointer<Sample>.allocate(capacity: batch)
        defer {
            UnsafeMutableBufferPointer(mutating: source).deallocate()
            sink.deallocate()
        }
        var checksum: UInt32 = 0
        benchmark.startMeasurement()
        measure(benchmark, items: samplesPerRun, noAllocations: "ring single thread") {
                for _ in 0..<(samplesPerRun / batch) {
                    let n = ring.push(contentsOf: source)
                    let m = ring.pop(into: sink)
                    checksum &+= UInt32(truncatingIfNeeded: n &+ m) &+ sink[m - 1].sensor
                }
        }
        blackHole(checksum)
    }

    Benchmark("Ring/1 thread push + pop (single)", configuration: config) { benchmark in
        let ring = SPSCRing<Sample>(minimumCapacity: 65_536)
        var checksum: UInt32 = 0
        let n = samplesPerRun / 4
        benchmark.startMeasurement()
        measure(benchmark, items: n, noAllocations: "ring single push/pop") {
                for k in 0..<n {
                    ring.push(Sample(sensor: UInt32(k & 7), timestamp: Int64(k), value: 1))
                    checksum &+= ring.pop()!.sensor
                }
        }
        blackHole(checksum)
    }
}
