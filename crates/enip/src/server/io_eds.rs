//! An EDS (Electronic Data Sheet) for a device's assemblies, so engineering tools (Studio 5000,
//! EDS-aware scanners) can add the simulator as a class 1 adapter.
//!
//! The file holds `[File]`, `[Device]` (from the Identity object), `[Device Classification]`,
//! `[Params]` (the RPI range), `[Assembly]` (one `AssemN` per assembly tag) and
//! `[Connection Manager]` with up to three connections: Exclusive Owner (output + input
//! [+ config]), Input Only (heartbeat point 238) and Listen Only (237), as the adapter
//! accepts them.
//!
//! Roles come from the tag names: the first assembly named `In…` is the input, `Out…` the
//! output, `Conf…`/`Cfg…` the configuration; without such names, the assemblies in declaration
//! order are input, output, configuration.

use std::fmt::Write as _;

use crate::model::device::{Device, Identity};
use crate::server::io::IoSettings;

/// One assembly as the EDS describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdsAssembly {
    /// The tag name.
    pub name: String,
    /// The Assembly object instance.
    pub instance: u32,
    /// Its data size, bytes.
    pub size: usize,
}

/// The assemblies the connections use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roles {
    /// T→O data.
    pub input: Option<EdsAssembly>,
    /// O→T data.
    pub output: Option<EdsAssembly>,
    /// Configuration data.
    pub config: Option<EdsAssembly>,
}

/// The device's assembly (class 4, attribute 3) tags, in declaration order.
pub fn assemblies(device: &Device) -> Vec<EdsAssembly> {
    device
        .tags()
        .filter_map(|t| {
            let a = t.address.filter(|a| a.class == 4 && a.attribute == 3)?;
            let mut bytes = Vec::new();
            t.attribute.peek(0, t.attribute.len(), &mut bytes).ok()?;
            Some(EdsAssembly {
                name: t.name.clone(),
                instance: a.instance,
                size: bytes.len(),
            })
        })
        .collect()
}

/// Input, output and configuration assemblies among `all` (see the module documentation).
pub fn roles(all: &[EdsAssembly]) -> Roles {
    let named = |prefixes: &[&str]| {
        all.iter()
            .find(|a| {
                let n = a.name.to_ascii_lowercase();
                prefixes.iter().any(|p| n.starts_with(p))
            })
            .cloned()
    };
    let by_name = Roles {
        input: named(&["in"]),
        output: named(&["out"]),
        config: named(&["conf", "cfg"]),
    };
    if by_name != Roles::default() {
        return by_name;
    }
    Roles {
        input: all.first().cloned(),
        output: all.get(1).cloned(),
        config: all.get(2).cloned(),
    }
}

/// The EDS text for `device`'s identity and assemblies, for an adapter with `settings`
/// (its RPI range and heartbeat points), dated now.
pub fn device_eds(device: &Device, settings: &IoSettings) -> String {
    eds(
        device.identity(),
        &assemblies(device),
        settings,
        jiff::Timestamp::now(),
    )
}

/// The EDS text for `identity` and `all` assemblies, for an adapter with `settings` (its
/// RPI range and heartbeat points); dated `now`.
pub fn eds(
    identity: &Identity,
    all: &[EdsAssembly],
    settings: &IoSettings,
    now: jiff::Timestamp,
) -> String {
    let rpi = settings.rpi;
    let mut out = String::new();
    let q = quote;
    let _ = write!(
        out,
        "$ Electronic Data Sheet written by cpppo-rs for its simulated device\n\n\
         [File]\n\
         \tDescText = {};\n\tCreateDate = {};\n\tCreateTime = {};\n\tRevision = 1.0;\n\n\
         [Device]\n\
         \tVendCode = {};\n\tVendName = \"cpppo-rs\";\n\tProdType = {};\n\
         \tProdTypeStr = \"Generic Device\";\n\tProdCode = {};\n\tMajRev = {};\n\tMinRev = {};\n\
         \tProdName = {};\n\tCatalog = {};\n\n\
         [Device Classification]\n\tClass1 = EtherNetIP;\n\n\
         [Params]\n\
         \tParam1 = 0, , , 0x0000, 0xC8, 4, \"RPI\", \"microsecond\", \
         \"Requested packet interval\", {}, {}, {}, , , , , , , , , ;\n\n",
        q(&format!("{} class 1 I/O adapter", identity.product_name)),
        now.strftime("%m-%d-%Y"),
        now.strftime("%H:%M:%S"),
        identity.vendor,
        identity.device_type,
        identity.product_code,
        identity.revision[0],
        identity.revision[1],
        q(&identity.product_name),
        q(&identity.product_name),
        rpi.min_us,
        rpi.max_us,
        rpi.min_us.max(10_000).min(rpi.max_us),
    );
    out.push_str("[Assembly]\n\tObject_Name = \"Assembly Object\";\n\tObject_Class_Code = 0x04;\n");
    for a in all {
        let _ = writeln!(
            out,
            "\tAssem{} = {}, \"20 04 {} 30 03\", {}, 0x0000, , , {}, ;",
            a.instance,
            q(&a.name),
            segment(INSTANCE, a.instance),
            a.size,
            a.size * 8,
        );
    }
    out.push_str(
        "\n[Connection Manager]\n\tObject_Name = \"Connection Manager Object\";\n\
         \tObject_Class_Code = 0x06;\n",
    );
    let r = roles(all);
    let Some(input) = &r.input else {
        return out;
    };
    let config = r.config.as_ref();
    let mut n = 0;
    let mut conn = |out: &mut String, kind: Kind, o_t: Option<&EdsAssembly>| {
        n += 1;
        connection(out, n, kind, o_t, input, config);
    };
    if let Some(o) = &r.output {
        conn(&mut out, Kind::Owner, Some(o));
    }
    conn(&mut out, Kind::InputOnly(settings.input_only_point), None);
    conn(&mut out, Kind::ListenOnly(settings.listen_only_point), None);
    out
}

