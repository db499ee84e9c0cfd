//! Class 1 implicit I/O: the UDP frames (port 2222) and what a Forward Open says about an I/O
//! connection.
//!
//! An I/O frame is a CPF list of two items (the same [`crate::cpf`] items as everywhere else):
//!
//! ```text
//! 0x8002 Sequenced Address   connection id u32, encapsulation sequence number u32
//! 0x00B1 Connected Data      CIP sequence count u16,
//!                            [run/idle header u32]   (the "32-bit header" real-time format)
//!                            data
//! ```
//!
//! Whether the run/idle header is there is not written in the frame: the Forward Open agreed it
//! per direction (by convention O→T carries it and T→O does not), so [`IoFrame::parse`] takes
//! the [`Format`]. [`IoFrame::address`] reads the connection id alone, to find the connection
//! (and so its format) first.
//!
//! The Forward Open side: [`NetworkParams`] (size, fixed/variable, priority, point-to-point or
//! multicast) in both the 16-bit (`0x54`) and 32-bit (`0x5B`) layouts, [`TransportClass`],
//! [`IoPath`] (the connection path `[key] 20 04 [24 cfg] 2C o_t 2C t_o [80 data]` decoded),
//! the refusals that carry additional status words ([`size_refusal`], [`RpiRange`]) and the
//! Logix-style multicast address allocation ([`multicast_group`]).
//!
//! ```
//! use cpppo_cip::io::{Format, IoFrame};
//! let frame = IoFrame {
//!     connection_id: 0x1234_5678,
//!     encap_sequence: 7,
//!     sequence: 7,
//!     run_idle: Some(1),
//!     data: &[1, 2, 3, 4],
//! };
//! let bytes = frame.to_vec()?;
//! assert_eq!(bytes.len(), 2 + 12 + 4 + 2 + 4 + 4);
//! assert_eq!(IoFrame::address(&bytes)?, (0x1234_5678, 7));
//! let back = IoFrame::parse(&bytes, Format::RunIdle)?;
//! assert_eq!(back, frame);
//! assert!(back.is_run());
//! # Ok::<(), cpppo_cip::Error>(())
//! ```

use core::net::Ipv4Addr;

use crate::cpf::{self, Item};
use crate::cursor::{Reader, Writer};
use crate::epath::{EPath, ElectronicKey, LogicalKind, Padding, Segment};
use crate::error::{Error, Result};
use crate::mr::status;
use crate::server::Status;
use crate::services::cm::ext;

/// The UDP port class 1 I/O is exchanged on.
pub const IO_PORT: u16 = 2222;
/// Bytes of the CIP sequence count before the data of a class 1 frame.
pub const SEQUENCE_LEN: usize = 2;
/// Bytes of the run/idle header of the 32-bit header format.
pub const RUN_IDLE_LEN: usize = 4;
/// The run bit of the run/idle header.
pub const RUN: u32 = 0x0000_0001;
/// O→T connection point of an Input Only connection: a heartbeat, no data.
pub const INPUT_ONLY_POINT: u32 = 238;
/// O→T connection point of a Listen Only connection: a heartbeat, no data.
pub const LISTEN_ONLY_POINT: u32 = 237;
/// The Assembly object's class.
pub const ASSEMBLY_CLASS: u32 = 0x04;

/// The real-time format of one direction of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Sequence count then data (T→O by convention; heartbeats).
    Modeless,
    /// Sequence count, the 32-bit run/idle header, then data (O→T by convention).
    RunIdle,
    /// Transport class 0: the data alone, no sequence count and no header (a heartbeat is
    /// empty). Parsed frames of this format have sequence count 0; emit them with
    /// [`IoFrame::emit_as`].
    Class0,
}

impl Format {
    /// Bytes of connected data (the connection size) for `data` bytes of application data.
    pub fn connection_size(self, data: usize) -> usize {
        match self {
            Format::Class0 => data,
            _ => SEQUENCE_LEN + data + self.header_len(),
        }
    }

