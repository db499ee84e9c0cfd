//! From an [`Operation`] to a Message Router request, and from replies back to values.
//!
//! A [`Plan`] knows which service an operation needs (Read/Write Tag [Fragmented] for tags,
//! Get/Set Attribute Single or Get Attributes All for numeric addresses), builds its request
//! and absorbs replies into an [`Accumulator`]. A read that gets a partial transfer (status
//! 0x06) asks for the next fragment at the byte offset reached, until the device says done: a
//! read larger than one reply is fetched whole.
//!
//! ```
//! use cpppo_enip::client::plan::{Kind, Plan};
//! use cpppo_enip::client::operation::Operation;
//! let plan = Plan::new(&Operation::parse("SCADA[1-3]=(DINT)1,2,3")?, false, false)?;
//! assert_eq!(plan.kind, Kind::WriteTag);
//! assert_eq!(&*plan.description, "Single Write Tag  SCADA[1-3]");
//! assert_eq!(plan.request(0)?[0], 0x4D);
//! let gas = Plan::new(&Operation::parse("@1/1/7")?, false, true)?;
//! assert_eq!((gas.kind, gas.tag.as_str()), (Kind::GetAttributeSingle, "@0x0001/1/7"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::Arc;

use cpppo_cip::mr::{MrReply, Payload};
use cpppo_cip::services::logix::{ReadTag, ReadTagFragmented, WriteTag, WriteTagFragmented};
use cpppo_cip::value::{append, Element, Elements};
use cpppo_cip::{DataType, TagType, Value};

use super::error::{ClientError, ReplyStatus};
use super::route::{encode_path, mr_request};
use crate::client::operation::{Literal, Operation, PathStep};

/// The service an operation uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Read Tag `0x4C`.
    ReadTag,
    /// Read Tag Fragmented `0x52`.
    ReadFrag,
    /// Write Tag `0x4D`.
    WriteTag,
    /// Write Tag Fragmented `0x53`.
    WriteFrag,
    /// Get Attribute Single `0x0E`.
    GetAttributeSingle,
    /// Set Attribute Single `0x10`.
    SetAttributeSingle,
    /// Get Attributes All `0x01`.
    GetAttributesAll,
}

impl Kind {
    /// The service code.
    pub fn code(self) -> u8 {
        match self {
            Kind::ReadTag => 0x4C,
            Kind::ReadFrag => 0x52,
            Kind::WriteTag => 0x4D,
            Kind::WriteFrag => 0x53,
            Kind::GetAttributeSingle => 0x0E,
            Kind::SetAttributeSingle => 0x10,
            Kind::GetAttributesAll => 0x01,
        }
    }

    /// Whether the reply carries values read.
    pub fn is_read(self) -> bool {
        matches!(
            self,
            Kind::ReadTag | Kind::ReadFrag | Kind::GetAttributeSingle | Kind::GetAttributesAll
        )
    }

    fn label(self) -> &'static str {
        match self {
            Kind::ReadTag => "Read  Tag ",
            Kind::ReadFrag => "Read  Frag",
            Kind::WriteTag => "Write Tag ",
            Kind::WriteFrag => "Write Frag",
            Kind::GetAttributeSingle => "G_A_S     ",
            Kind::SetAttributeSingle => "S_A_S     ",
            Kind::GetAttributesAll => "G_A_A     ",
        }
    }
}

/// One operation, ready to send.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The service.
    pub kind: Kind,
    /// The encoded request path.
    pub path: Vec<u8>,
    /// Elements read or written (tags).
    pub elements: u16,
    /// The first byte offset (fragmented services).
    pub offset: u32,
    /// The type written.
    pub data_type: Option<DataType>,
    /// The encoded values written.
    pub data: Vec<u8>,
    /// The values written.
    pub values: Vec<Literal>,
    /// The path as cpppo prints it (`SCADA[1]`, `@0x0001/1/7`).
    pub tag: String,
    /// The first element, when the path ends in one.
    pub element: Option<u32>,
    /// cpppo's description (`Single Read  Tag  SCADA[1]`), shared with every transaction
    /// of the plan.
    pub description: Arc<str>,
    /// Write at most this many bytes per request (Write Tag Fragmented), when the values do
    /// not fit one message ([`Plan::split_writes`]).
    pub chunk: Option<usize>,
}

