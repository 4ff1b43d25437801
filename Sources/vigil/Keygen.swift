// SPDX-License-Identifier: GPL-3.0-or-later
import ArgumentParser
import ZeroMQ

/// `vigil keygen`: a CURVE key pair for securing ZeroMQ sockets.
struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a new CURVE key pair (Z85) for securing ZeroMQ sockets.")

    func run() throws {
        guard zmqHasCurve else {
            throw ValidationError("this libzmq was built without CURVE support (libsodium)")
        }
        let pair = try zmqCurveKeyPair()
        print("public: \(pair.publicKey)")
        print("secret: \(pair.secretKey)")
    }
}
