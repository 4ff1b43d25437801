// SPDX-License-Identifier: GPL-3.0-or-later

/// What ingest does when a worker's ring is full (`pipeline.overflow`).
///
/// Vocabulary shared by the configuration (which validates it) and the pipeline (which applies
/// it), so that the configuration does not depend on the pipeline. A plain value: any thread.
public enum OverflowPolicy: String, Sendable, Equatable, Codable, CaseIterable {
    /// Stop reading until the worker catches up: ZeroMQ's high-water mark then pushes back on
    /// PULL senders, and nothing is lost (the default).
    case block
    /// Drop what does not fit and count it as `queue_full`.
    case drop
}
