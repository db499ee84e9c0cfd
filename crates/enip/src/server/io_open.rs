//! The checks a class 1 Forward Open passes before the adapter opens it, in the order a
//! refusal is reported: transport, connection path, electronic key, assemblies, configuration,
//! RPIs, network parameters, sizes. Each refusal is the Connection Manager's status (general
//! `0x01`, the extended status and any additional words), for [`super::io::IoAdapter`].

use std::sync::Arc;

use cpppo_cip::epath::ElectronicKey;
use cpppo_cip::io::{size_refusal, ConnectionType, Format, IoPath, NetworkParams, ASSEMBLY_CLASS};
use cpppo_cip::mr::status;
use cpppo_cip::services::cm::ext;
use cpppo_cip::services::ForwardOpen;
use cpppo_cip::Status;

use crate::model::attribute::Attribute;
use crate::model::device::{Device, Identity};
use crate::server::io::IoSettings;

/// The attribute of an Assembly instance that holds its data.
pub const ASSEMBLY_DATA: u16 = 3;

/// What an I/O connection does with the target's outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Exclusive Owner: writes an output assembly, reads an input assembly.
    ExclusiveOwner,
    /// Input Only: a heartbeat O→T (point 238), reads an input assembly.
    InputOnly,
    /// Listen Only: a heartbeat O→T (point 237); needs a multicast producer of its input.
    ListenOnly,
}

impl Kind {
    /// A short name for logs, metrics and the web page.
    pub fn name(self) -> &'static str {
        match self {
            Kind::ExclusiveOwner => "exclusive-owner",
            Kind::InputOnly => "input-only",
            Kind::ListenOnly => "listen-only",
        }
    }
}

/// A Forward Open that passed every check: what to open.
#[derive(Clone)]
pub struct Checked {
    /// Owner, input only or listen only.
    pub kind: Kind,
    /// The output assembly instance (Exclusive Owner only) and its data attribute.
    pub output: Option<(u32, Arc<dyn Attribute>)>,
    /// The input assembly instance and its data attribute.
    pub input: (u32, Arc<dyn Attribute>),
    /// O→T real-time format (run/idle header for an owner; a heartbeat's as sized).
    pub o_t_format: Format,
    /// T→O real-time format: [`Format::Modeless`], or [`Format::Class0`] for transport class 0.
    pub t_o_format: Format,
    /// Bytes of output data (0 for a heartbeat).
    pub output_len: usize,
    /// Whether T→O is multicast.
    pub multicast: bool,
}

fn refuse(ext: u16) -> Status {
    Status::ext(status::CONNECTION_FAILURE, ext)
}

/// The Assembly data attribute of `instance`, and its size in bytes.
pub fn assembly(dev: &Device, instance: u32) -> Option<(Arc<dyn Attribute>, usize)> {
    let attr = dev.attribute(ASSEMBLY_CLASS, instance, ASSEMBLY_DATA)?;
    let mut buf = Vec::new();
    attr.peek(0, attr.len(), &mut buf).ok()?;
    Some((attr.clone(), buf.len()))
}

/// The electronic key checked against the Identity: zero fields match anything; with the
/// compatibility bit a lower minor revision is accepted.
pub fn check_key(key: &ElectronicKey, id: &Identity) -> Result<(), Status> {
    let differs = |want: u16, have: u16| want != 0 && want != have;
    if differs(key.vendor, id.vendor) || differs(key.product_code, id.product_code) {
        return Err(refuse(ext::KEY_PRODUCT_MISMATCH));
    }
    if differs(key.device_type, id.device_type) {
        return Err(refuse(ext::KEY_DEVICE_TYPE_MISMATCH));
    }
    let major = key.major & 0x7F;
    let compatible = key.major & 0x80 != 0;
    let [have_major, have_minor] = id.revision;
    let major_ok = major == 0 || major == have_major;
    let minor_ok =
        key.minor == 0 || key.minor == have_minor || (compatible && key.minor <= have_minor);
    if !(major_ok && minor_ok) {
        return Err(refuse(ext::KEY_REVISION_MISMATCH));
    }
    Ok(())
}

