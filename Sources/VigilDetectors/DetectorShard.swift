// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// The detector state one thread owns for a set of sensors and their assets, and the one way a
/// sample runs through it: the sensor's chain (`SensorDetectors`), then, for an asset's member,
/// the asset's models (`AssetDetector`). `vigild`'s workers and `vigil eval` both process their
/// samples through it, so an asset is created, fed and explained the same way in both.
///
/// An asset's detector is created at a sample of its first member (position 0, where a round
/// starts: positions are given in arrival order) once the asset has `minimumAssetMembers`
/// members; created at another member, its rounds would pair values of different rows. Its models
/// are the ones its first member's settings resolve (`assetModels` of that member's slot).
///
/// Threading: a value owned by one thread. `process` neither locks nor allocates (beyond a new
/// asset's models, once); the member count it is given is read lock-free by the caller.
public struct DetectorShard: Sendable {
    /// A sensor's place in an asset: the asset's index (its alerts carry it) and the member's
    /// position in the asset's vector.
    public struct Membership: Sendable, Equatable {
        public var asset: UInt32
        public var position: Int

        public init(asset: UInt32, position: Int) {
            self.asset = asset
            self.position = position
        }
    }

    /// Members an asset needs before its multivariate detectors run (config `grouping.min_members`).
    public let minimumAssetMembers: Int
    /// Whether new asset detectors train their isolation forest on the calling thread (offline
    /// evaluation) rather than in the background.
    public let synchronousTraining: Bool
    /// Whether an asset member's own alerts are published once its asset's monitor monitors
    /// (config `grouping.member_alerts`).
    public let memberAlerts: MemberAlerts

    /// The chains, by slot.
    public private(set) var chains: [SensorDetectors] = []
    /// The asset detectors, by asset index.
    public private(set) var assetDetectors: [UInt32: AssetDetector] = [:]
    /// Slot by sensor index (-1: none).
    private var slotOf: [Int32] = []
    /// Per slot: the sensor's asset membership.
    private var memberships: [Membership?] = []
    /// Per slot of an asset member: the asset's models as this member's settings resolve them,
    /// one shared copy per distinct value (8 bytes a slot rather than 264).
    private var assetModels: [SharedAssetModels?] = []
    /// The distinct models seen (at most `DetectorSettingsInterner.capacity`).
    private var knownModels: [SharedAssetModels] = []
    /// The relations between assets' sensors (config `relations`), each with its residual's chain.
    public private(set) var relations: [RelationMonitor] = []
    /// Per slot: the relations the sensor is a variable of (relation index, variable index).
    private var relationBindings: [[RelationBinding]] = []

    struct RelationBinding: Sendable {
        var relation: Int32
        var variable: Int32
    }

    /// One asset-models value, shared by the slots it applies to.
    final class SharedAssetModels: Sendable {
        let settings: AssetDetector.Settings

        init(_ settings: AssetDetector.Settings) { self.settings = settings }
    }

    private mutating func share(_ models: AssetDetector.Settings?) -> SharedAssetModels? {
        guard let models else { return nil }
        if let found = knownModels.last(where: { $0.settings == models }) { return found }
        let box = SharedAssetModels(models)
        if knownModels.count < DetectorSettingsInterner.capacity { knownModels.append(box) }
        return box
    }
    /// Per slot: which of the chain's current alerts were published (`memberAlerts`).
    private var gates: [MemberAlertGate] = []
    /// Per slot: whether the member may raise alerts of its own (`MemberAlerts.whileLearning`):
    /// its asset's monitor did not monitor after the member's last sample (true for a sensor
    /// outside every asset, and until its asset exists). Kept here, not looked up per sample: a
    /// read of `assetDetectors[a]` copies the whole detector out.
    private var alone: [Bool] = []

    public init(minimumAssetMembers: Int = 2, memberAlerts: MemberAlerts = .whileLearning, synchronousTraining: Bool = false) {
        precondition(minimumAssetMembers >= 1)
        self.minimumAssetMembers = minimumAssetMembers
        self.memberAlerts = memberAlerts
        self.synchronousTraining = synchronousTraining
    }

    /// Chains held.
    public var count: Int { chains.count }

    /// The slot of `sensor`'s chain, nil when the shard has none.
    @inline(__always)
    public func slot(of sensor: UInt32) -> Int? {
        let s = Int(sensor)
        guard s < slotOf.count else { return nil }
        let k = Int(slotOf[s])
        return k >= 0 ? k : nil
    }

    /// The asset membership of the chain at `slot`.
    public func membership(at slot: Int) -> Membership? { memberships[slot] }

