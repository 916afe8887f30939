//! Pure browser → xpad mapping (docs/protocol.md §7.A.4, config "STANDARD_XPAD") and the
//! per-pad state that new clients receive first.
//!
//! Browser "standard" gamepad indices come in; the Linux xpad layout (11 buttons, 8 axes) goes
//! out as js-scale values. Rounding is Python's (half to even), as in the legacy host.

use selkies_js_wire::event::{JS_EVENT_AXIS, JS_EVENT_BUTTON};

/// Buttons of the xpad layout.
pub const NUM_BUTTONS: usize = 11;
/// Axes of the xpad layout.
pub const NUM_AXES: usize = 8;

/// One change of one js button or axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsUpdate {
    /// [`JS_EVENT_BUTTON`] or [`JS_EVENT_AXIS`].
    pub kind: u8,
    /// js button/axis number (index into the xpad maps).
    pub number: u8,
    /// 0/1 for buttons, −32767..32767 for axes.
    pub value: i16,
}

impl JsUpdate {
    fn button(number: u8, value: i16) -> Self {
        Self {
            kind: JS_EVENT_BUTTON,
            number,
            value,
        }
    }
    fn axis(number: u8, value: i16) -> Self {
        Self {
            kind: JS_EVENT_AXIS,
            number,
            value,
        }
    }
}

fn to_i16(v: f64) -> i16 {
    v.clamp(-32767.0, 32767.0) as i16
}

/// `norm(v) = round(−32767 + (v+1)·32767)`: −1 ⇒ −32767, 0 ⇒ 0, 1 ⇒ 32767.
pub fn norm(v: f64) -> i16 {
    to_i16((-32767.0 + (v.clamp(-1.0, 1.0) + 1.0) * 32767.0).round_ties_even())
}

/// Full-range trigger: `round(v × 65534) − 32767`: 0 ⇒ −32767, 1 ⇒ 32767.
pub fn trigger(v: f64) -> i16 {
    to_i16((v.clamp(0.0, 1.0) * 65534.0).round_ties_even() - 32767.0)
}

/// Maps a browser button change. Returns `None` for buttons the xpad layout lacks.
pub fn map_button(button: u32, value: f64) -> Option<JsUpdate> {
    let number = match button {
        0..=5 => button as u8,
        6 => return Some(JsUpdate::axis(2, trigger(value))),
        7 => return Some(JsUpdate::axis(5, trigger(value))),
        8 => 6,
        9 => 7,
        10 => 9,
        11 => 10,
        12 => return Some(JsUpdate::axis(7, norm(-value))),
        13 => return Some(JsUpdate::axis(7, norm(value))),
        14 => return Some(JsUpdate::axis(6, norm(-value))),
        15 => return Some(JsUpdate::axis(6, norm(value))),
        16 => 8,
        _ => return None,
    };
    // Python `int(float)`: truncation, so analog values below 1 read as released.
    Some(JsUpdate::button(
        number,
        value.clamp(0.0, 1.0).trunc() as i16,
    ))
}

/// Maps a browser axis change. Returns `None` for axes beyond the xpad layout.
pub fn map_axis(axis: u32, value: f64) -> Option<JsUpdate> {
    let number = match axis {
        0 => 0,
        1 => 1,
        2 => 3,
        3 => 4,
        4..=7 => axis as u8,
        _ => return None,
    };
    Some(JsUpdate::axis(number, norm(value)))
}

/// The current value of every button and axis of one pad.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PadState {
    buttons: [i16; NUM_BUTTONS],
    axes: [i16; NUM_AXES],
}

impl Default for PadState {
    /// The rest state: everything 0 except the triggers, fully released at −32767.
    fn default() -> Self {
        let mut axes = [0; NUM_AXES];
        axes[2] = -32767;
        axes[5] = -32767;
        Self {
            buttons: [0; NUM_BUTTONS],
            axes,
        }
    }
}

