//! The allocation / permission / channel table of the relay (RFC 8656 §5, §9, §12), with every
//! bound that keeps one client from exhausting the host. Pure: time comes in as an `Instant`,
//! relay addresses come in from the caller, and nothing here touches a socket.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// Which transport a client reached the relay over; part of the 5-tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
}

/// The client side 5-tuple (protocol is always UDP on the relay side).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey {
    pub transport: Transport,
    pub client: SocketAddr,
    pub server: SocketAddr,
}

/// Bounds of the table. Defaults fit one desktop session with a few reconnects.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_allocations: usize,
    pub max_allocations_per_user: usize,
    pub max_allocations_per_client_ip: usize,
    pub max_permissions_per_allocation: usize,
    pub max_channels_per_allocation: usize,
    pub default_lifetime: Duration,
    pub max_lifetime: Duration,
    pub permission_lifetime: Duration,
    pub channel_lifetime: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_allocations: 128,
            max_allocations_per_user: 16,
            max_allocations_per_client_ip: 16,
            max_permissions_per_allocation: 32,
            max_channels_per_allocation: 32,
            default_lifetime: Duration::from_secs(600),
            max_lifetime: Duration::from_secs(3600),
            permission_lifetime: Duration::from_secs(300),
            channel_lifetime: Duration::from_secs(600),
        }
    }
}

/// Why the table refused a change; each maps to a STUN error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    #[error("an allocation already exists for this 5-tuple")]
    AllocationMismatch,
    #[error("no allocation for this 5-tuple")]
    NoAllocation,
    #[error("allocation belongs to another username")]
    WrongUser,
    #[error("per-user or per-client allocation quota reached")]
    Quota,
    #[error("relay is at capacity")]
    Capacity,
    #[error("peer address is not one the relay may send to")]
    Forbidden,
    #[error("channel number out of range or already bound to another peer")]
    BadChannel,
}

impl TableError {
    pub fn stun_code(self) -> u16 {
        match self {
            Self::AllocationMismatch | Self::NoAllocation => 437,
            Self::WrongUser => 441,
            Self::Quota => 486,
            Self::Capacity => 508,
            Self::Forbidden => 403,
            Self::BadChannel => 400,
        }
    }
}

#[derive(Debug)]
pub struct Allocation {
    pub relay: SocketAddr,
    pub username: String,
    pub expires: Instant,
    permissions: HashMap<IpAddr, Instant>,
    channels: HashMap<u16, (SocketAddr, Instant)>,
}

/// All allocations plus the reverse index from relay address to client.
#[derive(Debug)]
pub struct Table {
    limits: Limits,
    allowed_peers: Vec<IpAddr>,
    allocations: HashMap<ClientKey, Allocation>,
    by_relay: HashMap<SocketAddr, ClientKey>,
}

