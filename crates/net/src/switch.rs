//! A learning Ethernet switch that delivers ARP requests to the owner of the address only,
//! and can stand in for a router so the host needs one neighbour entry for the whole LAN.
//!
//! Ports are either simulated hosts (userspace stacks, whose MAC and IP addresses the switch
//! is told when they are added) or external links (a TAP device, a VDE cable), whose MAC
//! addresses are learned from the frames they send. Flooding an ARP request to a thousand
//! stacks makes first contact slow, so a request for a simulated host's address goes to that
//! host alone; one for any other address goes to the external links.
//!
//! With a [`Gateway`] set, the host reaches the LAN through a route via a virtual gateway
//! address instead of a connected subnet: the switch answers the host's ARP for the gateway
//! with the gateway's MAC, delivers IPv4 frames sent to that MAC by rewriting the destination
//! MAC to the owner of the destination address (or to broadcast, for the LAN's broadcast
//! addresses; the IP packet is untouched, TTL included), and answers the stacks' ARP requests
//! for the host's address itself with the host's MAC once it has seen a frame from the host.
//! The host's kernel then holds a neighbour entry for the gateway alone, however large the LAN.

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
/// EtherType of IPv4.
const ETHERTYPE_IPV4: u16 = 0x0800;
/// The fixed part of an ARP-over-Ethernet request: hardware type 1, protocol IPv4, address
/// lengths 6 and 4.
const ARP_ETHER_IPV4: [u8; 6] = [0, 1, 0x08, 0x00, 6, 4];
/// Offset of the sender hardware address in an ARP-over-Ethernet frame.
const ARP_SHA: usize = ETH_HEADER + 8;
/// Offset of the sender protocol address in an ARP-over-Ethernet frame.
const ARP_SPA: usize = ETH_HEADER + 14;
/// Offset of the target protocol address in an ARP-over-Ethernet frame.
const ARP_TPA: usize = ETH_HEADER + 24;
/// Offset of the source address in an IPv4-over-Ethernet frame.
const IPV4_SRC: usize = ETH_HEADER + 12;
/// Offset of the destination address in an IPv4-over-Ethernet frame.
const IPV4_DST: usize = ETH_HEADER + 16;
/// The Ethernet broadcast address.
const BROADCAST_MAC: [u8; 6] = [0xff; 6];

/// A virtual router between the host (behind an external link) and the simulated hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gateway {
    /// The gateway's address: the host routes the LAN's subnet via it (no stack owns it).
    pub ip: Ipv4Addr,
    /// The MAC the gateway answers ARP with (locally administered unicast).
    pub mac: [u8; 6],
    /// The host's address on the LAN, which the switch answers the stacks' ARP requests for.
    pub host: Ipv4Addr,
    /// The LAN's subnet broadcast address (255.255.255.255 is always one too).
    pub broadcast: Ipv4Addr,
}

/// What [`Switch::forward`] did with a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    /// Goes out of the ports listed, unchanged (none: dropped).
    Forwarded,
    /// Sent to the gateway: its destination MAC was rewritten, then it goes out of the ports
    /// listed (none: no one owns the destination address, dropped).
    Routed,
    /// A frame the switch answered (an ARP request, or a packet sent to the gateway for an
    /// address no one owns: ICMP host unreachable): the frame was replaced by the answer, which
    /// goes back out of the port it came from (the only port listed).
    Answered,
}

/// The switch's tables.
#[derive(Debug, Default)]
pub struct Switch {
    macs: HashMap<[u8; 6], Port>,
    owners: HashMap<Ipv4Addr, usize>,
    host_macs: Vec<[u8; 6]>,
    externals: usize,
    gateway: Option<Gateway>,
    /// The host's MAC, learned from its frames once a gateway is set.
    host_mac: Option<[u8; 6]>,
    /// The simulated hosts in each multicast group, from their IGMP reports and leaves.
    groups: HashMap<Ipv4Addr, Vec<usize>>,
}

