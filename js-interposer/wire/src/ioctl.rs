//! Decoding of the ioctl requests the interposer answers (docs/protocol.md §7.A.1 `'j'`, §7.B `'E'`).
//!
//! Request numbers use the generic Linux `_IOC` layout (x86, x86-64, arm, arm64):
//! `dir << 30 | size << 16 | type << 8 | nr`. The kernel only looks at the low 32 bits, so do we.

/// `_IOC_WRITE`.
pub const IOC_WRITE: u32 = 1;
/// `_IOC_READ`.
pub const IOC_READ: u32 = 2;

/// Builds a request number like the C `_IOC` macro.
pub const fn ioc(dir: u32, ty: u8, nr: u8, size: usize) -> u32 {
    (dir << 30) | ((size as u32 & 0x3fff) << 16) | ((ty as u32) << 8) | nr as u32
}

/// `_IOC_DIR`.
pub const fn ioc_dir(req: u32) -> u32 {
    req >> 30
}
/// `_IOC_TYPE`.
pub const fn ioc_type(req: u32) -> u8 {
    (req >> 8) as u8
}
/// `_IOC_NR`.
pub const fn ioc_nr(req: u32) -> u8 {
    req as u8
}
/// `_IOC_SIZE`.
pub const fn ioc_size(req: u32) -> usize {
    ((req >> 16) & 0x3fff) as usize
}

/// Size of `struct js_corr` (`s32 coef[8]; s16 prec; u16 type`).
pub const JS_CORR_LEN: usize = 36;
/// Joystick API version reported by `JSIOCGVERSION` (the kernel's `JS_VERSION`).
pub const JS_VERSION: u32 = 0x020100;
/// Evdev version reported by `EVIOCGVERSION` (the kernel's `EV_VERSION`).
pub const EV_VERSION: u32 = 0x010001;
/// `BUS_VIRTUAL`, the bus the evdev extension reports.
pub const BUS_VIRTUAL: u16 = 0x06;

/// `JSIOCGVERSION`.
pub const JSIOCGVERSION: u32 = ioc(IOC_READ, b'j', 0x01, 4);
/// `JSIOCGAXES`.
pub const JSIOCGAXES: u32 = ioc(IOC_READ, b'j', 0x11, 1);
/// `JSIOCGBUTTONS`.
pub const JSIOCGBUTTONS: u32 = ioc(IOC_READ, b'j', 0x12, 1);
/// `JSIOCGNAME(len)`.
pub const fn jsiocgname(len: usize) -> u32 {
    ioc(IOC_READ, b'j', 0x13, len)
}
/// `JSIOCSCORR`.
pub const JSIOCSCORR: u32 = ioc(IOC_WRITE, b'j', 0x21, JS_CORR_LEN);
/// `JSIOCGCORR`.
pub const JSIOCGCORR: u32 = ioc(IOC_READ, b'j', 0x22, JS_CORR_LEN);
/// `JSIOCGAXMAP`.
pub const JSIOCGAXMAP: u32 = ioc(IOC_READ, b'j', 0x32, 64);
/// `JSIOCGBTNMAP`.
pub const JSIOCGBTNMAP: u32 = ioc(IOC_READ, b'j', 0x34, 1024);

/// `EVIOCGVERSION`.
pub const EVIOCGVERSION: u32 = ioc(IOC_READ, b'E', 0x01, 4);
/// `EVIOCGID`.
pub const EVIOCGID: u32 = ioc(IOC_READ, b'E', 0x02, 8);
/// `EVIOCGRAB`.
pub const EVIOCGRAB: u32 = ioc(IOC_WRITE, b'E', 0x90, 4);
/// `EVIOCGEFFECTS`.
pub const EVIOCGEFFECTS: u32 = ioc(IOC_READ, b'E', 0x84, 4);
/// `EVIOCGNAME(len)`.
pub const fn eviocgname(len: usize) -> u32 {
    ioc(IOC_READ, b'E', 0x06, len)
}
/// `EVIOCGBIT(ev, len)`.
pub const fn eviocgbit(ev: u8, len: usize) -> u32 {
    ioc(IOC_READ, b'E', 0x20 + ev, len)
}
/// `EVIOCGABS(abs)`.
pub const fn eviocgabs(abs: u8) -> u32 {
    ioc(IOC_READ, b'E', 0x40 + abs, 24)
}

/// A `'j'` request the interposer answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsRequest {
    /// `JSIOCGVERSION`.
    Version,
    /// `JSIOCGAXES`.
    Axes,
    /// `JSIOCGBUTTONS`.
    Buttons,
    /// `JSIOCGNAME(len)`.
    Name(usize),
    /// `JSIOCSCORR`, `JSIOCSAXMAP`, `JSIOCSBTNMAP`: accepted and ignored.
    Set,
    /// `JSIOCGCORR`.
    Corr,
    /// `JSIOCGAXMAP(len)`.
    AxMap(usize),
    /// `JSIOCGBTNMAP(len)`.
    BtnMap(usize),
}

