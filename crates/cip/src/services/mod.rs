//! CIP service payloads and replies, decoded per target class.
//!
//! A service code means different things on different objects: `0x52` is Read Tag Fragmented
//! on a tag but Unconnected Send on the Connection Manager (class `0x06`), `0x4E` is
//! Read-Modify-Write Tag on a tag but Forward Close on the Connection Manager. [`Request::parse`]
//! therefore looks at the class in the request path before it picks a payload decoder, and
//! [`Reply::parse`] takes the class of the request it answers.
//!
//! ```
//! use cpppo_cip::mr::MrRequest;
//! use cpppo_cip::services::{Request, Service};
//!
//! // Unconnected Send to @6/1 carrying Get Attributes All @1/1, routed to port 1 link 0.
//! let wire = [
//!     0x52, 0x02, 0x20, 0x06, 0x24, 0x01, 0x0A, 0x05, 0x06, 0x00, 0x01, 0x02, 0x20, 0x01, 0x24,
//!     0x01, 0x01, 0x00, 0x01, 0x00,
//! ];
//! let req = Request::parse(&MrRequest::parse(&wire)?)?;
//! let Service::UnconnectedSend(send) = req.service else { panic!("not an Unconnected Send") };
//! let inner = Request::parse(&send.message)?;
//! assert!(matches!(inner.service, Service::GetAttributesAll(_)));
//! assert_eq!(inner.path.class(), Some(1));
//! # Ok::<(), cpppo_cip::Error>(())
//! ```

pub mod attribute;
pub mod cm;
pub mod logix;
pub mod msp;
pub mod template;

use crate::cursor::{Reader, Writer};
use crate::epath::EPath;
use crate::error::Result;
use crate::mr::{self, status, MrReply, MrRequest, Payload};

pub use attribute::{AttributeIds, AttributeListReply, SetAttributeCursor, SetAttributeList};
pub use cm::{ConnectionFailure, ForwardClose, ForwardCloseReply, ForwardOpen, ForwardOpenReply};
pub use cm::{UnconnectedSend, UnconnectedSendFailure};
pub use logix::{
    ReadModifyWrite, ReadTag, ReadTagFragmented, TagData, WriteTag, WriteTagFragmented,
};
pub use msp::{MspReply, MspRequest, MspWriter};

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
    /// Read Tag (Logix).
    pub const READ_TAG: u8 = 0x4C;
    /// Write Tag (Logix).
    pub const WRITE_TAG: u8 = 0x4D;
    /// Read-Modify-Write Tag (Logix; not on the Connection Manager).
    pub const READ_MODIFY_WRITE_TAG: u8 = 0x4E;
    /// Read Tag Fragmented (Logix; not on the Connection Manager).
    pub const READ_TAG_FRAGMENTED: u8 = 0x52;
    /// Write Tag Fragmented (Logix).
    pub const WRITE_TAG_FRAGMENTED: u8 = 0x53;
    /// Get Instance Attribute List (Logix symbol and template classes).
    pub const GET_INSTANCE_ATTRIBUTE_LIST: u8 = 0x55;
    /// Forward Close (Connection Manager).
    pub const FORWARD_CLOSE: u8 = 0x4E;
    /// Unconnected Send (Connection Manager).
    pub const UNCONNECTED_SEND: u8 = 0x52;
    /// Forward Open (Connection Manager).
    pub const FORWARD_OPEN: u8 = 0x54;
    /// Large Forward Open (Connection Manager).
    pub const LARGE_FORWARD_OPEN: u8 = 0x5B;
}

/// Class codes the codec treats specially or that clients commonly address.
pub mod class {
    /// Identity object.
    pub const IDENTITY: u32 = 0x01;
    /// Message Router.
    pub const MESSAGE_ROUTER: u32 = 0x02;
    /// Connection Manager.
    pub const CONNECTION_MANAGER: u32 = 0x06;
    /// Logix program name (controller name).
    pub const PROGRAM_NAME: u32 = 0x64;
    /// Logix symbol (tag) object.
    pub const SYMBOL: u32 = 0x6B;
    /// Logix template object.
    pub const TEMPLATE: u32 = 0x6C;
    /// Wall-clock time object.
    pub const WALL_CLOCK: u32 = 0x8B;
    /// TCP/IP interface object.
    pub const TCPIP: u32 = 0xF5;
    /// Ethernet Link object.
    pub const ETHERNET_LINK: u32 = 0xF6;
}

