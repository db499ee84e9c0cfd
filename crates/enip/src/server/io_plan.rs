//! Where and how a simulator serves class 1 I/O, from its tags, its cpppo.cfg `[I/O]` section
//! and an explicit address: the one rule `cpppo enip server`, the fleet's devices and the
//! Python `Simulator` share.
//!
//! - An explicit address (`--io`, `io=`) wins, else `[I/O] Address`; `[IFACE][:PORT]`, the
//!   interface defaulting to the TCP address's and the port to 2222.
//! - Neither given: port 2222 on the TCP interface when a tag is an assembly (`@4/...`).
//! - `--no-io` / `io=False` / `Address = none`: no I/O.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use cpppo_cip::io::IO_PORT;

use crate::model::config::IoConfig;
use crate::model::device::DeviceConfig;
use crate::model::tagspec::TagSpec;
use crate::server::io::IoSettings;

/// What the caller asks for besides the config.
#[derive(Debug, Clone, Copy, Default)]
pub enum IoRequest<'a> {
    /// As the config and tags say.
    #[default]
    Auto,
    /// At this `[IFACE][:PORT]`.
    At(&'a str),
    /// Not at all.
    Off,
}

/// A bad I/O address.
#[derive(Debug, thiserror::Error)]
#[error("I/O address {given:?}: {reason}")]
pub struct IoPlanError {
    /// The address as given.
    pub given: String,
    /// Why it is not one.
    pub reason: String,
}

/// Where I/O is served (if anywhere) and the adapter's settings: `tcp` is the explicit
/// messaging address, `device` supplies the TCP/IP object's address and mask.
pub fn io_plan(
    request: IoRequest<'_>,
    config: &IoConfig,
    tcp: SocketAddr,
    device: &DeviceConfig,
    tags: &[TagSpec],
) -> Result<Option<(SocketAddr, IoSettings)>, IoPlanError> {
    let at = match io_address(request, config, tcp, tags)? {
        Some(at) => at,
        None => return Ok(None),
    };
    Ok(Some((at, io_settings(at, tcp, device, config))))
}

fn io_address(
    request: IoRequest<'_>,
    config: &IoConfig,
    tcp: SocketAddr,
    tags: &[TagSpec],
) -> Result<Option<SocketAddr>, IoPlanError> {
    let given = match request {
        IoRequest::Off => return Ok(None),
        IoRequest::At(s) => Some(s),
        IoRequest::Auto if config.disabled => return Ok(None),
        IoRequest::Auto => config.address.as_deref(),
    };
    let iface = tcp.ip().to_string();
    match given {
        Some(s) => cpppo_net::sys::parse_address(s, &iface, Some(IO_PORT))
            .map(Some)
            .map_err(|e| IoPlanError {
                given: s.to_string(),
                reason: e.to_string(),
            }),
        None if tags.iter().any(|t| t.address.is_some_and(|a| a.class == 4)) => {
            Ok(Some(SocketAddr::new(tcp.ip(), IO_PORT)))
        }
        None => Ok(None),
    }
}

/// The adapter's settings: its address (for the multicast group) from the I/O or TCP
/// address, else the TCP/IP object's configured one; the rest from `[I/O]`.
fn io_settings(
    io: SocketAddr,
    tcp: SocketAddr,
    device: &DeviceConfig,
    config: &IoConfig,
) -> IoSettings {
    let defaults = IoSettings::default();
    let local = [io.ip(), tcp.ip()]
        .into_iter()
        .find_map(|ip| match ip {
            IpAddr::V4(v4) if !v4.is_unspecified() => Some(v4),
            _ => None,
        })
        .or(device.interface.ip_address)
        .unwrap_or(defaults.local);
    let netmask = device.interface.network_mask.unwrap_or(defaults.netmask);
    configured_settings(local, netmask, config)
}

/// The settings of an adapter at `local` (`netmask`, for the multicast group) from `[I/O]`:
/// its RPI range, connection limit, multicast group and heartbeat points, each defaulting to
/// [`IoSettings::default`]'s. `[I/O] Address` is not read: where I/O is served is the
/// caller's ([`io_plan`]; a fleet device's own address).
pub fn configured_settings(local: Ipv4Addr, netmask: Ipv4Addr, config: &IoConfig) -> IoSettings {
    let defaults = IoSettings::default();
    IoSettings {
        local,
        netmask,
        rpi: config.rpi.unwrap_or(defaults.rpi),
        max_connections: config.max_connections.unwrap_or(defaults.max_connections),
        multicast: config.multicast.or(defaults.multicast),
        input_only_point: config.input_only_point.unwrap_or(defaults.input_only_point),
        listen_only_point: config
            .listen_only_point
            .unwrap_or(defaults.listen_only_point),
        ..defaults
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(specs: &[&str]) -> Vec<TagSpec> {
        specs.iter().map(|s| TagSpec::parse(s).unwrap()).collect()
    }

    #[test]
    fn an_assembly_tag_serves_io_on_2222_of_the_tcp_interface() {
        let tcp: SocketAddr = "10.1.2.3:44818".parse().unwrap();
        let cfg = IoConfig::default();
        let dev = DeviceConfig::default();
        let got = io_plan(
            IoRequest::Auto,
            &cfg,
            tcp,
            &dev,
            &tags(&["Inputs@4/100/3=SINT[8]"]),
        );
        let (at, settings) = got.unwrap().unwrap();
        assert_eq!(at, "10.1.2.3:2222".parse().unwrap());
        assert_eq!(settings.local, std::net::Ipv4Addr::new(10, 1, 2, 3));
        let plain = io_plan(IoRequest::Auto, &cfg, tcp, &dev, &tags(&["A=INT"]));
        assert!(plain.unwrap().is_none());
        let off = IoRequest::Off;
        assert!(io_plan(off, &cfg, tcp, &dev, &tags(&["I@4/100/3=SINT[8]"]))
            .unwrap()
            .is_none());
    }

    #[test]
    fn an_explicit_address_wins_and_a_bad_one_is_named() {
        let tcp: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let (cfg, dev) = (IoConfig::default(), DeviceConfig::default());
        let got = io_plan(IoRequest::At(":0"), &cfg, tcp, &dev, &[]).unwrap();
        assert_eq!(got.unwrap().0, "127.0.0.1:0".parse().unwrap());
        let bad = io_plan(IoRequest::At("nohost.invalid:x"), &cfg, tcp, &dev, &[]);
        assert!(bad.unwrap_err().to_string().contains("nohost.invalid:x"));
    }
}
