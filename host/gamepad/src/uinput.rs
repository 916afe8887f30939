//! Real virtual gamepads through `/dev/uinput` (the `evdev` crate), for hosts where the games
//! can see the host's input devices. Same xpad layout, codes and value ranges as the event
//! sockets, so games see one device whichever mode is in use.

use std::io;
use std::path::Path;

use evdev::uinput::VirtualDevice;
use evdev::{
    AbsInfo, AbsoluteAxisCode, AttributeSet, BusType, EventType, InputEvent, InputId, KeyCode,
    UinputAbsSetup,
};
use selkies_js_wire::DeviceConfig;
use selkies_js_wire::event::{JS_EVENT_BUTTON, abs_info, evdev_value};

use crate::mapping::{JsUpdate, PadState};

/// The uinput control node.
pub const UINPUT_PATH: &str = "/dev/uinput";

/// Whether this process may create uinput devices (the node exists and is writable).
pub fn uinput_writable(path: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: access() with a valid C string has no other preconditions.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

/// One virtual xpad.
pub struct UinputPad {
    device: VirtualDevice,
    config: DeviceConfig,
    state: PadState,
}

impl UinputPad {
    /// Creates "Selkies Controller <index+1>" with the xpad buttons and axes.
    pub fn create(index: u8) -> io::Result<Self> {
        let config = DeviceConfig::xpad_event(index);
        let mut keys = AttributeSet::<KeyCode>::new();
        for &code in config.buttons() {
            keys.insert(KeyCode(code));
        }
        let name = String::from_utf8_lossy(&config.name).into_owned();
        let mut builder = VirtualDevice::builder()?
            .name(&name)
            .input_id(InputId::new(
                BusType::BUS_VIRTUAL,
                config.vendor,
                config.product,
                config.version,
            ))
            .with_keys(&keys)?;
        for &code in config.axes() {
            let i = abs_info(code);
            let info = AbsInfo::new(i.value, i.minimum, i.maximum, i.fuzz, i.flat, i.resolution);
            builder = builder.with_absolute_axis(&UinputAbsSetup::new(
                AbsoluteAxisCode(u16::from(code)),
                info,
            ))?;
        }
        let device = builder.build()?;
        Ok(Self {
            device,
            config,
            state: PadState::default(),
        })
    }

    /// Emits one change (followed by `SYN_REPORT`); unchanged values are skipped.
    pub fn send(&mut self, update: JsUpdate) -> io::Result<()> {
        if !self.state.apply(update) {
            return Ok(());
        }
        let n = usize::from(update.number);
        let event = if update.kind == JS_EVENT_BUTTON {
            let Some(&code) = self.config.buttons().get(n) else {
                return Ok(());
            };
            InputEvent::new(EventType::KEY.0, code, i32::from(update.value))
        } else {
            let Some(&code) = self.config.axes().get(n) else {
                return Ok(());
            };
            InputEvent::new(
                EventType::ABSOLUTE.0,
                u16::from(code),
                evdev_value(code, update.value),
            )
        };
        self.device.emit(&[event])
    }
}
