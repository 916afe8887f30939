//! Pure mouse planner: turns `m`/`m2` messages into a pointer motion and X button events,
//! from the browser button mask and the previous one (docs/protocol.md §6.2).
//!
//! Deliberate fixes of the legacy host (§6.2, §11 item 6, §11 item 7): a wheel bit scrolls once per
//! press transition (0→1) and its release emits nothing; a relative (`m2`) wheel message does
//! not replay the last pointer-lock motion that the client copies into it.

/// Bits of the browser mask that map to X buttons 1..3 (left, middle, right).
const BUTTON_BITS: [(u8, u8); 3] = [(1 << 0, 1), (1 << 1, 2), (1 << 2, 3)];
/// Browser wheel-down bit → X button 5 (scroll down).
const WHEEL_DOWN: u8 = 1 << 3;
/// Browser wheel-up bit → X button 4 (scroll up).
const WHEEL_UP: u8 = 1 << 4;
const KNOWN_BITS: u8 = 0x1f;

/// Upper bound on scroll clicks per message. The client caps magnitude at 10; a peer sending
/// more must not make the injector thread spin on millions of clicks.
pub const MAX_SCROLL_CLICKS: u32 = 50;

/// Pointer motion request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Motion {
    /// Move to root-window pixel coordinates.
    Absolute(i16, i16),
    /// Move by a delta.
    Relative(i16, i16),
}

/// One X button event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonEvent {
    /// Press of X button n.
    Press(u8),
    /// Release of X button n.
    Release(u8),
}

/// What one mouse message does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MousePlan {
    /// Motion first (the legacy order), if any.
    pub motion: Option<Motion>,
    /// Then the button events, in order.
    pub buttons: Vec<ButtonEvent>,
}

/// Remembers the last browser mask of one injector.
#[derive(Debug, Default)]
pub struct ButtonTracker {
    mask: u8,
}

impl ButtonTracker {
    /// Plans one `m` (relative = false) or `m2` (relative = true) message.
    pub fn plan(&mut self, relative: bool, x: i32, y: i32, mask: u8, magnitude: u32) -> MousePlan {
        let mask = mask & KNOWN_BITS;
        let changed = mask ^ self.mask;
        let wheel_message = changed & (WHEEL_DOWN | WHEEL_UP) != 0;
        let motion = if relative {
            (!wheel_message && (x != 0 || y != 0)).then(|| Motion::Relative(clamp(x), clamp(y)))
        } else {
            Some(Motion::Absolute(clamp(x), clamp(y)))
        };

        let mut buttons = Vec::new();
        for (bit, button) in BUTTON_BITS {
            if changed & bit != 0 {
                buttons.push(if mask & bit != 0 {
                    ButtonEvent::Press(button)
                } else {
                    ButtonEvent::Release(button)
                });
            }
        }
        let clicks = magnitude.clamp(1, MAX_SCROLL_CLICKS);
        for (bit, button) in [(WHEEL_DOWN, 5), (WHEEL_UP, 4)] {
            if changed & bit != 0 && mask & bit != 0 {
                for _ in 0..clicks {
                    buttons.push(ButtonEvent::Press(button));
                    buttons.push(ButtonEvent::Release(button));
                }
            }
        }
        self.mask = mask;
        MousePlan { motion, buttons }
    }

    /// `kr`: releases every button still held and forgets the mask.
    pub fn release_all(&mut self) -> Vec<ButtonEvent> {
        let held = self.mask;
        self.mask = 0;
        BUTTON_BITS
            .iter()
            .filter(|(bit, _)| held & bit != 0)
            .map(|&(_, button)| ButtonEvent::Release(button))
            .collect()
    }
}

fn clamp(v: i32) -> i16 {
    // Lossless after the clamp.
    v.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
}

#[cfg(test)]
mod tests {
    use super::ButtonEvent::{Press, Release};
    use super::*;

