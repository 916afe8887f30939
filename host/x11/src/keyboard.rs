//! Pure keyboard state machine: turns `kd`/`ku`/`kr` into key actions (press, release,
//! temporary keysym bindings), tracking what this injector holds down and which spare keycodes
//! it has borrowed. The injector thread executes the actions and supplies server state.

use crate::keymap::{KeymapTable, ModState, ModifierKeys};
use crate::keysym::{Keysym, LEGACY_RELEASE, NO_SYMBOL};
use crate::planner::{ModAbilities, ModChange, plan_key};

/// One step for the X side to perform, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyAction {
    /// XTest key press of this keycode.
    Press(u8),
    /// XTest key release of this keycode.
    Release(u8),
    /// ChangeKeyboardMapping of this keycode to these keysyms (empty = unbind).
    Bind {
        /// The spare keycode.
        keycode: u8,
        /// Its new keysyms.
        keysyms: Vec<Keysym>,
    },
}

/// The server state the planner needs at the moment of a key press.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    /// Modifier state (from QueryPointer's mask).
    pub state: ModState,
    /// Keys down (QueryKeymap bit vector: bit `k % 8` of byte `k / 8`).
    pub down: [u8; 32],
}

impl Snapshot {
    /// Whether keycode `kc` is down.
    pub fn is_down(&self, kc: u8) -> bool {
        self.down[usize::from(kc / 8)] & (1 << (kc % 8)) != 0
    }
}

/// Keyboard bookkeeping of one injector.
#[derive(Debug, Default)]
pub struct Keyboard {
    /// keysym → keycode pressed for it, in press order.
    held: Vec<(Keysym, u8)>,
    /// Spare keycodes usable for temporary bindings, highest first.
    spare: Vec<u8>,
    /// Round-robin position in `spare`.
    next_spare: usize,
    /// Spare keycodes we bound, with the keysym bound.
    bound: Vec<(u8, Keysym)>,
}

impl Keyboard {
    /// A keyboard for a freshly fetched keymap.
    pub fn new(table: &KeymapTable) -> Self {
        let mut keyboard = Self::default();
        keyboard.refresh(table);
        keyboard
    }

    /// Re-derives the spare pool after the keymap changed (MappingNotify): unbound codes plus
    /// the codes still carrying our own bindings; a binding someone else overwrote is
    /// forgotten so that we never unbind their key later.
    pub fn refresh(&mut self, table: &KeymapTable) {
        self.bound
            .retain(|&(kc, ks)| table.row(kc).first() == Some(&ks));
        let ours = |kc: u8| self.bound.iter().any(|&(b, _)| b == kc);
        self.spare = table
            .keycodes()
            .rev()
            .filter(|&kc| table.is_unbound(kc) || ours(kc))
            .collect();
        if self.next_spare >= self.spare.len() {
            self.next_spare = 0;
        }
    }

    /// Number of spare keycodes available for unmapped keysyms.
    pub fn spare_count(&self) -> usize {
        self.spare.len()
    }