impl Table {
    pub fn new(limits: Limits, allowed_peers: Vec<IpAddr>) -> Self {
        Self {
            limits,
            allowed_peers,
            allocations: HashMap::new(),
            by_relay: HashMap::new(),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn len(&self) -> usize {
        self.allocations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.allocations.is_empty()
    }

    pub fn get(&self, key: &ClientKey) -> Option<&Allocation> {
        self.allocations.get(key)
    }

    /// The client that holds the allocation relayed at `relay`, if any.
    pub fn client_of(&self, relay: SocketAddr) -> Option<&ClientKey> {
        self.by_relay.get(&relay)
    }

    /// The relay is not an open relay: only the host's own addresses are reachable.
    pub fn peer_allowed(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.allowed_peers.iter().any(|a| a.to_canonical() == ip)
    }

    /// Checks every quota for a new allocation of `username` on `key`, before a relay socket is
    /// bound for it.
    pub fn can_allocate(&self, key: &ClientKey, username: &str) -> Result<(), TableError> {
        if self.allocations.contains_key(key) {
            return Err(TableError::AllocationMismatch);
        }
        if self.allocations.len() >= self.limits.max_allocations {
            return Err(TableError::Capacity);
        }
        let per_user = self
            .allocations
            .values()
            .filter(|a| a.username == username)
            .count();
        let per_ip = self
            .allocations
            .keys()
            .filter(|k| k.client.ip() == key.client.ip())
            .count();
        if per_user >= self.limits.max_allocations_per_user
            || per_ip >= self.limits.max_allocations_per_client_ip
        {
            return Err(TableError::Quota);
        }
        Ok(())
    }

    /// The lifetime actually granted for a requested one (RFC 8656 §7.2: clamp to the maximum).
    pub fn grant_lifetime(&self, requested: Option<u32>) -> Duration {
        requested
            .map(|s| Duration::from_secs(u64::from(s)))
            .unwrap_or(self.limits.default_lifetime)
            .min(self.limits.max_lifetime)
    }

    pub fn allocate(
        &mut self,
        key: ClientKey,
        username: &str,
        relay: SocketAddr,
        lifetime: Duration,
        now: Instant,
    ) -> Result<(), TableError> {
        self.can_allocate(&key, username)?;
        self.by_relay.insert(relay, key);
        self.allocations.insert(
            key,
            Allocation {
                relay,
                username: username.to_owned(),
                expires: now + lifetime,
                permissions: HashMap::new(),
                channels: HashMap::new(),
            },
        );
        Ok(())
    }

    fn owned_mut(
        &mut self,
        key: &ClientKey,
        username: &str,
    ) -> Result<&mut Allocation, TableError> {
        let alloc = self
            .allocations
            .get_mut(key)
            .ok_or(TableError::NoAllocation)?;
        if alloc.username != username {
            return Err(TableError::WrongUser);
        }
        Ok(alloc)
    }

    /// Refresh; a zero lifetime deletes and returns the relay address to release.
    pub fn refresh(
        &mut self,
        key: &ClientKey,
        username: &str,
        lifetime: Duration,
        now: Instant,
    ) -> Result<Option<SocketAddr>, TableError> {
        let alloc = self.owned_mut(key, username)?;
        if lifetime.is_zero() {
            let relay = alloc.relay;
            self.allocations.remove(key);
            self.by_relay.remove(&relay);
            return Ok(Some(relay));
        }
        alloc.expires = now + lifetime;
        Ok(None)
    }

    pub fn create_permission(
        &mut self,
        key: &ClientKey,
        username: &str,
        peers: &[IpAddr],
        now: Instant,
    ) -> Result<(), TableError> {
        // All-or-nothing (RFC 8656 §10.2): check every peer before installing any.
        if peers.iter().any(|ip| !self.peer_allowed(*ip)) {
            return Err(TableError::Forbidden);
        }
        let limits = self.limits.clone();
        let alloc = self.owned_mut(key, username)?;
        let new = peers
            .iter()
            .filter(|ip| !alloc.permissions.contains_key(&ip.to_canonical()))
            .count();
        if alloc.permissions.len() + new > limits.max_permissions_per_allocation {
            return Err(TableError::Quota);
        }
        for ip in peers {
            alloc
                .permissions
                .insert(ip.to_canonical(), now + limits.permission_lifetime);
        }
        Ok(())
    }

    pub fn channel_bind(
        &mut self,
        key: &ClientKey,
        username: &str,
        channel: u16,
        peer: SocketAddr,
        now: Instant,
    ) -> Result<(), TableError> {
        // RFC 8656 narrowed the range to 0x4000-0x4FFF, but RFC 5766 clients (coturn's own
        // tools, older stacks) still pick up to 0x7FFE; both fit the ChannelData lead byte.
        if !(0x4000..=0x7FFE).contains(&channel) {
            return Err(TableError::BadChannel);
        }
        if !self.peer_allowed(peer.ip()) {
            return Err(TableError::Forbidden);
        }
        let limits = self.limits.clone();
        let alloc = self.owned_mut(key, username)?;
        // A channel is bound to one peer and a peer to one channel for the allocation's life.
        let conflict = alloc.channels.iter().any(|(&num, &(addr, _))| {
            (num == channel && addr != peer) || (num != channel && addr == peer)
        });
        if conflict {
            return Err(TableError::BadChannel);
        }
        if !alloc.channels.contains_key(&channel)
            && alloc.channels.len() >= limits.max_channels_per_allocation
        {
            return Err(TableError::Quota);
        }
        let ip = peer.ip().to_canonical();
        if !alloc.permissions.contains_key(&ip)
            && alloc.permissions.len() >= limits.max_permissions_per_allocation
        {
            return Err(TableError::Quota);
        }
        alloc
            .channels
            .insert(channel, (peer, now + limits.channel_lifetime));
        alloc
            .permissions
            .insert(ip, now + limits.permission_lifetime);
        Ok(())
    }

    /// Where a Send indication or ChannelData from the client may go, if anywhere.
    pub fn outbound_by_peer(
        &self,
        key: &ClientKey,
        peer: SocketAddr,
        now: Instant,
    ) -> Option<SocketAddr> {
        let alloc = self.allocations.get(key)?;
        let ok = self.peer_allowed(peer.ip())
            && alloc
                .permissions
                .get(&peer.ip().to_canonical())
                .is_some_and(|&exp| exp > now);
        ok.then_some(alloc.relay)
    }

    /// Relay address and peer for ChannelData from the client on `channel`.
    pub fn outbound_by_channel(
        &self,
        key: &ClientKey,
        channel: u16,
        now: Instant,
    ) -> Option<(SocketAddr, SocketAddr)> {
        let alloc = self.allocations.get(key)?;
        let &(peer, exp) = alloc.channels.get(&channel)?;
        (exp > now && self.peer_allowed(peer.ip())).then_some((alloc.relay, peer))
    }

    /// For a datagram from `peer` arriving on `relay`: the client it belongs to and the bound
    /// channel if any; `None` when no permission covers the peer (then it is dropped).
    pub fn inbound(
        &self,
        relay: SocketAddr,
        peer: SocketAddr,
        now: Instant,
    ) -> Option<(ClientKey, Option<u16>)> {
        let key = self.by_relay.get(&relay)?;
        let alloc = self.allocations.get(key)?;
        let permitted = alloc
            .permissions
            .get(&peer.ip().to_canonical())
            .is_some_and(|&exp| exp > now);
        if !permitted {
            return None;
        }
        let channel = alloc
            .channels
            .iter()
            .find(|(_, (addr, exp))| *addr == peer && *exp > now)
            .map(|(&num, _)| num);
        Some((*key, channel))
    }

    /// Drops whatever expired; returns the relay addresses whose sockets must be closed.
    pub fn expire(&mut self, now: Instant) -> Vec<SocketAddr> {
        let mut released = Vec::new();
        self.allocations.retain(|_, alloc| {
            if alloc.expires <= now {
                released.push(alloc.relay);
                return false;
            }
            alloc.permissions.retain(|_, exp| *exp > now);
            alloc.channels.retain(|_, (_, exp)| *exp > now);
            true
        });
        for relay in &released {
            self.by_relay.remove(relay);
        }
        released
    }

    /// Removes every allocation of a client whose TCP connection closed.
    pub fn remove_client(&mut self, key: &ClientKey) -> Option<SocketAddr> {
        let alloc = self.allocations.remove(key)?;
        self.by_relay.remove(&alloc.relay);
        Some(alloc.relay)
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
