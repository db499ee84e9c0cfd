//! EtherNet/IP encapsulation: the 24-byte header and each command's data.
//!
//! ```text
//! command u16 | length u16 | session handle u32 | status u32 | sender context [u8; 8] | options u32
//! then `length` bytes of command-specific data
//! ```
//!
//! [`Packet`] is a checked view over a buffer holding a whole frame; [`Repr`] is the decoded
//! frame: a [`Header`] and a [`Body`] that borrows its payload from the input, so decoding a
//! SendRRData carrying one CIP request allocates nothing.
//!
//! Parse a RegisterSession request and emit the reply that assigns a session handle:
//!
//! ```
//! use cpppo_cip::encap::{status, Body, Command, Packet, Register, Repr};
//!
//! let request = [
//!     0x65, 0x00, 0x04, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, // RegisterSession, length 4
//!     b'c', b't', b'x', 0, 0, 0, 0, 0, 0, 0, 0, 0, // sender context, options
//!     0x01, 0x00, 0x00, 0x00, // protocol version 1, options 0
//! ];
//! let packet = Packet::new_checked(&request[..]).unwrap();
//! let frame = Repr::parse(&packet).unwrap();
//! assert_eq!(frame.header.command, Command::RegisterSession);
//! let Body::Register(register) = frame.body else { panic!("not a RegisterSession") };
//! assert_eq!(register, Register { protocol_version: 1, options: 0 });
//!
//! let mut reply = Repr { header: frame.header.reply(status::SUCCESS), body: frame.body };
//! reply.header.session = 0x1234_5678;
//! let bytes = reply.to_vec().unwrap();
//! assert_eq!(&bytes[4..8], &[0x78, 0x56, 0x34, 0x12]);
//! assert_eq!(&bytes[12..15], b"ctx");
//! assert_eq!(bytes.len(), 28);
//! ```

use crate::cpf;
use crate::cursor::{len_u16, Reader, Writer};
use crate::error::{Error, Result};
use crate::mr::Payload;

/// Length of the encapsulation header.
pub const HEADER_LEN: usize = 24;

/// The only encapsulation protocol version there is; RegisterSession asks for it.
pub const PROTOCOL_VERSION: u16 = 1;

/// Encapsulation status codes.
pub mod status {
    /// Success.
    pub const SUCCESS: u32 = 0x0000;
    /// The command is invalid or not supported.
    pub const INVALID_COMMAND: u32 = 0x0001;
    /// The receiver lacks memory to handle the command (also: frame over our length limit).
    pub const INSUFFICIENT_MEMORY: u32 = 0x0002;
    /// Poorly formed or incorrect data in the command-specific data.
    pub const INCORRECT_DATA: u32 = 0x0003;
    /// The session handle is not one the receiver issued.
    pub const INVALID_SESSION: u32 = 0x0064;
    /// The length does not suit the command.
    pub const INVALID_LENGTH: u32 = 0x0065;
    /// The requested protocol version is not supported.
    pub const UNSUPPORTED_PROTOCOL: u32 = 0x0069;
}

/// An encapsulation command code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// `0x0000` NOP: no reply.
    Nop,
    /// `0x0001`: undocumented legacy command; cpppo answers with the device's address.
    Legacy,
    /// `0x0004` ListServices.
    ListServices,
    /// `0x0063` ListIdentity.
    ListIdentity,
    /// `0x0064` ListInterfaces.
    ListInterfaces,
    /// `0x0065` RegisterSession.
    RegisterSession,
    /// `0x0066` UnRegisterSession: no reply.
    UnRegisterSession,
    /// `0x006F` SendRRData (unconnected, request/reply).
    SendRRData,
    /// `0x0070` SendUnitData (connected).
    SendUnitData,
    /// Any other code (answer with [`status::INVALID_COMMAND`]).
    Unknown(u16),
}

