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
        /// Per asset: its relations' registry indices and definitions.
        var relations: [UInt32: [(index: UInt32, definition: RelationDefinition)]] = [:]
        /// Per relation index: its asset.
        var relationAsset: [UInt32: UInt32] = [:]
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

    /// Registers relation `definition` of `asset`, whose residual is the registry entry `index`
    /// (idempotent). Ingest thread, when it first sees the asset (or at restore).
    public func registerRelation(index: UInt32, asset: UInt32, definition: RelationDefinition) {
        state.withLock { s in
            guard s.relationAsset[index] == nil else { return }
            s.relationAsset[index] = asset
            s.relations[asset, default: []].append((index, definition))
        }
    }

    /// The relations of `asset`, in config order.
    public func relations(of asset: UInt32) -> [(index: UInt32, definition: RelationDefinition)] {
        state.withLock { $0.relations[asset] ?? [] }
    }

    /// The asset of relation `index`, nil when `index` is not a relation's.
    public func relationAsset(of index: UInt32) -> UInt32? {
        state.withLock { $0.relationAsset[index] }
    }

    /// Term `k` of relation `index` as written (for the publisher: a relation alert names the
    /// terms that moved).
    public func relationTerm(of index: UInt32, at k: Int) -> String? {
        state.withLock { s in
            guard let asset = s.relationAsset[index], let r = s.relations[asset]?.first(where: { $0.index == index }) else { return nil }
            let terms = r.definition.expression.terms
            return k >= 0 && k < terms.count ? terms[k].text : nil
        }
    }

    /// Number of members of `asset` so far. Lock-free for an asset index below the capacity.
    @inline(__always)
    public func memberCount(of asset: UInt32) -> Int {
        if Int(asset) < capacity { return Int(counts[Int(asset)].load(ordering: .acquiring)) }
        return state.withLock { $0.members[asset]?.count ?? 0 }
    }
}
