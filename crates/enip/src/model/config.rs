//! `cpppo.cfg`: the INI file that configures the standard objects, as the Python cpppo reads it.
//!
//! ```ini
//! [Identity]
//! Product Name = 1756-L61/B LOGIX5561
//! [TCPIP]
//! Interface Configuration = {
//!     "ip_address": "192.168.0.201", "network_mask": "255.255.255.0",
//!     "domain_name": "example.com"
//!     }
//! Host Name = controller
//! [UCMM]
//! Route Path = 1/0
//! [Logix]
//! UDT = Motor{Speed:REAL, Running:BOOL, Faults:DINT[4]}
//! Defined Tags = tags.json
//! L5X = plant.L5X
//! [Tags]
//! Inputs@4/100/3 = SINT[8]
//! Outputs@4/150/3 = SINT[8]
//! [I/O]
//! Address = :2222
//! RPI = 2-1000
//! Connections = 64
//! Multicast = 239.192.1.32
//! ```
//!
//! `[Tags]` (or `[Assembly]`) lines are tags as on the command line (`NAME@4/100/3 = SINT[8]`);
//! `[I/O]` sets the class 1 adapter: where (`Address`, as `--io`; `none` as `--no-io`), the RPI
//! range in milliseconds, the most connections, and the T→O multicast group.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use ini::{Ini, ParseOption};

use crate::model::device::DeviceConfig;
use crate::model::tagspec::parse_number;
use crate::server::session::RoutePolicy;

/// A configuration file (or value in it) that could not be used; names file and text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {why}")]
pub struct ConfigError {
    /// The file.
    pub file: String,
    /// What is wrong.
    pub why: String,
}

/// Everything a configuration file can set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// Standard object values.
    pub device: DeviceConfig,
    /// `Route Path`, when given.
    pub route_path: Option<RoutePolicy>,
    /// `Route`: where requests for other route paths are forwarded.
    pub routes: Vec<crate::server::route::RouteRule>,
    /// `UDT`: Logix structure definitions (as `--udt`), in order.
    pub udts: Vec<String>,
    /// `Defined Tags`: a pycomm3 tag JSON file to serve (as `-D`).
    pub defined_tags: Option<PathBuf>,
    /// `L5X`: a Studio 5000 project export to serve (as `--l5x`).
    pub l5x: Option<PathBuf>,
    /// `[Tags]`/`[Assembly]`: tags as on the command line (`NAME@4/100/3=SINT[8]`), in order.
    pub tags: Vec<String>,
    /// `[I/O]`: the class 1 adapter's options.
    pub io: IoConfig,
    /// Files that were read, in order.
    pub loaded: Vec<PathBuf>,
}

/// The `[I/O]` section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IoConfig {
    /// `Address`: where I/O is served (`[IFACE][:PORT]`, as `--io`).
    pub address: Option<String>,
    /// `Address = none`: no I/O (as `--no-io`).
    pub disabled: bool,
    /// `RPI = MIN-MAX` (milliseconds): the RPIs accepted.
    pub rpi: Option<cpppo_cip::io::RpiRange>,
    /// `Connections`: most I/O connections open at once.
    pub max_connections: Option<usize>,
    /// `Multicast`: the T→O multicast group (else Logix-style from the address).
    pub multicast: Option<Ipv4Addr>,
    /// `Input Only Point`: the O→T heartbeat point of Input Only connections (238).
    pub input_only_point: Option<u32>,
    /// `Listen Only Point`: the O→T heartbeat point of Listen Only connections (237).
    pub listen_only_point: Option<u32>,
}

impl IoConfig {
    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let bad = |what: &str| format!("[I/O] {key} = {value:?}: {what}");
        match key.trim().to_ascii_lowercase().as_str() {
            "address" => match value.to_ascii_lowercase().as_str() {
                "none" | "off" | "false" | "no" => self.disabled = true,
                _ => self.address = Some(value.to_string()),
            },
            "rpi" => self.rpi = Some(rpi_range(value).ok_or_else(|| bad("not MIN-MAX ms"))?),
            "connections" => {
                let n = parse_number(value).filter(|n| (1..=65_535).contains(n));
                self.max_connections = Some(n.ok_or_else(|| bad("not 1-65535"))? as usize);
            }
            "multicast" => {
                let ip: Ipv4Addr = value.parse().map_err(|_| bad("not an IPv4 address"))?;
                if !ip.is_multicast() {
                    return Err(bad("not a multicast address"));
                }
                self.multicast = Some(ip);
            }
            "input only point" | "listen only point" => {
                let n = parse_number(value).filter(|n| (1..=u32::MAX as u64).contains(n));
                let n = Some(n.ok_or_else(|| bad("not an instance number 1-4294967295"))? as u32);
                if key.trim().to_ascii_lowercase().starts_with("input") {
                    self.input_only_point = n;
                } else {
                    self.listen_only_point = n;
                }
            }
            _ => {
                return Err(bad(
                    "unknown key (Address, RPI, Connections, Multicast, Input Only Point, \
                     Listen Only Point)",
                ))
            }
        }
        Ok(())
    }
}