impl Plan {
    /// Plans `op`. `fragment` forces the fragmented services for tags; `attributes` treats a
    /// numeric address with Get/Set Attribute Single (or Get Attributes All without an attribute),
    /// as get-attribute does; otherwise numeric addresses use the tag services, as cpppo's client.
    pub fn new(op: &Operation, fragment: bool, attributes: bool) -> Result<Plan, ClientError> {
        let bad = |why: String| ClientError::Request {
            what: op.to_string(),
            why,
        };
        let numeric = !matches!(op.path.first(), Some(PathStep::Symbolic(_)));
        let has_attribute = op.path.iter().any(|s| matches!(s, PathStep::Attribute(_)));
        let kind = match (numeric && attributes, op.write.is_some()) {
            (true, true) if has_attribute => Kind::SetAttributeSingle,
            (true, true) => {
                return Err(bad(
                    "a write needs an attribute (@class/instance/attribute)".into(),
                ))
            }
            (true, false) if has_attribute => Kind::GetAttributeSingle,
            (true, false) => Kind::GetAttributesAll,
            (false, true) if fragment || op.offset.is_some() => Kind::WriteFrag,
            (false, true) => Kind::WriteTag,
            (false, false) if fragment || op.offset.is_some() => Kind::ReadFrag,
            (false, false) => Kind::ReadTag,
        };
        let elements = u16::try_from(op.elements()).map_err(|_| bad("too many elements".into()))?;
        let (data_type, values, data) = match &op.write {
            Some(w) => (
                Some(w.data_type),
                w.values.clone(),
                encode_values(w.data_type, &w.values).map_err(bad)?,
            ),
            None => (None, Vec::new(), Vec::new()),
        };
        let tag = format_tag(&op.path);
        let element = match op.path.last() {
            Some(PathStep::Element(n)) if !numeric || !attributes => Some(*n),
            _ => None,
        };
        let shown = match kind {
            Kind::GetAttributeSingle | Kind::SetAttributeSingle | Kind::GetAttributesAll => {
                tag.clone()
            }
            _ => {
                let mut s = op.to_string();
                if let Some(eq) = s.find('=') {
                    s.truncate(eq);
                }
                s
            }
        };
        Ok(Plan {
            kind,
            path: encode_path(&op.path).map_err(bad)?,
            elements,
            offset: op.offset.unwrap_or(0),
            data_type,
            data,
            values,
            tag,
            element,
            description: format!("Single {} {shown}", kind.label()).into(),
            chunk: None,
        })
    }

    /// The Message Router request, reading from `extra` bytes past the planned offset.
    pub fn request(&self, extra: u32) -> Result<Vec<u8>, ClientError> {
        let elements = self.elements;
        let offset = self.offset.saturating_add(extra);
        let kind = match (self.kind, extra > 0) {
            (Kind::ReadTag, true) => Kind::ReadFrag,
            (Kind::WriteTag, true) => Kind::WriteFrag,
            (kind, _) => kind,
        };
        let data_type = self.data_type.map_or(TagType::Other(0), TagType::Atomic);
        let (from, to) = self.write_span(extra);
        let values = self.data.get(from..to).unwrap_or_default();
        let mut data = vec![0u8; 8 + self.data.len()];
        let n = match kind {
            Kind::ReadTag => ReadTag { elements }.emit(&mut data),
            Kind::ReadFrag => ReadTagFragmented { elements, offset }.emit(&mut data),
            Kind::WriteTag => WriteTag {
                data_type,
                elements,
                data: values,
                trailing: &[],
            }
            .emit(&mut data),
            Kind::WriteFrag => WriteTagFragmented {
                data_type,
                elements,
                offset,
                data: values,
            }
            .emit(&mut data),
            Kind::SetAttributeSingle => self.data.as_slice().emit(&mut data),
            Kind::GetAttributeSingle | Kind::GetAttributesAll => Ok(0),
        };
        let bad = |why: String| ClientError::Request {
            what: self.description.to_string(),
            why,
        };
        let n = n.map_err(|e| bad(e.to_string()))?;
        mr_request(kind.code(), &self.path, data.get(..n).unwrap_or_default()).map_err(bad)
    }

    /// Splits a write whose values do not fit a message of `max_message` bytes into Write Tag
    /// Fragmented requests of whole elements.
    pub fn split_writes(&mut self, max_message: usize) {
        let size = self.data_type.and_then(DataType::size);
        let (true, Some(size)) = (matches!(self.kind, Kind::WriteTag | Kind::WriteFrag), size)
        else {
            return;
        };
        // Service, path, type, elements, offset, and room for an Unconnected Send around it.
        let overhead = 2 + self.path.len() + 8 + 32;
        let room = max_message.saturating_sub(overhead) / size * size;
        if room > 0 && self.data.len() > room {
            self.chunk = Some(room);
            self.kind = Kind::WriteFrag;
        }
    }

