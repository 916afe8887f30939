//! Pure parser of the XSETTINGS wire format (freedesktop.org XSETTINGS specification 0.5), the
//! content of an XSETTINGS manager's `_XSETTINGS_SETTINGS` property. It comes from another
//! process, so every length is checked.

/// One setting's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XSetting {
    /// Type 0.
    Integer(i32),
    /// Type 1 (UTF-8 per the spec; invalid bytes are replaced).
    String(String),
    /// Type 2: red, green, blue, alpha.
    Color([u16; 4]),
}

/// Why a settings blob was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XSettingsParseError {
    /// The data ends inside a field.
    #[error("XSETTINGS data truncated at byte {0}")]
    Truncated(usize),
    /// The first byte is neither 0 (LSBFirst) nor 1 (MSBFirst).
    #[error("XSETTINGS byte order {0} is invalid")]
    ByteOrder(u8),
    /// A setting of a type the spec does not define.
    #[error("XSETTINGS setting type {0} is unknown")]
    UnknownType(u8),
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    big_endian: bool,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], XSettingsParseError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or(XSettingsParseError::Truncated(self.pos))?;
        let bytes = &self.data[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn u8(&mut self) -> Result<u8, XSettingsParseError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, XSettingsParseError> {
        let b: [u8; 2] = self.take(2)?.try_into().map_err(|_| self.truncated())?;
        Ok(if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    fn u32(&mut self) -> Result<u32, XSettingsParseError> {
        let b: [u8; 4] = self.take(4)?.try_into().map_err(|_| self.truncated())?;
        Ok(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    /// A string of `len` bytes followed by padding to a multiple of 4.
    fn padded(&mut self, len: usize) -> Result<&'a [u8], XSettingsParseError> {
        let bytes = self.take(len)?;
        self.take((4 - len % 4) % 4)?;
        Ok(bytes)
    }

    fn truncated(&self) -> XSettingsParseError {
        XSettingsParseError::Truncated(self.pos)
    }
}

/// Parses a whole `_XSETTINGS_SETTINGS` value into (name, value) pairs, in wire order.
pub fn parse_xsettings(data: &[u8]) -> Result<Vec<(String, XSetting)>, XSettingsParseError> {
    let mut r = Reader {
        data,
        pos: 0,
        big_endian: false,
    };
    r.big_endian = match r.u8()? {
        0 => false,
        1 => true,
        other => return Err(XSettingsParseError::ByteOrder(other)),
    };
    r.take(3)?;
    let _serial = r.u32()?;
    let count = r.u32()?;
    let mut settings = Vec::new();
    for _ in 0..count {
        let kind = r.u8()?;
        r.take(1)?;
        let name_len = usize::from(r.u16()?);
        let name = String::from_utf8_lossy(r.padded(name_len)?).into_owned();
        let _last_change = r.u32()?;
        let value = match kind {
            // INT32 on the wire: reinterpret the 32 bits.
            0 => XSetting::Integer(r.u32()?.cast_signed()),
            1 => {
                let len = usize::try_from(r.u32()?).map_err(|_| r.truncated())?;
                XSetting::String(String::from_utf8_lossy(r.padded(len)?).into_owned())
            }
            2 => XSetting::Color([r.u16()?, r.u16()?, r.u16()?, r.u16()?]),
            other => return Err(XSettingsParseError::UnknownType(other)),
        };
        settings.push((name, value));
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Xft/DPI = 96×1024 and Net/ThemeName = "Adwaita", as xsettingsd writes them
    /// (little endian, serial 3).
    fn sample(big_endian: bool) -> Vec<u8> {
        let u16b = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let u32b = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut d = vec![u8::from(big_endian), 0, 0, 0];
        d.extend(u32b(3));
        d.extend(u32b(3));
        // Integer "Xft/DPI" (7 bytes + 1 pad).
        d.extend([0, 0]);
        d.extend(u16b(7));
        d.extend(b"Xft/DPI\0");
        d.extend(u32b(0));
        d.extend(u32b(98_304));
        // String "Net/ThemeName" (13 + 3 pad) = "Adwaita" (7 + 1 pad).
        d.extend([1, 0]);
        d.extend(u16b(13));
        d.extend(b"Net/ThemeName\0\0\0");
        d.extend(u32b(1));
        d.extend(u32b(7));
        d.extend(b"Adwaita\0");
        // Color "C" (1 + 3 pad).
        d.extend([2, 0]);
        d.extend(u16b(1));
        d.extend(b"C\0\0\0");
        d.extend(u32b(0));
        for c in [1, 2, 3, 0xffff] {
            d.extend(u16b(c));
        }
        d
    }

    #[test]
    fn parses_both_byte_orders() {
        for big_endian in [false, true] {
            assert_eq!(
                parse_xsettings(&sample(big_endian)).expect("parse"),
                vec![
                    ("Xft/DPI".to_owned(), XSetting::Integer(98_304)),
                    (
                        "Net/ThemeName".to_owned(),
                        XSetting::String("Adwaita".into())
                    ),
                    ("C".to_owned(), XSetting::Color([1, 2, 3, 0xffff])),
                ]
            );
        }
    }

    #[test]
    fn negative_integers() {
        let mut d = sample(false);
        d[28..32].copy_from_slice(&(-1i32).to_le_bytes());
        assert_eq!(
            parse_xsettings(&d).expect("parse")[0].1,
            XSetting::Integer(-1)
        );
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let full = sample(false);
        for len in 0..full.len() {
            assert!(parse_xsettings(&full[..len]).is_err(), "prefix {len}");
        }
    }

    #[test]
    fn garbage_is_rejected() {
        assert_eq!(
            parse_xsettings(&[7, 0, 0, 0]),
            Err(XSettingsParseError::ByteOrder(7))
        );
        let mut d = sample(false);
        d[12] = 9;
        assert_eq!(
            parse_xsettings(&d),
            Err(XSettingsParseError::UnknownType(9))
        );
        // A huge count with no data behind it stops at the first missing byte.
        let mut d = sample(false);
        d[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            parse_xsettings(&d),
            Err(XSettingsParseError::Truncated(_))
        ));
    }
}
