//! Pure model of the server's core keyboard mapping (GetKeyboardMapping, GetModifierMapping)
//! and of how a key press resolves to a keysym under a modifier state.
//!
//! The resolution follows the core-protocol / XKB conventions that Xorg applies to keymaps
//! built from core data: columns 0/1 are group 1 levels 1/2, columns 4/5 are levels 3/4
//! (selected by the ISO_Level3_Shift modifier); a lone cased letter is alphabetic (Lock acts
//! like Shift); keypad keys take their second level from Num Lock xor Shift.

use crate::keysym::{self, ISO_LEVEL3_SHIFT, Keysym, NO_SYMBOL, NUM_LOCK, SHIFT_L};

/// The keycode → keysyms table of one X server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeymapTable {
    min_keycode: u8,
    per_keycode: usize,
    syms: Vec<Keysym>,
}

impl KeymapTable {
    /// Builds the table from a GetKeyboardMapping reply that started at `min_keycode`.
    /// A trailing partial row (a malformed reply) is dropped.
    pub fn new(min_keycode: u8, keysyms_per_keycode: u8, mut syms: Vec<Keysym>) -> Self {
        let per_keycode = usize::from(keysyms_per_keycode.max(1));
        // Never describe keycodes past 255, whatever the reply claims.
        let max_rows = 256 - usize::from(min_keycode);
        let rows = (syms.len() / per_keycode).min(max_rows);
        syms.truncate(rows * per_keycode);
        Self {
            min_keycode,
            per_keycode,
            syms,
        }
    }

    /// Width of each row (keysyms per keycode).
    pub fn keysyms_per_keycode(&self) -> usize {
        self.per_keycode
    }

    /// All keycodes the table describes, ascending.
    pub fn keycodes(&self) -> impl DoubleEndedIterator<Item = u8> + use<> {
        let rows = self.syms.len() / self.per_keycode;
        let min = usize::from(self.min_keycode);
        // new() caps rows so that min + rows <= 256.
        (min..min + rows).filter_map(|k| u8::try_from(k).ok())
    }

    /// The keysyms of one keycode (empty when outside the table).
    pub fn row(&self, keycode: u8) -> &[Keysym] {
        let Some(index) = usize::from(keycode).checked_sub(usize::from(self.min_keycode)) else {
            return &[];
        };
        let start = index * self.per_keycode;
        self.syms
            .get(start..start + self.per_keycode)
            .unwrap_or(&[])
    }

    /// Replaces one keycode's keysyms (padded with NoSymbol / truncated to the row width), so
    /// the local model follows our own ChangeKeyboardMapping without a round trip.
    pub fn set_row(&mut self, keycode: u8, keysyms: &[Keysym]) {
        let Some(index) = usize::from(keycode).checked_sub(usize::from(self.min_keycode)) else {
            return;
        };
        let start = index * self.per_keycode;
        if let Some(row) = self.syms.get_mut(start..start + self.per_keycode) {
            for (i, slot) in row.iter_mut().enumerate() {
                *slot = keysyms.get(i).copied().unwrap_or(NO_SYMBOL);
            }
        }
    }

    /// Whether the keycode has no keysym at all (a spare code for temporary bindings).
    pub fn is_unbound(&self, keycode: u8) -> bool {
        let row = self.row(keycode);
        !row.is_empty() && row.iter().all(|&s| s == NO_SYMBOL)
    }

    /// Every keycode that lists `ks` in any column, ascending.
    pub fn keycodes_with(&self, ks: Keysym) -> impl Iterator<Item = u8> + '_ {
        self.keycodes()
            .filter(move |&kc| self.row(kc).contains(&ks))
    }

    /// The first keycode whose first column is `ks`, else the first listing it anywhere
    /// (the spirit of XKeysymToKeycode).
    pub fn find(&self, ks: Keysym) -> Option<u8> {
        self.keycodes()
            .find(|&kc| self.row(kc).first() == Some(&ks))
            .or_else(|| self.keycodes_with(ks).next())
    }
}

/// The modifier state that decides which level of a key comes out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ModState {
    /// Shift is active.
    pub shift: bool,
    /// Caps Lock is active.
    pub lock: bool,
    /// Num Lock is active.
    pub num_lock: bool,
    /// The ISO_Level3_Shift modifier (AltGr) is active.
    pub level3: bool,
}

/// The keysym a press of a key with keysyms `row` produces under `state`.
pub fn effective_keysym(row: &[Keysym], state: ModState) -> Keysym {
    let col = |i: usize| row.get(i).copied().unwrap_or(NO_SYMBOL);
    // Levels 3/4 only exist on keys that list them; other key types ignore the modifier.
    if state.level3 && (col(4) != NO_SYMBOL || col(5) != NO_SYMBOL) {
        return pick_level(col(4), col(5), state.shift, state);
    }
    pick_level(col(0), col(1), state.shift, state)
}