impl Switch {
    /// An empty switch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Plug in a simulated host with this MAC and IP; returns its index.
    pub fn add_host(&mut self, mac: [u8; 6], ip: Ipv4Addr) -> usize {
        let id = self.host_macs.len();
        self.host_macs.push(mac);
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

    /// Stand in for a router between the host and the simulated hosts (see the module notes).
    pub fn set_gateway(&mut self, gateway: Gateway) {
        self.gateway = Some(gateway);
    }

    /// Number of simulated hosts.
    pub fn hosts(&self) -> usize {
        self.host_macs.len()
    }

    /// Where `frame`, arriving on `from`, goes: the ports are appended to `out`; the frame may
    /// be rewritten or replaced by an answer (see [`Handling`]). Frames too short for an
    /// Ethernet header go nowhere.
    pub fn forward(&mut self, from: Port, frame: &mut Vec<u8>, out: &mut Vec<Port>) -> Handling {
        let (Some(dst), Some(src)) = (mac_at(frame, 0), mac_at(frame, 6)) else {
            return Handling::Forwarded;
        };
        if let Port::External(_) = from {
            // Learn external addresses; never let a link claim a simulated host's MAC.
            if src[0] & 1 == 0 && !matches!(self.macs.get(&src), Some(Port::Host(_))) {
                self.macs.insert(src, from);
                self.learn_host(src, frame);
            }
        }
        if let Some(gateway) = self.gateway {
            if let Some(handled) = self.route(gateway, from, dst, frame, out) {
                return handled;
            }
        }
        if dst[0] & 1 == 0 {
            match self.macs.get(&dst) {
                Some(&p) if p != from => out.push(p),
                Some(_) => {}
                None => self.flood_external(from, out),
            }
            return Handling::Forwarded;
        }
        if let Some(tpa) = arp_request_target(frame) {
            match self.owners.get(&tpa) {
                Some(&h) if Port::Host(h) != from => out.push(Port::Host(h)),
                Some(_) => {}
                None => self.flood_external(from, out),
            }
            return Handling::Forwarded;
        }
        if let Port::Host(h) = from {
            self.snoop(h, frame);
        }
        if let Some(group) = ipv4_destination(frame).filter(|g| snooped(*g)) {
            // A group's traffic goes to its members among the hosts (and out of the links).
            let members = self.groups.get(&group).map_or(&[][..], Vec::as_slice);
            out.extend(
                members
                    .iter()
                    .map(|&m| Port::Host(m))
                    .filter(|&p| p != from),
            );
            self.flood_external(from, out);
            return Handling::Forwarded;
        }
        out.extend((0..self.hosts()).map(Port::Host).filter(|&p| p != from));
        self.flood_external(from, out);
        Handling::Forwarded
    }

    /// Remember the host's MAC from a frame of an external link sent from the host's address.
    fn learn_host(&mut self, src: [u8; 6], frame: &[u8]) {
        let Some(gateway) = self.gateway else {
            return;
        };
        let sender = match ethertype(frame) {
            Some(ETHERTYPE_IPV4) => ipv4_at(frame, IPV4_SRC),
            Some(ETHERTYPE_ARP) => ipv4_at(frame, ARP_SPA),
            _ => None,
        };
        if sender == Some(gateway.host) {
            self.host_mac = Some(src);
        }
    }

    /// The gateway's part: answer ARP for the gateway (and, to the stacks, for the host) and
    /// route frames sent to the gateway's MAC. None: switch the frame as usual.
    fn route(
        &self,
        gateway: Gateway,
        from: Port,
        dst: [u8; 6],
        frame: &mut Vec<u8>,
        out: &mut Vec<Port>,
    ) -> Option<Handling> {
        if let Some(tpa) = arp_request_target(frame) {
            let mac = if tpa == gateway.ip {
                gateway.mac
            } else if tpa == gateway.host && matches!(from, Port::Host(_)) {
                self.host_mac?
            } else {
                return None;
            };
            *frame = arp_reply(frame, mac)?;
            out.push(from);
            return Some(Handling::Answered);
        }
        if dst != gateway.mac {
            return None;
        }
        let Some(to) = ipv4_destination(frame) else {
            return Some(Handling::Routed);
        };
        if to == gateway.broadcast || to == Ipv4Addr::BROADCAST {
            frame[..6].copy_from_slice(&BROADCAST_MAC);
            out.extend((0..self.hosts()).map(Port::Host).filter(|&p| p != from));
            return Some(Handling::Routed);
        }
        let mac = match self.owners.get(&to) {
            Some(&h) => self.host_macs.get(h).copied(),
            None if to == gateway.host => self.host_mac,
            None => None,
        };
        match mac.and_then(|m| Some((m, *self.macs.get(&m)?))) {
            Some((_, port)) if port == from => {}
            Some((mac, port)) => {
                frame[..6].copy_from_slice(&mac);
                out.push(port);
            }
            None => {
                if let Some(reply) = host_unreachable(frame, gateway.mac) {
                    *frame = reply;
                    out.push(from);
                    return Some(Handling::Answered);
                }
            }
        }
        Some(Handling::Routed)
    }

    /// IGMP snooping: a host's membership report (v1/v2) joins it to the group, a leave takes
    /// it out.
    fn snoop(&mut self, host: usize, frame: &[u8]) {
        let Some((kind, group)) = igmp(frame) else {
            return;
        };
        let members = self.groups.entry(group).or_default();
        match kind {
            IGMP_V1_REPORT | IGMP_V2_REPORT if !members.contains(&host) => members.push(host),
            IGMP_LEAVE => members.retain(|&m| m != host),
            _ => {}
        }
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

fn ipv4_at(frame: &[u8], at: usize) -> Option<Ipv4Addr> {
    let a: [u8; 4] = frame.get(at..at + 4)?.try_into().ok()?;
    Some(Ipv4Addr::from(a))
}

fn ethertype(frame: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes(frame.get(12..14)?.try_into().ok()?))
}

/// The address an ARP request (Ethernet, IPv4) asks for (None for anything else).
fn arp_request_target(frame: &[u8]) -> Option<Ipv4Addr> {
    if ethertype(frame)? != ETHERTYPE_ARP
        || frame.get(ETH_HEADER..ETH_HEADER + 6)? != ARP_ETHER_IPV4
        || frame.get(ETH_HEADER + 6..ETH_HEADER + 8)? != [0, 1]
    {
        return None;
    }
    ipv4_at(frame, ARP_TPA)
}

/// The reply to an ARP `request`: its target address is at `mac`.
fn arp_reply(request: &[u8], mac: [u8; 6]) -> Option<Vec<u8>> {
    let asker = mac_at(request, ARP_SHA)?;
    let asker_ip = request.get(ARP_SPA..ARP_SPA + 4)?;
    let target_ip = request.get(ARP_TPA..ARP_TPA + 4)?;
    let mut reply = Vec::with_capacity(ARP_TPA + 4);
    reply.extend_from_slice(&asker);
    reply.extend_from_slice(&mac);
    reply.extend_from_slice(&ETHERTYPE_ARP.to_be_bytes());
    reply.extend_from_slice(&ARP_ETHER_IPV4);
    reply.extend_from_slice(&[0, 2]);
    reply.extend_from_slice(&mac);
    reply.extend_from_slice(target_ip);
    reply.extend_from_slice(&asker);
    reply.extend_from_slice(asker_ip);
    Some(reply)
}

/// ICMP "host unreachable" from the gateway (MAC `mac`) for an IPv4 `frame` sent to it, or
/// None where RFC 1122 forbids one: about an ICMP error, a fragment after the first, or a
/// packet from a non-unicast source. Its IP source is the unreachable address itself (a
/// gateway-owned source would fail the host's reverse-path filter: nothing routes the gateway's
/// address to the link).
fn host_unreachable(frame: &[u8], mac: [u8; 6]) -> Option<Vec<u8>> {
    let packet = frame.get(ETH_HEADER..)?;
    let header = usize::from(packet.first()? & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes(packet.get(2..4)?.try_into().ok()?));
    let (src, dst) = (ipv4_at(frame, IPV4_SRC)?, ipv4_at(frame, IPV4_DST)?);
    let fragment = u16::from_be_bytes(packet.get(6..8)?.try_into().ok()?) & 0x1fff;
    let icmp_error = packet.get(9) == Some(&1) && !matches!(packet.get(header), Some(8));
    if header < 20
        || total < header
        || fragment != 0
        || icmp_error
        || src.is_unspecified()
        || src.is_broadcast()
        || src.is_multicast()
    {
        return None;
    }
    let quoted = packet.get(..total.min(header + 8))?;
    let mut icmp = vec![3, 1, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(quoted);
    let sum = checksum(&icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let length = u16::try_from(20 + icmp.len()).ok()?;
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&length.to_be_bytes());
    ip.extend_from_slice(&[0, 0, 0, 0, 64, 1, 0, 0]);
    ip.extend_from_slice(&dst.octets());
    ip.extend_from_slice(&src.octets());
    let sum = checksum(&ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    let mut reply = frame.get(6..12)?.to_vec();
    reply.extend_from_slice(&mac);
    reply.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    reply.extend_from_slice(&ip);
    reply.extend_from_slice(&icmp);
    Some(reply)
}

/// The Internet checksum (RFC 1071) of `data`.
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The destination of an IPv4 packet (None for anything else).
/// IGMP message types the switch snoops.
const IGMP_V1_REPORT: u8 = 0x12;
const IGMP_V2_REPORT: u8 = 0x16;
const IGMP_LEAVE: u8 = 0x17;

/// Whether traffic to `ip` goes only to the group's members: multicast beyond 224.0.0.0/24
/// (whose local control traffic, IGMP included, every host gets).
fn snooped(ip: Ipv4Addr) -> bool {
    ip.is_multicast() && ip.octets()[..3] != [224, 0, 0]
}

/// An IGMP message's type and group address.
fn igmp(frame: &[u8]) -> Option<(u8, Ipv4Addr)> {
    ipv4_destination(frame)?;
    let ihl = usize::from(frame.get(ETH_HEADER)? & 0x0F) * 4;
    if *frame.get(ETH_HEADER + 9)? != 2 || ihl < 20 {
        return None;
    }
    let at = ETH_HEADER + ihl;
    let group = ipv4_at(frame, at + 4)?;
    Some((*frame.get(at)?, group)).filter(|(_, g)| snooped(*g))
}

fn ipv4_destination(frame: &[u8]) -> Option<Ipv4Addr> {
    if ethertype(frame)? != ETHERTYPE_IPV4 || frame.get(ETH_HEADER)? >> 4 != 4 {
        return None;
    }
    ipv4_at(frame, IPV4_DST)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST_MAC: [u8; 6] = [2, 9, 9, 9, 9, 9];
    const GW_MAC: [u8; 6] = [2, 0x63, 0x70, 0x70, 0x70, 0x6f];

    fn arp_request(src: [u8; 6], sender: [u8; 4], target: [u8; 4]) -> Vec<u8> {
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&src);
        f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&sender);
        f.extend_from_slice(&[0; 6]);
        f.extend_from_slice(&target);
        f
    }

    /// An IPv4/UDP frame (header fields that matter here only).
    fn ipv4(dst_mac: [u8; 6], src_mac: [u8; 6], src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
        let mut f = dst_mac.to_vec();
        f.extend_from_slice(&src_mac);
        f.extend_from_slice(&[0x08, 0x00, 0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
        f.extend_from_slice(&[0xaf, 0x12, 0xaf, 0x12, 0, 8, 0, 0]);
        f
    }

    fn switch3() -> Switch {
        let mut s = Switch::new();
        for i in 0..3u8 {
            s.add_host([2, 0, 0, 0, 0, i], Ipv4Addr::new(10, 0, 0, i + 2));
        }
        s.add_external();
        s
    }

    fn routed3() -> Switch {
        let mut s = switch3();
        s.set_gateway(Gateway {
            ip: Ipv4Addr::new(169, 254, 44, 18),
            mac: GW_MAC,
            host: Ipv4Addr::new(10, 0, 0, 1),
            broadcast: Ipv4Addr::new(10, 0, 0, 255),
        });
        s
    }

    fn forward(s: &mut Switch, from: Port, frame: &mut Vec<u8>) -> (Handling, Vec<Port>) {
        let mut out = Vec::new();
        let handling = s.forward(from, frame, &mut out);
        (handling, out)
    }

    #[test]
    fn arp_goes_to_the_owner_only() {
        let mut s = switch3();
        let mut f = arp_request(HOST_MAC, [10, 0, 0, 1], [10, 0, 0, 3]);
        assert_eq!(
            forward(&mut s, Port::External(0), &mut f),
            (Handling::Forwarded, vec![Port::Host(1)])
        );
        // Asking for an address no host owns: out to the links, not to the hosts.
        let mut f = arp_request([2, 0, 0, 0, 0, 0], [10, 0, 0, 2], [10, 0, 0, 99]);
        assert_eq!(
            forward(&mut s, Port::Host(0), &mut f).1,
            vec![Port::External(0)]
        );
    }

    /// An IGMP v2 message of `kind` about `group` from a host.
    fn igmp_v2(src_mac: [u8; 6], src: [u8; 4], kind: u8, group: [u8; 4]) -> Vec<u8> {
        let mut f = ipv4([1, 0, 0x5e, 0, 0, 0x16], src_mac, src, [224, 0, 0, 22]);
        f.truncate(ETH_HEADER + 20);
        f[ETH_HEADER + 9] = 2;
        f.extend_from_slice(&[kind, 0, 0, 0]);
        f.extend_from_slice(&group);
        f
    }

    #[test]
    fn multicast_goes_to_the_groups_members_and_the_links() {
        let mut s = switch3();
        let group = [239, 192, 1, 32];
        let mac = [1, 0, 0x5e, 0x40, 1, 0x20];
        let mut to_group = ipv4(mac, [2, 0, 0, 0, 0, 0], [10, 0, 0, 2], group);
        // No member yet: out of the link only.
        let (_, out) = forward(&mut s, Port::Host(0), &mut to_group.clone());
        assert_eq!(out, vec![Port::External(0)]);
        // Host 2 reports (the report itself reaches every port), then gets the group's frames.
        let mut report = igmp_v2([2, 0, 0, 0, 0, 2], [10, 0, 0, 4], IGMP_V2_REPORT, group);
        let (_, out) = forward(&mut s, Port::Host(2), &mut report);
        assert_eq!(out, vec![Port::Host(0), Port::Host(1), Port::External(0)]);
        let (_, out) = forward(&mut s, Port::Host(0), &mut to_group.clone());
        assert_eq!(out, vec![Port::Host(2), Port::External(0)]);
        // From the link too; after a leave, no more.
        let (_, out) = forward(&mut s, Port::External(0), &mut to_group.clone());
        assert_eq!(out, vec![Port::Host(2)]);
        let mut leave = igmp_v2([2, 0, 0, 0, 0, 2], [10, 0, 0, 4], IGMP_LEAVE, group);
        forward(&mut s, Port::Host(2), &mut leave);
        let (_, out) = forward(&mut s, Port::Host(0), &mut to_group);
        assert_eq!(out, vec![Port::External(0)]);
    }

    #[test]
    fn broadcast_floods_and_unicast_is_learned() {
        let mut s = switch3();
        let mut frame = vec![0xff; 6];
        frame.extend_from_slice(&[2, 9, 9, 9, 9, 9, 0x08, 0x00]);
        let (_, out) = forward(&mut s, Port::External(0), &mut frame);
        assert_eq!(out, vec![Port::Host(0), Port::Host(1), Port::Host(2)]);
        let mut reply = vec![2, 9, 9, 9, 9, 9, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
        assert_eq!(
            forward(&mut s, Port::Host(2), &mut reply).1,
            vec![Port::External(0)]
        );
        reply[..6].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
        assert_eq!(
            forward(&mut s, Port::Host(2), &mut reply).1,
            vec![Port::Host(1)]
        );
        assert!(forward(&mut s, Port::Host(2), &mut vec![0u8; 5])
            .1
            .is_empty());
    }

    #[test]
    fn the_gateway_answers_the_hosts_arp() {
        let mut s = routed3();
        let mut f = arp_request(HOST_MAC, [10, 0, 0, 1], [169, 254, 44, 18]);
        let (handling, out) = forward(&mut s, Port::External(0), &mut f);
        assert_eq!(
            (handling, out),
            (Handling::Answered, vec![Port::External(0)])
        );
        let mut want = HOST_MAC.to_vec();
        want.extend_from_slice(&GW_MAC);
        want.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2]);
        want.extend_from_slice(&GW_MAC);
        want.extend_from_slice(&[169, 254, 44, 18]);
        want.extend_from_slice(&HOST_MAC);
        want.extend_from_slice(&[10, 0, 0, 1]);
        assert_eq!(f, want);
        // Without a gateway the same request is an ordinary one for an unknown address.
        let mut f = arp_request(HOST_MAC, [10, 0, 0, 1], [169, 254, 44, 18]);
        assert_eq!(
            forward(&mut switch3(), Port::External(0), &mut f),
            (Handling::Forwarded, vec![])
        );
    }

    #[test]
    fn frames_to_the_gateway_go_to_the_owner_of_their_address() {
        let mut s = routed3();
        let mut f = ipv4(GW_MAC, HOST_MAC, [10, 0, 0, 1], [10, 0, 0, 4]);
        let sent = f.clone();
        let (handling, out) = forward(&mut s, Port::External(0), &mut f);
        assert_eq!((handling, out), (Handling::Routed, vec![Port::Host(2)]));
        // Only the destination MAC changed (TTL and all of the packet are untouched).
        assert_eq!(f[..6], [2, 0, 0, 0, 0, 2]);
        assert_eq!(f[6..], sent[6..]);
        // The answer goes back to the host's learned MAC as usual.
        let mut answer = ipv4(HOST_MAC, [2, 0, 0, 0, 0, 2], [10, 0, 0, 4], [10, 0, 0, 1]);
        assert_eq!(
            forward(&mut s, Port::Host(2), &mut answer).1,
            vec![Port::External(0)]
        );
    }

    #[test]
    fn the_subnet_broadcast_floods_to_every_stack() {
        let mut s = routed3();
        for to in [[10, 0, 0, 255], [255, 255, 255, 255]] {
            let mut f = ipv4(GW_MAC, HOST_MAC, [10, 0, 0, 1], to);
            let (handling, out) = forward(&mut s, Port::External(0), &mut f);
            assert_eq!(handling, Handling::Routed);
            assert_eq!(out, vec![Port::Host(0), Port::Host(1), Port::Host(2)]);
            assert_eq!(f[..6], BROADCAST_MAC);
        }
    }

    #[test]
    fn frames_to_the_gateway_for_unknown_addresses_get_host_unreachable() {
        let mut s = routed3();
        let mut f = ipv4(GW_MAC, HOST_MAC, [10, 0, 0, 1], [10, 0, 0, 99]);
        let sent = f.clone();
        let (handling, out) = forward(&mut s, Port::External(0), &mut f);
        assert_eq!(
            (handling, out),
            (Handling::Answered, vec![Port::External(0)])
        );
        assert_eq!(f[..12], [HOST_MAC, GW_MAC].concat());
        assert_eq!(f[12..14], [0x08, 0x00]);
        let (ip, icmp) = f[14..].split_at(20);
        // A valid IPv4 header (its checksum sums to zero) from the unreachable address.
        assert_eq!((ip[0], ip[9], checksum(ip)), (0x45, 1, 0));
        assert_eq!(ip[12..20], [10, 0, 0, 99, 10, 0, 0, 1]);
        assert_eq!(
            usize::from(u16::from_be_bytes([ip[2], ip[3]])),
            20 + icmp.len()
        );
        // Type 3 code 1, valid checksum, quoting the packet's header and first 8 bytes.
        assert_eq!((icmp[0], icmp[1], checksum(icmp)), (3, 1, 0));
        assert_eq!(icmp[8..], sent[14..]);
        // Never about an ICMP error, a later fragment, or from a broadcast source: dropped.
        let mut error = ipv4(GW_MAC, HOST_MAC, [10, 0, 0, 1], [10, 0, 0, 99]);
        error[14 + 9] = 1;
        error[34] = 3;
        let mut fragment = ipv4(GW_MAC, HOST_MAC, [10, 0, 0, 1], [10, 0, 0, 99]);
        fragment[14 + 7] = 1;
        let mut broadcast = ipv4(GW_MAC, HOST_MAC, [255, 255, 255, 255], [10, 0, 0, 99]);
        for f in [&mut error, &mut fragment, &mut broadcast] {
            assert_eq!(
                forward(&mut s, Port::External(0), f),
                (Handling::Routed, vec![])
            );
        }
        // Not IPv4 either.
        let mut f = ipv4(GW_MAC, HOST_MAC, [10, 0, 0, 1], [10, 0, 0, 4]);
        f[12..14].copy_from_slice(&[0x86, 0xdd]);
        assert_eq!(
            forward(&mut s, Port::External(0), &mut f),
            (Handling::Routed, vec![])
        );
    }

    #[test]
    fn stacks_arp_for_the_host_is_answered_once_its_mac_is_known() {
        let mut s = routed3();
        let ask = arp_request([2, 0, 0, 0, 0, 1], [10, 0, 0, 3], [10, 0, 0, 1]);
        // Not learned yet: the request goes out to the host, as without a gateway.
        let mut f = ask.clone();
        assert_eq!(
            forward(&mut s, Port::Host(1), &mut f),
            (Handling::Forwarded, vec![Port::External(0)])
        );
        // A frame from the host's address teaches the switch its MAC...
        let mut hello = ipv4(GW_MAC, HOST_MAC, [10, 0, 0, 1], [10, 0, 0, 3]);
        forward(&mut s, Port::External(0), &mut hello);
        // ...and the host never sees the stacks' requests again.
        let mut f = ask.clone();
        let (handling, out) = forward(&mut s, Port::Host(1), &mut f);
        assert_eq!((handling, out), (Handling::Answered, vec![Port::Host(1)]));
        assert_eq!(f[..6], [2, 0, 0, 0, 0, 1]);
        assert_eq!(f[6..12], HOST_MAC);
        assert_eq!(f[ARP_SHA..ARP_SHA + 6], HOST_MAC);
        assert_eq!(f[ARP_SPA..ARP_SPA + 4], [10, 0, 0, 1]);
        assert_eq!(f[ARP_TPA..ARP_TPA + 4], [10, 0, 0, 3]);
        // Someone on the link asking for the host gets no answer from the switch.
        let mut f = arp_request([2, 7, 7, 7, 7, 7], [10, 0, 0, 77], [10, 0, 0, 1]);
        assert_eq!(
            forward(&mut s, Port::External(0), &mut f).0,
            Handling::Forwarded
        );
    }

    #[test]
    fn the_host_mac_is_learned_from_its_arp_too() {
        let mut s = routed3();
        let mut f = arp_request(HOST_MAC, [10, 0, 0, 1], [169, 254, 44, 18]);
        forward(&mut s, Port::External(0), &mut f);
        let mut f = arp_request([2, 0, 0, 0, 0, 0], [10, 0, 0, 2], [10, 0, 0, 1]);
        assert_eq!(forward(&mut s, Port::Host(0), &mut f).0, Handling::Answered);
        assert_eq!(f[6..12], HOST_MAC);
    }
}
