//! CIP services executed against the object model: Logix tag services, Get/Set Attribute
//! Single/All/List, Get Instance Attribute List and Multiple Service Packet.
//!
//! The request data is decoded once by the codec ([`Service::parse_lenient`]: what a Logix
//! controller accepts); this module only checks it against the device and answers.
//! Connection Manager services (Unconnected Send, Forward Open/Close) change session state and
//! live in [`crate::server::session`]. Every service answers with the codec's reply types: a
//! [`Reply`] (status and [`ReplyBody`], its data borrowed from a scratch buffer) or the
//! [`Status`] to answer with instead.

use std::sync::Arc;

use cpppo_cip::mr::{status, Payload};
use cpppo_cip::server::{append, AttributeEntry, Status};
use cpppo_cip::services::{class, ReadModifyWrite, ReplyBody, SetAttributeList, TagData};
use cpppo_cip::services::{code, AttributeIds, AttributeListReply, MspRequest, MspWriter};
use cpppo_cip::services::{WriteTag, WriteTagFragmented};
use cpppo_cip::value::elements_len;
use cpppo_cip::{DataType, Error as CodecError, Reply, Service, TagType};

use crate::model::attribute::{out_of_range, Attribute};
use crate::model::device::Device;
use crate::server::logix;
use cpppo_cip::epath::LogicalKind;
use cpppo_cip::{EPath, MrRequest, Segment};

/// A reply (its data borrowed from the caller's scratch buffer), or the status to answer with
/// instead.
type Answer<'s> = Result<Reply<'s>, Status>;

/// General status of a Get/Set Attribute List reply when an attribute failed.
const ATTRIBUTE_LIST_ERROR: u8 = 0x0A;

/// What a request path names.
enum Target {
    /// A tag (by name or Symbol instance) or an `@c/i/a` attribute, with an element index.
    Value(Arc<dyn Attribute>, usize),
    /// Elements inside a Logix structure tag (a member, a slice, a BOOL member).
    Data(logix::tag_path::DataTarget),
    /// A program's Symbol instances, from the one given (`Program:NAME` + class 0x6B).
    ProgramSymbols(String, u32),
    /// A class, maybe an instance, maybe an attribute.
    Object {
        class: u32,
        instance: Option<u32>,
        attribute: Option<u16>,
    },
}

fn unknown_tag() -> Status {
    // As a Logix controller answers: path destination unknown, one extended word 0.
    Status::ext(status::PATH_DESTINATION_UNKNOWN, 0)
}

/// A request path as the simulator reads it.
#[derive(Clone, Copy)]
enum Seg<'a> {
    Symbol(&'a [u8]),
    Class(u32),
    Instance(u32),
    Attribute(u32),
    Element(u32),
}