    /// Keycodes this injector currently holds down.
    pub fn held_keycodes(&self) -> impl Iterator<Item = u8> + '_ {
        self.held.iter().map(|&(_, kc)| kc)
    }

    /// `kd`: press `ks`. A second `kd` without `ku` (browser auto-repeat) re-presses.
    /// Bindings are applied to `table` at once so later keys in the same batch see them.
    pub fn key_down(
        &mut self,
        table: &mut KeymapTable,
        mods: &ModifierKeys,
        snap: &Snapshot,
        ks: Keysym,
    ) -> Vec<KeyAction> {
        let mut out = Vec::new();
        if ks == NO_SYMBOL {
            return out;
        }
        let mut down = *snap;
        if let Some(pos) = self.held.iter().position(|&(k, _)| k == ks) {
            let (_, kc) = self.held.remove(pos);
            out.push(KeyAction::Release(kc));
            down.down[usize::from(kc / 8)] &= !(1 << (kc % 8));
        }
        let shift_down: Vec<u8> = mods
            .shift
            .iter()
            .copied()
            .filter(|&k| down.is_down(k))
            .collect();
        let level3_down: Vec<u8> = mods
            .level3
            .iter()
            .copied()
            .filter(|&k| down.is_down(k))
            .collect();
        let can = ModAbilities {
            press_shift: !mods.shift.is_empty(),
            release_shift: !shift_down.is_empty(),
            press_level3: !mods.level3.is_empty(),
            release_level3: !level3_down.is_empty(),
        };
        let plan = match plan_key(table, ks, snap.state, can) {
            Some(plan) => plan,
            None => match self.bind_spare(table, ks, &mut out) {
                Some(keycode) => crate::planner::KeyPlan {
                    keycode,
                    shift: ModChange::Keep,
                    level3: ModChange::Keep,
                },
                None => {
                    tracing::warn!(keysym = ks, "no spare keycode free, key dropped");
                    return out;
                }
            },
        };
        let (mut before, mut after) = (Vec::new(), Vec::new());
        modifier_steps(
            plan.shift,
            &mods.shift,
            &shift_down,
            &mut before,
            &mut after,
        );
        modifier_steps(
            plan.level3,
            &mods.level3,
            &level3_down,
            &mut before,
            &mut after,
        );
        out.extend(before);
        if down.is_down(plan.keycode) {
            // Held for another keysym: lift it so this press is a real press, not a repeat.
            out.push(KeyAction::Release(plan.keycode));
        }
        out.push(KeyAction::Press(plan.keycode));
        after.reverse();
        out.extend(after);
        self.held.push((ks, plan.keycode));
        out
    }

    /// `ku`: release the keycode pressed for `ks`; for a keysym we never pressed, release the
    /// key the keymap gives for it (the legacy behaviour, harmless when it is up).
    pub fn key_up(&mut self, table: &KeymapTable, ks: Keysym) -> Vec<KeyAction> {
        if let Some(pos) = self.held.iter().position(|&(k, _)| k == ks) {
            let (_, kc) = self.held.remove(pos);
            return vec![KeyAction::Release(kc)];
        }
        table.find(ks).map(KeyAction::Release).into_iter().collect()
    }

    /// `kr`: release everything held plus the legacy list's keys that are down.
    pub fn release_all(&mut self, table: &KeymapTable, snap: &Snapshot) -> Vec<KeyAction> {
        let mut codes: Vec<u8> = self.held.drain(..).map(|(_, kc)| kc).collect();
        for ks in LEGACY_RELEASE {
            codes.extend(table.keycodes_with(ks).filter(|&kc| snap.is_down(kc)));
        }
        let mut seen = [false; 256];
        codes
            .into_iter()
            .filter(|&kc| !std::mem::replace(&mut seen[usize::from(kc)], true))
            .map(KeyAction::Release)
            .collect()
    }

    /// Unbinds every spare keycode we bound (at shutdown).
    pub fn restore_bindings(&mut self, table: &mut KeymapTable) -> Vec<KeyAction> {
        self.bound
            .drain(..)
            .map(|(keycode, _)| {
                table.set_row(keycode, &[]);
                KeyAction::Bind {
                    keycode,
                    keysyms: Vec::new(),
                }
            })
            .collect()
    }

    /// Binds `ks` to the next spare keycode not held down, round-robin, so a binding outlives
    /// its key release for as long as possible (clients look keys up when they read events).
    fn bind_spare(
        &mut self,
        table: &mut KeymapTable,
        ks: Keysym,
        out: &mut Vec<KeyAction>,
    ) -> Option<u8> {
        let n = self.spare.len();
        for i in 0..n {
            let slot = (self.next_spare + i) % n;
            let kc = self.spare[slot];
            if self.held.iter().any(|&(_, h)| h == kc) {
                continue;
            }
            self.next_spare = (slot + 1) % n;
            // Both levels carry the keysym so Shift or Lock cannot turn it into another case.
            let keysyms = vec![ks, ks];
            table.set_row(kc, &keysyms);
            self.bound.retain(|&(b, _)| b != kc);
            self.bound.push((kc, ks));
            out.push(KeyAction::Bind {
                keycode: kc,
                keysyms,
            });
            return Some(kc);
        }
        None
    }
}