    /// The bytes of the values sent by the write request `extra` bytes in.
    fn write_span(&self, extra: u32) -> (usize, usize) {
        let from = usize::try_from(extra)
            .unwrap_or(usize::MAX)
            .min(self.data.len());
        let to = match self.chunk {
            Some(chunk) => from.saturating_add(chunk).min(self.data.len()),
            None => self.data.len(),
        };
        (from, to)
    }

    /// A generous estimate of the reply's size, for Multiple Service Packet limits.
    pub fn reply_estimate(&self) -> usize {
        match self.kind {
            Kind::ReadTag | Kind::ReadFrag => {
                let size = self.data_type.and_then(DataType::size).unwrap_or(4);
                8 + usize::from(self.elements) * size
            }
            Kind::GetAttributeSingle | Kind::GetAttributesAll => 64,
            _ => 8,
        }
    }

    /// Absorbs one reply; returns the outcome, or the extra byte offset to read next.
    pub fn absorb(&self, acc: &mut Accumulator, reply: &MrReply<'_>) -> Absorbed {
        let status = ReplyStatus::of(reply);
        let partial = status.general == 0x06;
        if !(status.is_ok() || partial && self.kind.is_read()) {
            return Absorbed::Done(status, None);
        }
        match self.kind {
            Kind::ReadTag | Kind::ReadFrag => {
                let Ok((ty, n)) = TagType::parse(reply.data) else {
                    let what = "reply not decoded: no tag type in its data";
                    return Absorbed::Done(ReplyStatus::undecodable(what), None);
                };
                let data = reply.data.get(n..).unwrap_or_default();
                acc.tag_type = Some(ty);
                // A read answered whole in one reply is decoded in place, not gathered.
                let whole = if acc.data.is_empty() && !partial {
                    data
                } else {
                    acc.data.extend_from_slice(data);
                    &acc.data
                };
                if partial && !data.is_empty() {
                    return match u32::try_from(whole.len()) {
                        Ok(extra) => Absorbed::More(extra),
                        Err(_) => Absorbed::Done(status, None),
                    };
                }
                if partial {
                    return Absorbed::Done(status, None);
                }
                match decode_tag(ty, whole) {
                    Some(values) => Absorbed::Done(ReplyStatus::OK, Some(values)),
                    None => Absorbed::Done(
                        ReplyStatus::undecodable(format!(
                            "reply not decoded: {} bytes are not {} elements",
                            whole.len(),
                            match ty {
                                TagType::Atomic(t) => t.name(),
                                _ => "STRING",
                            }
                        )),
                        None,
                    ),
                }
            }
            Kind::GetAttributeSingle | Kind::GetAttributesAll => Absorbed::Done(
                status,
                Some(reply.data.iter().map(|&b| Literal::Int(b.into())).collect()),
            ),
            Kind::WriteTag | Kind::WriteFrag if self.chunk.is_some() => {
                let (_, to) = self.write_span(u32::try_from(acc.written).unwrap_or(u32::MAX));
                acc.written = to;
                match u32::try_from(to) {
                    Ok(next) if to < self.data.len() => Absorbed::More(next),
                    _ => Absorbed::Done(status, Some(self.values.clone())),
                }
            }
            Kind::WriteTag | Kind::WriteFrag | Kind::SetAttributeSingle => {
                Absorbed::Done(status, Some(self.values.clone()))
            }
        }
    }
}

/// What one reply means for an operation.
#[derive(Clone, Debug, PartialEq)]
pub enum Absorbed {
    /// Finished, with its status and value (`None` on failure).
    Done(ReplyStatus, Option<Vec<Literal>>),
    /// More data: read again at this many bytes past the planned offset.
    More(u32),
}

/// The data gathered so far by a (fragmented) read.
#[derive(Clone, Debug, Default)]
pub struct Accumulator {
    /// The type the device reported.
    pub tag_type: Option<TagType>,
    /// The element bytes so far.
    pub data: Vec<u8>,
    /// The bytes of a split write acknowledged so far.
    pub written: usize,
}

/// Decodes tag data of type `ty` into values (`None` if it does not decode).
pub fn decode_tag(ty: TagType, data: &[u8]) -> Option<Vec<Literal>> {
    if !matches!(ty, TagType::Atomic(_) | TagType::LOGIX_STRING) {
        return Some(data.iter().map(|&b| Literal::Int(b.into())).collect());
    }
    // Atomic elements are counted in advance: the values land in one allocation.
    let count = match ty {
        TagType::Atomic(t) => data.len() / t.size().unwrap_or(1).max(1),
        _ => 1,
    };
    let mut values = Vec::with_capacity(count);
    for e in Elements::new(ty, data) {
        values.push(element_value(e.ok()?));
    }
    Some(values)
}