fn seg(seg: Segment<'_>) -> Result<Seg<'_>, Status> {
    match seg {
        Segment::Symbolic(name) => Ok(Seg::Symbol(name)),
        Segment::Logical { kind, value, .. } => match kind {
            LogicalKind::Class => Ok(Seg::Class(value)),
            LogicalKind::Instance => Ok(Seg::Instance(value)),
            LogicalKind::Attribute => Ok(Seg::Attribute(value)),
            LogicalKind::Element => Ok(Seg::Element(value)),
            _ => Err(Status::new(status::PATH_SEGMENT_ERROR)),
        },
        _ => Err(Status::new(status::PATH_SEGMENT_ERROR)),
    }
}

/// Segments kept on the stack: a path the object model resolves has at most four, so only
/// paths that end in an error ever go to the heap (this runs for every request).
const INLINE_SEGMENTS: usize = 6;

fn resolve(dev: &Device, path: &EPath<'_>) -> Result<Target, Status> {
    let mut inline = [Seg::Element(0); INLINE_SEGMENTS];
    let (mut n, mut heap) = (0, Vec::new());
    for s in path.segments() {
        let s = seg(s)?;
        match inline.get_mut(n) {
            Some(slot) => *slot = s,
            None => {
                if heap.is_empty() {
                    heap.extend_from_slice(&inline);
                }
                heap.push(s);
            }
        }
        n += 1;
    }
    let segs = if heap.is_empty() {
        inline.get(..n).unwrap_or_default()
    } else {
        &heap
    };
    resolve_segments(dev, segs)
}

fn resolve_segments(dev: &Device, segs: &[Seg<'_>]) -> Result<Target, Status> {
    let element = |rest: &[Seg<'_>]| -> Result<usize, Status> {
        match rest {
            [] => Ok(0),
            [Seg::Element(e)] => usize::try_from(*e).map_err(|_| out_of_range()),
            _ => Err(Status::new(status::PATH_SEGMENT_ERROR)),
        }
    };
    match segs {
        [Seg::Symbol(name), rest @ ..] => {
            let name = std::str::from_utf8(name).map_err(|_| unknown_tag())?;
            let Some(tag) = dev.tag(name) else {
                return program_path(dev, name, rest);
            };
            if tag.layout.is_some() || rest.len() > 1 || matches!(rest, [Seg::Symbol(_)]) {
                return logix_path(tag, rest);
            }
            Ok(Target::Value(tag.attribute.clone(), element(rest)?))
        }
        [Seg::Class(class::SYMBOL), Seg::Instance(i), rest @ ..]
            if !matches!(rest.first(), Some(Seg::Attribute(_)))
                && dev.tag_by_symbol(*i).is_some_and(|t| t.layout.is_some()) =>
        {
            let tag = dev.tag_by_symbol(*i).ok_or_else(unknown_tag)?;
            logix_path(tag, rest)
        }
        [Seg::Class(c), rest @ ..] => {
            // A class the device lacks (any beyond 16 bits) is an unknown destination.
            let class = *c;
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

/// A path into a tag with a Logix shape (or with member names).
fn logix_path(tag: &crate::model::device::Tag, rest: &[Seg<'_>]) -> Result<Target, Status> {
    let steps = rest
        .iter()
        .map(|s| match s {
            Seg::Element(e) => Ok(logix::tag_path::Step::Element(*e)),
            Seg::Symbol(m) => Ok(logix::tag_path::Step::Member(m)),
            _ => Err(Status::new(status::PATH_SEGMENT_ERROR)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    match logix::tag_path::resolve(tag, &steps)? {
        logix::tag_path::Resolved::Flat(i) => Ok(Target::Value(tag.attribute.clone(), i)),
        logix::tag_path::Resolved::Data(d) => Ok(Target::Data(d)),
    }
}

/// `Program:NAME` then a tag of that program (and maybe more), or then the Symbol class.
fn program_path(dev: &Device, name: &str, rest: &[Seg<'_>]) -> Result<Target, Status> {
    let program = crate::model::logix::program_prefix(name).ok_or_else(unknown_tag)?;
    match rest {
        [Seg::Symbol(tag), more @ ..] => {
            let tag = std::str::from_utf8(tag).map_err(|_| unknown_tag())?;
            let full = format!("Program:{program}.{tag}");
            let tag = dev.tag(&full).ok_or_else(unknown_tag)?;
            logix_path(tag, more)
        }
        [Seg::Class(class::SYMBOL), more @ ..] if dev.program_named(program).is_some() => {
            let start = match more {
                [] => 0,
                [Seg::Instance(i)] => *i,
                _ => return Err(Status::new(status::PATH_SEGMENT_ERROR)),
            };
            Ok(Target::ProgramSymbols(program.to_string(), start))
        }
        _ => Err(unknown_tag()),
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
        Target::Object { .. } | Target::Data(_) | Target::ProgramSymbols(..) => {
            Err(Status::new(status::SERVICE_NOT_SUPPORTED))
        }
    }
}

/// Execute one Message Router request (not a Connection Manager one); the reply is at most
/// `limit` bytes where the service allows splitting (0x06 partial transfer beyond it).
pub fn execute(dev: &Device, req: &MrRequest<'_>, limit: usize) -> Vec<u8> {
    // Room for a typical reply at once. The reply data is built in this thread's scratch
    // buffer, kept between calls as a session keeps its own.
    let mut out = Vec::with_capacity(TYPICAL_REPLY);
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut scratch) => {
            answer(dev, req, limit, &mut scratch, &mut out);
            if scratch.capacity() > SCRATCH_KEPT {
                *scratch = Vec::with_capacity(TYPICAL_REPLY);
            }
        }
        // Only a re-entrant call (an attribute's own code executing a request) gets here.
        Err(_) => {
            answer(dev, req, limit, &mut Vec::new(), &mut out);
        }
    });
    out
}

thread_local! {
    /// [`execute`]'s reply-data buffer (empty between calls).
    static SCRATCH: std::cell::RefCell<Vec<u8>> =
        std::cell::RefCell::new(Vec::with_capacity(TYPICAL_REPLY));
}

/// Bytes [`execute`] reserves for a reply and its data before it knows their size.
const TYPICAL_REPLY: usize = 64;

/// The largest scratch buffer [`execute`] keeps for its thread's next call (one large reply
/// must not pin its buffer for the thread's life).
const SCRATCH_KEPT: usize = 64 * 1024;

/// Execute one Message Router request (not a Connection Manager one) and append its reply to
/// `out`; returns the reply's status. `scratch` (left as it was found, empty) holds the reply
/// data while it is built.
pub fn answer(
    dev: &Device,
    req: &MrRequest<'_>,
    limit: usize,
    scratch: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> Status {
    respond(dev, req, limit, 0, scratch, out)
}

fn respond(
    dev: &Device,
    req: &MrRequest<'_>,
    limit: usize,
    depth: u8,
    scratch: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> Status {
    let answer = dispatch(dev, req, limit, depth, scratch);
    let st = put_answer(out, answer, req.service);
    scratch.clear();
    st
}

/// Append the reply to `service` that `answer` says; returns its status.
fn put_answer(out: &mut Vec<u8>, answer: Answer<'_>, service: u8) -> Status {
    match answer {
        Ok(reply) => put(out, &reply, Status::new(reply.general_status), service),
        Err(st) => put(out, &st.reply(service), st, service),
    }
}

/// A Read Tag [Fragmented] of a plain (non-structure) tag or attribute, as [`answer`] decodes
/// it from a request: which attribute, from which element, how many, from which byte. The
/// object model's shape never changes while it is served, so a session that sees the same
/// request bytes again answers them from here without decoding them again; the value is read
/// afresh (through the attribute's hooks) every time.
#[derive(Clone)]
pub(crate) struct PlainRead {
    attr: Arc<dyn Attribute>,
    start: usize,
    elements: u16,
    offset: u32,
    service: u8,
}

impl PlainRead {
    /// What `req` reads, when it is a Read Tag [Fragmented] of a plain tag or attribute whose
    /// path and data decode (`None` for anything else, errors included).
    pub(crate) fn of(dev: &Device, req: &MrRequest<'_>) -> Option<Self> {
        if !matches!(req.service, code::READ_TAG | code::READ_TAG_FRAGMENTED) {
            return None;
        }
        let target = resolve(dev, &req.path).ok()?;
        if is_logix(&target, req.service) {
            return None;
        }
        let (elements, offset) = match Service::parse_lenient(None, req.service, req.data).ok()? {
            Service::ReadTag(r) => (r.elements, 0),
            Service::ReadTagFragmented(r) => (r.elements, r.offset),
            _ => return None,
        };
        let (attr, start) = value_of(dev, target).ok()?;
        Some(PlainRead {
            attr,
            start,
            elements,
            offset,
            service: req.service,
        })
    }

    /// The service it answers (Read Tag or Read Tag Fragmented).
    pub(crate) fn service(&self) -> u8 {
        self.service
    }

    /// Read and append the reply, as [`answer`] does for the request it came from.
    pub(crate) fn answer(&self, limit: usize, scratch: &mut Vec<u8>, out: &mut Vec<u8>) -> Status {
        let range = (self.elements, self.offset);
        let read = read_tag(
            self.service,
            self.attr.as_ref(),
            self.start,
            range,
            limit,
            scratch,
        );
        let st = put_answer(out, read, self.service);
        scratch.clear();
        st
    }
}

/// Append `reply` (whose status is `st`) to `out`; returns `st`, or the general error answered
/// instead when the reply cannot be emitted.
fn put(out: &mut Vec<u8>, reply: &impl Payload, st: Status, service: u8) -> Status {
    if append(out, reply).is_ok() {
        return st;
    }
    let failed = Status::new(status::GENERAL_ERROR);
    let _ = append(out, &failed.reply(service)); // a bare header always fits
    failed
}

fn dispatch<'s>(
    dev: &Device,
    req: &MrRequest<'_>,
    limit: usize,
    depth: u8,
    scratch: &'s mut Vec<u8>,
) -> Answer<'s> {
    let target = resolve(dev, &req.path)?;
    if is_logix(&target, req.service) {
        return logix_dispatch(dev, req, &target, limit, scratch);
    }
    // No class: the Connection Manager's own services never get here (the session takes them).
    let service = match Service::parse_lenient(None, req.service, req.data) {
        Ok(service) => service,
        Err(e) => return Err(undecodable(dev, req, target, depth, &e)),
    };
    let sc = req.service;
    match service {
        Service::MultipleServicePacket(msp) => {
            router(&target, depth)?;
            multiple(dev, sc, msp, limit, scratch)
        }
        Service::GetAttributesAll(_) => get_all(dev, sc, target, scratch),
        Service::GetAttributeSingle(_) => get_single(dev, sc, target, scratch),
        Service::SetAttributeSingle(data) => set_single(dev, sc, data, target),
        Service::GetAttributeList(ids) => get_list(dev, sc, ids, target, scratch),
        Service::SetAttributeList(list) => set_list(dev, sc, list, target, scratch),
        Service::GetInstanceAttributeList(ids) => {
            instance_list(dev, sc, ids, target, limit, scratch)
        }
        Service::ReadTag(r) => {
            let (attr, el) = value_of(dev, target)?;
            read_tag(sc, attr.as_ref(), el, (r.elements, 0), limit, scratch)
        }
        Service::ReadTagFragmented(r) => {
            let (attr, el) = value_of(dev, target)?;
            read_tag(
                sc,
                attr.as_ref(),
                el,
                (r.elements, r.offset),
                limit,
                scratch,
            )
        }
        Service::WriteTag(w) => {
            let (attr, el) = value_of(dev, target)?;
            write_tag(sc, attr.as_ref(), el, w)
        }
        Service::WriteTagFragmented(w) => {
            let (attr, el) = value_of(dev, target)?;
            write_fragment(sc, attr.as_ref(), el, w)
        }
        Service::ReadModifyWrite(m) => {
            let (attr, el) = value_of(dev, target)?;
            read_modify_write(sc, attr.as_ref(), el, m)
        }
        _ => Err(Status::new(status::SERVICE_NOT_SUPPORTED)),
    }
}

/// Whether [`logix_dispatch`] answers: Read Template, the tag services inside structures, a
/// program's symbol list.
fn is_logix(target: &Target, service: u8) -> bool {
    match target {
        Target::Object {
            class: class::TEMPLATE,
            instance: Some(_),
            attribute: None,
        } => service == code::READ_TAG,
        Target::Data(_) | Target::ProgramSymbols(..) => true,
        _ => false,
    }
}

/// The Logix services that are not on a plain tag or object (see [`is_logix`]).
fn logix_dispatch<'s>(
    dev: &Device,
    req: &MrRequest<'_>,
    target: &Target,
    limit: usize,
    scratch: &'s mut Vec<u8>,
) -> Answer<'s> {
    let sc = req.service;
    match target {
        Target::Object {
            instance: Some(i), ..
        } => logix::template::read(dev, sc, *i, req.data, limit, scratch),
        Target::Data(t) => match Service::parse_lenient(None, sc, req.data) {
            Ok(Service::ReadTag(r)) => logix::data::read(sc, t, (r.elements, 0), limit, scratch),
            Ok(Service::ReadTagFragmented(r)) => {
                logix::data::read(sc, t, (r.elements, r.offset), limit, scratch)
            }
            Ok(Service::WriteTag(w)) => logix::data::write(sc, t, w),
            Ok(Service::WriteTagFragmented(w)) => logix::data::write_fragment(sc, t, w),
            Ok(_) => Err(Status::new(status::SERVICE_NOT_SUPPORTED)),
            Err(_) => Err(not_enough()),
        },
        Target::ProgramSymbols(program, start) => {
            match Service::parse_lenient(None, sc, req.data) {
                Ok(Service::GetInstanceAttributeList(ids)) => {
                    let p = dev
                        .program_named(program)
                        .ok_or_else(|| Status::new(status::PATH_DESTINATION_UNKNOWN))?;
                    logix::symbol::list(&p.symbols.instances, sc, ids, *start, limit, scratch)
                }
                Ok(_) => Err(Status::new(status::SERVICE_NOT_SUPPORTED)),
                Err(_) => Err(not_enough()),
            }
        }
        _ => Err(Status::new(status::SERVICE_NOT_SUPPORTED)),
    }
}

/// A successful reply to `service` without data.
fn done<'s>(service: u8) -> Answer<'s> {
    Ok(Reply::new(service, status::SUCCESS, ReplyBody::Data(&[])))
}

/// The answer to a request whose data the codec could not decode: the service's own check of
/// the path comes first (as for a decoded one), then what was wrong with the data.
fn undecodable(
    dev: &Device,
    req: &MrRequest<'_>,
    target: Target,
    depth: u8,
    e: &CodecError,
) -> Status {
    let path = match req.service {
        code::MULTIPLE_SERVICE_PACKET => router(&target, depth),
        code::GET_ATTRIBUTE_LIST | code::SET_ATTRIBUTE_LIST => instance_of(dev, &target).map(drop),
        code::GET_INSTANCE_ATTRIBUTE_LIST => class_from(&target).map(drop),
        _ => value_of(dev, target).map(drop), // the tag services
    };
    if let Err(st) = path {
        return st;
    }
    match (req.service, e) {
        (code::MULTIPLE_SERVICE_PACKET, CodecError::Malformed(_)) => {
            Status::new(status::INVALID_ATTRIBUTE_VALUE) // offsets out of order or past the end
        }
        // No structures here: a structure write is refused whatever follows its handle.
        (code::WRITE_TAG | code::WRITE_TAG_FRAGMENTED, _)
            if matches!(TagType::parse(req.data), Ok((TagType::Struct(_), _))) =>
        {
            type_mismatch()
        }
        _ => not_enough(),
    }
}

/// Multiple Service Packet goes to the Message Router instance, and does not nest.
fn router(target: &Target, depth: u8) -> Result<(), Status> {
    match target {
        Target::Object {
            class: class::MESSAGE_ROUTER,
            instance: Some(1),
            attribute: None,
        } if depth == 0 => Ok(()),
        _ => Err(Status::new(status::SERVICE_NOT_SUPPORTED)),
    }
}

fn instance_of(dev: &Device, target: &Target) -> Result<(u32, u32), Status> {
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
        Target::Value(..) | Target::Data(_) | Target::ProgramSymbols(..) => {
            Err(Status::new(status::SERVICE_NOT_SUPPORTED))
        }
    }
}

fn read_all(attr: &dyn Attribute, out: &mut Vec<u8>) -> Result<(), Status> {
    attr.read(0, attr.len(), out)
}

fn get_all<'s>(dev: &Device, service: u8, target: Target, scratch: &'s mut Vec<u8>) -> Answer<'s> {
    let (c, i) = instance_of(dev, &target)?;
    let inst = dev
        .class(c)
        .and_then(|cls| cls.instances.get(&i))
        .ok_or_else(|| Status::new(status::OBJECT_DOES_NOT_EXIST))?;
    for attr in inst.attributes.values() {
        read_all(attr.as_ref(), scratch)?;
    }
    Ok(Reply::new(
        service,
        status::SUCCESS,
        ReplyBody::Data(scratch),
    ))
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

fn get_single<'s>(
    dev: &Device,
    service: u8,
    target: Target,
    scratch: &'s mut Vec<u8>,
) -> Answer<'s> {
    let attr = single(dev, target)?;
    read_all(attr.as_ref(), scratch)?;
    Ok(Reply::new(
        service,
        status::SUCCESS,
        ReplyBody::Data(scratch),
    ))
}

/// Write a whole attribute from the front of `data`; returns the bytes consumed.
fn set_whole(attr: &dyn Attribute, data: &[u8]) -> Result<usize, Status> {
    if !attr.settable() {
        return Err(Status::new(status::ATTRIBUTE_NOT_SETTABLE));
    }
    let n = elements_len(attr.data_type().into(), attr.len(), data).ok_or_else(not_enough)?;
    attr.write(0, attr.len(), data.get(..n).unwrap_or_default())?;
    Ok(n)
}

fn set_single<'s>(dev: &Device, service: u8, data: &[u8], target: Target) -> Answer<'s> {
    let attr = single(dev, target)?;
    if !attr.settable() {
        return Err(Status::new(status::ATTRIBUTE_NOT_SETTABLE));
    }
    let n = elements_len(attr.data_type().into(), attr.len(), data).ok_or_else(not_enough)?;
    if n < data.len() {
        return Err(Status::new(status::TOO_MUCH_DATA));
    }
    set_whole(attr.as_ref(), data)?;
    done(service)
}

/// A Get/Set Attribute List reply of `count` entries (in `entries`).
fn attribute_list(service: u8, count: u16, failed: bool, entries: &[u8]) -> Reply<'_> {
    let general = if failed {
        ATTRIBUTE_LIST_ERROR
    } else {
        status::SUCCESS
    };
    let body = AttributeListReply {
        count,
        data: entries,
    };
    Reply::new(service, general, ReplyBody::AttributeList(body))
}

