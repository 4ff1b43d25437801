// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore
import VigilDetectors

/// Runs the daemon's per-sensor detector code (`SensorDetectors.process`) over a fixture, on a
/// virtual clock: time is the samples' timestamps, nothing reads the wall clock, so the same
/// fixture and settings give the same scores and alerts, byte for byte.
///
/// Rows are fed in file order; within a row, sensors in column order — the order `vigil replay`
/// publishes them in. Each sensor gets its own `SensorDetectors`, built from the settings the
/// resolver returns for its id (`<asset>/<column>`). Sensors that `assetOf` groups into an asset
/// also feed that asset's `AssetDetector` (its PCA monitor from `pcaSettings`, an asset
/// isolation forest from the members' settings), exactly as the daemon's worker does; its
/// scores and alerts are shown on the asset's last column.
///
/// Threading: a value; `run` may be called concurrently for different fixtures.
public struct Evaluator: Sendable {
    /// Detector settings for a sensor id (`<asset>/<column>`).
    public typealias SettingsResolver = @Sendable (String) -> DetectorSettings

    /// `DetectorSettings()` for every sensor: the shipped defaults.
    public static let defaultSettings: SettingsResolver = { _ in DetectorSettings() }

    /// Settings per sensor id (`vigil eval` resolves them from the config, as `vigild` does).
    public var settings: SettingsResolver

    /// The asset of a sensor id (the config's `assets`), nil when sensors are not grouped.
    public var assetOf: (@Sendable (String) -> String?)?

    /// The PCA monitor of an asset, by the asset's name (the config's `pca` sections).
    public var pcaSettings: (@Sendable (String) -> DetectorSection<PCAConfiguration>?)?

    /// An evaluator resolving each sensor's settings with `settings`, its asset with `assetOf` and
    /// an asset's PCA monitor with `pcaSettings`.
    /// Members an asset needs before its multivariate detectors run (config `grouping.min_members`).
    public var minimumAssetMembers: Int
    /// Whether asset members alert on their own once their asset's monitor monitors (config
    /// `grouping.member_alerts`).
    public var memberAlerts: MemberAlerts

    /// The relations of an asset, by the asset's name (the config's `relations`): each one's
    /// residual is a sensor `<asset>/<relation>` whose scores and alerts are shown on the asset's
    /// last column, as the asset's own.
    public var relations: (@Sendable (String) -> [RelationDefinition])?

    public init(settings: @escaping SettingsResolver = Evaluator.defaultSettings,
                assetOf: (@Sendable (String) -> String?)? = nil,
                pcaSettings: (@Sendable (String) -> DetectorSection<PCAConfiguration>?)? = nil,
                minimumAssetMembers: Int = 2, memberAlerts: MemberAlerts = .whileLearning,
                relations: (@Sendable (String) -> [RelationDefinition])? = nil) {
        self.settings = settings
        self.assetOf = assetOf
        self.pcaSettings = pcaSettings
        self.minimumAssetMembers = minimumAssetMembers
        self.memberAlerts = memberAlerts
        self.relations = relations
    }

    /// A relation that names a sensor the fixture does not have.
    public struct UnboundRelation: Sendable, Equatable, CustomStringConvertible {
        public var asset: String
        public var relation: String
        public var sensor: String
        /// The asset's sensors (`<asset>/<column>`) in the fixture.
        public var available: [String]

        public var description: String {
            "relation \(relation) of asset \(asset) names sensor \(sensor), which the asset does not have"
                + " (its sensors: \(available.map { $0.split(separator: "/").last.map(String.init) ?? $0 }.joined(separator: ", ")))"
        }
    }

    /// The relations of `fixture`'s assets that name a sensor the fixture lacks (such a relation
    /// would never complete a round): `vigil eval` refuses to run them.
    public func unboundRelations(in fixture: Fixture) -> [UnboundRelation] {
        guard let relations, let assetOf else { return [] }
        var members: [String: [String]] = [:]
        var order: [String] = []
        for name in fixture.sensors {
            guard let asset = assetOf(name) else { continue }
            if members[asset] == nil { order.append(asset) }
            members[asset, default: []].append(name)
        }
        var out: [UnboundRelation] = []
        for asset in order {
            for r in relations(asset) {
                for sensor in r.expression.sensors where !members[asset]!.contains(asset + "/" + sensor) {
                    out.append(UnboundRelation(asset: asset, relation: r.name, sensor: sensor, available: members[asset]!))
                }
            }
        }
        return out
    }

