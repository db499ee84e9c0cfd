//! CIP services executed against the object model: Logix tag services, Get/Set Attribute
//! Single/All/List, Get Instance Attribute List and Multiple Service Packet.
//!
//! Connection Manager services (Unconnected Send, Forward Open/Close) change session state and
//! live in [`crate::session`].

use std::sync::Arc;

use cpppo_cip::DataType;

use crate::attribute::{encoded_len, out_of_range, Attribute};
use crate::device::{class, Device};
use cpppo_cip::epath::LogicalKind;
use cpppo_cip::{EPath, MrRequest, Segment};

use crate::wire::{put_reply_header, reply, status, Put, Reader, Status};

/// Service codes.
pub mod code {
    /// Get Attributes All.
    pub const GET_ATTRIBUTES_ALL: u8 = 0x01;
    /// Get Attribute List.
    pub const GET_ATTRIBUTE_LIST: u8 = 0x03;
    /// Set Attribute List.
    pub const SET_ATTRIBUTE_LIST: u8 = 0x04;
    /// Multiple Service Packet.
    pub const MULTIPLE_SERVICE_PACKET: u8 = 0x0A;
    /// Get Attribute Single.
    pub const GET_ATTRIBUTE_SINGLE: u8 = 0x0E;
    /// Set Attribute Single.
    pub const SET_ATTRIBUTE_SINGLE: u8 = 0x10;
    /// Read Tag.
    pub const READ_TAG: u8 = 0x4C;
    /// Write Tag.
    pub const WRITE_TAG: u8 = 0x4D;
    /// Read-Modify-Write Tag (and Forward Close on the Connection Manager).
    pub const READ_MODIFY_WRITE: u8 = 0x4E;
    /// Read Tag Fragmented (and Unconnected Send on the Connection Manager).
    pub const READ_FRAGMENTED: u8 = 0x52;
    /// Write Tag Fragmented.
    pub const WRITE_FRAGMENTED: u8 = 0x53;
    /// Forward Open.
    pub const FORWARD_OPEN: u8 = 0x54;
    /// Get Instance Attribute List.
    pub const GET_INSTANCE_ATTRIBUTE_LIST: u8 = 0x55;
    /// Large Forward Open.
    pub const LARGE_FORWARD_OPEN: u8 = 0x5B;
}

/// What a request path names.
enum Target {
    /// A tag (by name or Symbol instance) or an `@c/i/a` attribute, with an element index.
    Value(Arc<dyn Attribute>, usize),
    /// A class, maybe an instance, maybe an attribute.
    Object {
        class: u16,
        instance: Option<u32>,
        attribute: Option<u16>,
    },
}

fn unknown_tag() -> Status {
    // As a Logix controller answers: path destination unknown, one extended word 0.
    Status::ext(status::PATH_DESTINATION_UNKNOWN, 0)
}

/// A request path as the simulator reads it.
enum Seg<'a> {
    Symbol(&'a [u8]),
    Class(u32),
    Instance(u32),
    Attribute(u32),
    Element(u32),
}

fn segments<'a>(path: &EPath<'a>) -> Result<Vec<Seg<'a>>, Status> {
    path.segments()
        .map(|seg| match seg {
            Segment::Symbolic(name) => Ok(Seg::Symbol(name)),
            Segment::Logical { kind, value, .. } => match kind {
                LogicalKind::Class => Ok(Seg::Class(value)),
                LogicalKind::Instance => Ok(Seg::Instance(value)),
                LogicalKind::Attribute => Ok(Seg::Attribute(value)),
                LogicalKind::Element => Ok(Seg::Element(value)),
                _ => Err(Status::new(status::PATH_SEGMENT_ERROR)),
            },
            _ => Err(Status::new(status::PATH_SEGMENT_ERROR)),
        })
        .collect()
}

