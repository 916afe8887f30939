//! The config record the host writes first on every new connection (docs/protocol.md §7.A.2 and §7.B).
//!
//! Legacy (`js` sockets, 1348 bytes): `char name[255]`, pad, `u16 num_btns` @256,
//! `u16 num_axes` @258, `u16 btn_map[512]` @260, `u8 axes_map[64]` @1284.
//! Evdev extension (`event` sockets, 1354 bytes): `vendor` @256, `product` @258, `version` @260,
//! then `num_btns` @262, `num_axes` @264, `btn_map` @266, `axes_map` @1290.
//! Native endianness, as the C struct and Python's `@` packing are.

/// Size of the legacy record (`"255sHH512H64B"`).
pub const JS_CONFIG_LEN: usize = 1348;
/// Size of the evdev-extension record (`"255sHHHHH512H64B"`).
pub const EV_CONFIG_LEN: usize = 1354;
/// `name` capacity including the NUL terminator.
pub const NAME_LEN: usize = 255;
/// Maximum buttons (`KEY_MAX - BTN_MISC + 1`).
pub const MAX_BUTTONS: usize = 512;
/// Maximum axes (`ABS_CNT`).
pub const MAX_AXES: usize = 64;

/// Name the legacy host puts in the js record (the browser's name is not used).
pub const JS_DEVICE_NAME: &str = "Selkies Controller";
/// Vendor/product/version of the evdev record: a Microsoft X-Box 360 pad.
pub const XPAD_VENDOR: u16 = 0x045e;
/// See [`XPAD_VENDOR`].
pub const XPAD_PRODUCT: u16 = 0x028e;
/// See [`XPAD_VENDOR`].
pub const XPAD_VERSION: u16 = 1;

/// The xpad button layout: js button number → evdev key code.
pub const XPAD_BUTTONS: [u16; 11] = [
    0x130, // BTN_A
    0x131, // BTN_B
    0x133, // BTN_X (NORTH)
    0x134, // BTN_Y (WEST)
    0x136, // BTN_TL
    0x137, // BTN_TR
    0x13a, // BTN_SELECT
    0x13b, // BTN_START
    0x13c, // BTN_MODE
    0x13d, // BTN_THUMBL
    0x13e, // BTN_THUMBR
];

/// The xpad axis layout: js axis number → evdev abs code.
pub const XPAD_AXES: [u8; 8] = [
    0x00, // ABS_X
    0x01, // ABS_Y
    0x02, // ABS_Z (left trigger)
    0x03, // ABS_RX
    0x04, // ABS_RY
    0x05, // ABS_RZ (right trigger)
    0x10, // ABS_HAT0X
    0x11, // ABS_HAT0Y
];

/// A decoded config record; the same fields serve both layouts (the js layout simply has no
/// vendor/product/version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceConfig {
    /// Device name bytes without the NUL terminator (at most 254 bytes).
    pub name: Vec<u8>,
    /// USB vendor id (evdev record only; 0 in js records).
    pub vendor: u16,
    /// USB product id (evdev record only).
    pub product: u16,
    /// Device version (evdev record only).
    pub version: u16,
    /// Number of valid entries in `btn_map`, at most [`MAX_BUTTONS`].
    pub num_btns: u16,
    /// Number of valid entries in `axes_map`, at most [`MAX_AXES`].
    pub num_axes: u16,
    /// js button number → evdev key code.
    pub btn_map: [u16; MAX_BUTTONS],
    /// js axis number → evdev abs code.
    pub axes_map: [u8; MAX_AXES],
}

impl DeviceConfig {
    /// The xpad layout the host serves: 11 buttons, 8 axes.
    pub fn xpad(name: &str) -> Self {
        let mut btn_map = [0u16; MAX_BUTTONS];
        btn_map[..XPAD_BUTTONS.len()].copy_from_slice(&XPAD_BUTTONS);
        let mut axes_map = [0u8; MAX_AXES];
        axes_map[..XPAD_AXES.len()].copy_from_slice(&XPAD_AXES);
        let mut name = name.as_bytes().to_vec();
        name.truncate(NAME_LEN - 1);
        Self {
            name,
            vendor: XPAD_VENDOR,
            product: XPAD_PRODUCT,
            version: XPAD_VERSION,
            num_btns: XPAD_BUTTONS.len() as u16,
            num_axes: XPAD_AXES.len() as u16,
            btn_map,
            axes_map,
        }
    }

    /// The legacy js record served on `selkies_jsN.sock`.
    pub fn xpad_js() -> Self {
        Self {
            vendor: 0,
            product: 0,
            version: 0,
            ..Self::xpad(JS_DEVICE_NAME)
        }
    }

    /// The evdev record served on `selkies_event100N.sock` (name "Selkies Controller N+1").
    pub fn xpad_event(index: u8) -> Self {
        Self::xpad(&format!("{JS_DEVICE_NAME} {}", u32::from(index) + 1))
    }

    /// Valid buttons (clamped, so a garbled record can never index out of the map).
    pub fn buttons(&self) -> &[u16] {
        &self.btn_map[..usize::from(self.num_btns).min(MAX_BUTTONS)]
    }

    /// Valid axes (clamped).
    pub fn axes(&self) -> &[u8] {
        &self.axes_map[..usize::from(self.num_axes).min(MAX_AXES)]
    }

    /// Encodes the legacy 1348-byte record.
    pub fn encode_js(&self) -> [u8; JS_CONFIG_LEN] {
        let mut out = [0u8; JS_CONFIG_LEN];
        self.write_name(&mut out);
        put_u16(&mut out, 256, self.num_btns);
        put_u16(&mut out, 258, self.num_axes);
        self.write_maps(&mut out, 260, 1284);
        out
    }

