//! Unit tests of the allocation table: quotas, lifetimes, the peer allow-list.

use super::*;

fn key(port: u16) -> ClientKey {
    ClientKey {
        transport: Transport::Udp,
        client: SocketAddr::from(([192, 0, 2, 1], port)),
        server: SocketAddr::from(([127, 0, 0, 1], 3478)),
    }
}

fn host() -> IpAddr {
    IpAddr::from([127, 0, 0, 1])
}

fn relay(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn table() -> Table {
    Table::new(Limits::default(), vec![host()])
}

#[test]
fn one_allocation_per_five_tuple() {
    let mut t = table();
    let now = Instant::now();
    t.allocate(key(1), "u", relay(50_000), Duration::from_secs(600), now)
        .unwrap();
    assert_eq!(
        t.allocate(key(1), "u", relay(50_001), Duration::from_secs(600), now),
        Err(TableError::AllocationMismatch)
    );
}

#[test]
fn per_client_ip_and_total_quotas() {
    let limits = Limits {
        max_allocations: 20,
        ..Limits::default()
    };
    let per_ip = limits.max_allocations_per_client_ip;
    let mut t = Table::new(limits, vec![host()]);
    let now = Instant::now();
    for i in 0..per_ip as u16 {
        t.allocate(
            key(i),
            &format!("u{i}"),
            relay(i),
            Duration::from_secs(60),
            now,
        )
        .unwrap();
    }
    assert_eq!(
        t.can_allocate(&key(999), "other"),
        Err(TableError::Quota),
        "same client IP, new port"
    );
    let mut other = key(1);
    other.client = SocketAddr::from(([192, 0, 2, 2], 1));
    let mut n = 0;
    loop {
        other.client.set_port(n);
        match t.allocate(
            other,
            &format!("v{n}"),
            relay(1000 + n),
            Duration::from_secs(60),
            now,
        ) {
            Ok(()) => n += 1,
            Err(e) => {
                assert_eq!(e, TableError::Capacity);
                break;
            }
        }
    }
    assert_eq!(t.len(), 20);
}

#[test]
fn per_user_quota() {
    let mut t = table();
    let now = Instant::now();
    let max = t.limits().max_allocations_per_user;
    for i in 0..max as u16 {
        let mut k = key(i);
        k.client = SocketAddr::from(([192, 0, 2, i as u8 + 10], 1));
        t.allocate(k, "same", relay(i), Duration::from_secs(60), now)
            .unwrap();
    }
    let mut k = key(0);
    k.client = SocketAddr::from(([198, 51, 100, 1], 1));
    assert_eq!(t.can_allocate(&k, "same"), Err(TableError::Quota));
    assert_eq!(t.can_allocate(&k, "someone-else"), Ok(()));
}

#[test]
fn lifetime_is_clamped_and_expiry_releases_relay() {
    let mut t = table();
    assert_eq!(t.grant_lifetime(Some(1_000_000)), Duration::from_secs(3600));
    assert_eq!(t.grant_lifetime(None), Duration::from_secs(600));
    let now = Instant::now();
    t.allocate(key(1), "u", relay(7), Duration::from_secs(10), now)
        .unwrap();
    assert!(t.expire(now + Duration::from_secs(9)).is_empty());
    assert_eq!(t.expire(now + Duration::from_secs(10)), vec![relay(7)]);
    assert!(t.is_empty());
    assert!(t.inbound(relay(7), relay(9), now).is_none());
}

#[test]
fn refresh_zero_deletes_and_checks_owner() {
    let mut t = table();
    let now = Instant::now();
    t.allocate(key(1), "u", relay(7), Duration::from_secs(10), now)
        .unwrap();
    assert_eq!(
        t.refresh(&key(1), "mallory", Duration::from_secs(60), now),
        Err(TableError::WrongUser)
    );
    t.refresh(&key(1), "u", Duration::from_secs(60), now)
        .unwrap();
    assert!(t.expire(now + Duration::from_secs(30)).is_empty());
    assert_eq!(
        t.refresh(&key(1), "u", Duration::ZERO, now),
        Ok(Some(relay(7)))
    );
    assert_eq!(
        t.refresh(&key(1), "u", Duration::ZERO, now),
        Err(TableError::NoAllocation)
    );
}

#[test]
fn permissions_only_for_allowed_peers_and_expire() {
    let mut t = table();
    let now = Instant::now();
    t.allocate(key(1), "u", relay(7), Duration::from_secs(3000), now)
        .unwrap();
    let stranger = IpAddr::from([203, 0, 113, 9]);
    assert_eq!(
        t.create_permission(&key(1), "u", &[host(), stranger], now),
        Err(TableError::Forbidden)
    );
    // All-or-nothing: the allowed one was not installed either.
    assert!(t.outbound_by_peer(&key(1), relay(9), now).is_none());
    t.create_permission(&key(1), "u", &[host()], now).unwrap();
    assert_eq!(t.outbound_by_peer(&key(1), relay(9), now), Some(relay(7)));
    assert!(
        t.outbound_by_peer(&key(1), SocketAddr::new(stranger, 9), now)
            .is_none()
    );
    assert_eq!(t.inbound(relay(7), relay(9), now), Some((key(1), None)));
    let later = now + Duration::from_secs(300);
    assert!(t.outbound_by_peer(&key(1), relay(9), later).is_none());
    assert!(t.inbound(relay(7), relay(9), later).is_none());
    t.expire(later);
    assert!(t.get(&key(1)).is_some());
}

#[test]
fn ipv4_mapped_peers_match_the_allow_list() {
    let t = table();
    let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
    assert!(t.peer_allowed(mapped));
    assert!(!t.peer_allowed("::1".parse().unwrap()));
}

#[test]
fn channels_bind_once_and_route_both_ways() {
    let mut t = table();
    let now = Instant::now();
    t.allocate(key(1), "u", relay(7), Duration::from_secs(3000), now)
        .unwrap();
    let peer = relay(9);
    assert_eq!(
        t.channel_bind(&key(1), "u", 0x3FFF, peer, now),
        Err(TableError::BadChannel)
    );
    assert_eq!(
        t.channel_bind(&key(1), "u", 0x7FFF, peer, now),
        Err(TableError::BadChannel)
    );
    assert_eq!(
        t.channel_bind(
            &key(1),
            "u",
            0x4000,
            SocketAddr::from(([8, 8, 8, 8], 53)),
            now
        ),
        Err(TableError::Forbidden)
    );
    t.channel_bind(&key(1), "u", 0x4000, peer, now).unwrap();
    t.channel_bind(&key(1), "u", 0x4000, peer, now).unwrap();
    assert_eq!(
        t.channel_bind(&key(1), "u", 0x4001, peer, now),
        Err(TableError::BadChannel)
    );
    assert_eq!(
        t.channel_bind(&key(1), "u", 0x4000, relay(10), now),
        Err(TableError::BadChannel)
    );
    assert_eq!(
        t.outbound_by_channel(&key(1), 0x4000, now),
        Some((relay(7), peer))
    );
    assert_eq!(t.inbound(relay(7), peer, now), Some((key(1), Some(0x4000))));
    let later = now + Duration::from_secs(600);
    assert!(t.outbound_by_channel(&key(1), 0x4000, later).is_none());
}

#[test]
fn permission_and_channel_quotas() {
    let limits = Limits {
        max_permissions_per_allocation: 1,
        max_channels_per_allocation: 1,
        ..Limits::default()
    };
    let other = IpAddr::from([127, 0, 0, 2]);
    let mut t = Table::new(limits, vec![host(), other]);
    let now = Instant::now();
    t.allocate(key(1), "u", relay(7), Duration::from_secs(3000), now)
        .unwrap();
    t.create_permission(&key(1), "u", &[host()], now).unwrap();
    assert_eq!(
        t.create_permission(&key(1), "u", &[other], now),
        Err(TableError::Quota)
    );
    t.channel_bind(&key(1), "u", 0x4000, relay(9), now).unwrap();
    assert_eq!(
        t.channel_bind(&key(1), "u", 0x4001, relay(10), now),
        Err(TableError::Quota)
    );
}

#[test]
fn tcp_close_removes_allocation() {
    let mut t = table();
    let now = Instant::now();
    let mut k = key(1);
    k.transport = Transport::Tcp;
    t.allocate(k, "u", relay(7), Duration::from_secs(60), now)
        .unwrap();
    assert_eq!(t.remove_client(&k), Some(relay(7)));
    assert!(t.is_empty());
}
