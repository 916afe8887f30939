//! Who is connected to a shared desktop and in which role: joins (bounded by `--max_viewers`,
//! one member per player slot), leaves, role changes by the owner, and the members a revoked link
//! or a rotated secret disconnects. Uids are the host's (`g1`, `g2`, … for guests who joined with
//! a link, `o1`, … for owner control connections), never the legacy `1`/`3`.

use std::collections::BTreeMap;

use super::Role;

/// Longest display name kept (longer ones are cut).
pub const MAX_NAME_CHARS: usize = 40;

/// One connected browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub uid: String,
    pub role: Role,
    /// The link it joined with (`None`: the owner, who signed in with Basic auth).
    pub link_id: Option<String>,
    pub name: String,
}

/// Why a join was refused. The texts are shown to the joining user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    #[error("sharing is disabled on this host (--max_viewers=0)")]
    Disabled,
    #[error("the desktop is full: {max} guests already connected (--max_viewers)")]
    Full { max: usize },
    #[error("player slot {0} is already taken")]
    SlotTaken(u8),
}

/// Why a role change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RosterError {
    #[error("only the owner can change roles")]
    NotOwner,
    #[error("no member '{0}'")]
    NoSuchMember(String),
    #[error("the owner role cannot be handed to a guest")]
    OwnerRole,
    #[error("the owner's own role cannot be changed")]
    IsOwner,
    #[error("player slot {0} is already taken")]
    SlotTaken(u8),
}

/// The members of the shared desktop.
#[derive(Debug, Clone)]
pub struct Roster {
    max_guests: usize,
    members: BTreeMap<String, Member>,
    next: u64,
}

fn clean_name(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect::<String>()
        .trim()
        .to_owned()
}

impl Roster {
    /// `max_guests`: `--max_viewers`, the most link-joined browsers at once (0: none).
    pub fn new(max_guests: usize) -> Self {
        Self {
            max_guests,
            members: BTreeMap::new(),
            next: 1,
        }
    }

    pub fn max_guests(&self) -> usize {
        self.max_guests
    }

    fn new_uid(&mut self, prefix: char) -> String {
        let uid = format!("{prefix}{}", self.next);
        self.next += 1;
        uid
    }

    /// Guests (link-joined members) now connected.
    pub fn guests(&self) -> usize {
        self.members
            .values()
            .filter(|m| m.link_id.is_some())
            .count()
    }

    fn slot_holder(&self, slot: u8) -> Option<&Member> {
        self.members.values().find(|m| m.role == Role::Player(slot))
    }

    /// A browser with a verified link joins in the link's role; returns its uid.
    pub fn join_guest(
        &mut self,
        role: Role,
        link_id: &str,
        name: &str,
    ) -> Result<String, JoinError> {
        if self.max_guests == 0 {
            return Err(JoinError::Disabled);
        }
        if self.guests() >= self.max_guests {
            return Err(JoinError::Full {
                max: self.max_guests,
            });
        }
        if let Role::Player(n) = role
            && self.slot_holder(n).is_some()
        {
            return Err(JoinError::SlotTaken(n));
        }
        let uid = self.new_uid('g');
        let name = clean_name(name);
        self.members.insert(
            uid.clone(),
            Member {
                name: if name.is_empty() { uid.clone() } else { name },
                uid: uid.clone(),
                role,
                link_id: Some(link_id.to_owned()),
            },
        );
        Ok(uid)
    }

    /// The Basic-auth user opens a control connection; not bounded by `--max_viewers`.
    pub fn join_owner(&mut self, name: &str) -> String {
        let uid = self.new_uid('o');
        let name = clean_name(name);
        self.members.insert(
            uid.clone(),
            Member {
                name: if name.is_empty() {
                    "owner".to_owned()
                } else {
                    name
                },
                uid: uid.clone(),
                role: Role::Owner,
                link_id: None,
            },
        );
        uid
    }

    pub fn leave(&mut self, uid: &str) -> Option<Member> {
        self.members.remove(uid)
    }