/// Append one attribute list entry (an emitted entry always fits a vector).
fn entry(out: &mut Vec<u8>, id: u16, st: u16, value: &[u8]) {
    let _ = append(
        out,
        &AttributeEntry {
            id,
            status: st,
            value,
        },
    );
}

/// Append the entry of attribute `id`: its value (empty for a Set), or its failure status
/// without one; returns whether it failed.
fn outcome(out: &mut Vec<u8>, id: u16, result: Result<&[u8], Status>) -> bool {
    match result {
        Ok(value) => entry(out, id, 0, value),
        Err(st) => entry(out, id, u16::from(st.general), &[]),
    }
    result.is_err()
}

fn get_list<'s>(
    dev: &Device,
    service: u8,
    ids: AttributeIds<'_>,
    target: Target,
    scratch: &'s mut Vec<u8>,
) -> Answer<'s> {
    let (c, i) = instance_of(dev, &target)?;
    let mut failed = false;
    let mut value = Vec::new();
    for id in ids.ids.iter() {
        value.clear();
        let read = match dev.attribute(c, i, id) {
            Some(attr) => read_all(attr.as_ref(), &mut value),
            None => Err(Status::new(status::ATTRIBUTE_NOT_SUPPORTED)),
        };
        failed |= outcome(scratch, id, read.map(|()| value.as_slice()));
    }
    Ok(attribute_list(
        service,
        ids.ids.len() as u16,
        failed,
        scratch,
    ))
}