impl Command {
    /// The command for a wire code.
    pub fn from_code(code: u16) -> Self {
        match code {
            0x0000 => Command::Nop,
            0x0001 => Command::Legacy,
            0x0004 => Command::ListServices,
            0x0063 => Command::ListIdentity,
            0x0064 => Command::ListInterfaces,
            0x0065 => Command::RegisterSession,
            0x0066 => Command::UnRegisterSession,
            0x006F => Command::SendRRData,
            0x0070 => Command::SendUnitData,
            other => Command::Unknown(other),
        }
    }

    /// The wire code.
    pub fn code(self) -> u16 {
        match self {
            Command::Nop => 0x0000,
            Command::Legacy => 0x0001,
            Command::ListServices => 0x0004,
            Command::ListIdentity => 0x0063,
            Command::ListInterfaces => 0x0064,
            Command::RegisterSession => 0x0065,
            Command::UnRegisterSession => 0x0066,
            Command::SendRRData => 0x006F,
            Command::SendUnitData => 0x0070,
            Command::Unknown(code) => code,
        }
    }
}

impl From<u16> for Command {
    fn from(code: u16) -> Self {
        Command::from_code(code)
    }
}

impl From<Command> for u16 {
    fn from(c: Command) -> Self {
        c.code()
    }
}

/// A checked view of an encapsulation frame.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking; accessors read missing bytes as zero.
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wraps `buffer` after [`Packet::check_len`].
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// [`Error::Truncated`] unless the buffer holds the header and `length` bytes of data
    /// (it may hold more: the next frame of a stream).
    pub fn check_len(&self) -> Result<()> {
        let have = self.buffer.as_ref().len();
        let needed = if have < HEADER_LEN {
            HEADER_LEN
        } else {
            self.frame_len()
        };
        if have < needed {
            Err(Error::Truncated { needed, have })
        } else {
            Ok(())
        }
    }

    fn field<const N: usize>(&self, at: usize) -> [u8; N] {
        let mut r = Reader::new(self.buffer.as_ref());
        r.take(at).and_then(|_| r.array::<N>()).unwrap_or([0; N])
    }

    /// The command.
    pub fn command(&self) -> Command {
        Command::from_code(u16::from_le_bytes(self.field(0)))
    }

    /// Length of the command-specific data.
    pub fn length(&self) -> u16 {
        u16::from_le_bytes(self.field(2))
    }

    /// The session handle.
    pub fn session_handle(&self) -> u32 {
        u32::from_le_bytes(self.field(4))
    }

    /// The status.
    pub fn status(&self) -> u32 {
        u32::from_le_bytes(self.field(8))
    }

    /// The sender context.
    pub fn sender_context(&self) -> [u8; 8] {
        self.field(12)
    }

    /// The options.
    pub fn options(&self) -> u32 {
        u32::from_le_bytes(self.field(20))
    }

    /// Header plus data: the bytes this frame occupies.
    pub fn frame_len(&self) -> usize {
        HEADER_LEN + usize::from(self.length())
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The command-specific data (empty if the buffer is shorter than the header says).
    pub fn payload(&self) -> &'a [u8] {
        let end = self.frame_len();
        self.buffer
            .as_ref()
            .get(HEADER_LEN..end)
            .unwrap_or_default()
    }
}

/// The decoded header, without the length (which [`Repr::emit`] computes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// Command.
    pub command: Command,
    /// Session handle (0 before RegisterSession and for List* commands).
    pub session: u32,
    /// Status (0 in requests).
    pub status: u32,
    /// Sender context, echoed in the reply.
    pub context: [u8; 8],
    /// Options (0).
    pub options: u32,
}

