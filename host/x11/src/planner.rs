//! Pure keysym → key-press planner: which keycode to press, and which of Shift and
//! ISO_Level3_Shift (AltGr) must be pressed or released around it so that the keysym the
//! browser asked for is the one the X client sees.
//!
//! The browser sends the keysym of the character it produced together with the modifiers the
//! user physically holds, and the host's keymap need not match the browser's layout (`<` lives
//! on a shifted key on one layout and an unshifted one on another). So for characters the
//! planner searches every key and every Shift/Level3 combination for the cheapest way to
//! produce the keysym. For function keys (Tab, arrows, modifiers) the held modifiers are part
//! of the user's intent (Shift+Tab), so they are pressed as they are.

use crate::keymap::{KeymapTable, ModState, effective_keysym};
use crate::keysym::{self, Keysym};

/// What to do with one modifier around the key press.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModChange {
    /// Leave it as it is.
    Keep,
    /// Press it before the key and release it right after.
    Press,
    /// Release it before the key and press it again right after.
    Release,
}

/// How to produce one keysym.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPlan {
    /// The keycode to press.
    pub keycode: u8,
    /// What to do with Shift.
    pub shift: ModChange,
    /// What to do with ISO_Level3_Shift.
    pub level3: ModChange,
}

/// Which modifier changes are possible right now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ModAbilities {
    /// A Shift key exists to press.
    pub press_shift: bool,
    /// The active Shift comes from keys that are down (so releasing them clears it).
    pub release_shift: bool,
    /// An ISO_Level3_Shift key exists to press.
    pub press_level3: bool,
    /// The active Level3 comes from keys that are down.
    pub release_level3: bool,
}

/// Plans a press of `ks` under the current modifier `state`; `None` when no key of the table
/// can produce it (the caller then binds it to a spare keycode).
pub fn plan_key(
    table: &KeymapTable,
    ks: Keysym,
    state: ModState,
    can: ModAbilities,
) -> Option<KeyPlan> {
    if ks == keysym::NO_SYMBOL {
        return None;
    }
    if keysym::is_function(ks)
        && let Some(keycode) = table
            .keycodes()
            .find(|&kc| table.row(kc).first() == Some(&ks))
    {
        return Some(KeyPlan {
            keycode,
            shift: ModChange::Keep,
            level3: ModChange::Keep,
        });
    }

    let shift_options = options(state.shift, can.press_shift, can.release_shift);
    let level3_options = options(state.level3, can.press_level3, can.release_level3);
    // Ranked by (number of modifier changes, uses level 3, keycode): fewest changes first so a
    // held Shift is kept whenever some key gives the keysym with it, and plain levels before
    // AltGr levels because every layout has them.
    let mut best: Option<((u8, bool, u8), KeyPlan)> = None;
    for keycode in table.keycodes_with(ks) {
        let row = table.row(keycode);
        for &(shift_on, shift) in &shift_options {
            for &(level3_on, level3) in &level3_options {
                let try_state = ModState {
                    shift: shift_on,
                    level3: level3_on,
                    ..state
                };
                if effective_keysym(row, try_state) != ks {
                    continue;
                }
                let cost = u8::from(shift != ModChange::Keep) + u8::from(level3 != ModChange::Keep);
                let rank = (cost, level3_on, keycode);
                if best.as_ref().is_none_or(|(r, _)| rank < *r) {
                    let plan = KeyPlan {
                        keycode,
                        shift,
                        level3,
                    };
                    best = Some((rank, plan));
                }
            }
        }
    }
    best.map(|(_, plan)| plan)
}