fn set_list<'s>(
    dev: &Device,
    service: u8,
    list: SetAttributeList<'_>,
    target: Target,
    scratch: &'s mut Vec<u8>,
) -> Answer<'s> {
    let (c, i) = instance_of(dev, &target)?;
    let mut entries = list.cursor();
    let mut failed = false;
    while let Some(id) = entries.next_id() {
        let id = id.map_err(|_| not_enough())?;
        let result = match dev.attribute(c, i, id) {
            Some(attr) => set_whole(attr.as_ref(), entries.rest())
                .and_then(|n| entries.value(n).map(drop).map_err(|_| not_enough())),
            None => Err(Status::new(status::ATTRIBUTE_NOT_SUPPORTED)),
        };
        if outcome(scratch, id, result.map(|()| &[][..])) {
            failed = true;
            break; // the rest of the list cannot be parsed without this value's size
        }
    }
    Ok(attribute_list(service, list.count, failed, scratch))
}

/// The class, and the instance to start from, of a Get Instance Attribute List path.
fn class_from(target: &Target) -> Result<(u32, u32), Status> {
    match target {
        Target::Object {
            class,
            instance,
            attribute: None,
        } => Ok((*class, instance.unwrap_or(0))),
        _ => Err(Status::new(status::PATH_SEGMENT_ERROR)),
    }
}