impl Header {
    /// Reads the header fields of a packet.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Self {
        Header {
            command: packet.command(),
            session: packet.session_handle(),
            status: packet.status(),
            context: packet.sender_context(),
            options: packet.options(),
        }
    }

    /// The header in `b` and the length of the data after it.
    #[inline]
    fn from_bytes(b: &[u8; HEADER_LEN]) -> (Self, u16) {
        let [c0, c1, l0, l1, s0, s1, s2, s3, t0, t1, t2, t3, x0, x1, x2, x3, x4, x5, x6, x7, o0, o1, o2, o3] =
            *b;
        let header = Header {
            command: Command::from_code(u16::from_le_bytes([c0, c1])),
            session: u32::from_le_bytes([s0, s1, s2, s3]),
            status: u32::from_le_bytes([t0, t1, t2, t3]),
            context: [x0, x1, x2, x3, x4, x5, x6, x7],
            options: u32::from_le_bytes([o0, o1, o2, o3]),
        };
        (header, u16::from_le_bytes([l0, l1]))
    }

    /// The header of a reply to this request: same command, session, context and options, with
    /// `status`.
    pub fn reply(&self, status: u32) -> Self {
        Header { status, ..*self }
    }

    fn write(&self, length: u16, w: &mut Writer<'_>) -> Result<()> {
        // Assembled whole and written at once: every reply starts with one.
        let [c0, c1] = self.command.code().to_le_bytes();
        let [l0, l1] = length.to_le_bytes();
        let [s0, s1, s2, s3] = self.session.to_le_bytes();
        let [t0, t1, t2, t3] = self.status.to_le_bytes();
        let [x0, x1, x2, x3, x4, x5, x6, x7] = self.context;
        let [o0, o1, o2, o3] = self.options.to_le_bytes();
        w.bytes(&[
            c0, c1, l0, l1, s0, s1, s2, s3, t0, t1, t2, t3, x0, x1, x2, x3, x4, x5, x6, x7, o0, o1,
            o2, o3,
        ])
    }
}

/// RegisterSession data (both request and reply).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Register {
    /// Protocol version ([`PROTOCOL_VERSION`]; others get [`status::UNSUPPORTED_PROTOCOL`]).
    pub protocol_version: u16,
    /// Option flags (0).
    pub options: u16,
}

/// SendRRData / SendUnitData data: interface handle, timeout, then a CPF list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SendData<'a> {
    /// Interface handle (0 for CIP).
    pub interface: u32,
    /// Timeout in seconds (SendRRData; 0 in SendUnitData).
    pub timeout: u16,
    /// The items: an address item and a data item, usually.
    pub cpf: cpf::Repr<'a>,
}

impl<'a> SendData<'a> {
    /// SendRRData data carrying one unconnected CIP message: a null address item and an
    /// unconnected data item, interface 0, timeout 0.
    pub fn unconnected(message: &'a [u8]) -> Self {
        let mut cpf = cpf::Repr::new();
        for item in [cpf::Item::NullAddress, cpf::Item::UnconnectedData(message)] {
            // Two items always fit: MAX_ITEMS is larger.
            let _ = cpf.push(item);
        }
        SendData {
            interface: 0,
            timeout: 0,
            cpf,
        }
    }

    /// SendUnitData data carrying one connected CIP message: a connected address item and a
    /// connected data item with its sequence count, interface 0, timeout 0.
    pub fn connected(connection_id: u32, sequence: u16, message: &'a [u8]) -> Self {
        let mut cpf = cpf::Repr::new();
        for item in [
            cpf::Item::ConnectedAddress { connection_id },
            cpf::Item::ConnectedData {
                sequence,
                data: message,
            },
        ] {
            let _ = cpf.push(item);
        }
        SendData {
            interface: 0,
            timeout: 0,
            cpf,
        }
    }
}

