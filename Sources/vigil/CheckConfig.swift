// SPDX-License-Identifier: GPL-3.0-or-later
import ArgumentParser
import Foundation
import VigilConfig

/// `vigil check-config PATH`: validates a configuration like `vigild` does at start-up.
struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file; print every problem with file, line and key.")

    @Argument(help: "The configuration file.")
    var path: String = "Configs/vigil.yaml"

    @Flag(help: "Print nothing but problems.")
    var quiet = false

    func run() throws {
        do {
            let configuration = try VigilConfiguration.load(path: path)
            if !quiet {
                print("\(path): OK")
                print(configuration.renderSummary())
            }
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            let count = error.problems.count
            FileHandle.standardError.write(Data("\(path): \(count) problem\(count == 1 ? "" : "s")\n".utf8))
            throw ExitCode(1)
        }
    }
}