    /// Runs the fixture through the detectors. `progress` is called every 4096 rows and at the
    /// end with the number of samples processed since the last call.
    public func run(_ fixture: Fixture, progress: (Int) -> Void = { _ in }) -> FixtureRun {
        let rows = fixture.rowCount
        let sensorCount = fixture.columns.count
        let registry = SensorRegistry(limit: 2 * sensorCount + 256)
        let names = fixture.sensors
        let ids = names.map { registry.intern($0)! }
        let resolved = names.map(settings)
        // Asset membership in column order, as the daemon's ingest assigns it in arrival order,
        // and the daemon's worker state: one `DetectorShard` holds every column's chain and the
        // assets' detectors (created at a sample of an asset's first member, with the models its
        // settings resolve).
        var memberCount: [UInt32: Int] = [:]
        var lastMember: [UInt32: Int] = [:]
        // Per asset: its models as its first member's settings resolve them (the ones the shard
        // builds it with), for the thresholds of its score columns.
        var assetModels: [UInt32: AssetDetector.Settings] = [:]
        var shard = DetectorShard(minimumAssetMembers: minimumAssetMembers, memberAlerts: memberAlerts, synchronousTraining: true)
        var interner = DetectorSettingsInterner()
        for k in 0..<sensorCount {
            precondition(ids[k] == UInt32(k), "columns are interned first, in order")
            var membership: DetectorShard.Membership?
            var models: AssetDetector.Settings?
            if let name = assetOf?(names[k]), let asset = registry.intern(name) {
                membership = DetectorShard.Membership(asset: asset, position: memberCount[asset, default: 0])
                memberCount[asset, default: 0] += 1
                lastMember[asset] = k
                let m = AssetDetector.Settings(member: resolved[k], pca: pcaSettings?(name))
                if assetModels[asset] == nil { assetModels[asset] = m }
                models = m.isEmpty ? nil : m
            }
            shard.add(SensorDetectors(sensor: ids[k], shared: interner.share(resolved[k]), synchronousTraining: true),
                      membership: membership, assetModels: models)
        }
        // Each asset's relations: a residual sensor each, shown on the asset's last column.
        var relationSettings: [UInt32: DetectorSettings] = [:]
        if let relations {
            var assetsInOrder: [UInt32] = []
            for k in 0..<sensorCount {
                if let m = shard.membership(at: k), !assetsInOrder.contains(m.asset) { assetsInOrder.append(m.asset) }
            }
            for asset in assetsInOrder {
                let assetName = registry.name(of: asset)
                for definition in relations(assetName) {
                    guard let index = registry.intern(assetName + "/" + definition.name) else { continue }
                    let s = settings(assetName + "/" + definition.name)
                    relationSettings[index] = s
                    lastMember[index] = lastMember[asset]
                    shard.addRelation(RelationMonitor(index: index, asset: asset, assetName: assetName, definition: definition,
                                                      settings: s, synchronousTraining: true),
                                      nameOf: { registry.name(of: $0) })
                }
            }
        }
        let members: (UInt32) -> Int = { memberCount[$0] ?? 0 }
        let kinds = DetectorKind.allCases
        var columnOf = [[Int]](repeating: [Int](repeating: -1, count: kinds.count), count: sensorCount)
        var columns: [FixtureRun.ScoreColumn] = []
        var alerts: [FixtureRun.Alert] = []
        var raised = Set<AlarmKey>()
        var alerting = [Bool](repeating: false, count: rows)
        var pending = 0

        for row in 0..<rows {
            let ts = fixture.timestamps[row]
            for k in 0..<sensorCount {
                let v = fixture.values[k][row]
                if v.isNaN { continue }
                pending += 1
                func record(_ column: Int, _ kind: DetectorKind, _ score: Double, threshold: Double?) {
                    let d = Self.index(of: kind)
                    var c = columnOf[column][d]
                    if c < 0 {
                        c = columns.count
                        columnOf[column][d] = c
                        columns.append(.init(sensor: column, detector: kind, threshold: threshold,
                                             values: [Double](repeating: .nan, count: rows)))
                    }
                    columns[c].values[row] = score
                }
                func alert(_ column: Int, _ event: AlertEvent) {
                    alerts.append(.init(row: row, sensor: column, event: event))
                    let key = AlarmKey(sensor: column, detector: event.detector, raisedAt: event.raisedAt)
                    if event.event == .raised { raised.insert(key) } else { raised.remove(key) }
                }
                // An asset's scores and alerts are shown on its last column (the sensor that
                // completes a round in a wide file).
                func column(_ index: UInt32) -> Int { Int(index) < sensorCount ? Int(index) : lastMember[index]! }
                shard.process(Sample(sensor: ids[k], timestamp: ts, value: v), slot: k, memberCount: members, scores: { index, kind, score in
                    let threshold = Int(index) < sensorCount ? Self.threshold(of: kind, in: resolved[k])
                        : relationSettings[index].flatMap { Self.threshold(of: kind, in: $0) } ?? assetModels[index]?.threshold(of: kind)
                    record(column(index), kind, score, threshold: threshold)
                }, emit: { alert(column($0.sensor), $0) })
            }
            alerting[row] = !raised.isEmpty
            if row & 4095 == 4095 { progress(pending); pending = 0 }
        }
        progress(pending)

        columns.sort { ($0.sensor, Self.index(of: $0.detector)) < ($1.sensor, Self.index(of: $1.detector)) }
        var run = FixtureRun(fixture: fixture, scoreColumns: columns, score: [], alerting: alerting, alerts: alerts)
        var score = [Double](repeating: .nan, count: rows)
        for k in 0..<sensorCount {
            let s = run.sensorScore(k)
            for row in 0..<rows where !s[row].isNaN && (score[row].isNaN || s[row] > score[row]) { score[row] = s[row] }
        }
        run.score = score
        return run
    }

    /// The threshold alerts are raised at for a detector's scores, nil when that detector does
    /// not alert on its own (off, or its scores only feed the combination).
    static func threshold(of kind: DetectorKind, in s: DetectorSettings) -> Double? {
        switch kind {
        case .combined: return s.combine?.alerts.threshold
        case _ where s.combine != nil: return nil
        case .surprise: return s.surprise?.alerts.threshold
        case .zscore: return s.zscore?.alerts.threshold
        case .spectralResidual: return s.spectralResidual?.alerts.threshold
        case .isolationForest: return s.isolationForest?.alerts.threshold
        case .pca: return nil  // an asset's, recorded with its own threshold
        }
    }

    @inline(__always)
    static func index(of kind: DetectorKind) -> Int {
        switch kind {
        case .zscore: 0
        case .spectralResidual: 1
        case .isolationForest: 2
        case .combined: 3
        case .pca: 4
        case .surprise: 5
        }
    }
}