/// A decoded service request payload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Service<'a> {
    /// Read Tag `0x4C`.
    ReadTag(ReadTag),
    /// Write Tag `0x4D`.
    WriteTag(WriteTag<'a>),
    /// Read Tag Fragmented `0x52` (not on the Connection Manager).
    ReadTagFragmented(ReadTagFragmented),
    /// Write Tag Fragmented `0x53`.
    WriteTagFragmented(WriteTagFragmented<'a>),
    /// Read-Modify-Write Tag `0x4E` (not on the Connection Manager).
    ReadModifyWrite(ReadModifyWrite<'a>),
    /// Multiple Service Packet `0x0A`.
    MultipleServicePacket(MspRequest<'a>),
    /// Get Attributes All `0x01`, with its request data: normally empty, but pycomm3 appends a
    /// route path when it sends without Unconnected Send; servers ignore it.
    GetAttributesAll(&'a [u8]),
    /// Get Attribute List `0x03`.
    GetAttributeList(AttributeIds<'a>),
    /// Set Attribute List `0x04`.
    SetAttributeList(SetAttributeList<'a>),
    /// Get Attribute Single `0x0E`, with its request data (normally empty; see
    /// [`Service::GetAttributesAll`]).
    GetAttributeSingle(&'a [u8]),
    /// Set Attribute Single `0x10`: the new value's bytes.
    SetAttributeSingle(&'a [u8]),
    /// Get Instance Attribute List `0x55` (the start instance is in the path).
    GetInstanceAttributeList(AttributeIds<'a>),
    /// Unconnected Send `0x52` on the Connection Manager.
    UnconnectedSend(UnconnectedSend<'a>),
    /// Forward Open `0x54` or Large Forward Open `0x5B` on the Connection Manager.
    ForwardOpen(ForwardOpen<'a>),
    /// Forward Close `0x4E` on the Connection Manager.
    ForwardClose(ForwardClose<'a>),
    /// Any other service, undecoded.
    Other {
        /// Service code.
        code: u8,
        /// Service data.
        data: &'a [u8],
    },
}

impl<'a> Service<'a> {
    /// Decodes the data of a request for `service` addressed to `class` (from the path).
    pub fn parse(class: Option<u32>, service: u8, data: &'a [u8]) -> Result<Service<'a>> {
        Self::parse_with(class, service, data, false)
    }

    /// Decodes request data as a server reads it, accepting what [`Service::parse`] rejects but
    /// a Logix controller tolerates: bytes after a fixed-size request (Read Tag [Fragmented],
    /// Read-Modify-Write, attribute ID lists) are ignored; Read-Modify-Write masks of any size
    /// are accepted (the tag's type decides); Write Tag data is not split (every byte after the
    /// count is in `data`, for the server to size by the tag's own type); Multiple Service
    /// Packet offsets need only be ascending and within the data. A request that is too short
    /// is still an error.
    pub fn parse_lenient(class: Option<u32>, service: u8, data: &'a [u8]) -> Result<Service<'a>> {
        Self::parse_with(class, service, data, true)
    }

    fn parse_with(
        class: Option<u32>,
        service: u8,
        data: &'a [u8],
        lenient: bool,
    ) -> Result<Service<'a>> {
        use code::*;
        if class == Some(class::CONNECTION_MANAGER) {
            match service {
                UNCONNECTED_SEND => {
                    return UnconnectedSend::parse(data).map(Service::UnconnectedSend)
                }
                FORWARD_OPEN | LARGE_FORWARD_OPEN => {
                    return ForwardOpen::parse(service == LARGE_FORWARD_OPEN, data)
                        .map(Service::ForwardOpen)
                }
                FORWARD_CLOSE => return ForwardClose::parse(data).map(Service::ForwardClose),
                _ => {}
            }
        }
        Ok(match service {
            READ_TAG => Service::ReadTag(ReadTag::parse_with(data, lenient)?),
            WRITE_TAG => Service::WriteTag(WriteTag::parse_with(data, lenient)?),
            READ_TAG_FRAGMENTED => {
                Service::ReadTagFragmented(ReadTagFragmented::parse_with(data, lenient)?)
            }
            WRITE_TAG_FRAGMENTED => Service::WriteTagFragmented(WriteTagFragmented::parse(data)?),
            READ_MODIFY_WRITE_TAG => {
                Service::ReadModifyWrite(ReadModifyWrite::parse_with(data, lenient)?)
            }
            MULTIPLE_SERVICE_PACKET => {
                Service::MultipleServicePacket(MspRequest::parse_with(data, lenient)?)
            }
            GET_ATTRIBUTES_ALL => Service::GetAttributesAll(data),
            GET_ATTRIBUTE_SINGLE => Service::GetAttributeSingle(data),
            GET_ATTRIBUTE_LIST => {
                Service::GetAttributeList(AttributeIds::parse_with(data, lenient)?)
            }
            SET_ATTRIBUTE_LIST => Service::SetAttributeList(SetAttributeList::parse(data)?),
            SET_ATTRIBUTE_SINGLE => Service::SetAttributeSingle(data),
            GET_INSTANCE_ATTRIBUTE_LIST => {
                Service::GetInstanceAttributeList(AttributeIds::parse_with(data, lenient)?)
            }
            code => Service::Other { code, data },
        })
    }

    /// The service code this payload is sent with.
    pub fn code(&self) -> u8 {
        use code::*;
        match self {
            Service::ReadTag(_) => READ_TAG,
            Service::WriteTag(_) => WRITE_TAG,
            Service::ReadTagFragmented(_) => READ_TAG_FRAGMENTED,
            Service::WriteTagFragmented(_) => WRITE_TAG_FRAGMENTED,
            Service::ReadModifyWrite(_) => READ_MODIFY_WRITE_TAG,
            Service::MultipleServicePacket(_) => MULTIPLE_SERVICE_PACKET,
            Service::GetAttributesAll(_) => GET_ATTRIBUTES_ALL,
            Service::GetAttributeList(_) => GET_ATTRIBUTE_LIST,
            Service::SetAttributeList(_) => SET_ATTRIBUTE_LIST,
            Service::GetAttributeSingle(_) => GET_ATTRIBUTE_SINGLE,
            Service::SetAttributeSingle(_) => SET_ATTRIBUTE_SINGLE,
            Service::GetInstanceAttributeList(_) => GET_INSTANCE_ATTRIBUTE_LIST,
            Service::UnconnectedSend(_) => UNCONNECTED_SEND,
            Service::ForwardOpen(f) if f.large => LARGE_FORWARD_OPEN,
            Service::ForwardOpen(_) => FORWARD_OPEN,
            Service::ForwardClose(_) => FORWARD_CLOSE,
            Service::Other { code, .. } => *code,
        }
    }
}

impl Payload for Service<'_> {
    #[inline]
    fn buffer_len(&self) -> usize {
        match self {
            Service::ReadTag(s) => s.buffer_len(),
            Service::WriteTag(s) => s.buffer_len(),
            Service::ReadTagFragmented(s) => s.buffer_len(),
            Service::WriteTagFragmented(s) => s.buffer_len(),
            Service::ReadModifyWrite(s) => s.buffer_len(),
            Service::MultipleServicePacket(s) => s.buffer_len(),
            Service::GetAttributeList(s) | Service::GetInstanceAttributeList(s) => s.buffer_len(),
            Service::SetAttributeList(s) => s.buffer_len(),
            Service::GetAttributesAll(data)
            | Service::GetAttributeSingle(data)
            | Service::SetAttributeSingle(data)
            | Service::Other { data, .. } => data.len(),
            Service::UnconnectedSend(s) => s.buffer_len(),
            Service::ForwardOpen(s) => s.buffer_len(),
            Service::ForwardClose(s) => s.buffer_len(),
        }
    }

    #[inline]
    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        match self {
            Service::ReadTag(s) => s.emit(buf),
            Service::WriteTag(s) => s.emit(buf),
            Service::ReadTagFragmented(s) => s.emit(buf),
            Service::WriteTagFragmented(s) => s.emit(buf),
            Service::ReadModifyWrite(s) => s.emit(buf),
            Service::MultipleServicePacket(s) => s.emit(buf),
            Service::GetAttributeList(s) | Service::GetInstanceAttributeList(s) => s.emit(buf),
            Service::SetAttributeList(s) => s.emit(buf),
            Service::GetAttributesAll(data)
            | Service::GetAttributeSingle(data)
            | Service::SetAttributeSingle(data)
            | Service::Other { data, .. } => data.emit(buf),
            Service::UnconnectedSend(s) => s.emit(buf),
            Service::ForwardOpen(s) => s.emit(buf),
            Service::ForwardClose(s) => s.emit(buf),
        }
    }
}

/// A request: the path it addresses and the decoded service payload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Request<'a> {
    /// Request path.
    pub path: EPath<'a>,
    /// Service and its payload.
    pub service: Service<'a>,
}

impl<'a> Request<'a> {
    /// Decodes the payload of a Message Router request according to its class and service.
    pub fn parse(mr: &MrRequest<'a>) -> Result<Request<'a>> {
        Ok(Request {
            path: mr.path,
            service: Service::parse(mr.path.class(), mr.service, mr.data)?,
        })
    }

    /// Decodes a whole Message Router request from bytes.
    pub fn parse_bytes(buf: &'a [u8]) -> Result<Request<'a>> {
        Self::parse(&MrRequest::parse(buf)?)
    }

    /// Bytes the request occupies when emitted.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        mr::request_len(&self.path, &self.service)
    }

    /// Writes the whole Message Router request; returns the bytes written.
    #[inline]
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        mr::emit_request(self.service.code(), &self.path, &self.service, buf)
    }

    /// The whole Message Router request as a new vector of exactly its length.
    pub fn to_vec(&self) -> Result<Vec<u8>> {
        crate::cursor::emitted(self.buffer_len(), |buf| self.emit(buf))
    }
}

/// A decoded reply payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyBody<'a> {
    /// Read Tag / Read Tag Fragmented: type and element data.
    TagData(TagData<'a>),
    /// Multiple Service Packet: the sub-replies.
    MultipleServicePacket(MspReply<'a>),
    /// Get / Set Attribute List: count and entries.
    AttributeList(AttributeListReply<'a>),
    /// (Large) Forward Open success.
    ForwardOpen(ForwardOpenReply<'a>),
    /// Forward Close success.
    ForwardClose(ForwardCloseReply<'a>),
    /// Forward Open / Close failure.
    ConnectionFailure(ConnectionFailure),
    /// Unconnected Send failure (remaining path size).
    UnconnectedSendFailure(UnconnectedSendFailure),
    /// Anything else (attribute values, empty write replies, error replies): raw bytes.
    Data(&'a [u8]),
}

impl<'a> ReplyBody<'a> {
    /// Decodes the data of `mr`, a reply to a request addressed to `class`.
    pub fn parse(class: Option<u32>, mr: &MrReply<'a>) -> Result<ReplyBody<'a>> {
        use code::*;
        let data = mr.data;
        let ok = mr.general_status == status::SUCCESS;
        let partial = mr.general_status == status::PARTIAL_TRANSFER;
        let cm = class == Some(class::CONNECTION_MANAGER);
        Ok(match mr.service {
            FORWARD_OPEN | LARGE_FORWARD_OPEN | FORWARD_CLOSE if cm && !ok && data.len() == 10 => {
                ReplyBody::ConnectionFailure(ConnectionFailure::parse(data)?)
            }
            FORWARD_OPEN | LARGE_FORWARD_OPEN if cm && ok => {
                ReplyBody::ForwardOpen(ForwardOpenReply::parse(data)?)
            }
            FORWARD_CLOSE if cm && ok => ReplyBody::ForwardClose(ForwardCloseReply::parse(data)?),
            UNCONNECTED_SEND if cm && !ok && data.len() == 1 => {
                ReplyBody::UnconnectedSendFailure(UnconnectedSendFailure::parse(data)?)
            }
            _ if cm => ReplyBody::Data(data),
            READ_TAG | READ_TAG_FRAGMENTED if (ok || partial) && !data.is_empty() => {
                ReplyBody::TagData(TagData::parse(data)?)
            }
            MULTIPLE_SERVICE_PACKET
                if (ok || mr.general_status == status::EMBEDDED_SERVICE_ERROR)
                    && !data.is_empty() =>
            {
                ReplyBody::MultipleServicePacket(MspReply::parse(data)?)
            }
            GET_ATTRIBUTE_LIST | SET_ATTRIBUTE_LIST if !data.is_empty() => {
                ReplyBody::AttributeList(AttributeListReply::parse(data)?)
            }
            _ => ReplyBody::Data(data),
        })
    }
}

impl Payload for ReplyBody<'_> {
    #[inline]
    fn buffer_len(&self) -> usize {
        match self {
            ReplyBody::TagData(b) => b.buffer_len(),
            ReplyBody::MultipleServicePacket(b) => b.buffer_len(),
            ReplyBody::AttributeList(b) => b.buffer_len(),
            ReplyBody::ForwardOpen(b) => b.buffer_len(),
            ReplyBody::ForwardClose(b) => b.buffer_len(),
            ReplyBody::ConnectionFailure(b) => b.buffer_len(),
            ReplyBody::UnconnectedSendFailure(b) => b.buffer_len(),
            ReplyBody::Data(d) => d.len(),
        }
    }

    #[inline]
    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        match self {
            ReplyBody::TagData(b) => b.emit(buf),
            ReplyBody::MultipleServicePacket(b) => b.emit(buf),
            ReplyBody::AttributeList(b) => b.emit(buf),
            ReplyBody::ForwardOpen(b) => b.emit(buf),
            ReplyBody::ForwardClose(b) => b.emit(buf),
            ReplyBody::ConnectionFailure(b) => b.emit(buf),
            ReplyBody::UnconnectedSendFailure(b) => b.emit(buf),
            ReplyBody::Data(d) => d.emit(buf),
        }
    }
}

/// A reply: the Message Router header fields and the decoded body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply<'a> {
    /// Service code of the request answered (without the reply bit).
    pub service: u8,
    /// The reserved byte after the service code.
    pub reserved: u8,
    /// General status ([`status`]).
    pub general_status: u8,
    /// Extended status words as raw little-endian bytes.
    pub extended_status: &'a [u8],
    /// Decoded body.
    pub body: ReplyBody<'a>,
}

impl<'a> Reply<'a> {
    /// Decodes the body of `mr`, a reply to a request addressed to `class`.
    ///
    /// An Unconnected Send is answered with the embedded request's reply: pass the class of the
    /// embedded request.
    pub fn parse(class: Option<u32>, mr: &MrReply<'a>) -> Result<Reply<'a>> {
        Ok(Reply {
            service: mr.service,
            reserved: mr.reserved,
            general_status: mr.general_status,
            extended_status: mr.extended_status,
            body: ReplyBody::parse(class, mr)?,
        })
    }

    /// Decodes `mr`, the reply to `request`. An Unconnected Send is answered by the embedded
    /// request's reply, decoded per the embedded request's class, unless routing itself failed
    /// (an error status with only the remaining path size as data).
    pub fn parse_for(request: &Request<'_>, mr: &MrReply<'a>) -> Result<Reply<'a>> {
        let routing_failed = mr.service == code::UNCONNECTED_SEND
            && mr.general_status != status::SUCCESS
            && mr.data.len() == 1;
        let class = match request.service {
            Service::UnconnectedSend(send) if !routing_failed => send.message.path.class(),
            _ => request.path.class(),
        };
        Self::parse(class, mr)
    }

    /// A reply to `service` with `general_status` (and no extended status) carrying `body`.
    pub fn new(service: u8, general_status: u8, body: ReplyBody<'a>) -> Reply<'a> {
        Reply {
            service,
            reserved: 0,
            general_status,
            extended_status: &[],
            body,
        }
    }

    /// The Message Router header of this reply (with empty data).
    pub fn header(&self) -> MrReply<'a> {
        MrReply {
            service: self.service,
            reserved: self.reserved,
            general_status: self.general_status,
            extended_status: self.extended_status,
            data: &[],
        }
    }

    /// Bytes the whole reply occupies when emitted.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        mr::reply_len(self.extended_status, &self.body)
    }

    /// Writes the whole Message Router reply (header and body); returns the bytes written.
    #[inline]
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        self.header().emit_with(&self.body, buf)
    }
}

/// A list of 16-bit values: borrowed wire bytes or a caller's slice.
#[derive(Debug, Clone, Copy)]
pub enum U16s<'a> {
    /// Little-endian wire bytes (even length).
    Wire(&'a [u8]),
    /// Values.
    Values(&'a [u16]),
}

impl<'a> U16s<'a> {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            U16s::Wire(b) => b.len() / 2,
            U16s::Values(v) => v.len(),
        }
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values in order.
    pub fn iter(&self) -> impl Iterator<Item = u16> + 'a {
        let (wire, values): (&'a [u8], &'a [u16]) = match *self {
            U16s::Wire(b) => (b, &[]),
            U16s::Values(v) => (&[], v),
        };
        wire.chunks_exact(2)
            .map(|w| u16::from_le_bytes([w[0], w[1]]))
            .chain(values.iter().copied())
    }

    pub(crate) fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        match self {
            U16s::Wire(b) => w.bytes(b),
            U16s::Values(v) => v.iter().try_for_each(|x| w.u16(*x)),
        }
    }

    pub(crate) fn parse(r: &mut Reader<'a>, count: usize) -> Result<U16s<'a>> {
        Ok(U16s::Wire(r.take(count * 2)?))
    }
}

impl PartialEq for U16s<'_> {
    fn eq(&self, other: &U16s<'_>) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for U16s<'_> {}

pub(crate) fn finish(r: &Reader<'_>) -> Result<()> {
    finish_unless(false, r)
}

/// [`finish`], or nothing when `lenient` (a server ignores bytes after a fixed-size request).
pub(crate) fn finish_unless(lenient: bool, r: &Reader<'_>) -> Result<()> {
    if lenient {
        return Ok(());
    }
    r.finish("unexpected data after the request")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::epath::{Padding, Segment};

    #[test]
    fn a_request_to_vec_is_its_emitted_bytes() {
        let segments = [Segment::Symbolic(b"SCADA")];
        let req = Request {
            path: EPath::from_segments(&segments, Padding::Padded),
            service: Service::ReadTag(ReadTag { elements: 1 }),
        };
        let bytes = req.to_vec().unwrap();
        // 0x4C, 4 path words: 0x91 0x05 "SCADA" pad, then the count.
        assert_eq!(bytes, b"\x4c\x04\x91\x05SCADA\x00\x01\x00");
        assert_eq!(Request::parse_bytes(&bytes), Ok(req));
    }

    #[test]
    fn lenient_parse_is_what_a_server_accepts() {
        let read = [1, 0, 0xFF];
        assert!(Service::parse(None, code::READ_TAG, &read).is_err());
        assert_eq!(
            Service::parse_lenient(None, code::READ_TAG, &read),
            Ok(Service::ReadTag(ReadTag { elements: 1 }))
        );
        assert!(Service::parse_lenient(None, code::READ_TAG, &[1]).is_err());
        // Still per class: 0x52 to the Connection Manager is an Unconnected Send.
        let frag = [1, 0, 0, 0, 0, 0];
        assert!(matches!(
            Service::parse_lenient(None, code::READ_TAG_FRAGMENTED, &frag),
            Ok(Service::ReadTagFragmented(_))
        ));
        assert!(Service::parse_lenient(
            Some(class::CONNECTION_MANAGER),
            code::UNCONNECTED_SEND,
            &frag
        )
        .is_err());
    }
}