    /// Bytes of header between the sequence count and the data.
    pub fn header_len(self) -> usize {
        match self {
            Format::Modeless | Format::Class0 => 0,
            Format::RunIdle => RUN_IDLE_LEN,
        }
    }
}

/// One class 1 I/O datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IoFrame<'a> {
    /// The connection id the receiver knows the connection by (its consumed id).
    pub connection_id: u32,
    /// The encapsulation sequence number (one per frame the producer sends).
    pub encap_sequence: u32,
    /// The CIP sequence count (changes when the data is new).
    pub sequence: u16,
    /// The run/idle header ([`Format::RunIdle`]), absent in [`Format::Modeless`].
    pub run_idle: Option<u32>,
    /// The application data.
    pub data: &'a [u8],
}

impl<'a> IoFrame<'a> {
    /// Reads the connection id and the encapsulation sequence number of a frame, checking that
    /// it is a well-formed two-item I/O frame.
    pub fn address(buf: &'a [u8]) -> Result<(u32, u32)> {
        let f = Self::parse(buf, Format::Class0)?;
        Ok((f.connection_id, f.encap_sequence))
    }

    /// Decodes a frame of a direction whose real-time format is `format`.
    pub fn parse(buf: &'a [u8], format: Format) -> Result<IoFrame<'a>> {
        let bad = Error::Malformed("I/O frame items (want sequenced address + connected data)");
        // Raw items: a class 0 connected data item may be shorter than a sequence count.
        cpf::Packet::new_checked(buf)?;
        let mut r = Reader::new(buf);
        if r.u16()? != 2 {
            return Err(bad);
        }
        let mut next = || -> Result<(u16, &'a [u8])> {
            let type_id = r.u16()?;
            let len = r.u16()?;
            Ok((type_id, r.take(len.into())?))
        };
        let (address_type, address) = next()?;
        let (data_type, connected) = next()?;
        let Item::SequencedAddress {
            connection_id,
            sequence: encap_sequence,
        } = Item::parse(address_type, address)?
        else {
            return Err(bad);
        };
        if data_type != cpf::type_id::CONNECTED_DATA {
            return Err(bad);
        }
        let mut r = Reader::new(connected);
        let sequence = match format {
            Format::Class0 => 0,
            _ => r.u16()?,
        };
        let run_idle = match format {
            Format::Modeless | Format::Class0 => None,
            Format::RunIdle => Some(r.u32()?),
        };
        Ok(IoFrame {
            connection_id,
            encap_sequence,
            sequence,
            run_idle,
            data: r.take_rest(),
        })
    }

    /// The real-time format this frame is in ([`Format::Class0`] is not told by the frame:
    /// a connection's format is agreed at Forward Open).
    pub fn format(&self) -> Format {
        match self.run_idle {
            Some(_) => Format::RunIdle,
            None => Format::Modeless,
        }
    }

    /// Whether the producer is in run mode (a frame without the header always is).
    pub fn is_run(&self) -> bool {
        self.run_idle.is_none_or(|h| h & RUN != 0)
    }

    /// Bytes of connected data: sequence count, header and data (what the connection size
    /// of the Forward Open counts).
    pub fn connection_size(&self) -> usize {
        self.format().connection_size(self.data.len())
    }

    /// Bytes [`IoFrame::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        self.buffer_len_as(self.format())
    }

    /// Bytes [`IoFrame::emit_as`] writes in `format`.
    pub fn buffer_len_as(&self, format: Format) -> usize {
        2 + 4 + 8 + 4 + self.size_as(format)
    }

    /// The connection size in `format`: the run/idle header counts only if the frame has one.
    fn size_as(&self, format: Format) -> usize {
        match format {
            Format::Class0 => self.data.len(),
            _ => self.connection_size(),
        }
    }