    /// Encodes the evdev-extension 1354-byte record.
    pub fn encode_event(&self) -> [u8; EV_CONFIG_LEN] {
        let mut out = [0u8; EV_CONFIG_LEN];
        self.write_name(&mut out);
        put_u16(&mut out, 256, self.vendor);
        put_u16(&mut out, 258, self.product);
        put_u16(&mut out, 260, self.version);
        put_u16(&mut out, 262, self.num_btns);
        put_u16(&mut out, 264, self.num_axes);
        self.write_maps(&mut out, 266, 1290);
        out
    }

    /// Decodes a legacy record. Counts are clamped to the map sizes: the record comes from a
    /// socket and must never make a reader index out of bounds.
    pub fn decode_js(buf: &[u8; JS_CONFIG_LEN]) -> Self {
        Self::decode(buf, None, 256, 260, 1284)
    }

    /// Decodes an evdev-extension record (counts clamped as in [`Self::decode_js`]).
    pub fn decode_event(buf: &[u8; EV_CONFIG_LEN]) -> Self {
        Self::decode(buf, Some(256), 262, 266, 1290)
    }

    fn decode(
        buf: &[u8],
        ids_at: Option<usize>,
        counts_at: usize,
        btn_at: usize,
        ax_at: usize,
    ) -> Self {
        let raw_name = &buf[..NAME_LEN];
        let end = raw_name
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(NAME_LEN - 1);
        let (vendor, product, version) = match ids_at {
            Some(at) => (get_u16(buf, at), get_u16(buf, at + 2), get_u16(buf, at + 4)),
            None => (0, 0, 0),
        };
        let mut btn_map = [0u16; MAX_BUTTONS];
        for (i, slot) in btn_map.iter_mut().enumerate() {
            *slot = get_u16(buf, btn_at + 2 * i);
        }
        let mut axes_map = [0u8; MAX_AXES];
        axes_map.copy_from_slice(&buf[ax_at..ax_at + MAX_AXES]);
        Self {
            name: raw_name[..end].to_vec(),
            vendor,
            product,
            version,
            num_btns: get_u16(buf, counts_at).min(MAX_BUTTONS as u16),
            num_axes: get_u16(buf, counts_at + 2).min(MAX_AXES as u16),
            btn_map,
            axes_map,
        }
    }

    fn write_name(&self, out: &mut [u8]) {
        let n = self.name.len().min(NAME_LEN - 1);
        out[..n].copy_from_slice(&self.name[..n]);
    }

    fn write_maps(&self, out: &mut [u8], btn_at: usize, ax_at: usize) {
        for (i, code) in self.btn_map.iter().enumerate() {
            put_u16(out, btn_at + 2 * i, *code);
        }
        out[ax_at..ax_at + MAX_AXES].copy_from_slice(&self.axes_map);
    }
}

fn put_u16(out: &mut [u8], at: usize, v: u16) {
    out[at..at + 2].copy_from_slice(&v.to_ne_bytes());
}

fn get_u16(buf: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([buf[at], buf[at + 1]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn js_record_layout_matches_legacy_struct() {
        let rec = DeviceConfig::xpad_js().encode_js();
        assert_eq!(rec.len(), 1348);
        assert_eq!(&rec[..18], b"Selkies Controller");
        assert!(rec[18..256].iter().all(|&b| b == 0));
        assert_eq!(&rec[256..260], &[11, 0, 8, 0]);
        // btn_map[0] = BTN_A, btn_map[10] = BTN_THUMBR, btn_map[11] = 0
        assert_eq!(&rec[260..262], &[0x30, 0x01]);
        assert_eq!(&rec[280..282], &[0x3e, 0x01]);
        assert_eq!(&rec[282..284], &[0, 0]);
        assert_eq!(&rec[1284..1292], &[0, 1, 2, 3, 4, 5, 0x10, 0x11]);
        assert!(rec[1292..].iter().all(|&b| b == 0));
        assert_eq!(DeviceConfig::decode_js(&rec), DeviceConfig::xpad_js());
    }

    #[test]
    fn event_record_layout_matches_branch_struct() {
        let rec = DeviceConfig::xpad_event(1).encode_event();
        assert_eq!(rec.len(), 1354);
        assert_eq!(&rec[..20], b"Selkies Controller 2");
        assert_eq!(&rec[256..266], &[0x5e, 0x04, 0x8e, 0x02, 1, 0, 11, 0, 8, 0]);
        assert_eq!(&rec[266..268], &[0x30, 0x01]);
        assert_eq!(&rec[1290..1298], &[0, 1, 2, 3, 4, 5, 0x10, 0x11]);
        assert_eq!(
            DeviceConfig::decode_event(&rec),
            DeviceConfig::xpad_event(1)
        );
    }

    #[test]
    fn garbled_record_is_clamped() {
        let mut rec = [0xffu8; JS_CONFIG_LEN];
        rec[3] = 0;
        let cfg = DeviceConfig::decode_js(&rec);
        assert_eq!(cfg.name, vec![0xff; 3]);
        assert_eq!(cfg.buttons().len(), MAX_BUTTONS);
        assert_eq!(cfg.axes().len(), MAX_AXES);
        let unterminated = DeviceConfig::decode_event(&[0x41; EV_CONFIG_LEN]);
        assert_eq!(unterminated.name.len(), NAME_LEN - 1);
    }
}