/// Get Instance Attribute List (0x55): for each instance from the one in the path on, its id
/// then the requested attributes, as many as fit (0x06 when more remain).
fn instance_list<'s>(
    dev: &Device,
    service: u8,
    ids: AttributeIds<'_>,
    target: Target,
    limit: usize,
    scratch: &'s mut Vec<u8>,
) -> Answer<'s> {
    let (c, start) = class_from(&target)?;
    let cls = dev
        .class(c)
        .ok_or_else(|| Status::new(status::PATH_DESTINATION_UNKNOWN))?;
    logix::symbol::list(&cls.instances, service, ids, start, limit, scratch)
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

/// Read Tag [Fragmented]: `(count, offset)` elements from element `start`, from byte `offset`
/// of their data on.
fn read_tag<'s>(
    service: u8,
    attr: &dyn Attribute,
    start: usize,
    (count, offset): (u16, u32),
    limit: usize,
    scratch: &'s mut Vec<u8>,
) -> Answer<'s> {
    let count = usize::from(count);
    check_range(attr, start, count)?;
    let ty = attr.data_type();
    attr.read(start, count, scratch)?;
    let rest = scratch.get(offset as usize..).ok_or_else(out_of_range)?;
    let size = ty.size().unwrap_or(1);
    let room = limit.saturating_sub(6) / size * size;
    let (data, general) = match rest.get(..room) {
        Some(chunk) if rest.len() > room => (chunk, status::PARTIAL_TRANSFER),
        _ => (rest, status::SUCCESS),
    };
    let body = TagData {
        data_type: TagType::Atomic(ty),
        data,
    };
    Ok(Reply::new(service, general, ReplyBody::TagData(body)))
}