/// The command-specific data of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Body<'a> {
    /// No data (length 0): List* and legacy requests, UnRegisterSession, error replies.
    Empty,
    /// RegisterSession request or reply.
    Register(Register),
    /// SendRRData / SendUnitData request or reply.
    SendData(SendData<'a>),
    /// A CPF list: ListIdentity, ListServices, ListInterfaces or legacy 0x0001 replies.
    Items(cpf::Repr<'a>),
    /// Data of NOP and of commands whose data is not interpreted (unknown commands).
    Raw(&'a [u8]),
}

impl<'a> Body<'a> {
    /// Decodes the data of `command`.
    #[inline]
    pub fn parse(command: Command, data: &'a [u8]) -> Result<Self> {
        if data.is_empty() {
            return Ok(Body::Empty);
        }
        let mut r = Reader::new(data);
        let body = match command {
            Command::RegisterSession => Body::Register(Register {
                protocol_version: r.u16()?,
                options: r.u16()?,
            }),
            Command::SendRRData | Command::SendUnitData => Body::SendData(SendData {
                interface: r.u32()?,
                timeout: r.u16()?,
                cpf: cpf::Repr::parse_bytes(r.take_rest())?,
            }),
            Command::ListServices
            | Command::ListIdentity
            | Command::ListInterfaces
            | Command::Legacy => Body::Items(cpf::Repr::parse_bytes(r.take_rest())?),
            Command::Nop | Command::UnRegisterSession | Command::Unknown(_) => {
                Body::Raw(r.take_rest())
            }
        };
        r.finish("command data length")?;
        Ok(body)
    }

    /// Bytes [`Body::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        match self {
            Body::Empty => 0,
            Body::Register(_) => 4,
            Body::SendData(s) => 6 + s.cpf.buffer_len(),
            Body::Items(cpf) => cpf.buffer_len(),
            Body::Raw(data) => data.len(),
        }
    }

    /// Writes the data into `buf`, returning its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::checked(buf, self.buffer_len())?;
        match self {
            Body::Empty => {}
            Body::Register(reg) => {
                w.u16(reg.protocol_version)?;
                w.u16(reg.options)?;
            }
            Body::SendData(s) => {
                w.u32(s.interface)?;
                w.u16(s.timeout)?;
                w.nested(|b| s.cpf.emit(b))?;
            }
            Body::Items(cpf) => w.nested(|b| cpf.emit(b))?,
            Body::Raw(data) => w.bytes(data)?,
        }
        Ok(w.pos())
    }
}

/// A decoded encapsulation frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr<'a> {
    /// The header.
    pub header: Header,
    /// The command-specific data.
    pub body: Body<'a>,
}

impl<'a> Repr<'a> {
    /// Decodes a checked packet.
    #[inline]
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&'a T>) -> Result<Self> {
        packet.check_len()?;
        let header = Header::parse(packet);
        Ok(Repr {
            header,
            body: Body::parse(header.command, packet.payload())?,
        })
    }

    /// Decodes the frame at the start of `buf` (bytes after it are ignored).
    #[inline]
    pub fn parse_bytes(buf: &'a [u8]) -> Result<Self> {
        Self::parse(&Packet::new_checked(buf)?)
    }

    /// Bytes [`Repr::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.body.buffer_len()
    }

    /// Writes the frame into `buf`, returning its length. [`Error::TooLong`] if the data does not
    /// fit the 16-bit length field.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let length = len_u16("encapsulation data", self.body.buffer_len())?;
        let mut w = Writer::checked(buf, self.buffer_len())?;
        self.header.write(length, &mut w)?;
        w.nested(|b| self.body.emit(b))?;
        Ok(w.pos())
    }

    /// The emitted frame in a new vector.
    pub fn to_vec(&self) -> Result<Vec<u8>> {
        crate::cursor::emitted(self.buffer_len(), |buf| self.emit(buf))
    }
}

impl Payload for Repr<'_> {
    fn buffer_len(&self) -> usize {
        Repr::buffer_len(self)
    }

    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        Repr::emit(self, buf)
    }
}

