// SPDX-License-Identifier: GPL-3.0-or-later
import CFFTW

/// An FFT module failure. A struct around a private code so it can grow.
public struct FFTError: Error, Hashable, CustomStringConvertible {
    private enum Code: Hashable { case wisdomImport, wisdomExport }
    private let code: Code
    /// The file involved.
    public let path: String

    /// FFTW could not read or parse the wisdom file (`fftw_import_wisdom_from_filename` returned 0).
    public static func wisdomImport(_ path: String) -> FFTError { FFTError(code: .wisdomImport, path: path) }
    /// FFTW could not write the wisdom file (`fftw_export_wisdom_to_filename` returned 0).
    public static func wisdomExport(_ path: String) -> FFTError { FFTError(code: .wisdomExport, path: path) }

    public var description: String {
        switch code {
        case .wisdomImport: return "cannot import FFTW wisdom from \(path)"
        case .wisdomExport: return "cannot export FFTW wisdom to \(path)"
        }
    }
}

/// FFTW wisdom: the planner's memory of measured plans, saved so `FFTRigor.measure` costs
/// nothing on later runs.
///
/// Threading: wisdom is global planner state, so both calls take the planner lock. Load before
/// the first plans are made (plans already cached are not re-planned).
public enum FFTWisdom {
    /// Merges the wisdom in the file at `path` into the planner (`fftw_import_wisdom_from_filename`).
    public static func load(_ path: String) throws(FFTError) {
        let ok = FFTPlanner.serialized { fftw_import_wisdom_from_filename(path) }
        guard ok != 0 else { throw .wisdomImport(path) }
    }

    /// Writes all accumulated wisdom to the file at `path` (`fftw_export_wisdom_to_filename`).
    public static func save(_ path: String) throws(FFTError) {
        let ok = FFTPlanner.serialized { fftw_export_wisdom_to_filename(path) }
        guard ok != 0 else { throw .wisdomExport(path) }
    }
}
