//! Property tests of the interposer wire records (the AFL target `interposer_wire` in `fuzz/`
//! runs the same decoders for longer, see docs/reliability.md): every record round-trips, and
//! arbitrary bytes from the socket or the application decode without panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use selkies_js_wire::ioctl::{decode_ev, decode_js};
use selkies_js_wire::{DeviceConfig, DeviceRef, EV_CONFIG_LEN, InputEvent, JS_CONFIG_LEN, JsEvent};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn input_event_round_trips(sec: i64, usec: i64, kind: u16, code: u16, value: i32) {
        let ev = InputEvent { sec, usec, kind, code, value };
        let mut buf = [0u8; 24];
        let n = ev.encode_into(8, &mut buf);
        prop_assert_eq!(n, 24);
        prop_assert_eq!(InputEvent::decode(8, &buf[..n]), Some(ev));
        // 32-bit applications read (i32, i32) timestamps.
        let ev32 = InputEvent { sec: i64::from(sec as i32), usec: i64::from(usec as i32), ..ev };
        let n = ev32.encode_into(4, &mut buf);
        prop_assert_eq!(n, 16);
        prop_assert_eq!(InputEvent::decode(4, &buf[..n]), Some(ev32));
        prop_assert_eq!(ev.encode_with_syn(8).len(), 48);
    }

    #[test]
    fn short_input_events_are_refused(bytes in prop::collection::vec(any::<u8>(), 0..16)) {
        prop_assert_eq!(InputEvent::decode(8, &bytes), None);
        prop_assert_eq!(InputEvent::decode(4, &bytes).is_some(), bytes.len() >= 16);
    }

    #[test]
    fn js_event_round_trips(buf: [u8; 8]) {
        prop_assert_eq!(JsEvent::decode(&buf).encode(), buf);
    }

    #[test]
    fn device_paths_never_panic_and_round_trip(path in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..40),
        "/dev/input/(js|event100)[0-9]{0,2}".prop_map(String::into_bytes),
    ]) {
        if let Some(dev) = DeviceRef::from_device_path(&path) {
            prop_assert_eq!(dev.device_path().into_bytes(), path);
            prop_assert!(dev.index < 4);
        }
    }

    #[test]
    fn ioctl_numbers_never_panic(req: u32) {
        let _ = (decode_js(req), decode_ev(req));
    }
}

proptest! {
    // Each case is two 1.3 KB records: fewer cases keep the suite fast.
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn configs_from_the_socket_decode_to_a_fixed_point(bytes in prop::collection::vec(any::<u8>(), EV_CONFIG_LEN)) {
        let mut js = [0u8; JS_CONFIG_LEN];
        js.copy_from_slice(&bytes[..JS_CONFIG_LEN]);
        let cfg = DeviceConfig::decode_js(&js);
        prop_assert!(cfg.buttons().len() <= 512 && cfg.axes().len() <= 64);
        prop_assert_eq!(DeviceConfig::decode_js(&cfg.encode_js()), cfg);
        let mut ev = [0u8; EV_CONFIG_LEN];
        ev.copy_from_slice(&bytes);
        let cfg = DeviceConfig::decode_event(&ev);
        prop_assert_eq!(DeviceConfig::decode_event(&cfg.encode_event()), cfg);
    }
}