    /// Writes the frame into `buf`; returns the bytes written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        self.emit_as(self.format(), buf)
    }

    /// Writes the frame in `format` into `buf` ([`Format::Class0`]: the data alone; otherwise
    /// as [`IoFrame::emit`]); returns the bytes written.
    pub fn emit_as(&self, format: Format, buf: &mut [u8]) -> Result<usize> {
        let class0 = format == Format::Class0;
        let mut w = Writer::checked(buf, self.buffer_len_as(format))?;
        let size = crate::cursor::len_u16("I/O connected data", self.size_as(format))?;
        w.u16(2)?;
        w.nested(|b| {
            Item::SequencedAddress {
                connection_id: self.connection_id,
                sequence: self.encap_sequence,
            }
            .emit(b)
        })?;
        w.u16(cpf::type_id::CONNECTED_DATA)?;
        w.u16(size)?;
        if !class0 {
            w.u16(self.sequence)?;
            if let Some(h) = self.run_idle {
                w.u32(h)?;
            }
        }
        w.bytes(self.data)?;
        Ok(w.pos())
    }

    /// The emitted bytes in a new vector.
    pub fn to_vec(&self) -> Result<Vec<u8>> {
        crate::cursor::emitted(self.buffer_len(), |buf| self.emit(buf))
    }
}

/// Whether CIP sequence count `new` is later than `last` (16-bit serial number arithmetic:
/// up to 32767 steps ahead counts as later; equal is not).
pub fn sequence_is_newer(new: u16, last: u16) -> bool {
    let ahead = new.wrapping_sub(last);
    ahead != 0 && ahead < 0x8000
}

/// The network connection type of one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectionType {
    /// Null (no data this direction; a configuration-only open).
    Null,
    /// Multicast.
    Multicast,
    /// Point to point.
    PointToPoint,
    /// Reserved (3).
    Reserved,
}

/// The priority of one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Priority {
    /// Low.
    Low,
    /// High.
    High,
    /// Scheduled (what Logix uses for I/O).
    Scheduled,
    /// Urgent.
    Urgent,
}

/// Network connection parameters of one direction of a Forward Open.
///
/// 16-bit (`0x54`): bit 15 redundant owner, 14..13 type, 11..10 priority, 9 variable, 8..0
/// size. 32-bit (`0x5B`): the same fields at bits 31, 30..29, 27..26, 25, and 15..0 size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NetworkParams {
    /// Redundant owner bit.
    pub redundant_owner: bool,
    /// Point to point, multicast, ...
    pub kind: ConnectionType,
    /// Priority.
    pub priority: Priority,
    /// Variable size (else fixed).
    pub variable: bool,
    /// Connection size in bytes (sequence count and header included).
    pub size: u16,
}

impl NetworkParams {
    /// Decodes the parameters of a Forward Open (`large` false: 16-bit) or Large Forward Open.
    pub fn from_bits(bits: u32, large: bool) -> NetworkParams {
        let (high, size) = if large {
            (bits >> 16, (bits & 0xFFFF) as u16)
        } else {
            (bits & 0xFFFF, (bits & 0x01FF) as u16)
        };
        NetworkParams {
            redundant_owner: high & 0x8000 != 0,
            kind: match (high >> 13) & 3 {
                0 => ConnectionType::Null,
                1 => ConnectionType::Multicast,
                2 => ConnectionType::PointToPoint,
                _ => ConnectionType::Reserved,
            },
            priority: match (high >> 10) & 3 {
                0 => Priority::Low,
                1 => Priority::High,
                2 => Priority::Scheduled,
                _ => Priority::Urgent,
            },
            variable: high & 0x0200 != 0,
            size,
        }
    }

    /// Encodes the parameters; [`Error::TooLong`] if the size does not fit 9 bits (16-bit form).
    pub fn to_bits(&self, large: bool) -> Result<u32> {
        let kind = match self.kind {
            ConnectionType::Null => 0,
            ConnectionType::Multicast => 1,
            ConnectionType::PointToPoint => 2,
            ConnectionType::Reserved => 3,
        };
        let priority = match self.priority {
            Priority::Low => 0,
            Priority::High => 1,
            Priority::Scheduled => 2,
            Priority::Urgent => 3,
        };
        let high = u32::from(self.redundant_owner) << 15
            | kind << 13
            | priority << 10
            | u32::from(self.variable) << 9;
        if large {
            return Ok(high << 16 | u32::from(self.size));
        }
        if self.size > 0x01FF {
            return Err(Error::TooLong {
                what: "16-bit connection size",
                len: self.size.into(),
                limit: 0x01FF,
            });
        }
        Ok(high | u32::from(self.size))
    }