/// A SendRRData / SendUnitData frame to emit, its CPF items given as a slice: emits what a
/// [`Repr`] with a [`Body::SendData`] of the same items does, without building its
/// [`cpf::Repr`] (a server's reply, appended to its output with [`crate::server::append`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendFrame<'a> {
    /// The header.
    pub header: Header,
    /// Interface handle.
    pub interface: u32,
    /// Timeout.
    pub timeout: u16,
    /// The CPF items.
    pub items: &'a [cpf::Item<'a>],
}

impl Payload for SendFrame<'_> {
    fn buffer_len(&self) -> usize {
        HEADER_LEN + 6 + cpf::items_len(self.items)
    }

    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let data = 6 + cpf::items_len(self.items);
        let length = len_u16("encapsulation data", data)?;
        let mut w = Writer::checked(buf, HEADER_LEN + data)?;
        self.header.write(length, &mut w)?;
        w.u32(self.interface)?;
        w.u16(self.timeout)?;
        // The room for the items was checked with the rest.
        w.u16(len_u16("CPF item count", self.items.len())?)?;
        for item in self.items {
            w.nested(|b| item.emit(b))?;
        }
        Ok(w.pos())
    }
}

/// A SendRRData / SendUnitData frame whose CPF list holds exactly two items (an address item
/// and a data item, as every request and reply of one CIP message does), decoded in place:
/// what [`Repr::parse_bytes`] decodes from the same bytes, without filling a [`cpf::Repr`]
/// of [`cpf::MAX_ITEMS`] slots.
///
/// [`SendView::parse`] declines (`None`) every other frame, including those the general
/// decoder refuses: decode those with [`Repr::parse_bytes`], which says what is wrong.
///
/// ```
/// use cpppo_cip::cpf::Item;
/// use cpppo_cip::encap::{Body, Command, Header, Repr, SendData, SendView};
///
/// let header = Header { command: Command::SendRRData, session: 7, status: 0, context: *b"context!", options: 0 };
/// let bytes = Repr { header, body: Body::SendData(SendData::unconnected(&[0x4c, 0])) }.to_vec().unwrap();
/// let view = SendView::parse(&bytes).unwrap();
/// assert_eq!(view.header, header);
/// assert_eq!(view.address(), Item::NullAddress);
/// assert_eq!(view.unconnected_data(), Some(&[0x4c, 0][..]));
/// assert_eq!(view.repr(), Repr::parse_bytes(&bytes).unwrap());
/// // A ListIdentity request is not a SendRRData: decode it the general way.
/// assert!(SendView::parse(&[0x63; 24]).is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendView<'a> {
    /// The header.
    pub header: Header,
    /// Interface handle.
    pub interface: u32,
    /// Timeout.
    pub timeout: u16,
    items: [cpf::Item<'a>; 2],
}