    /// Adds `chain` (a sensor the shard has no chain for yet) with its asset membership and the
    /// asset's models as its settings resolve them; returns its slot.
    ///
    /// `name` is the sensor's name: an asset member named by one of the asset's relations is bound
    /// to it (see `addRelation`).
    @discardableResult
    public mutating func add(_ chain: SensorDetectors, membership: Membership?, assetModels models: AssetDetector.Settings?,
                             name: String? = nil) -> Int {
        let sensor = Int(chain.sensor)
        if sensor >= slotOf.count { slotOf.append(contentsOf: repeatElement(-1, count: sensor + 1 - slotOf.count)) }
        precondition(slotOf[sensor] < 0, "sensor \(sensor) is in the shard already")
        slotOf[sensor] = Int32(chains.count)
        chains.append(chain)
        memberships.append(membership)
        assetModels.append(membership == nil ? nil : share(models))
        gates.append(MemberAlertGate(published: chain.openAlerts.map(\.detector)))
        alone.append(true)
        relationBindings.append([])
        let slot = chains.count - 1
        if let membership, let name { bind(slot: slot, asset: membership.asset, name: name) }
        return slot
    }

    /// Whether the shard holds the relations of `asset` (created with its first member).
    public func hasRelations(of asset: UInt32) -> Bool { relations.contains { $0.asset == asset } }

    /// Adds a relation's monitor and binds the members already present (`nameOf` gives a
    /// sensor's name). Off the sample path: once per relation.
    public mutating func addRelation(_ monitor: RelationMonitor, nameOf: (UInt32) -> String) {
        precondition(!relations.contains { $0.index == monitor.index }, "relation \(monitor.index) is in the shard already")
        relations.append(monitor)
        let r = relations.count - 1
        for slot in chains.indices where memberships[slot]?.asset == monitor.asset {
            let name = nameOf(chains[slot].sensor)
            for (v, n) in monitor.sensorNames.enumerated() where n == name {
                relationBindings[slot].append(RelationBinding(relation: Int32(r), variable: Int32(v)))
            }
        }
    }

    private mutating func bind(slot: Int, asset: UInt32, name: String) {
        for (r, monitor) in relations.enumerated() where monitor.asset == asset {
            for (v, n) in monitor.sensorNames.enumerated() where n == name {
                relationBindings[slot].append(RelationBinding(relation: Int32(r), variable: Int32(v)))
            }
        }
    }

    /// The relation whose residual is `sensor`, with the position of its monitor.
    public func relation(index sensor: UInt32) -> Int? { relations.firstIndex { $0.index == sensor } }

    /// Brings a relation's residual alert in line with the journal (at restart, before any sample).
    public mutating func reconcileRelation(at position: Int, with latest: JournaledAlert) -> AlertReconciliation {
        relations[position].reconcile(with: latest)
    }

    /// Adopts restored asset detectors (before the first sample).
    public mutating func adopt(_ detectors: [UInt32: AssetDetector]) {
        for (asset, detector) in detectors { assetDetectors[asset] = detector }
    }

    /// Runs `sample` through the chain at `slot`, then, for an asset's member, through the
    /// asset's models. `memberCount` gives an asset's current member count.
    @inline(__always)
    public mutating func process(_ sample: Sample, slot: Int, memberCount: (UInt32) -> Int, emit: (AlertEvent) -> Void) {
        guard let m = memberships[slot] else { return chains[slot].process(sample, emit: emit) }
        if let open = gateOpen(slot) {
            var gate = gates[slot]
            chains[slot].process(sample, emit: { if gate.pass($0, open: open) { emit($0) } })
            gates[slot] = gate
        } else {
            chains[slot].process(sample, emit: emit)
        }
        feedAsset(m, slot: slot, sample, memberCount, score: { _, _ in }, emit: emit)
        if !relationBindings[slot].isEmpty { feedRelations(slot: slot, sample, scores: { _, _, _ in }, emit: emit) }
    }

    /// The same, reporting every score: `scores(index, kind, score)` with the sensor's index for
    /// its chain's detectors and the asset's index for the asset's models.
    public mutating func process(_ sample: Sample, slot: Int, memberCount: (UInt32) -> Int,
                                 scores: (UInt32, DetectorKind, Double) -> Void, emit: (AlertEvent) -> Void) {
        let sensor = sample.sensor
        guard let m = memberships[slot] else {
            return chains[slot].process(sample, scores: { scores(sensor, $0, $1) }, emit: emit)
        }
        if let open = gateOpen(slot) {
            var gate = gates[slot]
            chains[slot].process(sample, scores: { scores(sensor, $0, $1) }, emit: { if gate.pass($0, open: open) { emit($0) } })
            gates[slot] = gate
        } else {
            chains[slot].process(sample, scores: { scores(sensor, $0, $1) }, emit: emit)
        }
        feedAsset(m, slot: slot, sample, memberCount, score: { scores(m.asset, $0, $1) }, emit: emit)
        if !relationBindings[slot].isEmpty { feedRelations(slot: slot, sample, scores: scores, emit: emit) }
    }

