// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// Which sensors form which asset, and each member's position in its asset's vector.
///
/// Written by the ingest thread when it first sees a sensor (off the hot path: once per
/// sensor); read by a worker when it creates a sensor's state and by the publisher to name the
/// member that explains an asset alert. Guarded by a `Lock`: no reader is on the per-sample path.
public final class AssetTable: Sendable {
    /// A sensor's place in an asset.
    public struct Membership: Sendable, Equatable {
        /// The asset's index in the sensor registry (asset alerts are published under its name).
        public var asset: UInt32
        /// The member's position in the asset's vector.
        public var position: Int
    }

    private struct State {
        var membership: [UInt32: Membership] = [:]
        var members: [UInt32: [UInt32]] = [:]
    }
    private let state = Lock(State())

    public init() {}

    /// Adds `sensor` to `asset` (idempotent) and returns its membership.
    @discardableResult
    public func register(sensor: UInt32, asset: UInt32) -> Membership {
        state.withLock { s in
            if let m = s.membership[sensor] { return m }
            let m = Membership(asset: asset, position: s.members[asset, default: []].count)
            s.members[asset, default: []].append(sensor)
            s.membership[sensor] = m
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

    /// Number of members of `asset` so far.
    public func memberCount(of asset: UInt32) -> Int {
        state.withLock { $0.members[asset]?.count ?? 0 }
    }
}
