// SPDX-License-Identifier: GPL-3.0-or-later
import ArgumentParser

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Not built yet.")
    func run() throws { throw ExitCode.failure }
}
