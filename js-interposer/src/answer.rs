//! Pure answers to the joystick and evdev ioctls (docs/protocol.md §7.A.1, §7.B), computed from the config
//! record the host sent. Semantics follow the kernel drivers (`joydev.c`, `evdev.c`) wherever
//! the legacy library differed: buffer lengths are honoured and return values match, so an
//! application cannot tell the socket from a device node.

use selkies_js_wire::DeviceConfig;
use selkies_js_wire::event::{EV_ABS, EV_FF, EV_KEY, EV_REL, EV_SYN, abs_info};
use selkies_js_wire::ioctl::{
    BUS_VIRTUAL, EV_VERSION, EvRequest, JS_CORR_LEN, JS_VERSION, JsRequest,
};

/// What the hook must do for one ioctl.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Copy `data` to the caller's buffer, then return `ret`.
    Data { data: Vec<u8>, ret: i32 },
    /// Return `ret` without touching the buffer.
    Ret(i32),
    /// Fail with this errno.
    Errno(i32),
}

/// `KEY_CNT`, `ABS_CNT` and friends: bit counts of the evdev bitmaps.
fn bit_count(ev: u8) -> Option<usize> {
    Some(match u16::from(ev) {
        0 => 0x20,       // EV_CNT
        EV_KEY => 0x300, // KEY_CNT
        EV_REL => 0x10,
        EV_ABS => 0x40,
        0x04 => 0x08, // EV_MSC
        0x05 => 0x11, // EV_SW
        0x11 => 0x10, // EV_LED
        0x12 => 0x08, // EV_SND
        EV_FF => 0x80,
        _ => return None,
    })
}

/// Kernel `bits_to_user`: the bitmap is a `long` array, so its size rounds up to whole words;
/// the copy is truncated to the caller's length and the copied length is returned.
fn bits_answer(
    set: impl IntoIterator<Item = usize>,
    bits: usize,
    word: usize,
    len: usize,
) -> Answer {
    let word = if word == 4 { 4 } else { 8 };
    let full = bits.div_ceil(word * 8) * word;
    let mut data = vec![0u8; full];
    for bit in set {
        if bit < bits {
            data[bit / 8] |= 1 << (bit % 8);
        }
    }
    data.truncate(len);
    Answer::Data {
        ret: data.len() as i32,
        data,
    }
}

/// Kernel `str_to_user`: the string plus its NUL, truncated to the caller's length.
fn str_answer(name: &[u8], len: usize) -> Answer {
    let mut data = name.to_vec();
    data.push(0);
    data.truncate(len);
    Answer::Data {
        ret: data.len() as i32,
        data,
    }
}

fn fixed(data: Vec<u8>) -> Answer {
    Answer::Data { data, ret: 0 }
}

/// Answers a `'j'` request on a js device.
pub fn answer_js(cfg: &DeviceConfig, req: JsRequest) -> Answer {
    match req {
        JsRequest::Version => fixed(JS_VERSION.to_ne_bytes().to_vec()),
        JsRequest::Axes => fixed(vec![cfg.axes().len().min(255) as u8]),
        JsRequest::Buttons => fixed(vec![cfg.buttons().len().min(255) as u8]),
        JsRequest::Name(len) => str_answer(&cfg.name, len),
        JsRequest::Set => Answer::Ret(0),
        // The kernel copies one (here: neutral) correction per axis.
        JsRequest::Corr => fixed(vec![0u8; JS_CORR_LEN * cfg.axes().len()]),
        JsRequest::AxMap(len) => {
            let mut data = cfg.axes_map.to_vec();
            data.truncate(len);
            Answer::Data {
                ret: data.len() as i32,
                data,
            }
        }
        JsRequest::BtnMap(len) => {
            let mut data: Vec<u8> = cfg.btn_map.iter().flat_map(|c| c.to_ne_bytes()).collect();
            data.truncate(len);
            Answer::Data {
                ret: data.len() as i32,
                data,
            }
        }
    }
}