    /// Whether `size` bytes of connected data are acceptable when `exact` bytes are wanted:
    /// equal, or (variable) not more.
    pub fn fits(&self, exact: usize) -> bool {
        let size = usize::from(self.size);
        size == exact || (self.variable && size <= exact)
    }
}

/// What starts production of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// Every RPI.
    Cyclic,
    /// On change of state (and at least every RPI).
    ChangeOfState,
    /// When the application says so.
    Application,
    /// A reserved value (3..7).
    Reserved(u8),
}

/// The transport class and trigger byte of a Forward Open: bit 7 direction (server), bits
/// 6..4 production trigger, bits 3..0 transport class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TransportClass {
    /// Direction bit: set for a server (class 2/3 explicit), clear for a client (I/O).
    pub server: bool,
    /// Production trigger.
    pub trigger: Trigger,
    /// Transport class (0, 1, 2 or 3).
    pub class: u8,
}

impl TransportClass {
    /// A cyclic class 1 I/O transport (`0x01`).
    pub const CYCLIC_CLASS_1: TransportClass = TransportClass {
        server: false,
        trigger: Trigger::Cyclic,
        class: 1,
    };

    /// Decodes the byte.
    pub fn from_byte(b: u8) -> TransportClass {
        TransportClass {
            server: b & 0x80 != 0,
            trigger: match (b >> 4) & 7 {
                0 => Trigger::Cyclic,
                1 => Trigger::ChangeOfState,
                2 => Trigger::Application,
                n => Trigger::Reserved(n),
            },
            class: b & 0x0F,
        }
    }

    /// Encodes the byte.
    pub fn to_byte(&self) -> u8 {
        let trigger = match self.trigger {
            Trigger::Cyclic => 0,
            Trigger::ChangeOfState => 1,
            Trigger::Application => 2,
            Trigger::Reserved(n) => n & 7,
        };
        u8::from(self.server) << 7 | trigger << 4 | (self.class & 0x0F)
    }
}

/// The connection path of an I/O Forward Open, decoded:
/// `[port segments] [key] 20 cls [24 cfg] 2C o_t 2C t_o [80 config data]`.
///
/// Instance and connection point segments may be 8 or 16 (or 32) bits wide and either kind;
/// with three of them the first is the configuration instance, with two there is none. Leading
/// port segments (a route to this device) are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IoPath<'a> {
    /// The electronic key, if the originator sent one.
    pub key: Option<ElectronicKey>,
    /// The application class (the Assembly object, `0x04`).
    pub class: u32,
    /// The configuration instance, if any.
    pub config: Option<u32>,
    /// The O→T (consumed by the target) connection point: an output assembly, or
    /// [`INPUT_ONLY_POINT`] / [`LISTEN_ONLY_POINT`].
    pub o_t: u32,
    /// The T→O (produced by the target) connection point: an input assembly.
    pub t_o: u32,
    /// Configuration data (a simple data segment), if any.
    pub data: Option<&'a [u8]>,
}