fn type_mismatch() -> Status {
    Status::ext(status::GENERAL_ERROR, status::EXT_TYPE_MISMATCH)
}

/// The checks every write makes before its data: the type is the tag's, the tag is writable
/// and `count` elements from `start` are in it.
fn writable(attr: &dyn Attribute, ty: TagType, start: usize, count: u16) -> Result<(), Status> {
    if ty != TagType::Atomic(attr.data_type()) {
        return Err(type_mismatch());
    }
    if !attr.settable() {
        return Err(Status::new(status::ATTRIBUTE_NOT_SETTABLE));
    }
    check_range(attr, start, usize::from(count))
}

fn write_tag<'s>(service: u8, attr: &dyn Attribute, start: usize, w: WriteTag<'_>) -> Answer<'s> {
    writable(attr, w.data_type, start, w.elements)?;
    let count = usize::from(w.elements);
    // Exactly `count` elements (pycomm3 1.2.16 sending its request twice is accepted).
    let n = elements_len(attr.data_type().into(), count, w.data).ok_or_else(not_enough)?;
    let data = w.exact_elements(n).ok_or_else(out_of_range)?;
    attr.write(start, count, data)?;
    done(service)
}

fn write_fragment<'s>(
    service: u8,
    attr: &dyn Attribute,
    start: usize,
    w: WriteTagFragmented<'_>,
) -> Answer<'s> {
    writable(attr, w.data_type, start, w.elements)?;
    let size = attr.data_type().size().ok_or_else(type_mismatch)?;
    let offset = w.offset as usize;
    if offset % size != 0 || w.data.len() % size != 0 {
        return Err(Status::ext(status::GENERAL_ERROR, 0x2104));
    }
    let first = start + offset / size;
    let n = w.data.len() / size;
    if first + n > start + usize::from(w.elements) {
        return Err(out_of_range());
    }
    attr.write(first, n, w.data)?;
    done(service)
}