impl<'a> SendView<'a> {
    /// Decodes the frame at the start of `frame` (bytes after it are ignored) when it is a
    /// SendRRData or SendUnitData of two CPF items that [`Repr::parse_bytes`] accepts;
    /// `None` otherwise.
    #[inline]
    pub fn parse(frame: &'a [u8]) -> Option<Self> {
        let (head, rest) = frame.split_first_chunk::<HEADER_LEN>()?;
        let (header, length) = Header::from_bytes(head);
        if !matches!(header.command, Command::SendRRData | Command::SendUnitData) {
            return None;
        }
        let mut r = Reader::new(rest.get(..usize::from(length))?);
        let interface = r.u32().ok()?;
        let timeout = r.u16().ok()?;
        if r.u16().ok()? != 2 {
            return None;
        }
        let mut item = || -> Option<cpf::Item<'a>> {
            let type_id = r.u16().ok()?;
            let len = r.u16().ok()?;
            cpf::Item::parse(type_id, r.take(len.into()).ok()?).ok()
        };
        let items = [item()?, item()?];
        r.finish("command data length").ok()?;
        Some(SendView {
            header,
            interface,
            timeout,
            items,
        })
    }

    /// The two items, in the order sent.
    pub fn items(&self) -> &[cpf::Item<'a>] {
        &self.items
    }

    /// The first item: the address item of a well-formed request.
    pub fn address(&self) -> cpf::Item<'a> {
        let [address, _] = self.items;
        address
    }

    /// The second item: the data item of a well-formed request.
    pub fn data(&self) -> cpf::Item<'a> {
        let [_, data] = self.items;
        data
    }

    /// The CIP message of the first unconnected data item (`0x00B2`).
    pub fn unconnected_data(&self) -> Option<&'a [u8]> {
        cpf::unconnected_data(&self.items)
    }

    /// Sequence count and CIP message of the first connected data item (`0x00B1`).
    pub fn connected_data(&self) -> Option<(u16, &'a [u8])> {
        cpf::connected_data(&self.items)
    }

    /// The connection id of the first connected (`0x00A1`) or sequenced (`0x8002`) address
    /// item.
    pub fn connection_id(&self) -> Option<u32> {
        cpf::connection_id(&self.items)
    }

    /// The same frame as the general decoder has it.
    pub fn repr(&self) -> Repr<'a> {
        Repr {
            header: self.header,
            body: Body::SendData(SendData {
                interface: self.interface,
                timeout: self.timeout,
                // Two items always fit: MAX_ITEMS is larger.
                cpf: cpf::Repr::from_items(&self.items).unwrap_or_default(),
            }),
        }
    }
}