impl<'a> IoPath<'a> {
    /// The path of a connection to Assembly object instances: `config` (if any), then the
    /// O→T and T→O points; no key and no configuration data (set them with struct update).
    pub const fn assemblies(config: Option<u32>, o_t: u32, t_o: u32) -> IoPath<'a> {
        IoPath {
            key: None,
            class: ASSEMBLY_CLASS,
            config,
            o_t,
            t_o,
            data: None,
        }
    }

    /// Decodes a Forward Open's connection path; [`Error::Malformed`] or
    /// [`Error::Unsupported`] when it is not an I/O connection path.
    pub fn parse(path: &EPath<'a>) -> Result<IoPath<'a>> {
        let mut key = None;
        let mut class = None;
        let mut points = [0u32; 3];
        let mut n = 0;
        let mut data = None;
        for seg in path.segments() {
            match seg {
                Segment::Port { .. } if class.is_none() && key.is_none() => {}
                Segment::Key(k) if class.is_none() && key.is_none() => key = Some(k),
                Segment::Logical {
                    kind: LogicalKind::Class,
                    value,
                    ..
                } if class.is_none() => class = Some(value),
                Segment::Logical {
                    kind: LogicalKind::Instance | LogicalKind::ConnectionPoint,
                    value,
                    ..
                } if class.is_some() && data.is_none() => {
                    let slot = points
                        .get_mut(n)
                        .ok_or(Error::Malformed("I/O path with more than 3 points"))?;
                    *slot = value;
                    n += 1;
                }
                Segment::Data(d) if n >= 2 && data.is_none() => data = Some(d),
                _ => return Err(Error::Malformed("I/O connection path segment")),
            }
        }
        let class = class.ok_or(Error::Malformed("I/O connection path without a class"))?;
        let (config, o_t, t_o) = match (n, points) {
            (3, [c, o, t]) => (Some(c), o, t),
            (2, [o, t, _]) => (None, o, t),
            _ => {
                return Err(Error::Malformed(
                    "I/O connection path needs 2 or 3 instance or connection points",
                ))
            }
        };
        Ok(IoPath {
            key,
            class,
            config,
            o_t,
            t_o,
            data,
        })
    }

    /// The segments, in the order [`IoPath::parse`] reads them (instance segment for the
    /// configuration, connection points for O→T and T→O), narrowest widths.
    pub fn segments(&self) -> ([Segment<'a>; 6], usize) {
        let mut out = [Segment::class(0); 6];
        let mut n = 0;
        let mut push = |s: Segment<'a>| {
            if let Some(slot) = out.get_mut(n) {
                *slot = s;
                n += 1;
            }
        };
        if let Some(k) = self.key {
            push(Segment::Key(k));
        }
        push(Segment::class(self.class));
        if let Some(c) = self.config {
            push(Segment::instance(c));
        }
        push(Segment::connection_point(self.o_t));
        push(Segment::connection_point(self.t_o));
        if let Some(d) = self.data {
            push(Segment::Data(d));
        }
        (out, n)
    }

    /// Bytes the padded path occupies.
    pub fn buffer_len(&self) -> usize {
        let (segs, n) = self.segments();
        segs.get(..n)
            .unwrap_or_default()
            .iter()
            .map(|s| s.buffer_len(Padding::Padded))
            .sum()
    }

    /// Writes the padded path into `buf`; returns the bytes written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let (segs, n) = self.segments();
        EPath::from_segments(segs.get(..n).unwrap_or_default(), Padding::Padded).emit(buf)
    }

    /// The emitted path in a new vector (to build a [`crate::services::ForwardOpen`] around).
    pub fn to_vec(&self) -> Result<Vec<u8>> {
        crate::cursor::emitted(self.buffer_len(), |buf| self.emit(buf))
    }

    /// Whether the O→T direction is a heartbeat (Input Only or Listen Only).
    pub fn is_heartbeat(&self) -> bool {
        matches!(self.o_t, INPUT_ONLY_POINT | LISTEN_ONLY_POINT)
    }
}

/// A refused Forward Open's status for a wrong connection size: `0x01`/`0x0109` and one
/// additional word, the size (bytes of connected data) the target accepts.
pub fn size_refusal(accepted: u16) -> Status {
    Status::ext(status::CONNECTION_FAILURE, ext::INVALID_SIZE).with_word(accepted)
}

/// The RPIs a target accepts, microseconds; carried by a `0x0111` refusal as four additional
/// words: the least and the greatest RPI, each a little-endian `u32` (low word first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RpiRange {
    /// Least RPI accepted, microseconds.
    pub min_us: u32,
    /// Greatest RPI accepted, microseconds.
    pub max_us: u32,
}