fn resolve(dev: &Device, path: &EPath<'_>) -> Result<Target, Status> {
    let segs = segments(path)?;
    let element = |rest: &[Seg<'_>]| -> Result<usize, Status> {
        match rest {
            [] => Ok(0),
            [Seg::Element(e)] => usize::try_from(*e).map_err(|_| out_of_range()),
            _ => Err(Status::new(status::PATH_SEGMENT_ERROR)),
        }
    };
    match segs.as_slice() {
        [Seg::Symbol(name), rest @ ..] => {
            if matches!(rest.first(), Some(Seg::Symbol(_))) {
                return Err(unknown_tag());
            }
            let name = std::str::from_utf8(name).map_err(|_| unknown_tag())?;
            let tag = dev.tag(name).ok_or_else(unknown_tag)?;
            Ok(Target::Value(tag.attribute.clone(), element(rest)?))
        }
        [Seg::Class(c), rest @ ..] => {
            let class =
                u16::try_from(*c).map_err(|_| Status::new(status::PATH_DESTINATION_UNKNOWN))?;
            let (instance, rest) = match rest {
                [Seg::Instance(i), rest @ ..] => (Some(*i), rest),
                _ => (None, rest),
            };
            let (attribute, rest) = match rest {
                [Seg::Attribute(a), rest @ ..] => {
                    let a = u16::try_from(*a)
                        .map_err(|_| Status::new(status::ATTRIBUTE_NOT_SUPPORTED))?;
                    (Some(a), rest)
                }
                _ => (None, rest),
            };
            let cls = dev
                .class(class)
                .ok_or_else(|| Status::new(status::PATH_DESTINATION_UNKNOWN))?;
            if let Some(i) = instance {
                // Instance 0 is the class itself (and where a tag-list upload starts).
                if i != 0 && !cls.instances.contains_key(&i) {
                    return Err(Status::new(status::OBJECT_DOES_NOT_EXIST));
                }
            }
            if !rest.is_empty() {
                let el = element(rest)?;
                return match (instance, attribute) {
                    (Some(i), Some(a)) => {
                        let attr = dev
                            .attribute(class, i, a)
                            .ok_or_else(|| Status::new(status::ATTRIBUTE_NOT_SUPPORTED))?;
                        Ok(Target::Value(attr.clone(), el))
                    }
                    (Some(i), None) if class == class::SYMBOL => {
                        let tag = dev.tag_by_symbol(i).ok_or_else(unknown_tag)?;
                        Ok(Target::Value(tag.attribute.clone(), el))
                    }
                    _ => Err(Status::new(status::PATH_SEGMENT_ERROR)),
                };
            }
            Ok(Target::Object {
                class,
                instance,
                attribute,
            })
        }
        _ => Err(Status::new(status::PATH_SEGMENT_ERROR)),
    }
}

/// For the tag services: the attribute a target names.
fn value_of(dev: &Device, target: Target) -> Result<(Arc<dyn Attribute>, usize), Status> {
    match target {
        Target::Value(a, el) => Ok((a, el)),
        Target::Object {
            class,
            instance: Some(i),
            attribute: Some(a),
        } => dev
            .attribute(class, i, a)
            .map(|a| (a.clone(), 0))
            .ok_or_else(|| Status::new(status::ATTRIBUTE_NOT_SUPPORTED)),
        Target::Object {
            class: class::SYMBOL,
            instance: Some(i),
            attribute: None,
        } => dev
            .tag_by_symbol(i)
            .map(|t| (t.attribute.clone(), 0))
            .ok_or_else(unknown_tag),
        Target::Object { .. } => Err(Status::new(status::SERVICE_NOT_SUPPORTED)),
    }
}

/// Execute one Message Router request (not a Connection Manager one); the reply is at most
/// `limit` bytes where the service allows splitting (0x06 partial transfer beyond it).
pub fn execute(dev: &Device, req: &MrRequest<'_>, limit: usize) -> Vec<u8> {
    match dispatch(dev, req, limit, 0) {
        Ok(out) => out,
        Err(st) => reply(req.service, &st),
    }
}

