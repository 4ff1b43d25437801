// SPDX-License-Identifier: GPL-3.0-or-later

/// How long to wait before the next try of something that keeps failing (a journal write, a
/// JetStream publish): doubling from `firstMilliseconds` after the first failure up to
/// `maximumMilliseconds`.
public struct RetryDelay: Sendable, Equatable {
    public var firstMilliseconds: Int
    public var maximumMilliseconds: Int

    public init(firstMilliseconds: Int, maximumMilliseconds: Int) {
        precondition(firstMilliseconds > 0 && maximumMilliseconds >= firstMilliseconds)
        self.firstMilliseconds = firstMilliseconds
        self.maximumMilliseconds = maximumMilliseconds
    }

    /// The wait after `failures` (≥ 1) failures in a row.
    public func milliseconds(afterFailures failures: Int) -> Int {
        min(maximumMilliseconds, firstMilliseconds << min(max(failures, 1) - 1, 16))
    }
}
