// SPDX-License-Identifier: GPL-3.0-or-later
import ArgumentParser

/// `vigil`: the operator's and engineer's tool. One subcommand per file.
@main
struct Vigil: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil",
        abstract: "Operate and evaluate Vigil, the industrial anomaly detection daemon.",
        subcommands: [Tail.self, Replay.self, Eval.self, CheckConfig.self, Keygen.self, BenchSend.self, BenchReceive.self]
    )
}