fn dispatch(dev: &Device, req: &MrRequest<'_>, limit: usize, depth: u8) -> Result<Vec<u8>, Status> {
    let target = resolve(dev, &req.path)?;
    match req.service {
        code::MULTIPLE_SERVICE_PACKET => match target {
            Target::Object {
                class: class::MESSAGE_ROUTER,
                instance: Some(1),
                attribute: None,
            } if depth == 0 => multiple(dev, req, limit),
            _ => Err(Status::new(status::SERVICE_NOT_SUPPORTED)),
        },
        code::GET_ATTRIBUTES_ALL => get_all(dev, req.service, target),
        code::GET_ATTRIBUTE_SINGLE => get_single(dev, req.service, target),
        code::SET_ATTRIBUTE_SINGLE => set_single(dev, req, target),
        code::GET_ATTRIBUTE_LIST => get_list(dev, req, target),
        code::SET_ATTRIBUTE_LIST => set_list(dev, req, target),
        code::GET_INSTANCE_ATTRIBUTE_LIST => instance_list(dev, req, target, limit),
        code::READ_TAG | code::READ_FRAGMENTED => {
            let (attr, el) = value_of(dev, target)?;
            read_tag(req, attr.as_ref(), el, limit)
        }
        code::WRITE_TAG | code::WRITE_FRAGMENTED => {
            let (attr, el) = value_of(dev, target)?;
            write_tag(req, attr.as_ref(), el)
        }
        code::READ_MODIFY_WRITE => {
            let (attr, el) = value_of(dev, target)?;
            read_modify_write(req, attr.as_ref(), el)
        }
        _ => Err(Status::new(status::SERVICE_NOT_SUPPORTED)),
    }
}

fn instance_of(dev: &Device, target: &Target) -> Result<(u16, u32), Status> {
    match target {
        Target::Object {
            class,
            instance: Some(i),
            attribute: None,
        } if dev
            .class(*class)
            .is_some_and(|c| c.instances.contains_key(i)) =>
        {
            Ok((*class, *i))
        }
        Target::Object {
            instance: Some(_), ..
        } => Err(Status::new(status::SERVICE_NOT_SUPPORTED)),
        Target::Object { .. } => Err(Status::new(status::PATH_DESTINATION_UNKNOWN)),
        Target::Value(..) => Err(Status::new(status::SERVICE_NOT_SUPPORTED)),
    }
}

fn read_all(attr: &dyn Attribute, out: &mut Vec<u8>) -> Result<(), Status> {
    attr.read(0, attr.len(), out)
}

fn get_all(dev: &Device, service: u8, target: Target) -> Result<Vec<u8>, Status> {
    let (c, i) = instance_of(dev, &target)?;
    let mut out = reply(service, &Status::new(0));
    let inst = dev
        .class(c)
        .and_then(|cls| cls.instances.get(&i))
        .ok_or_else(|| Status::new(status::OBJECT_DOES_NOT_EXIST))?;
    for attr in inst.attributes.values() {
        read_all(attr.as_ref(), &mut out)?;
    }
    Ok(out)
}

fn single(dev: &Device, target: Target) -> Result<Arc<dyn Attribute>, Status> {
    match target {
        Target::Object {
            class,
            instance: Some(i),
            attribute: Some(a),
        } => dev
            .attribute(class, i, a)
            .cloned()
            .ok_or_else(|| Status::new(status::ATTRIBUTE_NOT_SUPPORTED)),
        Target::Value(attr, 0) => Ok(attr),
        _ => Err(Status::new(status::PATH_SEGMENT_ERROR)),
    }
}

fn get_single(dev: &Device, service: u8, target: Target) -> Result<Vec<u8>, Status> {
    let attr = single(dev, target)?;
    let mut out = reply(service, &Status::new(0));
    read_all(attr.as_ref(), &mut out)?;
    Ok(out)
}