    pub fn get(&self, uid: &str) -> Option<&Member> {
        self.members.get(uid)
    }

    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }

    /// `by` (the role of whoever asks) gives `target` the role `role`.
    pub fn set_role(&mut self, by: Role, target: &str, role: Role) -> Result<(), RosterError> {
        if !by.may_administer() {
            return Err(RosterError::NotOwner);
        }
        if role == Role::Owner {
            return Err(RosterError::OwnerRole);
        }
        let current = self
            .members
            .get(target)
            .ok_or_else(|| RosterError::NoSuchMember(target.chars().take(32).collect()))?;
        if current.role == Role::Owner {
            return Err(RosterError::IsOwner);
        }
        if let Role::Player(n) = role
            && self.slot_holder(n).is_some_and(|m| m.uid != target)
        {
            return Err(RosterError::SlotTaken(n));
        }
        if let Some(m) = self.members.get_mut(target) {
            m.role = role;
        }
        Ok(())
    }

    /// The members who joined with `link_id`: a revoked link disconnects them.
    pub fn joined_with(&self, link_id: &str) -> Vec<String> {
        self.members
            .values()
            .filter(|m| m.link_id.as_deref() == Some(link_id))
            .map(|m| m.uid.clone())
            .collect()
    }

    /// Every guest: a rotated secret disconnects them all.
    pub fn all_guests(&self) -> Vec<String> {
        self.members
            .values()
            .filter(|m| m.link_id.is_some())
            .map(|m| m.uid.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_are_bounded_and_slots_unique() {
        let mut r = Roster::new(3);
        let a = r.join_guest(Role::Viewer, "l1", "Ann").unwrap();
        let b = r.join_guest(Role::Player(1), "l2", "").unwrap();
        assert_eq!(
            r.join_guest(Role::Player(1), "l2", "x"),
            Err(JoinError::SlotTaken(1))
        );
        let o = r.join_owner("me");
        r.join_guest(Role::Viewer, "l1", "Cy").unwrap();
        // The owner does not count against --max_viewers.
        assert_eq!(
            r.join_guest(Role::Viewer, "l1", "Dee"),
            Err(JoinError::Full { max: 3 })
        );
        assert_eq!(r.get(&b).unwrap().name, b, "an empty name becomes the uid");
        assert_eq!(r.get(&o).unwrap().role, Role::Owner);
        r.leave(&a);
        assert!(r.join_guest(Role::Viewer, "l1", "Dee").is_ok());
        assert_ne!(a, r.members().last().unwrap().uid, "uids are never reused");
        assert_eq!(
            Roster::new(0).join_guest(Role::Viewer, "l", ""),
            Err(JoinError::Disabled)
        );
    }

    #[test]
    fn only_the_owner_changes_roles() {
        let mut r = Roster::new(8);
        let o = r.join_owner("");
        let v = r.join_guest(Role::Viewer, "l1", "v").unwrap();
        let p = r.join_guest(Role::Player(2), "l2", "p").unwrap();
        assert_eq!(
            r.set_role(Role::Controller, &v, Role::Controller),
            Err(RosterError::NotOwner)
        );
        assert_eq!(
            r.set_role(Role::Owner, &v, Role::Owner),
            Err(RosterError::OwnerRole)
        );
        assert_eq!(
            r.set_role(Role::Owner, &o, Role::Viewer),
            Err(RosterError::IsOwner)
        );
        assert_eq!(
            r.set_role(Role::Owner, &v, Role::Player(2)),
            Err(RosterError::SlotTaken(2))
        );
        assert_eq!(
            r.set_role(Role::Owner, "g99", Role::Viewer),
            Err(RosterError::NoSuchMember("g99".into()))
        );
        r.set_role(Role::Owner, &v, Role::Controller).unwrap();
        assert_eq!(r.get(&v).unwrap().role, Role::Controller);
        // A player may be given its own slot again, then freed.
        r.set_role(Role::Owner, &p, Role::Player(2)).unwrap();
        r.set_role(Role::Owner, &p, Role::Viewer).unwrap();
        r.set_role(Role::Owner, &v, Role::Player(2)).unwrap();
    }

    #[test]
    fn revocation_names_the_members_of_a_link() {
        let mut r = Roster::new(8);
        r.join_owner("");
        let a = r.join_guest(Role::Viewer, "l1", "").unwrap();
        let b = r.join_guest(Role::Viewer, "l2", "").unwrap();
        let c = r.join_guest(Role::Viewer, "l1", "").unwrap();
        assert_eq!(r.joined_with("l1"), vec![a.clone(), c.clone()]);
        assert_eq!(r.all_guests(), vec![a, b, c]);
    }

    #[test]
    fn names_are_cleaned() {
        let mut r = Roster::new(1);
        let g = r
            .join_guest(Role::Viewer, "l", &format!("  a\u{7}b{}", "x".repeat(99)))
            .unwrap();
        let name = &r.get(&g).unwrap().name;
        assert!(name.starts_with("ab") && name.chars().count() <= MAX_NAME_CHARS);
    }
}
