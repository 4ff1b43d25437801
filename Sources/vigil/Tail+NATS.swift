// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import NATS
import VigilCore

extension Tail {
    /// `vigil tail --nats`: an ordered consumer of the alert stream (libnats recreates it after a
    /// gap or a server change, so nothing is skipped and nothing comes twice), filtered and
    /// printed like the ZeroMQ feed.
    func runNATS() throws {
        let url = nats!
        let start: JetStream.DeliverFrom
        switch since.flatMap(SinceSpec.init) {
        case .seq(let n)?: start = .sequence(n + 1)
        case .duration(let seconds)?: start = .time(Int64((Date().timeIntervalSince1970 - seconds) * 1e9))
        case nil: start = .new
        }
        let subscription: Subscription
        let connection: NATSConnection
        do {
            connection = try NATSConnection(servers: url.split(separator: ",").map(String.init), name: "vigil tail")
            let js = try connection.jetStream()
            guard try js.streamInfo(alertStream) != nil else {
                throw CLIError("the JetStream stream \(alertStream) does not exist at \(url) (vigild creates it)")
            }
            subscription = try js.orderedSubscribe(stream: alertStream, subject: "\(alertStream).*", from: start)
        } catch let error as NATSError {
            throw CLIError("cannot read the alert stream at \(url): \(error)")
        }
        defer { connection.close() }
        let printer = AlertPrinter(json: json, color: color && isatty(STDOUT_FILENO) != 0)
        var printed = 0
        var lastMessage = Date()
        while true {
            let message: NATSMessage?
            do {
                message = try subscription.next(timeoutMilliseconds: 250)
            } catch {
                throw CLIError("the alert stream at \(url): \(error)")
            }
            guard let message else {
                if let idleTimeout, Date().timeIntervalSince(lastMessage) >= idleTimeout { return }
                continue
            }
            lastMessage = Date()
            guard let record = try? JSONDecoder().decode(AlertRecord.self, from: Data(message.payload)) else {
                FileHandle.standardError.write(Data("vigil tail: skipped a message that is not an alert\n".utf8))
                continue
            }
            if let severity, record.severity < severity { continue }
            if !sensor.isEmpty, !sensor.contains(where: { record.sensor.hasPrefix($0) }) { continue }
            printer.print(record)
            printed += 1
            if let count, printed >= count { return }
        }
    }
}