/// Write a whole attribute from the front of `data`; returns the bytes consumed.
fn set_whole(attr: &dyn Attribute, data: &[u8]) -> Result<usize, Status> {
    if !attr.settable() {
        return Err(Status::new(status::ATTRIBUTE_NOT_SETTABLE));
    }
    let n = encoded_len(attr.data_type(), data, attr.len())
        .ok_or_else(|| Status::new(status::NOT_ENOUGH_DATA))?;
    attr.write(0, attr.len(), data.get(..n).unwrap_or_default())?;
    Ok(n)
}

fn set_single(dev: &Device, req: &MrRequest<'_>, target: Target) -> Result<Vec<u8>, Status> {
    let attr = single(dev, target)?;
    if !attr.settable() {
        return Err(Status::new(status::ATTRIBUTE_NOT_SETTABLE));
    }
    let n = encoded_len(attr.data_type(), req.data, attr.len())
        .ok_or_else(|| Status::new(status::NOT_ENOUGH_DATA))?;
    if n < req.data.len() {
        return Err(Status::new(status::TOO_MUCH_DATA));
    }
    set_whole(attr.as_ref(), req.data)?;
    Ok(reply(req.service, &Status::new(0)))
}

fn attribute_ids(r: &mut Reader<'_>) -> Result<Vec<u16>, Status> {
    let count = r
        .u16()
        .ok_or_else(|| Status::new(status::NOT_ENOUGH_DATA))?;
    (0..count)
        .map(|_| r.u16().ok_or_else(|| Status::new(status::NOT_ENOUGH_DATA)))
        .collect()
}

fn get_list(dev: &Device, req: &MrRequest<'_>, target: Target) -> Result<Vec<u8>, Status> {
    let (c, i) = instance_of(dev, &target)?;
    let ids = attribute_ids(&mut Reader::new(req.data))?;
    let mut body = Vec::new();
    body.put_u16(ids.len() as u16);
    let mut failed = false;
    for id in ids {
        body.put_u16(id);
        let mut value = Vec::new();
        match dev.attribute(c, i, id) {
            Some(attr) => match read_all(attr.as_ref(), &mut value) {
                Ok(()) => {
                    body.put_u16(0);
                    body.extend_from_slice(&value);
                }
                Err(st) => {
                    failed = true;
                    body.put_u16(u16::from(st.general));
                }
            },
            None => {
                failed = true;
                body.put_u16(u16::from(status::ATTRIBUTE_NOT_SUPPORTED));
            }
        }
    }
    let general = if failed { 0x0A } else { 0 };
    let mut out = reply(req.service, &Status::new(general));
    out.extend_from_slice(&body);
    Ok(out)
}

fn set_list(dev: &Device, req: &MrRequest<'_>, target: Target) -> Result<Vec<u8>, Status> {
    let (c, i) = instance_of(dev, &target)?;
    let mut r = Reader::new(req.data);
    let count = r
        .u16()
        .ok_or_else(|| Status::new(status::NOT_ENOUGH_DATA))?;
    let mut body = Vec::new();
    body.put_u16(count);
    let mut failed = false;
    for _ in 0..count {
        let id = r
            .u16()
            .ok_or_else(|| Status::new(status::NOT_ENOUGH_DATA))?;
        body.put_u16(id);
        let result = match dev.attribute(c, i, id) {
            Some(attr) => {
                let rest = r.clone().rest();
                set_whole(attr.as_ref(), rest).map(|n| {
                    r.take(n);
                })
            }
            None => Err(Status::new(status::ATTRIBUTE_NOT_SUPPORTED)),
        };
        match result {
            Ok(()) => body.put_u16(0),
            Err(st) => {
                failed = true;
                body.put_u16(u16::from(st.general));
                break; // the rest of the list cannot be parsed without this value's size
            }
        }
    }
    let mut out = reply(req.service, &Status::new(if failed { 0x0A } else { 0 }));
    out.extend_from_slice(&body);
    Ok(out)
}

