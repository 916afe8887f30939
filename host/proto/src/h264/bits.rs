//! Bit-level reading and writing of H.264 RBSPs (raw byte sequence payloads): fixed-width
//! fields, Exp-Golomb codes (`ue(v)`, `se(v)`), and the emulation-prevention bytes that turn an
//! RBSP into a NAL unit's payload and back (ITU-T H.264 §7.3.1, §7.4.1, §9.1).

use super::H264Error;

/// Removes emulation-prevention bytes: every `00 00 03` becomes `00 00`.
pub fn unescape(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len());
    let mut zeros = 0;
    for &b in payload {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

/// Inserts emulation-prevention bytes so that no start code (`00 00 0x`, x ≤ 3) can appear
/// inside the payload.
pub fn escape(rbsp: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rbsp.len() + rbsp.len() / 64 + 1);
    let mut zeros = 0;
    for &b in rbsp {
        if zeros >= 2 && b <= 3 {
            out.push(3);
            zeros = 0;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

/// Reads an RBSP (already unescaped) most significant bit first.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    /// One bit.
    pub fn bit(&mut self) -> Result<u32, H264Error> {
        let byte = self.data.get(self.pos / 8).ok_or(H264Error::Truncated)?;
        let bit = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Ok(u32::from(bit))
    }

    pub fn flag(&mut self) -> Result<bool, H264Error> {
        Ok(self.bit()? == 1)
    }

    /// `u(n)`: an unsigned field of `n` ≤ 32 bits.
    pub fn bits(&mut self, n: u32) -> Result<u32, H264Error> {
        let mut v: u32 = 0;
        for _ in 0..n {
            v = (v << 1) | self.bit()?;
        }
        Ok(v)
    }

    /// `ue(v)`: unsigned Exp-Golomb. Codes longer than 32 bits are refused (no field we read
    /// comes near that).
    pub fn ue(&mut self) -> Result<u32, H264Error> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return Err(H264Error::Invalid("Exp-Golomb code longer than 32 bits"));
            }
        }
        let rest = self.bits(zeros)?;
        Ok(((1u64 << zeros) - 1 + u64::from(rest)) as u32)
    }

    /// `se(v)`: signed Exp-Golomb (1 → 1, 2 → −1, 3 → 2, …).
    pub fn se(&mut self) -> Result<i32, H264Error> {
        let k = i64::from(self.ue()?);
        let v = if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) };
        Ok(v as i32)
    }

    /// Bits read so far.
    pub fn position(&self) -> usize {
        self.pos
    }
}

/// Writes an RBSP most significant bit first.
#[derive(Debug, Clone, Default)]
pub struct BitWriter {
    bytes: Vec<u8>,
    bits: u32,
}

impl BitWriter {
    pub fn new() -> Self {
        Self::default()
    }

    fn bit(&mut self, b: bool) {
        if self.bits.is_multiple_of(8) {
            self.bytes.push(0);
        }
        if b && let Some(last) = self.bytes.last_mut() {
            *last |= 0x80 >> (self.bits % 8);
        }
        self.bits += 1;
    }

    pub fn flag(&mut self, b: bool) {
        self.bit(b);
    }

    /// `u(n)`: the low `n` bits of `v`.
    pub fn bits(&mut self, n: u32, v: u32) {
        for i in (0..n).rev() {
            self.bit((v >> i) & 1 == 1);
        }
    }

    /// `ue(v)`.
    pub fn ue(&mut self, v: u32) {
        let code = u64::from(v) + 1;
        let len = 64 - code.leading_zeros();
        for _ in 1..len {
            self.bit(false);
        }
        for i in (0..len).rev() {
            self.bit((code >> i) & 1 == 1);
        }
    }

    /// `se(v)`.
    pub fn se(&mut self, v: i32) {
        let v = i64::from(v);
        let k = if v > 0 { 2 * v - 1 } else { -2 * v };
        self.ue(k as u32);
    }