impl RpiRange {
    /// Whether `rpi_us` is in the range.
    pub fn contains(&self, rpi_us: u32) -> bool {
        (self.min_us..=self.max_us).contains(&rpi_us)
    }

    /// The refusal status: `0x01`/`0x0111` and the range.
    pub fn refusal(&self) -> Status {
        let [a, b] = split(self.min_us);
        let [c, d] = split(self.max_us);
        Status::ext(status::CONNECTION_FAILURE, ext::RPI_NOT_SUPPORTED)
            .with_word(a)
            .with_word(b)
            .with_word(c)
            .with_word(d)
    }

    /// The range from the extended status words of a refusal (`0x0111` first), if they carry
    /// one.
    pub fn from_words(words: impl IntoIterator<Item = u16>) -> Option<RpiRange> {
        let mut w = words.into_iter();
        if w.next()? != ext::RPI_NOT_SUPPORTED {
            return None;
        }
        let mut next = || w.next().map(u32::from);
        let min_us = next()? | next()? << 16;
        let max_us = next()? | next()? << 16;
        Some(RpiRange { min_us, max_us })
    }
}

fn split(v: u32) -> [u16; 2] {
    [(v & 0xFFFF) as u16, (v >> 16) as u16]
}

/// The multicast group a target produces to, Logix-style: `239.192.1.0` plus 32 addresses per
/// host number (`host` = the target's address within its subnet), i.e.
/// `239.192.1.0 + 32·((host − 1) mod 1024)`.
pub fn multicast_group(addr: Ipv4Addr, netmask: Ipv4Addr) -> Ipv4Addr {
    let host = u32::from(addr) & !u32::from(netmask);
    let offset = host.wrapping_sub(1) & 0x3FF;
    Ipv4Addr::from(u32::from(Ipv4Addr::new(239, 192, 1, 0)) + 32 * offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::ForwardOpen;

    use crate::test_util::hex;

    #[test]
    fn class_0_frames_carry_the_data_alone() {
        let f = IoFrame {
            connection_id: 9,
            encap_sequence: 3,
            sequence: 77,
            run_idle: None,
            data: &[5, 6, 7],
        };
        let mut buf = vec![0; f.buffer_len_as(Format::Class0)];
        let n = f.emit_as(Format::Class0, &mut buf).unwrap();
        // The connected data item is 3 bytes long: no sequence count.
        assert_eq!(buf[n - 5..], [0xB1, 0, 3, 0, 5, 6, 7][2..]);
        let back = IoFrame::parse(&buf, Format::Class0).unwrap();
        assert_eq!(
            (back.data, back.sequence, back.encap_sequence),
            (&[5u8, 6, 7][..], 0, 3)
        );
        // An empty class 0 heartbeat has an address, and a class 1 parse refuses it.
        let hb = IoFrame { data: &[], ..f };
        let mut buf = vec![0; hb.buffer_len_as(Format::Class0)];
        hb.emit_as(Format::Class0, &mut buf).unwrap();
        assert_eq!(IoFrame::address(&buf).unwrap(), (9, 3));
        assert!(IoFrame::parse(&buf, Format::Modeless).is_err());
        assert_eq!(Format::Class0.connection_size(8), 8);
    }

    #[test]
    fn o_t_frame_with_run_idle_header() {
        // 8 output bytes, run, connection 0x11223344, encap sequence 5, CIP sequence 5.
        let wire = hex(
            "0200028008004433221105000000b1000e0005000100000001020304050607 08"
                .replace(' ', "")
                .as_str(),
        );
        let f = IoFrame::parse(&wire, Format::RunIdle).unwrap();
        assert_eq!(f.connection_id, 0x1122_3344);
        assert_eq!((f.encap_sequence, f.sequence), (5, 5));
        assert!(f.is_run());
        assert_eq!(f.data, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(f.connection_size(), 14);
        assert_eq!(f.to_vec().unwrap(), wire);
        // The same bytes read as modeless keep the header in the data.
        let m = IoFrame::parse(&wire, Format::Modeless).unwrap();
        assert_eq!(m.data.len(), 12);
        // Idle.
        let idle = IoFrame {
            run_idle: Some(0),
            ..f
        };
        assert!(!idle.is_run());
    }

    #[test]
    fn frames_that_are_not_io() {
        assert!(IoFrame::address(&[]).is_err());
        // Items in the wrong order, or a connected address instead of a sequenced one.
        let wrong = cpf::Repr::from_items(&[
            Item::ConnectedData {
                sequence: 1,
                data: &[],
            },
            Item::SequencedAddress {
                connection_id: 1,
                sequence: 1,
            },
        ])
        .unwrap()
        .to_vec()
        .unwrap();
        assert!(IoFrame::address(&wrong).is_err());
        // A run/idle header that is not there.
        let short = IoFrame {
            connection_id: 1,
            encap_sequence: 1,
            sequence: 1,
            run_idle: None,
            data: &[1, 2],
        }
        .to_vec()
        .unwrap();
        assert!(IoFrame::parse(&short, Format::RunIdle).is_err());
    }

    #[test]
    fn sequence_counts_wrap() {
        assert!(sequence_is_newer(1, 0));
        assert!(sequence_is_newer(0, 0xFFFF));
        assert!(!sequence_is_newer(5, 5));
        assert!(!sequence_is_newer(4, 5));
        assert!(!sequence_is_newer(0x8005, 5));
    }

    #[test]
    fn network_parameters_both_widths() {
        // st-ethernet-ip's 0x4814 style: point to point, scheduled, fixed, 14... and Logix's
        // 0x480E: point to point (2<<13), scheduled (2<<10), fixed, size 14.
        let p = NetworkParams::from_bits(0x480E, false);
        assert_eq!(p.kind, ConnectionType::PointToPoint);
        assert_eq!(p.priority, Priority::Scheduled);
        assert!(!p.variable && !p.redundant_owner);
        assert_eq!(p.size, 14);
        assert_eq!(p.to_bits(false), Ok(0x480E));
        assert_eq!(p.to_bits(true), Ok(0x4800_000E));
        let m = NetworkParams::from_bits(0x2A00_0010, true);
        assert_eq!(
            (m.kind, m.variable, m.size),
            (ConnectionType::Multicast, true, 16)
        );
        assert!(m.fits(16) && m.fits(20) && !m.fits(10));
        assert!(!p.fits(15));
        let big = NetworkParams { size: 600, ..p };
        assert!(big.to_bits(false).is_err());
    }

    #[test]
    fn transport_byte() {
        assert_eq!(
            TransportClass::from_byte(0x01),
            TransportClass::CYCLIC_CLASS_1
        );
        let t = TransportClass::from_byte(0xA3);
        assert_eq!(
            (t.server, t.trigger, t.class),
            (true, Trigger::Application, 3)
        );
        assert_eq!(t.to_byte(), 0xA3);
    }

    #[test]
    fn io_paths_with_key_config_data_and_wide_points() {
        // key, class 4, instance 1, points 150 and 100.
        let wire = hex("34040100000000000000200424012c962c64");
        let path = EPath::parse(&wire, Padding::Padded).unwrap();
        let io = IoPath::parse(&path).unwrap();
        assert_eq!(io.key.map(|k| k.vendor), Some(1));
        assert_eq!(
            (io.class, io.config, io.o_t, io.t_o),
            (4, Some(1), 150, 100)
        );
        assert_eq!(io.to_vec().unwrap(), wire);
        // 16-bit instance and points, config data, a leading port segment.
        let wire = hex("01002004250000012d0096012d00640180020a0b0c0d");
        let io = IoPath::parse(&EPath::parse(&wire, Padding::Padded).unwrap()).unwrap();
        assert_eq!((io.config, io.o_t, io.t_o), (Some(0x100), 0x196, 0x164));
        assert_eq!(io.data, Some(&[0x0a, 0x0b, 0x0c, 0x0d][..]));
        // Two points, no config; heartbeat points.
        let two = hex("20042cee2c64");
        let io = IoPath::parse(&EPath::parse(&two, Padding::Padded).unwrap()).unwrap();
        assert_eq!((io.config, io.o_t, io.t_o), (None, 238, 100));
        assert!(io.is_heartbeat());
        // Not I/O paths.
        for bad in [
            "20022401",
            "2004",
            "20042c01",
            "200424012c012c022c03",
            "20042c012c023001",
        ] {
            let bytes = hex(bad);
            let p = EPath::parse(&bytes, Padding::Padded).unwrap();
            assert!(IoPath::parse(&p).is_err(), "{bad}");
        }
    }

    #[test]
    fn forward_open_for_class_1() {
        // A Forward Open as st-ethernet-ip sends it: RPI 10 ms both ways, O→T 14 fixed, T→O 10
        // fixed, p2p scheduled, multiplier 3 (x32), class 1 cyclic.
        let path = IoPath::assemblies(Some(1), 150, 100).to_vec().unwrap();
        assert_eq!(path, [0x20, 0x04, 0x24, 0x01, 0x2C, 0x96, 0x2C, 0x64]);
        let path = EPath::parse(&path, Padding::Padded).unwrap();
        let fo = ForwardOpen {
            t_o_connection_id: 0x5555,
            timeout_multiplier: 3,
            ..ForwardOpen::cyclic(false, path, 10_000, 0x480E, 0x480A)
        };
        let mut buf = [0u8; 64];
        let n = fo.emit(&mut buf).unwrap();
        // Byte for byte up to the path: priority/tick, ticks, ids, triad, multiplier, RPIs and
        // parameters, transport class 1 cyclic.
        #[rustfmt::skip]
        let fixed = [
            0x0A, 0x0E, 0, 0, 0, 0, 0x55, 0x55, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0,
            0x10, 0x27, 0, 0, 0x0E, 0x48, 0x10, 0x27, 0, 0, 0x0A, 0x48, 0x01,
        ];
        assert_eq!(buf[..fixed.len()], fixed);
        let back = ForwardOpen::parse(false, &buf[..n]).unwrap();
        assert_eq!(back.o_t_network().size, 14);
        assert_eq!(back.t_o_size(), 10);
        assert_eq!(back.transport_class(), TransportClass::CYCLIC_CLASS_1);
        assert_eq!(back.timeout_us(back.o_t_rpi), 320_000);
        let io = IoPath::parse(&back.connection_path).unwrap();
        assert_eq!((io.o_t, io.t_o), (150, 100));
    }

    #[test]
    fn refusals_carry_additional_words() {
        let st = size_refusal(14);
        assert_eq!(st.words().collect::<Vec<_>>(), [0x0109, 14]);
        assert_eq!(st.to_string(), "0x01/0x0109/0x000e");
        let range = RpiRange {
            min_us: 2_000,
            max_us: 3_200_000,
        };
        let st = range.refusal();
        assert_eq!(st.extended(), Some(0x0111));
        assert_eq!(RpiRange::from_words(st.words()), Some(range));
        assert_eq!(RpiRange::from_words(size_refusal(3).words()), None);
        assert!(range.contains(10_000) && !range.contains(1_000));
        // Through a Message Router reply and back.
        let mut out = Vec::new();
        crate::server::append(&mut out, &st.reply(0xD4)).unwrap();
        let mr = crate::MrReply::parse(&out).unwrap();
        assert_eq!(Status::of(&mr), st);
    }

    #[test]
    fn multicast_groups_per_host() {
        let mask = Ipv4Addr::new(255, 255, 255, 0);
        assert_eq!(
            multicast_group(Ipv4Addr::new(10, 0, 0, 1), mask),
            Ipv4Addr::new(239, 192, 1, 0)
        );
        assert_eq!(
            multicast_group(Ipv4Addr::new(10, 0, 0, 2), mask),
            Ipv4Addr::new(239, 192, 1, 32)
        );
        assert_eq!(
            multicast_group(Ipv4Addr::new(10, 0, 0, 9), mask),
            Ipv4Addr::new(239, 192, 2, 0)
        );
    }
}