fn read_modify_write<'s>(
    service: u8,
    attr: &dyn Attribute,
    start: usize,
    m: ReadModifyWrite<'_>,
) -> Answer<'s> {
    let size = m.or_mask.len();
    let ty = attr.data_type();
    if ty.size() != Some(size) || matches!(ty, DataType::Real | DataType::Lreal) {
        return Err(type_mismatch());
    }
    check_range(attr, start, 1)?;
    let mut value = Vec::with_capacity(size);
    attr.read(start, 1, &mut value)?;
    for ((v, o), a) in value.iter_mut().zip(m.or_mask).zip(m.and_mask) {
        *v = (*v | o) & a;
    }
    attr.write(start, 1, &value)?;
    done(service)
}

/// Multiple Service Packet: each request answered in turn within what is left of `limit`, the
/// replies written behind the count and offset table; 0x1E when any of them failed.
fn multiple<'s>(
    dev: &Device,
    service: u8,
    msp: MspRequest<'_>,
    limit: usize,
    scratch: &'s mut Vec<u8>,
) -> Answer<'s> {
    let table = msp.table().ok_or_else(not_enough)?; // always there in a received packet
    let count = usize::from(table.count());
    let header = 4 + 2 + 2 * count;
    let (mut replies, mut ends, mut sub) = (Vec::new(), Vec::with_capacity(count), Vec::new());
    let mut failed = false;
    for bytes in table.items() {
        let st = match MrRequest::parse(bytes) {
            Ok(one) => {
                let room = limit.saturating_sub(header + replies.len());
                respond(dev, &one, room, 1, &mut sub, &mut replies)
            }
            Err(_) => put(&mut replies, &not_enough().reply(0), not_enough(), 0),
        };
        failed |= !st.is_success();
        ends.push(replies.len());
    }
    scratch.resize(2 + 2 * count + replies.len(), 0);
    let mut w = MspWriter::new(scratch, count).map_err(|_| too_large())?;
    let mut from = 0;
    for end in ends {
        let one = replies.get(from..end).unwrap_or_default();
        w.push(|t| one.emit(t)).map_err(|_| too_large())?;
        from = end;
    }
    let n = w.finish().map_err(|_| too_large())?;
    let general = if failed {
        status::EMBEDDED_SERVICE_ERROR
    } else {
        status::SUCCESS
    };
    let body = scratch.get(..n).unwrap_or_default();
    Ok(Reply::new(service, general, ReplyBody::Data(body)))
}

/// A reply too large for its offsets (a Multiple Service Packet's past 64 KiB).
fn too_large() -> Status {
    Status::new(status::GENERAL_ERROR)
}
