// SPDX-License-Identifier: GPL-3.0-or-later
import Synchronization
import VigilCore
import VigilDetectors

/// Which sensors form which asset, and each member's position in its asset's vector.
///
/// Written by the ingest thread when it first sees a sensor (off the hot path: once per
/// sensor); read by a worker when it creates a sensor's state and by the publisher to name the
/// member that explains an asset alert. Guarded by a `Lock`, except each asset's member count,
/// which a worker reads on the per-sample path (until the asset's detector exists) from an atomic.
public final class AssetTable: @unchecked Sendable {
    /// A sensor's place in an asset (the asset's index in the sensor registry, under whose name
    /// asset alerts are published, and the member's position in the asset's vector).
    public typealias Membership = DetectorShard.Membership

    private struct State {
        var membership: [UInt32: Membership] = [:]
        var members: [UInt32: [UInt32]] = [:]
    }
    private let state = Lock(State())
    /// Member count by asset index, below `capacity` (written under the lock with release).
    private let counts: UnsafeMutablePointer<Atomic<Int32>>
    private let capacity: Int

    /// A table for asset indices below `capacity` (the registry's limit).
    public init(capacity: Int = 1 << 16) {
        precondition(capacity >= 1)
        self.capacity = capacity
        counts = .allocate(capacity: capacity)
        for i in 0..<capacity { (counts + i).initialize(to: Atomic(0)) }
    }

    deinit {
        counts.deinitialize(count: capacity)
        counts.deallocate()
    }

    /// Adds `sensor` to `asset` (idempotent) and returns its membership.
    @discardableResult
    public func register(sensor: UInt32, asset: UInt32) -> Membership {
        state.withLock { s in
            if let m = s.membership[sensor] { return m }
            let m = Membership(asset: asset, position: s.members[asset, default: []].count)
            s.members[asset, default: []].append(sensor)
            s.membership[sensor] = m
            if Int(asset) < capacity { counts[Int(asset)].store(Int32(m.position + 1), ordering: .releasing) }
            return m
        }
    }

    /// The membership of `sensor`, if it belongs to an asset.
    public func membership(of sensor: UInt32) -> Membership? {
        state.withLock { $0.membership[sensor] }
    }

    /// The sensor at `position` of `asset`.
    public func member(of asset: UInt32, at position: Int) -> UInt32? {
        state.withLock { s in
            guard let list = s.members[asset], position >= 0, position < list.count else { return nil }
            return list[position]
        }
    }

    /// Number of members of `asset` so far. Lock-free for an asset index below the capacity.
    @inline(__always)
    public func memberCount(of asset: UInt32) -> Int {
        if Int(asset) < capacity { return Int(counts[Int(asset)].load(ordering: .acquiring)) }
        return state.withLock { $0.members[asset]?.count ?? 0 }
    }
}