/// Every check of a class 1 (or class 0 Input Only) Forward Open but those that depend on the connections already
/// open (duplicates, ownership, a Listen Only's producer, the connection limit).
pub fn check(dev: &Device, fo: &ForwardOpen<'_>, settings: &IoSettings) -> Result<Checked, Status> {
    let rpi = &settings.rpi;
    let transport = fo.transport_class();
    if transport.class > 1 || transport.server {
        return Err(refuse(ext::TRANSPORT_NOT_SUPPORTED));
    }
    let class0 = transport.class == 0;
    let path = IoPath::parse(&fo.connection_path).map_err(|_| refuse(ext::INVALID_SEGMENT))?;
    if let Some(key) = &path.key {
        check_key(key, dev.identity())?;
    }
    if path.class != ASSEMBLY_CLASS {
        return Err(refuse(ext::INVALID_APPLICATION_PATH));
    }
    let kind = match path.o_t {
        p if p == settings.input_only_point => Kind::InputOnly,
        p if p == settings.listen_only_point => Kind::ListenOnly,
        _ => Kind::ExclusiveOwner,
    };
    // Class 0 (no sequence counts) only for Input Only: an owner's outputs need them.
    if class0 && kind != Kind::InputOnly {
        return Err(refuse(ext::TRANSPORT_NOT_SUPPORTED));
    }
    let (input, input_len) =
        assembly(dev, path.t_o).ok_or(refuse(ext::INVALID_APPLICATION_PATH))?;
    let output = match kind {
        Kind::ExclusiveOwner => Some(
            assembly(dev, path.o_t)
                .map(|(a, n)| ((path.o_t, a), n))
                .ok_or(refuse(ext::INVALID_APPLICATION_PATH))?,
        ),
        _ => None,
    };
    if !rpi.contains(fo.o_t_rpi) || !rpi.contains(fo.t_o_rpi) {
        return Err(rpi.refusal());
    }
    let (o_t, t_o) = (fo.o_t_network(), fo.t_o_network());
    let multicast = match t_o.kind {
        ConnectionType::PointToPoint => false,
        ConnectionType::Multicast => true,
        _ => return Err(refuse(ext::INVALID_NETWORK_PARAMETER)),
    };
    if kind == Kind::ListenOnly && !multicast {
        return Err(refuse(ext::NO_OWNING_CONNECTION));
    }
    if o_t.kind != ConnectionType::PointToPoint {
        return Err(refuse(ext::INVALID_NETWORK_PARAMETER));
    }
    let output_len = output.as_ref().map_or(0, |(_, n)| *n);
    let (o_t_format, t_o_format) = match class0 {
        // A class 0 heartbeat is empty.
        true if o_t.size == 0 => (Format::Class0, Format::Class0),
        true => return Err(size_refusal(0)),
        false => (o_t_format(kind, &o_t, output_len)?, Format::Modeless),
    };
    check_size(&t_o, t_o_format.connection_size(input_len))?;
    configure(dev, &path)?;
    Ok(Checked {
        kind,
        output: output.map(|(o, _)| o),
        input: (path.t_o, input),
        o_t_format,
        t_o_format,
        output_len,
        multicast,
    })
}

/// The O→T format: an owner's carries the run/idle header and must be sized for it; a
/// heartbeat is accepted with or without the header (2 or 6 bytes; 0 as some scanners send).
fn o_t_format(kind: Kind, o_t: &NetworkParams, output_len: usize) -> Result<Format, Status> {
    if kind != Kind::ExclusiveOwner {
        return match o_t.size {
            0 | 2 => Ok(Format::Modeless),
            6 => Ok(Format::RunIdle),
            _ => Err(size_refusal(6)),
        };
    }
    check_size(o_t, Format::RunIdle.connection_size(output_len))?;
    Ok(Format::RunIdle)
}

fn check_size(p: &NetworkParams, exact: usize) -> Result<(), Status> {
    if p.fits(exact) && (!p.variable || usize::from(p.size) >= 2) {
        return Ok(());
    }
    Err(size_refusal(u16::try_from(exact).unwrap_or(u16::MAX)))
}

/// Configuration data, when sent, is written to the configuration assembly (whose size it
/// must match); a configuration point without data is accepted whether or not it exists.
fn configure(dev: &Device, path: &IoPath<'_>) -> Result<(), Status> {
    let (Some(instance), Some(data)) = (path.config, path.data) else {
        return Ok(());
    };
    let bad = refuse(ext::INVALID_CONFIGURATION_PATH);
    let (attr, len) = assembly(dev, instance).ok_or(bad)?;
    if data.len() != len || !attr.settable() {
        return Err(bad);
    }
    attr.write(0, attr.len(), data).map_err(|_| bad)
}
