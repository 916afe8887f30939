//! Keysym classification and case conversion: the few facts about X keysym numbering that the
//! keymap model and the planner need (no X I/O).

/// An X11 keysym (core protocol `KEYSYM`, 29 bits used).
pub type Keysym = u32;

/// The empty keymap slot.
pub const NO_SYMBOL: Keysym = 0;
/// `Shift_L`.
pub const SHIFT_L: Keysym = 0xffe1;
/// `Shift_R`.
pub const SHIFT_R: Keysym = 0xffe2;
/// `ISO_Level3_Shift` (AltGr on most layouts; also what the browser sends for AltGr).
pub const ISO_LEVEL3_SHIFT: Keysym = 0xfe03;
/// `Num_Lock`.
pub const NUM_LOCK: Keysym = 0xff7f;

/// Keysyms the legacy host released on `kr` and at startup (docs/protocol.md §6.1), in its order.
pub const LEGACY_RELEASE: [Keysym; 13] = [
    0xffe3, // Control_L
    0xffe1, // Shift_L
    0xffe9, // Alt_L
    0xffe4, // Control_R
    0xffe2, // Shift_R
    0xfe03, // ISO_Level3_Shift
    0xffe7, // Meta_L
    0xffe8, // Meta_R
    0x66,   // f
    0x46,   // F
    0x6d,   // m
    0x4d,   // M
    0xff1b, // Escape
];

/// Keysyms `0x01000000 | codepoint` carry a Unicode character directly.
const UNICODE_BASE: Keysym = 0x0100_0000;

/// Keypad keysyms (`KP_Space` .. `KP_9`): their second level is selected by Num Lock as well as
/// by Shift, so the planner must know about them to avoid turning `KP_1` into `KP_End`.
pub fn is_keypad(ks: Keysym) -> bool {
    (0xff80..=0xffbd).contains(&ks)
}

/// Keys that are not characters (cursor keys, F-keys, modifiers, Tab, XF86 media keys...).
///
/// For these the browser's modifier state is part of what the user means (Shift+Tab,
/// Shift+Left), so the planner presses them as they are instead of forcing a level.
pub fn is_function(ks: Keysym) -> bool {
    let dead_keys = 0xfe50..=0xfe93;
    ((0xfd00..=0xffff).contains(&ks) && !is_keypad(ks) && !dead_keys.contains(&ks))
        || (0x1008_0000..=0x1008_ffff).contains(&ks)
}

/// The upper-case counterpart of a keysym, or the keysym itself when it has none.
///
/// Covers Latin-1 and Unicode keysyms, which is what the browser sends (docs/protocol.md §4.1); the
/// legacy non-Latin-1 keysym blocks are left alone because keymaps that contain them list both
/// cases explicitly.
pub fn to_upper(ks: Keysym) -> Keysym {
    match ks {
        0x61..=0x7a => ks - 0x20,
        0xe0..=0xfe if ks != 0xf7 => ks - 0x20,
        0xff => 0x13be, // ydiaeresis -> Ydiaeresis (outside Latin-1)
        _ if ks > UNICODE_BASE && ks <= UNICODE_BASE + 0x10_ffff => {
            let Some(c) = char::from_u32(ks - UNICODE_BASE) else {
                return ks;
            };
            let mut upper = c.to_uppercase();
            match (upper.next(), upper.next()) {
                // Keep Latin-1 results in the Unicode form so equality with the browser's
                // keysym stays within one numbering.
                (Some(u), None) if u != c => UNICODE_BASE | u as u32,
                _ => ks,
            }
        }
        _ => ks,
    }
}

/// Whether the keysym has a distinct upper-case form (an "alphabetic" key in XKB terms).
pub fn has_case(ks: Keysym) -> bool {
    to_upper(ks) != ks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_case() {
        assert_eq!(to_upper(0x61), 0x41); // a -> A
        assert_eq!(to_upper(0xe9), 0xc9); // eacute -> Eacute
        assert_eq!(to_upper(0xf7), 0xf7); // division sign has no case
        assert_eq!(to_upper(0xdf), 0xdf); // ssharp stays
        assert_eq!(to_upper(0x31), 0x31);
        assert!(has_case(0x7a));
        assert!(!has_case(0x5a));
    }

    #[test]
    fn unicode_case() {
        // Cyrillic small a (U+0430) -> capital A (U+0410).
        assert_eq!(to_upper(0x0100_0430), 0x0100_0410);
        // CJK has no case.
        assert_eq!(to_upper(0x0100_4e2d), 0x0100_4e2d);
        // Invalid code point (surrogate) must not panic.
        assert_eq!(to_upper(0x0100_d800), 0x0100_d800);
    }

    #[test]
    fn classes() {
        assert!(is_function(0xff09)); // Tab
        assert!(is_function(0xffe1)); // Shift_L
        assert!(is_function(0x1008_ff13)); // XF86AudioRaiseVolume
        assert!(!is_function(0xffb1)); // KP_1
        assert!(is_keypad(0xffb1));
        assert!(!is_function(0xfe51)); // dead_acute is a character key
        assert!(!is_function(0x41));
    }
}