    #[test]
    fn buttons_follow_mask_diffs() {
        let mut t = ButtonTracker::default();
        let p = t.plan(false, 10, 20, 1, 0);
        assert_eq!(p.motion, Some(Motion::Absolute(10, 20)));
        assert_eq!(p.buttons, [Press(1)]);
        assert_eq!(t.plan(false, 10, 20, 1 | 4, 0).buttons, [Press(3)]);
        assert_eq!(
            t.plan(false, 10, 20, 2, 0).buttons,
            [Release(1), Press(2), Release(3)]
        );
        assert!(t.plan(false, 11, 20, 2, 0).buttons.is_empty());
    }

    #[test]
    fn wheel_vector_from_reference() {
        // §12: `m,100,200,8,1` then `m,100,200,0,1` => one button-5 click and nothing else.
        let mut t = ButtonTracker::default();
        assert_eq!(
            t.plan(false, 100, 200, 8, 1).buttons,
            [Press(5), Release(5)]
        );
        assert!(t.plan(false, 100, 200, 0, 1).buttons.is_empty());
    }

    #[test]
    fn wheel_magnitude_and_direction() {
        let mut t = ButtonTracker::default();
        let up = t.plan(false, 0, 0, 16, 3).buttons;
        assert_eq!(
            up,
            [
                Press(4),
                Release(4),
                Press(4),
                Release(4),
                Press(4),
                Release(4)
            ]
        );
        assert!(t.plan(false, 0, 0, 0, 3).buttons.is_empty());
        // Magnitude 0 still scrolls once; absurd magnitudes are capped.
        assert_eq!(t.plan(false, 0, 0, 8, 0).buttons.len(), 2);
        t.plan(false, 0, 0, 0, 0);
        assert_eq!(t.plan(false, 0, 0, 8, u32::MAX).buttons.len(), 2 * 50);
    }

    #[test]
    fn wheel_release_while_button_held_does_not_scroll_again() {
        // Legacy bug (c): scrolled a second time when the wheel bit cleared with a button held.
        let mut t = ButtonTracker::default();
        t.plan(false, 0, 0, 1, 0);
        assert_eq!(t.plan(false, 0, 0, 1 | 8, 2).buttons.len(), 4);
        assert!(t.plan(false, 0, 0, 1, 2).buttons.is_empty());
        assert_eq!(t.plan(false, 0, 0, 0, 0).buttons, [Release(1)]);
    }

    #[test]
    fn relative_motion_and_wheel_replay() {
        let mut t = ButtonTracker::default();
        assert_eq!(
            t.plan(true, 5, -3, 0, 0).motion,
            Some(Motion::Relative(5, -3))
        );
        // The client re-sends the last movementX/Y in wheel messages: no motion for those.
        let wheel = t.plan(true, 5, -3, 8, 1);
        assert_eq!(wheel.motion, None);
        assert_eq!(wheel.buttons.len(), 2);
        assert_eq!(t.plan(true, 5, -3, 0, 1).motion, None);
        assert_eq!(t.plan(true, 0, 0, 0, 0).motion, None);
        // Button clicks in pointer lock still carry their motion.
        assert_eq!(
            t.plan(true, 1, 1, 1, 0).motion,
            Some(Motion::Relative(1, 1))
        );
    }

    #[test]
    fn coordinates_clamp_and_unknown_bits_ignored() {
        let mut t = ButtonTracker::default();
        let p = t.plan(false, 100_000, -100_000, 0xe0, 0);
        assert_eq!(p.motion, Some(Motion::Absolute(i16::MAX, i16::MIN)));
        assert!(p.buttons.is_empty());
    }

    #[test]
    fn release_all_releases_held_buttons_only() {
        let mut t = ButtonTracker::default();
        t.plan(false, 0, 0, 1 | 4 | 8, 1);
        assert_eq!(t.release_all(), [Release(1), Release(3)]);
        assert!(t.release_all().is_empty());
        // After a reset the next press is a transition again.
        assert_eq!(t.plan(false, 0, 0, 1, 0).buttons, [Press(1)]);
    }
}