/// Decodes a joystick request; `None` for anything that is not a known `'j'` request.
pub fn decode_js(req: u32) -> Option<JsRequest> {
    if ioc_type(req) != b'j' {
        return None;
    }
    let size = ioc_size(req);
    Some(match (ioc_dir(req), ioc_nr(req)) {
        (IOC_READ, 0x01) => JsRequest::Version,
        (IOC_READ, 0x11) => JsRequest::Axes,
        (IOC_READ, 0x12) => JsRequest::Buttons,
        (IOC_READ, 0x13) => JsRequest::Name(size),
        (IOC_WRITE, 0x21 | 0x31 | 0x33) => JsRequest::Set,
        (IOC_READ, 0x22) => JsRequest::Corr,
        (IOC_READ, 0x32) => JsRequest::AxMap(size),
        (IOC_READ, 0x34) => JsRequest::BtnMap(size),
        _ => return None,
    })
}

/// An `'E'` request the interposer answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvRequest {
    /// `EVIOCGVERSION`.
    Version,
    /// `EVIOCGID`.
    Id,
    /// `EVIOCGREP` (the device has no autorepeat).
    Rep,
    /// `EVIOCGNAME(len)`.
    Name(usize),
    /// `EVIOCGPHYS(len)`.
    Phys(usize),
    /// `EVIOCGUNIQ(len)`.
    Uniq(usize),
    /// `EVIOCGPROP(len)`.
    Prop(usize),
    /// `EVIOCGKEY`, `EVIOCGLED`, `EVIOCGSND`, `EVIOCGSW` (state bitmaps; all released): the
    /// bit count of the bitmap and the caller's length.
    State { bits: usize, len: usize },
    /// `EVIOCGBIT(ev, len)`.
    Bits { ev: u8, len: usize },
    /// `EVIOCGABS(code)`, with the caller's struct size.
    Abs { code: u8, len: usize },
    /// `EVIOCGEFFECTS`.
    Effects,
    /// `EVIOCSFF` (no force feedback).
    UploadFf,
    /// Requests accepted as no-ops: `EVIOCGRAB`, `EVIOCREVOKE`, `EVIOCRMFF`, `EVIOCSABS`,
    /// `EVIOCSCLOCKID`.
    Accept,
}

/// Decodes an evdev request; `None` for anything that is not a known `'E'` request.
pub fn decode_ev(req: u32) -> Option<EvRequest> {
    if ioc_type(req) != b'E' {
        return None;
    }
    let len = ioc_size(req);
    let nr = ioc_nr(req);
    Some(match (ioc_dir(req), nr) {
        (IOC_READ, 0x01) => EvRequest::Version,
        (IOC_READ, 0x02) => EvRequest::Id,
        (IOC_READ, 0x03) => EvRequest::Rep,
        (IOC_READ, 0x06) => EvRequest::Name(len),
        (IOC_READ, 0x07) => EvRequest::Phys(len),
        (IOC_READ, 0x08) => EvRequest::Uniq(len),
        (IOC_READ, 0x09) => EvRequest::Prop(len),
        (IOC_READ, 0x18) => EvRequest::State { bits: 0x300, len },
        (IOC_READ, 0x19) => EvRequest::State { bits: 0x10, len },
        (IOC_READ, 0x1a) => EvRequest::State { bits: 0x08, len },
        (IOC_READ, 0x1b) => EvRequest::State { bits: 0x11, len },
        (IOC_READ, 0x20..=0x3f) => EvRequest::Bits { ev: nr - 0x20, len },
        (IOC_READ, 0x40..=0x7f) => EvRequest::Abs {
            code: nr - 0x40,
            len,
        },
        (IOC_READ, 0x84) => EvRequest::Effects,
        (IOC_WRITE, 0x80) => EvRequest::UploadFf,
        (IOC_WRITE, 0x81 | 0x90 | 0x91 | 0xa0 | 0xc0..=0xff) => EvRequest::Accept,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_numbers_match_linux_headers() {
        // Values from <linux/joystick.h> / <linux/input.h> as compiled on x86-64.
        assert_eq!(JSIOCGVERSION, 0x8004_6a01);
        assert_eq!(JSIOCGAXES, 0x8001_6a11);
        assert_eq!(JSIOCGBUTTONS, 0x8001_6a12);
        assert_eq!(jsiocgname(128), 0x8080_6a13);
        assert_eq!(JSIOCGBTNMAP, 0x8400_6a34);
        assert_eq!(JSIOCGAXMAP, 0x8040_6a32);
        assert_eq!(EVIOCGVERSION, 0x8004_4501);
        assert_eq!(EVIOCGID, 0x8008_4502);
        assert_eq!(EVIOCGRAB, 0x4004_4590);
        assert_eq!(eviocgbit(0, 4), 0x8004_4520);
        assert_eq!(eviocgabs(0), 0x8018_4540);
    }

    #[test]
    fn decodes_only_known_requests() {
        assert_eq!(decode_js(jsiocgname(7)), Some(JsRequest::Name(7)));
        assert_eq!(decode_js(JSIOCSCORR), Some(JsRequest::Set));
        assert_eq!(decode_js(EVIOCGID), None);
        assert_eq!(decode_js(0x5421), None); // FIONBIO goes to the real ioctl
        assert_eq!(
            decode_ev(eviocgbit(3, 8)),
            Some(EvRequest::Bits { ev: 3, len: 8 })
        );
        assert_eq!(
            decode_ev(eviocgabs(0x11)),
            Some(EvRequest::Abs {
                code: 0x11,
                len: 24
            })
        );
        assert_eq!(decode_ev(EVIOCGRAB), Some(EvRequest::Accept));
        assert_eq!(decode_ev(JSIOCGAXES), None);
        assert_eq!(decode_ev(ioc(IOC_READ, b'E', 0x0a, 8)), None);
    }
}