/// The reachable states of one modifier and the change each needs.
fn options(active: bool, can_press: bool, can_release: bool) -> Vec<(bool, ModChange)> {
    let mut out = vec![(active, ModChange::Keep)];
    if !active && can_press {
        out.push((true, ModChange::Press));
    }
    if active && can_release {
        out.push((false, ModChange::Release));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keymap::tests::us_keymap;

    const ALL: ModAbilities = ModAbilities {
        press_shift: true,
        release_shift: true,
        press_level3: true,
        release_level3: true,
    };

    fn plan(ks: Keysym, state: ModState) -> Option<(u8, ModChange, ModChange)> {
        plan_key(&us_keymap(), ks, state, ALL).map(|p| (p.keycode, p.shift, p.level3))
    }

    const PLAIN: ModState = ModState {
        shift: false,
        lock: false,
        num_lock: false,
        level3: false,
    };
    const SHIFTED: ModState = ModState {
        shift: true,
        ..PLAIN
    };
    use ModChange::{Keep, Press, Release};

    #[test]
    fn letters() {
        assert_eq!(plan(0x61, PLAIN), Some((38, Keep, Keep))); // a
        assert_eq!(plan(0x41, PLAIN), Some((38, Press, Keep))); // A = Shift + a's key
        assert_eq!(plan(0x41, SHIFTED), Some((38, Keep, Keep)));
        assert_eq!(plan(0x61, SHIFTED), Some((38, Release, Keep)));
        let caps = ModState {
            lock: true,
            ..PLAIN
        };
        assert_eq!(plan(0x41, caps), Some((38, Keep, Keep)));
        assert_eq!(plan(0x61, caps), Some((38, Press, Keep)));
    }

    #[test]
    fn less_than_never_becomes_greater() {
        // Unshifted: the LSGT key's first level. Shift held (US user typing Shift+comma):
        // comma's second level, rather than LSGT which would give '>'.
        assert_eq!(plan(0x3c, PLAIN), Some((94, Keep, Keep)));
        assert_eq!(plan(0x3c, SHIFTED), Some((59, Keep, Keep)));
        assert_eq!(plan(0x3e, PLAIN), Some((60, Press, Keep)));
    }

    #[test]
    fn digits_under_foreign_shift() {
        // An AZERTY browser sends '1' with Shift held: Shift must be lifted for the press.
        assert_eq!(plan(0x31, SHIFTED), Some((10, Release, Keep)));
        assert_eq!(plan(0x21, PLAIN), Some((10, Press, Keep)));
    }

    #[test]
    fn level3() {
        assert_eq!(plan(0x7c, PLAIN), Some((94, Keep, Press))); // bar
        assert_eq!(plan(0xa6, PLAIN), Some((94, Press, Press))); // brokenbar
        let altgr = ModState {
            level3: true,
            ..PLAIN
        };
        assert_eq!(plan(0x7c, altgr), Some((94, Keep, Keep)));
        // AltGr held but the letter key has no level 3: nothing to change.
        assert_eq!(plan(0x61, altgr), Some((38, Keep, Keep)));
        // '<' with AltGr held (a layout with '<' on AltGr): LSGT would give '|'. Lifting AltGr
        // and adding Shift on comma cost one change each; the plain level wins the tie.
        assert_eq!(plan(0x3c, altgr), Some((94, Keep, Release)));
    }

    #[test]
    fn function_keys_keep_modifiers() {
        assert_eq!(plan(0xff09, SHIFTED), Some((23, Keep, Keep))); // Shift+Tab stays
        assert_eq!(plan(0xff51, SHIFTED), Some((113, Keep, Keep))); // Shift+Left selects
        assert_eq!(plan(0xffe1, SHIFTED), Some((50, Keep, Keep)));
        assert_eq!(plan(0xfe03, PLAIN), Some((92, Keep, Keep)));
        // ISO_Left_Tab only exists as Tab's second level: reached through Shift.
        assert_eq!(plan(0xfe20, PLAIN), Some((23, Press, Keep)));
    }

    #[test]
    fn keypad_follows_num_lock() {
        let num = ModState {
            num_lock: true,
            ..PLAIN
        };
        assert_eq!(plan(0xffb1, num), Some((87, Keep, Keep)));
        assert_eq!(plan(0xffb1, PLAIN), Some((87, Press, Keep)));
    }

    #[test]
    fn unmapped() {
        assert_eq!(plan(0xe9, PLAIN), None); // eacute
        assert_eq!(plan(0x0100_20ac, PLAIN), None); // Unicode euro sign
        assert_eq!(plan(0x0100_4e2d, PLAIN), None); // CJK
        assert_eq!(plan(0, PLAIN), None);
    }

    #[test]
    fn abilities_limit_plans() {
        let t = us_keymap();
        let none = ModAbilities::default();
        assert_eq!(plan_key(&t, 0x41, PLAIN, none), None);
        // Shift active from a source we cannot release (no key down): 'a' impossible, '<'
        // still possible through comma.
        assert_eq!(plan_key(&t, 0x61, SHIFTED, none), None);
        assert_eq!(
            plan_key(&t, 0x3c, SHIFTED, none).map(|p| p.keycode),
            Some(59)
        );
    }
}