fn element_value(e: Element<'_>) -> Literal {
    match e {
        Element::Value(v) => cip_value(v),
        Element::LogixString(s) => Literal::Text(String::from_utf8_lossy(s.text).into_owned()),
    }
}

/// One CIP value as an operation value.
pub fn cip_value(v: cpppo_cip::Value<'_>) -> Literal {
    use cpppo_cip::Value as V;
    match v {
        V::Bool(b) => Literal::Bool(b),
        V::Sint(n) => Literal::Int(n.into()),
        V::Int(n) => Literal::Int(n.into()),
        V::Dint(n) => Literal::Int(n.into()),
        V::Lint(n) => Literal::Int(n.into()),
        V::Usint(n) | V::Byte(n) => Literal::Int(n.into()),
        V::Uint(n) | V::Word(n) => Literal::Int(n.into()),
        V::Udint(n) | V::Dword(n) => Literal::Int(n.into()),
        V::Ulint(n) | V::Lword(n) => Literal::Int(n.into()),
        V::Real(x) => Literal::Real(f64::from(x)),
        V::Lreal(x) => Literal::Real(x),
        V::Sstring(s) | V::String(s) => Literal::Text(String::from_utf8_lossy(s).into_owned()),
    }
}

/// Decodes attribute bytes as a sequence of `types` (the last repeats if `repeat`).
pub fn decode_typed(types: &[DataType], data: &[u8]) -> Result<Vec<Literal>, String> {
    let mut out = Vec::new();
    let mut rest = data;
    for &ty in types {
        let (v, n) = cpppo_cip::Value::parse(ty, rest)
            .map_err(|e| format!("{} bytes do not hold a {ty}: {e}", rest.len()))?;
        out.push(cip_value(v));
        rest = rest.get(n..).unwrap_or_default();
    }
    Ok(out)
}

/// Encodes `values` as `ty`, little-endian.
pub fn encode_values(ty: DataType, values: &[Literal]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for v in values {
        encode_value(ty, v, &mut out)?;
    }
    Ok(out)
}

fn encode_value(ty: DataType, v: &Literal, out: &mut Vec<u8>) -> Result<(), String> {
    let int = |v: &Literal| -> Result<i128, String> {
        match v {
            Literal::Int(n) => Ok(*n),
            Literal::Bool(b) => Ok(i128::from(*b)),
            Literal::Real(x) if x.fract() == 0.0 && x.abs() < 1e30 => Ok(*x as i128),
            other => Err(format!("{other} is not a valid {ty}")),
        }
    };
    let real = |v: &Literal| -> Result<f64, String> {
        match v {
            Literal::Real(x) => Ok(*x),
            Literal::Int(n) => Ok(*n as f64),
            other => Err(format!("{other} is not a valid {ty}")),
        }
    };
    let value = match ty {
        DataType::Real => Value::Real(real(v)? as f32),
        DataType::Lreal => Value::Lreal(real(v)?),
        DataType::Sstring | DataType::String => {
            let Literal::Text(s) = v else {
                return Err(format!("{v} is not a valid {ty}"));
            };
            if ty == DataType::Sstring {
                Value::Sstring(s.as_bytes())
            } else {
                Value::String(s.as_bytes())
            }
        }
        // As cpppo does, a BOOL is sent as the integer's low byte.
        DataType::Bool => Value::Usint(int(v)? as u8),
        _ => Value::from_int(ty, int(v)?).ok_or_else(|| format!("{v} is not a valid {ty}"))?,
    };
    append(out, &value).map_err(|_| match ty {
        DataType::Sstring => "SSTRING longer than 255".to_string(),
        _ => "STRING too long".to_string(),
    })?;
    Ok(())
}