impl PadState {
    /// Records an update; returns `false` when it does not change anything.
    pub fn apply(&mut self, u: JsUpdate) -> bool {
        let slot = match u.kind {
            JS_EVENT_BUTTON => self.buttons.get_mut(usize::from(u.number)),
            _ => self.axes.get_mut(usize::from(u.number)),
        };
        match slot {
            Some(v) if *v != u.value => {
                *v = u.value;
                true
            }
            _ => false,
        }
    }

    /// Every button then every axis, as updates: what a client is sent right after the config
    /// record (the legacy host sent the rest state 0.5 s after connecting; sending the current
    /// state at once also covers a client that connects while a button is held).
    pub fn snapshot(&self) -> Vec<JsUpdate> {
        let buttons = self
            .buttons
            .iter()
            .enumerate()
            .map(|(n, &v)| JsUpdate::button(n as u8, v));
        let axes = self
            .axes
            .iter()
            .enumerate()
            .map(|(n, &v)| JsUpdate::axis(n as u8, v));
        buttons.chain(axes).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_vectors_from_reference() {
        // §12: norm(0.5 / −0.5 / 0.25) and trigger(0 / 0.5 / 1).
        assert_eq!([norm(0.5), norm(-0.5), norm(0.25)], [16384, -16384, 8192]);
        assert_eq!(
            [trigger(0.0), trigger(0.5), trigger(1.0)],
            [-32767, 0, 32767]
        );
        assert_eq!([norm(-1.0), norm(0.0), norm(1.0)], [-32767, 0, 32767]);
        // Out-of-range input from a peer saturates instead of wrapping.
        assert_eq!([norm(7.0), trigger(-3.0)], [32767, -32767]);
    }

    #[test]
    fn buttons_map_to_xpad_layout() {
        let pairs = [
            (0, 0),
            (1, 1),
            (2, 2),
            (3, 3),
            (4, 4),
            (5, 5),
            (8, 6),
            (9, 7),
            (10, 9),
            (11, 10),
            (16, 8),
        ];
        for (browser, js) in pairs {
            assert_eq!(
                map_button(browser, 1.0),
                Some(JsUpdate::button(js, 1)),
                "button {browser}"
            );
        }
        assert_eq!(map_button(0, 0.99), Some(JsUpdate::button(0, 0)));
        assert_eq!(map_button(6, 0.0), Some(JsUpdate::axis(2, -32767)));
        assert_eq!(map_button(7, 1.0), Some(JsUpdate::axis(5, 32767)));
        assert_eq!(map_button(15, 1.0), Some(JsUpdate::axis(6, 32767)));
        assert_eq!(map_button(14, 1.0), Some(JsUpdate::axis(6, -32767)));
        assert_eq!(map_button(13, 1.0), Some(JsUpdate::axis(7, 32767)));
        assert_eq!(map_button(12, 1.0), Some(JsUpdate::axis(7, -32767)));
        assert_eq!(map_button(12, 0.0), Some(JsUpdate::axis(7, 0)));
        assert_eq!(map_button(17, 1.0), None);
    }

    #[test]
    fn axes_map_to_xpad_layout() {
        assert_eq!(map_axis(0, 0.5), Some(JsUpdate::axis(0, 16384)));
        assert_eq!(map_axis(1, -0.5), Some(JsUpdate::axis(1, -16384)));
        assert_eq!(map_axis(2, 0.25), Some(JsUpdate::axis(3, 8192)));
        assert_eq!(map_axis(3, 1.0), Some(JsUpdate::axis(4, 32767)));
        assert_eq!(map_axis(7, 0.0), Some(JsUpdate::axis(7, 0)));
        assert_eq!(map_axis(8, 1.0), None);
    }

    #[test]
    fn state_tracks_changes_and_starts_at_rest() {
        let mut s = PadState::default();
        let snap = s.snapshot();
        assert_eq!(snap.len(), NUM_BUTTONS + NUM_AXES);
        assert_eq!(snap[NUM_BUTTONS + 2], JsUpdate::axis(2, -32767));
        assert!(s.apply(JsUpdate::button(3, 1)));
        assert!(!s.apply(JsUpdate::button(3, 1)));
        assert!(!s.apply(JsUpdate::button(200, 1)));
        assert_eq!(s.snapshot()[3], JsUpdate::button(3, 1));
    }
}