/// Answers an `'E'` request on an event device; `word` is the caller's `sizeof(long)`.
pub fn answer_ev(cfg: &DeviceConfig, req: EvRequest, word: usize) -> Answer {
    match req {
        EvRequest::Version => fixed(EV_VERSION.to_ne_bytes().to_vec()),
        EvRequest::Id => {
            let ids = [BUS_VIRTUAL, cfg.vendor, cfg.product, cfg.version];
            fixed(ids.iter().flat_map(|v| v.to_ne_bytes()).collect())
        }
        EvRequest::Rep | EvRequest::UploadFf => Answer::Errno(libc::ENOSYS),
        EvRequest::Name(len) => str_answer(&cfg.name, len),
        EvRequest::Phys(_) | EvRequest::Uniq(_) => Answer::Errno(libc::ENOENT),
        EvRequest::Prop(len) => bits_answer([], 0x20, word, len),
        EvRequest::State { bits, len } => bits_answer([], bits, word, len),
        EvRequest::Bits { ev, len } => {
            let Some(bits) = bit_count(ev) else {
                return Answer::Errno(libc::EINVAL);
            };
            let set: Vec<usize> = match u16::from(ev) {
                0 => vec![
                    usize::from(EV_SYN),
                    usize::from(EV_KEY),
                    usize::from(EV_ABS),
                ],
                EV_KEY => cfg.buttons().iter().map(|&c| usize::from(c)).collect(),
                EV_ABS => cfg.axes().iter().map(|&c| usize::from(c)).collect(),
                _ => Vec::new(),
            };
            bits_answer(set, bits, word, len)
        }
        EvRequest::Abs { code, len } => {
            let mut data = if cfg.axes().contains(&code) {
                abs_info(code).encode().to_vec()
            } else {
                vec![0u8; 24]
            };
            data.truncate(len);
            Answer::Data { data, ret: 0 }
        }
        EvRequest::Effects => fixed(0i32.to_ne_bytes().to_vec()),
        EvRequest::Accept => Answer::Ret(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use selkies_js_wire::ioctl::{decode_ev, eviocgabs, eviocgbit, eviocgname};

    fn data(a: Answer) -> (Vec<u8>, i32) {
        match a {
            Answer::Data { data, ret } => (data, ret),
            other => panic!("expected data, got {other:?}"),
        }
    }

    #[test]
    fn js_answers_follow_the_kernel() {
        let cfg = DeviceConfig::xpad_js();
        assert_eq!(
            data(answer_js(&cfg, JsRequest::Version)),
            (vec![0, 1, 2, 0], 0)
        );
        assert_eq!(data(answer_js(&cfg, JsRequest::Axes)), (vec![8], 0));
        assert_eq!(data(answer_js(&cfg, JsRequest::Buttons)), (vec![11], 0));
        assert_eq!(
            data(answer_js(&cfg, JsRequest::Name(128))),
            (b"Selkies Controller\0".to_vec(), 19)
        );
        // A short buffer gets a truncated, unterminated name, as from joydev.
        assert_eq!(
            data(answer_js(&cfg, JsRequest::Name(4))),
            (b"Selk".to_vec(), 4)
        );
        assert_eq!(data(answer_js(&cfg, JsRequest::Corr)).0.len(), 8 * 36);
        let (axmap, ret) = data(answer_js(&cfg, JsRequest::AxMap(64)));
        assert_eq!(
            (&axmap[..8], ret),
            (&[0, 1, 2, 3, 4, 5, 0x10, 0x11][..], 64)
        );
        let (btnmap, ret) = data(answer_js(&cfg, JsRequest::BtnMap(1024)));
        assert_eq!(
            (&btnmap[..4], &btnmap[20..24], ret),
            (&[0x30, 1, 0x31, 1][..], &[0x3e, 1, 0, 0][..], 1024)
        );
        assert_eq!(answer_js(&cfg, JsRequest::Set), Answer::Ret(0));
    }

    #[test]
    fn ev_answers_follow_the_kernel() {
        let cfg = DeviceConfig::xpad_event(0);
        let ask = |req: u32| answer_ev(&cfg, decode_ev(req).expect("known request"), 8);
        assert_eq!(
            data(ask(eviocgname(256))),
            (b"Selkies Controller 1\0".to_vec(), 21)
        );
        assert_eq!(
            data(ask(selkies_js_wire::ioctl::EVIOCGID)).0,
            vec![6, 0, 0x5e, 4, 0x8e, 2, 1, 0]
        );
        assert_eq!(data(ask(eviocgbit(0, 4))), (vec![0b1011, 0, 0, 0], 4));
        let (keys, ret) = data(ask(eviocgbit(1, 96)));
        assert_eq!(ret, 96);
        // BTN_A..BTN_B = 0x130,0x131 → byte 0x26 bits 0,1; BTN_X,Y = 0x133,0x134 → bits 3,4.
        assert_eq!(keys[0x26], 0b1101_1011);
        assert_eq!(keys[0x27], 0b0111_1100); // 0x13a..0x13e
        assert_eq!(keys.iter().map(|b| b.count_ones()).sum::<u32>(), 11);
        let (abs, ret) = data(ask(eviocgbit(3, 8)));
        assert_eq!((abs, ret), (vec![0x3f, 0, 0x03, 0, 0, 0, 0, 0], 8));
        assert_eq!(data(ask(eviocgbit(0x15, 64))), (vec![0; 16], 16));
        let (z, ret) = data(ask(eviocgabs(2)));
        assert_eq!(ret, 0);
        assert_eq!(&z[4..12], &[0, 0, 0, 0, 255, 0, 0, 0]);
        let (unused, _) = data(ask(eviocgabs(0x30)));
        assert_eq!(unused, vec![0; 24]);
        assert_eq!(
            answer_ev(&cfg, EvRequest::Bits { ev: 0x1f, len: 8 }, 8),
            Answer::Errno(libc::EINVAL)
        );
        assert_eq!(
            answer_ev(&cfg, EvRequest::Phys(64), 8),
            Answer::Errno(libc::ENOENT)
        );
    }

    #[test]
    fn bitmaps_round_to_the_callers_word_size() {
        let cfg = DeviceConfig::xpad_event(0);
        let (ev32, _) = data(answer_ev(&cfg, EvRequest::Bits { ev: 0, len: 64 }, 4));
        let (ev64, _) = data(answer_ev(&cfg, EvRequest::Bits { ev: 0, len: 64 }, 8));
        assert_eq!((ev32.len(), ev64.len()), (4, 8));
        let (sw, _) = data(answer_ev(&cfg, EvRequest::Bits { ev: 5, len: 64 }, 4));
        assert_eq!(sw.len(), 4);
    }
}