/// A path as cpppo prints it: `SCADA[1]`, `Struct.Member`, `@0x0001/1/7`.
pub fn format_tag(path: &[PathStep]) -> String {
    let mut out = String::new();
    if matches!(path.first(), Some(PathStep::Symbolic(_))) {
        for s in path {
            match s {
                PathStep::Symbolic(name) if out.is_empty() => out.push_str(name),
                PathStep::Symbolic(name) => {
                    out.push('.');
                    out.push_str(name);
                }
                // A further dimension of the same element: `Grid[1,2]`.
                PathStep::Element(n) if out.ends_with(']') && !out.ends_with("]]") => {
                    out.pop();
                    out.push_str(&format!(",{n}]"));
                }
                PathStep::Element(n) => out.push_str(&format!("[{n}]")),
                other => out.push_str(&format!("/{other:?}")),
            }
        }
        return out;
    }
    for (i, s) in path.iter().enumerate() {
        out.push_str(if i == 0 { "@" } else { "/" });
        match s {
            PathStep::Class(n) => out.push_str(&format!("0x{n:04X}")),
            PathStep::Instance(n) | PathStep::Attribute(n) | PathStep::Element(n) => {
                out.push_str(&n.to_string())
            }
            other => out.push_str(&format!("{other:?}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u8, data: &[u8]) -> MrReply<'_> {
        MrReply {
            service: 0x4C,
            reserved: 0,
            general_status: status,
            extended_status: &[],
            data,
        }
    }

    #[test]
    fn a_partial_read_asks_for_the_rest_then_decodes_it_whole() {
        let op = Operation::parse("SCADA[0-3]").unwrap_or_else(|e| panic!("{e}"));
        let plan = Plan::new(&op, false, false).unwrap_or_else(|e| panic!("{e}"));
        let mut acc = Accumulator::default();
        // INT type, two elements, "partial transfer".
        let first = [0xC3, 0x00, 1, 0, 2, 0];
        assert_eq!(
            plan.absorb(&mut acc, &reply(0x06, &first)),
            Absorbed::More(4)
        );
        let next = plan.request(4).unwrap_or_default();
        assert_eq!(next[0], 0x52, "Read Tag Fragmented");
        assert_eq!(
            next[next.len() - 6..],
            [4, 0, 4, 0, 0, 0],
            "4 elements at byte 4"
        );
        let rest = [0xC3, 0x00, 3, 0, 0xFF, 0xFF];
        let done = plan.absorb(&mut acc, &reply(0x00, &rest));
        let want = [1, 2, 3, -1].map(Literal::Int).to_vec();
        assert_eq!(done, Absorbed::Done(ReplyStatus::OK, Some(want)));
    }

    #[test]
    fn a_success_that_does_not_decode_is_reported_as_a_failure() {
        let op = Operation::parse("SCADA[0-1]").unwrap_or_else(|e| panic!("{e}"));
        let plan = Plan::new(&op, false, false).unwrap_or_else(|e| panic!("{e}"));
        // INT type but three data bytes; then no type at all.
        for (data, says) in [
            (
                &[0xC3, 0x00, 1, 0, 2][..],
                "reply not decoded: 3 bytes are not INT elements",
            ),
            (&[0xC3][..], "reply not decoded: no tag type in its data"),
        ] {
            let Absorbed::Done(status, value) =
                plan.absorb(&mut Accumulator::default(), &reply(0x00, data))
            else {
                panic!("{data:?}: expected an outcome");
            };
            assert_eq!(value, None);
            assert!(!status.is_ok());
            assert_eq!(status.to_string(), says);
        }
    }

    #[test]
    fn failures_keep_their_status_and_writes_report_their_values() {
        let op = Operation::parse("SCADA[1]=(DINT)5").unwrap_or_else(|e| panic!("{e}"));
        let plan = Plan::new(&op, false, false).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            plan.request(0).ok().map(|r| r[r.len() - 8..].to_vec()),
            Some(vec![0xC4, 0, 1, 0, 5, 0, 0, 0])
        );
        let mut acc = Accumulator::default();
        let ext = [0x07, 0x21];
        let r = MrReply {
            extended_status: &ext,
            ..reply(0xFF, &[])
        };
        let want = ReplyStatus {
            general: 0xFF,
            extended: vec![0x2107],
            problem: None,
        };
        assert_eq!(plan.absorb(&mut acc, &r), Absorbed::Done(want, None));
        assert_eq!(
            plan.absorb(&mut acc, &reply(0, &[])),
            Absorbed::Done(ReplyStatus::OK, Some(vec![Literal::Int(5)]))
        );
    }

    #[test]
    fn typed_values_encode_and_decode() {
        let bytes = encode_values(DataType::Real, &[Literal::Real(1.5)]).unwrap_or_default();
        assert_eq!(
            decode_typed(&[DataType::Real], &bytes),
            Ok(vec![Literal::Real(1.5)])
        );
        let s = encode_values(DataType::Sstring, &[Literal::Text("Hi".into())]).unwrap_or_default();
        assert_eq!(s, b"\x02Hi");
        assert!(encode_values(DataType::Int, &[Literal::Text("x".into())]).is_err());
        assert!(decode_typed(&[DataType::Dint], &[1, 2]).is_err());
    }
}