/// Get Instance Attribute List (0x55): for each instance from the one in the path on, its id
/// then the requested attributes, as many as fit (0x06 when more remain).
fn instance_list(
    dev: &Device,
    req: &MrRequest<'_>,
    target: Target,
    limit: usize,
) -> Result<Vec<u8>, Status> {
    let (c, start) = match target {
        Target::Object {
            class,
            instance,
            attribute: None,
        } => (class, instance.unwrap_or(0)),
        _ => return Err(Status::new(status::PATH_SEGMENT_ERROR)),
    };
    let ids = attribute_ids(&mut Reader::new(req.data))?;
    let cls = dev
        .class(c)
        .ok_or_else(|| Status::new(status::PATH_DESTINATION_UNKNOWN))?;
    let mut body = Vec::new();
    let mut partial = false;
    for (id, inst) in cls.instances.range(start.max(1)..) {
        let mut entry = Vec::new();
        entry.put_u32(*id);
        for a in &ids {
            if let Some(attr) = inst.attributes.get(a) {
                read_all(attr.as_ref(), &mut entry)?;
            }
        }
        if 4 + body.len() + entry.len() > limit {
            partial = true;
            break;
        }
        body.extend_from_slice(&entry);
    }
    if partial && body.is_empty() {
        return Err(Status::new(status::GENERAL_ERROR)); // one entry does not fit the connection
    }
    let mut out = reply(
        req.service,
        &Status::new(if partial { status::PARTIAL_TRANSFER } else { 0 }),
    );
    out.extend_from_slice(&body);
    Ok(out)
}

fn not_enough() -> Status {
    Status::new(status::NOT_ENOUGH_DATA)
}

fn check_range(attr: &dyn Attribute, start: usize, count: usize) -> Result<(), Status> {
    match start.checked_add(count) {
        Some(end) if end <= attr.len() => Ok(()),
        _ => Err(out_of_range()),
    }
}

fn read_tag(
    req: &MrRequest<'_>,
    attr: &dyn Attribute,
    start: usize,
    limit: usize,
) -> Result<Vec<u8>, Status> {
    let mut r = Reader::new(req.data);
    let count = usize::from(r.u16().ok_or_else(not_enough)?);
    let offset = if req.service == code::READ_FRAGMENTED {
        r.u32().ok_or_else(not_enough)? as usize
    } else {
        0
    };
    check_range(attr, start, count)?;
    let ty = attr.data_type();
    let mut data = Vec::new();
    attr.read(start, count, &mut data)?;
    let rest = data.get(offset..).ok_or_else(out_of_range)?;
    let size = ty.size().unwrap_or(1);
    let room = limit.saturating_sub(6) / size * size;
    let (chunk, partial) = if rest.len() > room {
        (rest.get(..room).unwrap_or_default(), true)
    } else {
        (rest, false)
    };
    let mut out = Vec::with_capacity(6 + chunk.len());
    put_reply_header(
        &mut out,
        req.service,
        &Status::new(if partial { status::PARTIAL_TRANSFER } else { 0 }),
    );
    out.put_u16(ty.code());
    out.extend_from_slice(chunk);
    Ok(out)
}

fn type_mismatch() -> Status {
    Status::ext(status::GENERAL_ERROR, status::EXT_TYPE_MISMATCH)
}