/// Chooses between the two levels of one shift pair, with the core-protocol fallbacks.
fn pick_level(lower: Keysym, upper: Keysym, shift: bool, state: ModState) -> Keysym {
    if upper == NO_SYMBOL {
        // A single cased letter behaves as an alphabetic pair (lower, upper).
        let derived = keysym::to_upper(lower);
        if derived == lower {
            return lower;
        }
        return if shift ^ state.lock { derived } else { lower };
    }
    let second = if keysym::is_keypad(lower) || keysym::is_keypad(upper) {
        shift ^ state.num_lock
    } else if keysym::has_case(lower) && keysym::to_upper(lower) == upper {
        shift ^ state.lock
    } else {
        shift
    };
    if second { upper } else { lower }
}

/// Which keycodes carry the modifiers the planner manipulates, and their state-mask bits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModifierKeys {
    /// Keycodes of the Shift modifier, a `Shift_L` key first.
    pub shift: Vec<u8>,
    /// Keycodes bound to ISO_Level3_Shift in the modifier that carries it.
    pub level3: Vec<u8>,
    /// State-mask bit of the modifier carrying ISO_Level3_Shift (0 when the map has none).
    pub level3_mask: u16,
    /// State-mask bit of the modifier carrying Num_Lock (0 when none).
    pub num_lock_mask: u16,
}

/// Core state-mask bit of Shift.
pub const SHIFT_MASK: u16 = 1;
/// Core state-mask bit of Lock.
pub const LOCK_MASK: u16 = 2;

impl ModifierKeys {
    /// Reads a GetModifierMapping reply (`8 × keycodes_per_modifier` keycodes, 0 = unused).
    pub fn from_mapping(table: &KeymapTable, keycodes: &[u8]) -> Self {
        let per = keycodes.len() / 8;
        let row = |m: usize| -> Vec<u8> {
            keycodes
                .get(m * per..(m + 1) * per)
                .unwrap_or(&[])
                .iter()
                .copied()
                .filter(|&kc| kc != 0)
                .collect()
        };
        let mut shift = row(0);
        // Sort so a Shift_L key comes first: it is the one a user would press.
        shift.sort_by_key(|&kc| table.row(kc).first() != Some(&SHIFT_L));

        let mut keys = Self {
            shift,
            ..Self::default()
        };
        for m in 3..8 {
            let codes = row(m);
            let with = |ks: Keysym| -> Vec<u8> {
                codes
                    .iter()
                    .copied()
                    .filter(|&kc| table.row(kc).contains(&ks))
                    .collect()
            };
            let level3 = with(ISO_LEVEL3_SHIFT);
            if keys.level3.is_empty() && !level3.is_empty() {
                keys.level3 = level3;
                keys.level3_mask = 1 << m;
            }
            if keys.num_lock_mask == 0 && !with(NUM_LOCK).is_empty() {
                keys.num_lock_mask = 1 << m;
            }
        }
        keys
    }

