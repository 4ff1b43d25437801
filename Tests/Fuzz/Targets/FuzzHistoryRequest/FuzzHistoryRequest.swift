// SPDX-License-Identifier: GPL-3.0-or-later
import FuzzSupport
import VigilCore

// The history request parser (`HistoryRequest(parsing:maxLimit:)`, shared by the daemon's history
// server and `vigil tail`) on arbitrary bytes.
//
// Invariants checked beyond "no crash": a request that parses has a limit in 1...maxLimit when it
// names one; its own encoding (`json`) parses back to the same request; and a refusal carries a
// non-empty message (each bad request is told what is wrong with it).

private let maxLimit = 10_000

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    Fuzz.writeSeedsIfAsked(seeds)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = UnsafeBufferPointer(start: data, count: data == nil ? 0 : size)
    do throws(HistoryError) {
        let request = try HistoryRequest(parsing: bytes, maxLimit: maxLimit)
        if let limit = request.limit { Fuzz.check(limit >= 1 && limit <= maxLimit, "limit \(limit) accepted") }
        do throws(HistoryError) {
            let again = try HistoryRequest(parsing: Array(request.json.utf8), maxLimit: maxLimit)
            Fuzz.check(again == request, "\(request) encodes as \(request.json), which parses as \(again)")
        } catch {
            Fuzz.check(false, "\(request) encodes as \(request.json), which is refused: \(error)")
        }
    } catch {
        Fuzz.check(!error.message.isEmpty, "a refusal without a message (\(error.code))")
    }
    return 0
}

/// Valid requests of every form and a few near misses.
private func seeds() -> [(name: String, bytes: [UInt8])] {
    let texts = [
        #"{"since_seq": 0}"#, #"{"since_seq": 18446744073709551615, "limit": 500}"#,
        #"{"since_ts": "2024-11-25T02:00:00Z"}"#, #"{"since_ts": 1732500000000000000, "limit": 1}"#,
        #"{"since_seq": true}"#, #"{"since_seq": 1, "limit": 0}"#, #"{"since_seq": -1}"#,
        #"{"since_seq": 1, "since_ts": 2}"#, #"{"limit": 5}"#, #"{"since_seq": 1e3}"#, "", "{", "[]",
    ]
    return texts.enumerated().map { ("request-\($0.offset)", Array($0.element.utf8)) }
}