/// Appends the presses/releases that apply `change` before the key, and their undo after it.
fn modifier_steps(
    change: ModChange,
    keys: &[u8],
    down: &[u8],
    before: &mut Vec<KeyAction>,
    after: &mut Vec<KeyAction>,
) {
    match change {
        ModChange::Keep => {}
        ModChange::Press => {
            if let Some(&kc) = keys.first() {
                before.push(KeyAction::Press(kc));
                after.push(KeyAction::Release(kc));
            }
        }
        ModChange::Release => {
            for &kc in down {
                before.push(KeyAction::Release(kc));
                after.push(KeyAction::Press(kc));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keymap::tests::{us_keymap, us_modifiers};
    use KeyAction::{Press, Release};

    fn snap(down: &[u8]) -> Snapshot {
        let mut bits = [0u8; 32];
        for &kc in down {
            bits[usize::from(kc / 8)] |= 1 << (kc % 8);
        }
        let shift = down.iter().any(|&k| k == 50 || k == 62);
        Snapshot {
            state: ModState {
                shift,
                ..ModState::default()
            },
            down: bits,
        }
    }

    #[test]
    fn shifted_letter_wraps_shift() {
        let mut t = us_keymap();
        let m = us_modifiers(&t);
        let mut kb = Keyboard::new(&t);
        let acts = kb.key_down(&mut t, &m, &snap(&[]), 0x48); // H
        assert_eq!(acts, [Press(50), Press(43), Release(50)]);
        assert_eq!(kb.key_up(&t, 0x48), [Release(43)]);
        assert_eq!(kb.key_up(&t, 0x48), [Release(43)]); // unknown: keymap fallback
    }

    #[test]
    fn held_shift_lifted_for_digit() {
        let mut t = us_keymap();
        let m = us_modifiers(&t);
        let mut kb = Keyboard::new(&t);
        let acts = kb.key_down(&mut t, &m, &snap(&[50]), 0x31);
        assert_eq!(acts, [Release(50), Press(10), Press(50)]);
    }

    #[test]
    fn repeat_represses() {
        let mut t = us_keymap();
        let m = us_modifiers(&t);
        let mut kb = Keyboard::new(&t);
        assert_eq!(kb.key_down(&mut t, &m, &snap(&[]), 0x61), [Press(38)]);
        let again = kb.key_down(&mut t, &m, &snap(&[38]), 0x61);
        assert_eq!(again, [Release(38), Press(38)]);
        assert_eq!(kb.held_keycodes().collect::<Vec<_>>(), [38]);
    }

    #[test]
    fn unmapped_keysyms_borrow_spare_codes_round_robin() {
        let mut t = us_keymap();
        let m = us_modifiers(&t);
        let mut kb = Keyboard::new(&t);
        let spares = kb.spare_count();
        assert!(spares > 100); // the excerpt leaves most codes free
        let bind = |kc, ks| KeyAction::Bind {
            keycode: kc,
            keysyms: vec![ks, ks],
        };
        let e = kb.key_down(&mut t, &m, &snap(&[]), 0xe9);
        assert_eq!(e, [bind(255, 0xe9), Press(255)]);
        // Shift held: the binding has both levels, so no modifier games.
        let euro = kb.key_down(&mut t, &m, &snap(&[50]), 0x0100_20ac);
        assert_eq!(euro, [bind(254, 0x0100_20ac), Press(254)]);
        assert_eq!(kb.key_up(&t, 0xe9), [Release(255)]);
        // Still bound after release: typing it again reuses the code without rebinding.
        assert_eq!(kb.key_down(&mut t, &m, &snap(&[254]), 0xe9), [Press(255)]);
        let restore = kb.restore_bindings(&mut t);
        assert_eq!(restore.len(), 2);
        assert!(t.is_unbound(255) && t.is_unbound(254));
    }

    #[test]
    fn spare_pool_skips_held_and_wraps() {
        // A table with exactly two free codes (254, 255).
        let mut syms = vec![0x61; 8 * 2];
        syms[14..16].fill(0);
        syms[12..14].fill(0);
        let mut t = KeymapTable::new(248, 2, syms);
        let m = ModifierKeys::default();
        let mut kb = Keyboard::new(&t);
        assert_eq!(kb.spare_count(), 2);
        let first = kb.key_down(&mut t, &m, &snap(&[]), 0x0100_4e2d);
        assert_eq!(first.last(), Some(&Press(255)));
        kb.key_down(&mut t, &m, &snap(&[255]), 0x0100_4e2e);
        // Both held: nothing free, the key is dropped rather than stealing a held code.
        assert!(
            kb.key_down(&mut t, &m, &snap(&[254, 255]), 0x0100_4e2f)
                .is_empty()
        );
        kb.key_up(&t, 0x0100_4e2d);
        let third = kb.key_down(&mut t, &m, &snap(&[254]), 0x0100_4e2f);
        assert_eq!(third.last(), Some(&Press(255)));
    }

    #[test]
    fn refresh_forgets_overwritten_bindings() {
        let mut t = us_keymap();
        let m = us_modifiers(&t);
        let mut kb = Keyboard::new(&t);
        kb.key_down(&mut t, &m, &snap(&[]), 0xe9);
        let before = kb.spare_count();
        t.set_row(255, &[0xdf]); // another client bound ssharp there
        kb.refresh(&t);
        assert_eq!(kb.spare_count(), before - 1);
        assert!(kb.restore_bindings(&mut t).is_empty());
        assert_eq!(t.row(255)[0], 0xdf);
    }

    #[test]
    fn release_all_covers_held_and_legacy_list() {
        let mut t = us_keymap();
        let m = us_modifiers(&t);
        let mut kb = Keyboard::new(&t);
        kb.key_down(&mut t, &m, &snap(&[]), 0x61);
        kb.key_down(&mut t, &m, &snap(&[38]), 0xe9);
        // Shift_L (50) and Escape (9) are down from elsewhere; 'f' (41) is up.
        let acts = kb.release_all(&t, &snap(&[38, 255, 50, 9]));
        assert_eq!(acts, [Release(38), Release(255), Release(50), Release(9)]);
        assert_eq!(kb.held_keycodes().count(), 0);
    }

    #[test]
    fn nosymbol_is_ignored() {
        let mut t = us_keymap();
        let m = us_modifiers(&t);
        let mut kb = Keyboard::new(&t);
        assert!(kb.key_down(&mut t, &m, &snap(&[]), 0).is_empty());
    }
}