    /// `rbsp_trailing_bits()`: a one bit, then zeros to the byte boundary; returns the RBSP.
    pub fn finish(mut self) -> Vec<u8> {
        self.bit(true);
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(f: impl FnOnce(&mut BitWriter)) -> Vec<u8> {
        let mut w = BitWriter::new();
        f(&mut w);
        w.finish()
    }

    #[test]
    fn exp_golomb_codes_match_the_standard_table() {
        // §9.1 table 9-2: 0 → 1, 1 → 010, 2 → 011, 3 → 00100, 4 → 00101; then the stop bit.
        assert_eq!(written(|w| w.ue(0)), [0b1100_0000]);
        assert_eq!(written(|w| w.ue(1)), [0b0101_0000]);
        assert_eq!(written(|w| w.ue(2)), [0b0111_0000]);
        assert_eq!(written(|w| w.ue(3)), [0b0010_0100]);
        assert_eq!(written(|w| w.ue(4)), [0b0010_1100]);
        // §9.1.1 table 9-3: se 1 → ue 1, −1 → ue 2, 2 → ue 3.
        assert_eq!(written(|w| w.se(1)), [0b0101_0000]);
        assert_eq!(written(|w| w.se(-1)), [0b0111_0000]);
        assert_eq!(written(|w| w.se(2)), [0b0010_0100]);
    }

    #[test]
    fn what_is_written_reads_back() {
        let values = [0u32, 1, 2, 7, 8, 255, 8160, 65_535, 1 << 20, u32::MAX - 1];
        let signed = [0i32, 1, -1, 26, -26, 1000, -1000, i32::MAX, -i32::MAX];
        let rbsp = written(|w| {
            for v in values {
                w.ue(v);
                w.bits(3, 5);
            }
            for v in signed {
                w.se(v);
                w.flag(true);
            }
        });
        let mut r = BitReader::new(&rbsp);
        for v in values {
            assert_eq!(r.ue().unwrap(), v);
            assert_eq!(r.bits(3).unwrap(), 5);
        }
        for v in signed {
            assert_eq!(r.se().unwrap(), v);
            assert!(r.flag().unwrap());
        }
        // The stop bit, then zero padding.
        assert_eq!(r.bit().unwrap(), 1);
        while !r.position().is_multiple_of(8) {
            assert_eq!(r.bit().unwrap(), 0);
        }
        assert!(matches!(r.bit(), Err(H264Error::Truncated)));
    }

    #[test]
    fn bad_codes_are_errors_not_panics() {
        assert!(matches!(
            BitReader::new(&[]).ue(),
            Err(H264Error::Truncated)
        ));
        assert!(matches!(
            BitReader::new(&[0, 0, 0, 0, 0]).ue(),
            Err(H264Error::Invalid(_))
        ));
        assert!(matches!(
            BitReader::new(&[0x00, 0x01]).ue(),
            Err(H264Error::Truncated)
        ));
    }

    #[test]
    fn emulation_prevention_round_trips() {
        let cases: [(&[u8], &[u8]); 5] = [
            (&[0, 0, 1], &[0, 0, 3, 1]),
            (&[0, 0, 0, 0], &[0, 0, 3, 0, 0]),
            (&[0, 0, 4], &[0, 0, 4]),
            (&[0, 0, 3, 0, 0, 2], &[0, 0, 3, 3, 0, 0, 3, 2]),
            (&[1, 0, 0, 0, 0, 0, 1], &[1, 0, 0, 3, 0, 0, 3, 0, 1]),
        ];
        for (rbsp, payload) in cases {
            assert_eq!(escape(rbsp), payload, "escape {rbsp:?}");
            assert_eq!(unescape(payload), rbsp, "unescape {payload:?}");
        }
        // x264's SPS carries two of them.
        let sps = [
            0x42, 0xc0, 0x0c, 0xda, 0x11, 0xec, 0x05, 0xa8, 0x30, 0x30, 0x35, 0x28, 0x00, 0x00,
            0x03, 0x00, 0x08, 0x00, 0x00, 0x03, 0x01, 0xe4, 0x78, 0xa1, 0x55,
        ];
        assert_eq!(escape(&unescape(&sps)), sps);
        assert_eq!(unescape(&sps).len(), sps.len() - 2);
    }
}
