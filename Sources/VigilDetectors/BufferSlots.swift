// SPDX-License-Identifier: GPL-3.0-or-later

/// Single-precision values in a region of a detector's flat buffer, read and written with raw
/// loads and stores (the buffer mixes single- and half-precision values; see
/// `SurpriseDetector.Layout`). A view: it owns nothing and is valid while its buffer is.
struct FloatSlots {
    let base: UnsafeMutableRawPointer

    init(_ base: UnsafeMutableRawPointer) { self.base = base }

    @inline(__always)
    subscript(i: Int) -> Float {
        get { base.loadUnaligned(fromByteOffset: 4 * i, as: Float.self) }
        nonmutating set { base.storeBytes(of: newValue, toByteOffset: 4 * i, as: Float.self) }
    }
}

/// Half-precision values (`Binary16`) in a region of a detector's flat buffer.
struct HalfSlots {
    let base: UnsafeMutableRawPointer

    init(_ base: UnsafeMutableRawPointer) { self.base = base }

    @inline(__always)
    subscript(i: Int) -> Float {
        get { Binary16.float(base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        nonmutating set { base.storeBytes(of: Binary16.bits(newValue), toByteOffset: 2 * i, as: UInt16.self) }
    }

    /// The raw binary16 of slot `i`.
    @inline(__always)
    func bits(_ i: Int) -> UInt16 { base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self) }

    @inline(__always)
    func setBits(_ i: Int, _ h: UInt16) { base.storeBytes(of: h, toByteOffset: 2 * i, as: UInt16.self) }
}