/// The encapsulation status to answer with when a frame with this `command` and `data_len` bytes
/// of data failed to decode with `error`:
///
/// - a frame over the receiver's length limit, or more CPF items than [`cpf::MAX_ITEMS`]:
///   [`status::INSUFFICIENT_MEMORY`];
/// - a length that cannot suit the command (RegisterSession other than 4, SendRRData /
///   SendUnitData shorter than interface + timeout + item count): [`status::INVALID_LENGTH`];
/// - anything else wrong inside the data (CPF counts and item lengths): [`status::INCORRECT_DATA`].
pub fn error_status(command: Command, data_len: usize, error: &Error) -> u32 {
    let length_fits = match command {
        Command::RegisterSession => data_len == 0 || data_len == 4,
        Command::SendRRData | Command::SendUnitData => data_len == 0 || data_len >= 8,
        _ => true,
    };
    match error {
        Error::TooLong { .. } => status::INSUFFICIENT_MEMORY,
        _ if !length_fits => status::INVALID_LENGTH,
        _ => status::INCORRECT_DATA,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(cmd: u16, data: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend(cmd.to_le_bytes());
        v.extend((data.len() as u16).to_le_bytes());
        v.extend([0x11, 0x22, 0x33, 0x44, 0, 0, 0, 0]);
        v.extend(*b"context!");
        v.extend([0; 4]);
        v.extend(data);
        v
    }

    #[test]
    fn send_frame_appends_what_the_repr_emits() {
        let header = Header::parse(&Packet::new_checked(&frame(0x70, &[])[..]).unwrap());
        let message = [0xcc, 0, 0, 0, 0xc3, 0, 7, 0];
        for data in [
            SendData::unconnected(&message),
            SendData::connected(0x1234_5678, 9, &message),
        ] {
            let repr = Repr {
                header: header.reply(0),
                body: Body::SendData(SendData {
                    interface: 3,
                    timeout: 10,
                    ..data
                }),
            };
            let mut out = vec![0xEE];
            let sent = SendFrame {
                header: header.reply(0),
                interface: 3,
                timeout: 10,
                items: data.cpf.items(),
            };
            let n = crate::server::append(&mut out, &sent).unwrap();
            assert_eq!(
                out[1..],
                repr.to_vec().unwrap()[..],
                "appended after what was there"
            );
            assert_eq!(n, repr.buffer_len());
            let mut whole = Vec::new();
            crate::server::append(&mut whole, &repr).unwrap();
            assert_eq!(whole, repr.to_vec().unwrap());
        }
    }

    #[test]
    fn header_fields_little_endian() {
        let bytes = frame(0x6f, &[]);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.command(), Command::SendRRData);
        assert_eq!(p.session_handle(), 0x4433_2211);
        assert_eq!(p.sender_context(), *b"context!");
        assert_eq!(Repr::parse(&p).unwrap().body, Body::Empty);
    }

    #[test]
    fn short_buffers_say_how_much_is_needed() {
        let bytes = frame(0x65, &[1, 0, 0, 0]);
        for n in 0..bytes.len() {
            let needed = if n < HEADER_LEN { HEADER_LEN } else { 28 };
            assert_eq!(
                Packet::new_checked(&bytes[..n]).err(),
                Some(Error::Truncated { needed, have: n })
            );
        }
    }

    #[test]
    fn register_session_wrong_length_is_invalid_length() {
        let bytes = frame(0x65, &[1, 0, 0, 0, 0]);
        let err = Repr::parse_bytes(&bytes).unwrap_err();
        assert_eq!(
            error_status(Command::RegisterSession, 5, &err),
            status::INVALID_LENGTH
        );
        let bytes = frame(0x65, &[1, 0]);
        let err = Repr::parse_bytes(&bytes).unwrap_err();
        assert_eq!(
            error_status(Command::RegisterSession, 2, &err),
            status::INVALID_LENGTH
        );
    }

    #[test]
    fn bad_cpf_is_incorrect_data() {
        let bytes = frame(0x6f, &[0, 0, 0, 0, 5, 0, 2, 0, 0, 0, 0, 0]);
        let err = Repr::parse_bytes(&bytes).unwrap_err();
        assert_eq!(
            error_status(Command::SendRRData, 12, &err),
            status::INCORRECT_DATA
        );
    }

    #[test]
    fn unknown_command_keeps_its_code_and_data() {
        let bytes = frame(0x00ff, &[9, 8]);
        let r = Repr::parse_bytes(&bytes).unwrap();
        assert_eq!(r.header.command, Command::Unknown(0xff));
        assert_eq!(r.body, Body::Raw(&[9, 8]));
        assert_eq!(r.to_vec().unwrap(), bytes);
    }

    #[test]
    fn send_data_helpers_build_the_usual_items() {
        let rr = SendData::unconnected(&[0x4c, 0]);
        assert_eq!(rr.cpf.unconnected_data(), Some(&[0x4c, 0][..]));
        assert_eq!(rr.cpf.items().len(), 2);
        let unit = SendData::connected(7, 3, &[0xcc]);
        assert_eq!(unit.cpf.connection_id(), Some(7));
        assert_eq!(unit.cpf.connected_data(), Some((3, &[0xcc][..])));
        let mut bytes = [0u8; 64];
        let n = Body::SendData(unit).emit(&mut bytes).unwrap();
        assert_eq!(
            &bytes[..n],
            &[0, 0, 0, 0, 0, 0, 2, 0, 0xa1, 0, 4, 0, 7, 0, 0, 0, 0xb1, 0, 3, 0, 3, 0, 0xcc]
        );
    }

    #[test]
    fn emit_needs_room() {
        let bytes = frame(0x65, &[1, 0, 0, 0]);
        let r = Repr::parse_bytes(&bytes).unwrap();
        let mut small = [0u8; 27];
        assert_eq!(
            r.emit(&mut small),
            Err(Error::BufferTooSmall {
                needed: 28,
                have: 27
            })
        );
    }

    #[test]
    fn oversized_body_cannot_be_emitted() {
        let big = vec![0u8; 70_000];
        let nop = frame(0, &[]);
        let r = Repr {
            header: Header::parse(&Packet::new_unchecked(&nop[..])),
            body: Body::Raw(&big),
        };
        assert!(matches!(
            r.emit(&mut vec![0; 80_000]),
            Err(Error::TooLong { .. })
        ));
    }
}