/// `MIN-MAX` milliseconds (decimals allowed) as microseconds; MIN ≤ MAX, both > 0.
fn rpi_range(value: &str) -> Option<cpppo_cip::io::RpiRange> {
    let (lo, hi) = value.split_once('-')?;
    let us = |t: &str| {
        let ms: f64 = t.trim().parse().ok()?;
        let us = (ms * 1000.0).round();
        (us >= 1.0 && us <= f64::from(u32::MAX)).then_some(us as u32)
    };
    let (min_us, max_us) = (us(lo)?, us(hi)?);
    (min_us <= max_us).then_some(cpppo_cip::io::RpiRange { min_us, max_us })
}

/// Where cpppo looks without `--config`: `/etc/cpppo.cfg`, `~/.cpppo.cfg`, `./cpppo.cfg`.
pub fn default_paths() -> Vec<PathBuf> {
    let mut out = vec![PathBuf::from("/etc/cpppo.cfg")];
    if let Some(home) = std::env::var_os("HOME") {
        out.push(Path::new(&home).join(".cpppo.cfg"));
    }
    out.push(PathBuf::from("cpppo.cfg"));
    out
}

impl Config {
    /// Read `paths` in order (later ones win); missing files are skipped unless `required`.
    pub fn load(paths: &[PathBuf], required: bool) -> Result<Config, ConfigError> {
        let mut cfg = Config::default();
        for path in paths {
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(ConfigError {
                        file: path.display().to_string(),
                        why: e.to_string(),
                    })
                }
            };
            cfg.apply(&text).map_err(|why| ConfigError {
                file: path.display().to_string(),
                why,
            })?;
            cfg.loaded.push(path.clone());
        }
        Ok(cfg)
    }

    /// Apply one file's text.
    pub fn apply(&mut self, text: &str) -> Result<(), String> {
        // configparser continues a value on indented lines; a closing brace at the start of a
        // line (as cpppo's README shows) belongs to the value too.
        let text: String = text
            .lines()
            .map(|l| {
                if l.starts_with('}') || l.starts_with(']') {
                    format!(" {l}\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        let opt = ParseOption {
            enabled_quote: false,
            enabled_escape: false,
            enabled_indented_mutiline_value: true,
            enabled_preserve_key_leading_whitespace: false,
        };
        let ini = Ini::load_from_str_opt(&text, opt).map_err(|e| e.to_string())?;
        for (section, props) in ini.iter() {
            let section = section.map(str::to_ascii_lowercase);
            for (key, value) in props.iter() {
                match section.as_deref() {
                    Some("tags" | "assembly" | "assemblies") => {
                        self.tags.push(format!("{}={}", key.trim(), value.trim()))
                    }
                    Some("i/o" | "io") => self.io.set(key, value.trim())?,
                    _ => self.set(key, value.trim())?,
                }
            }
        }
        Ok(())
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let bad = |what: &str| format!("{key} = {value:?}: {what}");
        let id = &mut self.device.identity;
        let num = |max: u64| {
            parse_number(value)
                .filter(|n| *n <= max)
                .ok_or_else(|| bad("not a number"))
        };
        match key.trim().to_ascii_lowercase().as_str() {
            "product name" => id.product_name = value.to_string(),
            "udt" => self.udts.push(value.to_string()),
            "defined tags" => self.defined_tags = Some(PathBuf::from(value)),
            "l5x" => self.l5x = Some(PathBuf::from(value)),
            "vendor number" => id.vendor = num(0xFFFF)? as u16,
            "device type" => id.device_type = num(0xFFFF)? as u16,
            "product code number" => id.product_code = num(0xFFFF)? as u16,
            "serial number" => id.serial = num(0xFFFF_FFFF)? as u32,
            "status word" => id.status = num(0xFFFF)? as u16,
            "state" => id.state = num(0xFF)? as u8,
            "product revision" => {
                let (major, minor) = value
                    .split_once('.')
                    .ok_or_else(|| bad("not MAJOR.MINOR"))?;
                let m = |s: &str| {
                    parse_number(s)
                        .filter(|n| *n <= 0xFF)
                        .ok_or_else(|| bad("not MAJOR.MINOR"))
                };
                id.revision = [m(major)? as u8, m(minor)? as u8];
            }
            "host name" => self.device.host_name = value.to_string(),
            "controller name" => self.device.controller_name = value.to_string(),
            "interface configuration" => self.interface(value).map_err(|w| bad(&w))?,
            "route path" => self.route_path = Some(parse_route_path(value).map_err(|w| bad(&w))?),
            "route" => {
                self.routes = crate::server::route::parse_routes(value).map_err(|w| bad(&w))?
            }
            _ => {}
        }
        Ok(())
    }

    fn interface(&mut self, value: &str) -> Result<(), String> {
        let json: serde_json::Value =
            serde_json::from_str(value).map_err(|e| format!("not JSON: {e}"))?;
        let obj = json.as_object().ok_or("not a JSON object")?;
        let i = &mut self.device.interface;
        for (k, v) in obj {
            let s = v.as_str().ok_or_else(|| format!("{k} is not a string"))?;
            let addr = || -> Result<Option<Ipv4Addr>, String> {
                if s.is_empty() {
                    return Ok(None);
                }
                s.parse()
                    .map(Some)
                    .map_err(|_| format!("{k} {s:?} is not an IPv4 address"))
            };
            match k.as_str() {
                "ip_address" => i.ip_address = addr()?,
                "network_mask" => i.network_mask = addr()?,
                "gateway_address" => i.gateway_address = addr()?,
                "dns_primary" => i.dns_primary = addr()?,
                "dns_secondary" => i.dns_secondary = addr()?,
                "domain_name" => i.domain_name = s.to_string(),
                _ => return Err(format!("unknown key {k:?}")),
            }
        }
        Ok(())
    }
}

fn port_link(port: u64, link: &serde_json::Value) -> Result<(u16, Vec<u8>), String> {
    let port = u16::try_from(port).map_err(|_| format!("port {port} too large"))?;
    let link = match link {
        serde_json::Value::Number(n) => vec![n
            .as_u64()
            .and_then(|n| u8::try_from(n).ok())
            .ok_or_else(|| format!("link {n} is not 0-255"))?],
        serde_json::Value::String(s) => link_text(s)?,
        other => return Err(format!("link {other} is not a number or address")),
    };
    Ok((port, link))
}

/// A link given as text: a number 0-255, else an IPv4 address (kept as its text, as a port
/// segment carries it); anything else (`1/x`) is refused.
pub fn link_text(s: &str) -> Result<Vec<u8>, String> {
    match parse_number(s) {
        Some(n) => u8::try_from(n)
            .map(|n| vec![n])
            .map_err(|_| format!("link {s:?} is not 0-255")),
        None if s.parse::<Ipv4Addr>().is_ok() => Ok(s.as_bytes().to_vec()),
        None => Err(format!(
            "link {s:?} is not a number 0-255 or an IPv4 address"
        )),
    }
}

fn short(s: &str) -> Result<(u16, Vec<u8>), String> {
    let (p, l) = s
        .split_once('/')
        .ok_or_else(|| format!("{s:?} is not PORT/LINK"))?;
    let port = parse_number(p)
        .and_then(|n| u16::try_from(n).ok())
        .ok_or_else(|| format!("port {p:?} is not a number"))?;
    Ok((port, link_text(l)?))
}

fn element(v: &serde_json::Value) -> Result<(u16, Vec<u8>), String> {
    match v {
        serde_json::Value::String(s) => short(s),
        serde_json::Value::Object(o) => {
            let port = o
                .get("port")
                .and_then(|p| p.as_u64())
                .ok_or("missing numeric \"port\"")?;
            port_link(port, o.get("link").ok_or("missing \"link\"")?)
        }
        other => Err(format!(
            "{other} is not PORT/LINK or {{\"port\":..,\"link\":..}}"
        )),
    }
}

/// Parse `--route-path`: `PORT/LINK`, JSON (`{"port":1,"link":0}` or a list), or
/// `false`/`0` for "only an empty route path".
pub fn parse_route_path(s: &str) -> Result<RoutePolicy, String> {
    let t = s.trim();
    if matches!(
        t.to_ascii_lowercase().as_str(),
        "false" | "0" | "[]" | "null" | "none"
    ) {
        return Ok(RoutePolicy::Exactly(Vec::new()));
    }
    if t.contains('/') && !t.starts_with(['[', '{', '"']) {
        let parts: Vec<&str> = t.split('/').collect();
        return parts
            .chunks(2)
            .map(|c| match c {
                [p, l] => short(&format!("{p}/{l}")),
                _ => Err(format!("{t:?} is not PORT/LINK[/PORT/LINK...]")),
            })
            .collect::<Result<_, _>>()
            .map(RoutePolicy::Exactly);
    }
    let json: serde_json::Value =
        serde_json::from_str(t).map_err(|e| format!("route path {t:?}: {e}"))?;
    let list = match &json {
        serde_json::Value::Array(items) => items.iter().map(element).collect::<Result<_, _>>()?,
        one => vec![element(one)?],
    };
    Ok(RoutePolicy::Exactly(list))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_paths_parse() {
        let one = RoutePolicy::Exactly(vec![(1, vec![0])]);
        assert_eq!(parse_route_path("1/0"), Ok(one.clone()));
        assert_eq!(
            parse_route_path(r#"{"port": 1, "link": 0}"#),
            Ok(one.clone())
        );
        assert_eq!(parse_route_path(r#"["1/0"]"#), Ok(one));
        assert_eq!(parse_route_path("false"), Ok(RoutePolicy::Exactly(vec![])));
        assert_eq!(
            parse_route_path("2/192.168.1.2"),
            Ok(RoutePolicy::Exactly(vec![(2, b"192.168.1.2".to_vec())]))
        );
        assert!(parse_route_path("x/0").unwrap_err().contains("\"x\""));
        assert!(parse_route_path("1/x").unwrap_err().contains("\"x\""));
    }

    #[test]
    fn tags_and_io_sections_are_read() {
        let mut c = Config::default();
        c.apply(
            "[Tags]\nInputs@4/100/3 = SINT[8]\nState = INT\n[Assembly]\nOutputs@4/150/3=SINT[8]\n\
             [I/O]\nAddress = :2223\nRPI = 0.5-100\nConnections = 8\nMulticast = 239.192.1.32\n\
             Input Only Point = 199\nListen Only Point = 0xC6\n",
        )
        .unwrap();
        assert_eq!(
            c.tags,
            [
                "Inputs@4/100/3=SINT[8]",
                "State=INT",
                "Outputs@4/150/3=SINT[8]"
            ]
        );
        assert_eq!(
            c.device.identity.state,
            DeviceConfig::default().identity.state
        );
        let rpi = cpppo_cip::io::RpiRange {
            min_us: 500,
            max_us: 100_000,
        };
        assert_eq!(
            c.io,
            IoConfig {
                address: Some(":2223".into()),
                disabled: false,
                rpi: Some(rpi),
                max_connections: Some(8),
                multicast: Some(Ipv4Addr::new(239, 192, 1, 32)),
                input_only_point: Some(199),
                listen_only_point: Some(198),
            }
        );
        c.apply("[I/O]\nAddress = none\n").unwrap();
        assert!(c.io.disabled);
        for bad in [
            "RPI = 10-1",
            "RPI = x",
            "Connections = 0",
            "Multicast = 10.0.0.1",
            "Port = 1",
        ] {
            let e = Config::default()
                .apply(&format!("[I/O]\n{bad}\n"))
                .unwrap_err();
            assert!(e.starts_with("[I/O] "), "{bad}: {e}");
        }
    }

    #[test]
    fn logix_section_is_read() {
        let mut c = Config::default();
        c.apply("[Logix]\nUDT = A{x:INT}\nDefined Tags = t.json\nL5X = p.L5X\n")
            .unwrap();
        assert_eq!(c.udts, ["A{x:INT}"]);
        assert_eq!(c.defined_tags, Some(PathBuf::from("t.json")));
        assert_eq!(c.l5x, Some(PathBuf::from("p.L5X")));
    }

    #[test]
    fn cpppo_readme_config_is_read() {
        let mut c = Config::default();
        c.apply(
            "[Identity]\n# comment\nProduct Name          = 1756-L61/C LOGIX5561\n\n[TCPIP]\nInterface Configuration = {\n    \"ip_address\":      \"192.168.0.201\",\n    \"network_mask\":    \"255.255.255.0\",\n    \"domain_name\":     \"example.com\"\n}\nHost Name              = controller\n",
        )
        .unwrap();
        assert_eq!(c.device.identity.product_name, "1756-L61/C LOGIX5561");
        assert_eq!(c.device.host_name, "controller");
        assert_eq!(
            c.device.interface.ip_address,
            Some(Ipv4Addr::new(192, 168, 0, 201))
        );
        assert_eq!(c.device.interface.domain_name, "example.com");
        let e = c
            .apply("[TCPIP]\nInterface Configuration = {\"ip_address\": \"300.1.1.1\"}\n")
            .unwrap_err();
        assert!(e.contains("300.1.1.1"), "{e}");
    }
}