    /// The modifier state encoded in a core state mask (QueryPointer, key events).
    pub fn state_from_mask(&self, mask: u16) -> ModState {
        ModState {
            shift: mask & SHIFT_MASK != 0,
            lock: mask & LOCK_MASK != 0,
            num_lock: self.num_lock_mask != 0 && mask & self.num_lock_mask != 0,
            level3: self.level3_mask != 0 && mask & self.level3_mask != 0,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A hand-written excerpt of the evdev/pc105 "us" keymap as Xvfb serves it
    /// (`xmodmap -pke`), 7 keysyms per keycode, keycodes 8..=255.
    pub(crate) fn us_keymap() -> KeymapTable {
        let rows: &[(u8, &[Keysym])] = &[
            (9, &[0xff1b, 0, 0xff1b]),               // Escape
            (10, &[0x31, 0x21, 0x31, 0x21]),         // 1 exclam
            (23, &[0xff09, 0xfe20, 0xff09, 0xfe20]), // Tab ISO_Left_Tab
            (26, &[0x65, 0x45, 0x65, 0x45]),         // e E
            (37, &[0xffe3, 0, 0xffe3]),              // Control_L
            (38, &[0x61, 0x41, 0x61, 0x41]),         // a A
            (41, &[0x66, 0x46, 0x66, 0x46]),         // f F
            (43, &[0x68, 0x48, 0x68, 0x48]),         // h H
            (46, &[0x6c, 0x4c, 0x6c, 0x4c]),         // l L
            (50, &[SHIFT_L, 0, SHIFT_L]),            // Shift_L
            (59, &[0x2c, 0x3c, 0x2c, 0x3c]),         // comma less
            (60, &[0x2e, 0x3e, 0x2e, 0x3e]),         // period greater
            (62, &[0xffe2, 0, 0xffe2]),              // Shift_R
            (65, &[0x20, 0, 0x20]),                  // space
            (66, &[0xffe5, 0, 0xffe5]),              // Caps_Lock
            (77, &[NUM_LOCK, 0, NUM_LOCK]),          // Num_Lock
            (87, &[0xff9c, 0xffb1, 0xff9c, 0xffb1]), // KP_End KP_1
            (92, &[ISO_LEVEL3_SHIFT, 0, ISO_LEVEL3_SHIFT]),
            (94, &[0x3c, 0x3e, 0x3c, 0x3e, 0x7c, 0xa6, 0x7c]), // less greater bar brokenbar
            (113, &[0xff51, 0, 0xff51]),                       // Left
            (203, &[0xff7e, 0, 0xff7e]),                       // Mode_switch
        ];
        let per = 7;
        let mut syms = vec![NO_SYMBOL; (256 - 8) * per];
        for (kc, row) in rows {
            let start = usize::from(*kc - 8) * per;
            syms[start..start + row.len()].copy_from_slice(row);
        }
        KeymapTable::new(8, 7, syms)
    }

    /// The matching modifier map: shift 50 62, lock 66, control 37, mod2 77, mod5 92 203.
    pub(crate) fn us_modifiers(table: &KeymapTable) -> ModifierKeys {
        let map: [u8; 16] = [50, 62, 66, 0, 37, 0, 0, 0, 77, 0, 0, 0, 0, 0, 92, 203];
        ModifierKeys::from_mapping(table, &map)
    }

    #[test]
    fn table_rows() {
        let t = us_keymap();
        assert_eq!(t.keysyms_per_keycode(), 7);
        assert_eq!(t.row(38)[..2], [0x61, 0x41]);
        assert!(t.row(7).is_empty());
        assert!(t.is_unbound(255));
        assert!(!t.is_unbound(38));
        assert_eq!(t.find(0x3c), Some(94)); // first-column match wins over comma's level 2
        assert_eq!(t.keycodes_with(0x3c).collect::<Vec<_>>(), [59, 94]);
        assert_eq!(t.keycodes().next_back(), Some(255));
    }

    #[test]
    fn malformed_reply_is_truncated() {
        let t = KeymapTable::new(250, 2, vec![1; 2 * 10 + 1]);
        assert_eq!(t.keycodes().count(), 6); // 250..=255, never past 255
    }

    #[test]
    fn set_row_pads() {
        let mut t = us_keymap();
        t.set_row(255, &[0xe9, 0xe9]);
        assert_eq!(t.row(255), [0xe9, 0xe9, 0, 0, 0, 0, 0]);
        t.set_row(255, &[]);
        assert!(t.is_unbound(255));
    }

    /// Modifiers from letters: S(hift), L(ock), N(um lock), 3 (level 3).
    fn mods(s: &str) -> ModState {
        ModState {
            shift: s.contains('S'),
            lock: s.contains('L'),
            num_lock: s.contains('N'),
            level3: s.contains('3'),
        }
    }

    #[test]
    fn resolution() {
        let t = us_keymap();
        for (keycode, held, want, why) in [
            (38, "", 0x61, "a"),
            (38, "S", 0x41, "A"),
            (38, "L", 0x41, "Lock shifts letters"),
            (38, "SL", 0x61, "Shift undoes Lock"),
            (10, "L", 0x31, "Lock does not shift digits"),
        ] {
            assert_eq!(effective_keysym(t.row(keycode), mods(held)), want, "{why}");
        }
        // Level 3 (AltGr), the space bar and the keypad's Num Lock level.
        for (keycode, held, want, why) in [
            (94, "S", 0x3e, ">"),
            (94, "3", 0x7c, "AltGr: |"),
            (94, "S3", 0xa6, "Shift+AltGr: ¦"),
            (38, "3", 0x61, "a two-level key ignores AltGr"),
            (65, "S", 0x20, "space"),
            (87, "", 0xff9c, "KP_End"),
            (87, "N", 0xffb1, "Num Lock: KP_1"),
            (87, "SN", 0xff9c, "Shift undoes Num Lock"),
        ] {
            assert_eq!(effective_keysym(t.row(keycode), mods(held)), want, "{why}");
        }
        // A lone lower-case letter (core convention) gets its upper case on Shift.
        assert_eq!(effective_keysym(&[0xe9, 0], mods("S")), 0xc9);
    }

    #[test]
    fn modifier_keys() {
        let t = us_keymap();
        let m = us_modifiers(&t);
        assert_eq!(m.shift, [50, 62]);
        assert_eq!(m.level3, [92]); // Mode_switch (203) is not a level-3 key
        assert_eq!(m.level3_mask, 0x80);
        assert_eq!(m.num_lock_mask, 0x10);
        let s = m.state_from_mask(0x80 | 0x10 | 1);
        assert!(s.shift && s.level3 && s.num_lock && !s.lock);
        // Truncated / empty replies must not panic.
        assert_eq!(
            ModifierKeys::from_mapping(&t, &[50]),
            ModifierKeys::default()
        );
    }
}
