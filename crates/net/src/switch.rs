//! A learning Ethernet switch that delivers ARP requests to the owner of the address only.
//!
//! Ports are either simulated hosts (userspace stacks, whose MAC and IP addresses the switch
//! is told when they are added) or external links (a TAP device, a VDE cable), whose MAC
//! addresses are learned from the frames they send. Flooding an ARP request to a thousand
//! stacks makes first contact slow, so a request for a simulated host's address goes to that
//! host alone; one for any other address goes to the external links.

use std::collections::HashMap;
use std::net::Ipv4Addr;

/// One port of the switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Port {
    /// A simulated host (index in the order added).
    Host(usize),
    /// An external link (index in the order added).
    External(usize),
}

/// Ethernet header length.
const ETH_HEADER: usize = 14;
/// EtherType of ARP.
const ETHERTYPE_ARP: u16 = 0x0806;
/// Offset of the target protocol address in an ARP-over-Ethernet frame.
const ARP_TPA: usize = ETH_HEADER + 24;

/// The switch's tables.
#[derive(Debug, Default)]
pub struct Switch {
    macs: HashMap<[u8; 6], Port>,
    owners: HashMap<Ipv4Addr, usize>,
    hosts: usize,
    externals: usize,
}

impl Switch {
    /// An empty switch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Plug in a simulated host with this MAC and IP; returns its index.
    pub fn add_host(&mut self, mac: [u8; 6], ip: Ipv4Addr) -> usize {
        let id = self.hosts;
        self.hosts += 1;
        self.macs.insert(mac, Port::Host(id));
        self.owners.insert(ip, id);
        id
    }

    /// Plug in an external link; returns its index.
    pub fn add_external(&mut self) -> usize {
        let id = self.externals;
        self.externals += 1;
        id
    }

    /// Number of simulated hosts.
    pub fn hosts(&self) -> usize {
        self.hosts
    }

    /// The ports `frame`, arriving on `from`, goes out of (appended to `out`). Frames too
    /// short for an Ethernet header go nowhere.
    pub fn forward(&mut self, from: Port, frame: &[u8], out: &mut Vec<Port>) {
        let (Some(dst), Some(src)) = (mac_at(frame, 0), mac_at(frame, 6)) else {
            return;
        };
        if let Port::External(_) = from {
            // Learn external addresses; never let a link claim a simulated host's MAC.
            if src[0] & 1 == 0 && !matches!(self.macs.get(&src), Some(Port::Host(_))) {
                self.macs.insert(src, from);
            }
        }
        if dst[0] & 1 == 0 {
            match self.macs.get(&dst) {
                Some(&p) if p != from => out.push(p),
                Some(_) => {}
                None => self.flood_external(from, out),
            }
            return;
        }
        if let Some(tpa) = arp_request_target(frame) {
            match self.owners.get(&tpa) {
                Some(&h) if Port::Host(h) != from => out.push(Port::Host(h)),
                Some(_) => {}
                None => self.flood_external(from, out),
            }
            return;
        }
        out.extend((0..self.hosts).map(Port::Host).filter(|&p| p != from));
        self.flood_external(from, out);
    }

    fn flood_external(&self, from: Port, out: &mut Vec<Port>) {
        out.extend(
            (0..self.externals)
                .map(Port::External)
                .filter(|&p| p != from),
        );
    }
}

fn mac_at(frame: &[u8], at: usize) -> Option<[u8; 6]> {
    frame.get(at..at + 6)?.try_into().ok()
}

/// The address an ARP request asks for (None for anything else).
fn arp_request_target(frame: &[u8]) -> Option<Ipv4Addr> {
    let ethertype = u16::from_be_bytes(frame.get(12..14)?.try_into().ok()?);
    let op = u16::from_be_bytes(frame.get(ETH_HEADER + 6..ETH_HEADER + 8)?.try_into().ok()?);
    if ethertype != ETHERTYPE_ARP || op != 1 {
        return None;
    }
    let tpa: [u8; 4] = frame.get(ARP_TPA..ARP_TPA + 4)?.try_into().ok()?;
    Some(Ipv4Addr::from(tpa))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arp_request(src: [u8; 6], target: [u8; 4]) -> Vec<u8> {
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&src);
        f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&[10, 0, 0, 99]);
        f.extend_from_slice(&[0; 6]);
        f.extend_from_slice(&target);
        f
    }

    fn switch3() -> Switch {
        let mut s = Switch::new();
        for i in 0..3u8 {
            s.add_host([2, 0, 0, 0, 0, i], Ipv4Addr::new(10, 0, 0, i + 1));
        }
        s.add_external();
        s
    }

    #[test]
    fn arp_goes_to_the_owner_only() {
        let mut s = switch3();
        let mut out = Vec::new();
        s.forward(
            Port::External(0),
            &arp_request([2, 9, 9, 9, 9, 9], [10, 0, 0, 2]),
            &mut out,
        );
        assert_eq!(out, vec![Port::Host(1)]);
        out.clear();
        // Asking for an address no host owns: out to the links, not to the hosts.
        s.forward(
            Port::Host(0),
            &arp_request([2, 0, 0, 0, 0, 0], [10, 0, 0, 99]),
            &mut out,
        );
        assert_eq!(out, vec![Port::External(0)]);
    }

    #[test]
    fn broadcast_floods_and_unicast_is_learned() {
        let mut s = switch3();
        let mut out = Vec::new();
        let mut frame = vec![0xff; 6];
        frame.extend_from_slice(&[2, 9, 9, 9, 9, 9, 0x08, 0x00]);
        s.forward(Port::External(0), &frame, &mut out);
        assert_eq!(out, vec![Port::Host(0), Port::Host(1), Port::Host(2)]);
        out.clear();
        let mut reply = vec![2, 9, 9, 9, 9, 9, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
        s.forward(Port::Host(2), &reply, &mut out);
        assert_eq!(out, vec![Port::External(0)]);
        out.clear();
        reply[..6].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
        s.forward(Port::Host(2), &reply, &mut out);
        assert_eq!(out, vec![Port::Host(1)]);
        out.clear();
        s.forward(Port::Host(2), &[0u8; 5], &mut out);
        assert!(out.is_empty());
    }
}
