//! The host's own addresses: they are the only peers the relay may send to (so it is never an
//! open relay), and one of them carries the relay sockets.

use std::io;
use std::net::{IpAddr, Ipv4Addr};

/// Every address configured on the host's interfaces, loopback included (the host's own
/// webrtcbin may gather loopback candidates in tests and single-machine setups).
pub fn local_addresses() -> io::Result<Vec<IpAddr>> {
    let mut out = Vec::new();
    for ifa in nix::ifaddrs::getifaddrs().map_err(io::Error::from)? {
        let Some(addr) = ifa.address else { continue };
        let ip = if let Some(v4) = addr.as_sockaddr_in() {
            IpAddr::V4(v4.ip())
        } else if let Some(v6) = addr.as_sockaddr_in6() {
            IpAddr::V6(v6.ip())
        } else {
            continue;
        };
        if !out.contains(&ip) {
            out.push(ip);
        }
    }
    Ok(out)
}

/// Where relay sockets are bound: the listen address when it is a specific one, else the first
/// non-loopback IPv4 address (what the host's webrtcbin gathers first), else loopback.
pub fn pick_relay_ip(listen: IpAddr, local: &[IpAddr]) -> IpAddr {
    if !listen.is_unspecified() {
        return listen;
    }
    local
        .iter()
        .copied()
        .find(|ip| ip.is_ipv4() && !ip.is_loopback())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_among_local_addresses() {
        let addrs = local_addresses().unwrap();
        assert!(
            addrs.contains(&IpAddr::V4(Ipv4Addr::LOCALHOST)),
            "{addrs:?}"
        );
    }

    #[test]
    fn relay_ip_choice() {
        let lan: IpAddr = "192.0.2.10".parse().unwrap();
        let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let any = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        assert_eq!(pick_relay_ip(lan, &[lo]), lan);
        assert_eq!(pick_relay_ip(any, &[lo, v6, lan]), lan);
        assert_eq!(pick_relay_ip(any, &[lo, v6]), lo);
    }
}