    /// The sample's value into every relation it is a variable of (each evaluates once its round
    /// is complete).
    @inline(__always)
    private mutating func feedRelations(slot: Int, _ sample: Sample, scores: (UInt32, DetectorKind, Double) -> Void,
                                        emit: (AlertEvent) -> Void) {
        for j in relationBindings[slot].indices {
            let b = relationBindings[slot][j]
            let r = Int(b.relation)
            let index = relations[r].index
            relations[r].update(variable: Int(b.variable), timestamp: sample.timestamp, value: sample.value,
                                scores: { scores(index, $0, $1) }, emit: emit)
        }
    }

    /// Whether a member of `m`'s asset may raise an alert of its own now, nil when its alerts
    /// are not gated (`MemberAlerts.always`): under `whileLearning`, only while the asset's
    /// monitor does not monitor.
    @inline(__always)
    private func gateOpen(_ slot: Int) -> Bool? {
        memberAlerts == .always ? nil : alone[slot]
    }

    @inline(__always)
    private mutating func feedAsset(_ m: Membership, slot: Int, _ sample: Sample, _ memberCount: (UInt32) -> Int,
                                    score: (DetectorKind, Double) -> Void, emit: (AlertEvent) -> Void) {
        // One hash lookup, and the detector is updated where it lives: `assetDetectors[a] == nil`
        // and `assetDetectors[a]!.update` copied the whole `AssetDetector` out and back (retaining
        // and releasing each of its buffers), a fifth of the worker's time with 1000-member assets.
        let index: Dictionary<UInt32, AssetDetector>.Index
        if let found = assetDetectors.index(forKey: m.asset) {
            index = found
        } else {
            alone[slot] = true
            guard m.position == 0, let models = assetModels[slot]?.settings else { return }
            let members = memberCount(m.asset)
            guard members >= minimumAssetMembers else { return }
            assetDetectors[m.asset] = AssetDetector(asset: m.asset, settings: models, dimension: members,
                                                    synchronousTraining: synchronousTraining)
            index = assetDetectors.index(forKey: m.asset)!
        }
        alone[slot] = !Self.update(&assetDetectors.values[index], m, sample, score: score, emit: emit)
    }

    /// Feeds `sample` to `detector` in place; returns whether its monitor then monitors.
    @inline(__always)
    private static func update(_ detector: inout AssetDetector, _ m: Membership, _ sample: Sample,
                               score: (DetectorKind, Double) -> Void, emit: (AlertEvent) -> Void) -> Bool {
        detector.update(position: m.position, timestamp: sample.timestamp, value: sample.value, score: score, emit: emit)
        return detector.isMonitoring
    }

    /// New settings for the chain at `slot` (a reload): `chain` replaces it when given, `models`
    /// are the asset's models as the new settings resolve them. An asset whose models changed is
    /// removed (rebuilt at its next round) and returned, so the caller can close its alerts.
    public mutating func update(slot: Int, chain: SensorDetectors?, assetModels models: AssetDetector.Settings?) -> AssetDetector? {
        if let chain { chains[slot] = chain }
        guard let m = memberships[slot] else { return nil }
        assetModels[slot] = share(models)
        guard let d = assetDetectors[m.asset], d.settings != models else { return nil }
        assetDetectors[m.asset] = nil
        return d
    }

    /// Drops the chain of `sensor` (an evicted sensor); the last chain takes its slot. Returns
    /// false when the shard has none.
    @discardableResult
    public mutating func remove(sensor: UInt32) -> Bool {
        guard let slot = slot(of: sensor) else { return false }
        let last = chains.count - 1
        if slot != last {
            chains.swapAt(slot, last)
            memberships.swapAt(slot, last)
            assetModels.swapAt(slot, last)
            gates.swapAt(slot, last)
            alone.swapAt(slot, last)
            relationBindings.swapAt(slot, last)
            slotOf[Int(chains[slot].sensor)] = Int32(slot)
        }
        chains.removeLast()
        memberships.removeLast()
        assetModels.removeLast()
        gates.removeLast()
        alone.removeLast()
        relationBindings.removeLast()
        slotOf[Int(sensor)] = -1
        return true
    }
}