#[derive(Clone, Copy)]
enum Kind {
    Owner,
    /// With its O→T heartbeat point.
    InputOnly(u32),
    /// With its O→T heartbeat point.
    ListenOnly(u32),
}

/// `ConnectionN`: trigger and transport, parameters, O→T and T→O (RPI, size, format), the
/// configuration, name, help and path.
fn connection(
    out: &mut String,
    n: usize,
    kind: Kind,
    o_t: Option<&EdsAssembly>,
    input: &EdsAssembly,
    config: Option<&EdsAssembly>,
) {
    // Trigger/transport: application type (bit 24 listen only, 25 input only, 26 exclusive
    // owner), cyclic (bit 16), class 1 (bit 1). Parameters: fixed sizes both ways (bits 0, 2);
    // O→T format (bits 8-11: 4 run/idle header, 3 heartbeat); O→T point-to-point (bit 18);
    // T→O multicast (bit 21) and/or point-to-point (bit 22); scheduled priority both ways.
    let (transport, params, name, point) = match kind {
        Kind::Owner => (0x0401_0002u32, 0x4464_0405u32, "Exclusive Owner", None),
        Kind::InputOnly(point) => (0x0201_0002, 0x4464_0305, "Input Only", Some(point)),
        Kind::ListenOnly(point) => (0x0101_0002, 0x4424_0305, "Listen Only", Some(point)),
    };
    let (o_t_size, o_t_format, o_t_point) = match o_t {
        Some(o) => (o.size, format!("Assem{}", o.instance), o.instance),
        None => (0, String::new(), point.unwrap_or_default()),
    };
    let (cfg_size, cfg_format, cfg_point) = match config {
        Some(c) => (c.size, format!("Assem{}", c.instance), c.instance),
        None => (0, String::new(), 1),
    };
    let _ = write!(
        out,
        "\tConnection{n} =\n\t\t0x{transport:08X}, 0x{params:08X},\n\
         \t\tParam1, {o_t_size}, {o_t_format},\n\
         \t\tParam1, {}, Assem{},\n\
         \t\t, ,\n\t\t{cfg_size}, {cfg_format},\n\
         \t\t\"{name}\", \"\",\n\t\t\"20 04 {} {} {}\";\n",
        input.size,
        input.instance,
        segment(INSTANCE, cfg_point),
        segment(POINT, o_t_point),
        segment(POINT, input.instance),
    );
}

/// The 8-bit instance segment type (the 16-bit one is the next value, padded).
const INSTANCE: u8 = 0x24;
/// The 8-bit connection point segment type.
const POINT: u8 = 0x2C;

/// A logical segment `ty` (8-bit form) for `v` as EDS path hex: `24 64`, or the 16-bit form
/// `25 00 34 12` when `v` does not fit a byte.
fn segment(ty: u8, v: u32) -> String {
    match u8::try_from(v) {
        Ok(b) => format!("{ty:02X} {b:02X}"),
        Err(_) => {
            let [lo, hi, ..] = v.to_le_bytes();
            format!("{:02X} 00 {lo:02X} {hi:02X}", ty + 1)
        }
    }
}

/// An EDS string: double-quoted, quotes and backslashes escaped, control characters dropped.
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars().filter(|c| !c.is_control()) {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asm(name: &str, instance: u32, size: usize) -> EdsAssembly {
        EdsAssembly {
            name: name.into(),
            instance,
            size,
        }
    }

    #[test]
    fn roles_by_name_else_by_order() {
        let named = [
            asm("Config", 1, 4),
            asm("Outputs", 150, 8),
            asm("Inputs", 100, 8),
        ];
        let r = roles(&named);
        assert_eq!(r.input.map(|a| a.instance), Some(100));
        assert_eq!(r.output.map(|a| a.instance), Some(150));
        assert_eq!(r.config.map(|a| a.instance), Some(1));
        let plain = [asm("A", 101, 2), asm("B", 102, 2)];
        let r = roles(&plain);
        assert_eq!(r.input.map(|a| a.instance), Some(101));
        assert_eq!(r.output.map(|a| a.instance), Some(102));
        assert_eq!(r.config, None);
    }

    #[test]
    fn paths_use_8_bit_segments_when_they_fit() {
        assert_eq!(segment(INSTANCE, 100), "24 64");
        assert_eq!(segment(POINT, 0x1234), "2D 00 34 12");
        assert_eq!(quote("a\"b\n"), "\"a\\\"b\"");
    }
}