fn write_tag(req: &MrRequest<'_>, attr: &dyn Attribute, start: usize) -> Result<Vec<u8>, Status> {
    let mut r = Reader::new(req.data);
    let ty_code = r.u16().ok_or_else(not_enough)?;
    if ty_code == 0x02A0 {
        r.u16().ok_or_else(not_enough)?; // structure handle: no structures here
        return Err(type_mismatch());
    }
    let count = usize::from(r.u16().ok_or_else(not_enough)?);
    let fragmented = req.service == code::WRITE_FRAGMENTED;
    let offset = if fragmented {
        r.u32().ok_or_else(not_enough)? as usize
    } else {
        0
    };
    let ty = attr.data_type();
    if DataType::from_code(ty_code) != Some(ty) {
        return Err(type_mismatch());
    }
    if !attr.settable() {
        return Err(Status::new(status::ATTRIBUTE_NOT_SETTABLE));
    }
    check_range(attr, start, count)?;
    let payload = r.rest();
    if !fragmented {
        // Bytes after the last element are ignored (pycomm3 1.2.16 sends its request twice).
        let n = encoded_len(ty, payload, count).ok_or_else(not_enough)?;
        attr.write(start, count, payload.get(..n).unwrap_or_default())?;
    } else {
        let size = ty.size().ok_or_else(type_mismatch)?;
        if offset % size != 0 || payload.len() % size != 0 {
            return Err(Status::ext(status::GENERAL_ERROR, 0x2104));
        }
        let first = start + offset / size;
        let n = payload.len() / size;
        if first + n > start + count {
            return Err(out_of_range());
        }
        attr.write(first, n, payload)?;
    }
    Ok(reply(req.service, &Status::new(0)))
}

fn read_modify_write(
    req: &MrRequest<'_>,
    attr: &dyn Attribute,
    start: usize,
) -> Result<Vec<u8>, Status> {
    let mut r = Reader::new(req.data);
    let size = usize::from(r.u16().ok_or_else(not_enough)?);
    let or = r.take(size).ok_or_else(not_enough)?;
    let and = r.take(size).ok_or_else(not_enough)?;
    let ty = attr.data_type();
    if ty.size() != Some(size) || matches!(ty, DataType::Real | DataType::Lreal) {
        return Err(type_mismatch());
    }
    check_range(attr, start, 1)?;
    let mut value = Vec::with_capacity(size);
    attr.read(start, 1, &mut value)?;
    for ((v, o), a) in value.iter_mut().zip(or).zip(and) {
        *v = (*v | o) & a;
    }
    attr.write(start, 1, &value)?;
    Ok(reply(req.service, &Status::new(0)))
}

fn multiple(dev: &Device, req: &MrRequest<'_>, limit: usize) -> Result<Vec<u8>, Status> {
    let mut r = Reader::new(req.data);
    let count = usize::from(r.u16().ok_or_else(not_enough)?);
    let offsets: Vec<usize> = (0..count)
        .map(|_| r.u16().map(usize::from).ok_or_else(not_enough))
        .collect::<Result<_, _>>()?;
    let header = 4 + 2 + 2 * count;
    let mut replies: Vec<Vec<u8>> = Vec::with_capacity(count);
    let mut used = header;
    let mut failed = false;
    for (n, &start) in offsets.iter().enumerate() {
        let end = offsets.get(n + 1).copied().unwrap_or(req.data.len());
        let bytes = req
            .data
            .get(start..end)
            .ok_or_else(|| Status::new(status::INVALID_ATTRIBUTE_VALUE))?;
        let one = match MrRequest::parse(bytes).ok() {
            Some(embedded) => match dispatch(dev, &embedded, limit.saturating_sub(used), 1) {
                Ok(out) => out,
                Err(st) => reply(embedded.service, &st),
            },
            None => reply(0, &Status::new(status::NOT_ENOUGH_DATA)),
        };
        failed |= one.get(2).is_some_and(|&g| g != 0);
        used += one.len();
        replies.push(one);
    }
    let mut out = Vec::with_capacity(used);
    let general = if failed {
        status::EMBEDDED_SERVICE_ERROR
    } else {
        0
    };
    put_reply_header(&mut out, req.service, &Status::new(general));
    out.put_u16(count as u16);
    let mut at = 2 + 2 * count;
    for one in &replies {
        out.put_u16(u16::try_from(at).unwrap_or(u16::MAX));
        at += one.len();
    }
    for one in replies {
        out.extend_from_slice(&one);
    }
    Ok(out)
}
