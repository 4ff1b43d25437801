// SPDX-License-Identifier: GPL-3.0-or-later
// Real-to-complex FFT plans over FFTW: see FFTPlan.swift.
import CFFTW
