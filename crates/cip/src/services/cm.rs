//! Connection Manager (class `0x06`) services: Unconnected Send `0x52`, Forward Open `0x54`,
//! Large Forward Open `0x5B`, Forward Close `0x4E`, and their replies.

use super::finish;
use crate::cursor::{len_u16, Reader, Writer};
use crate::epath::{EPath, Padding};
use crate::error::{Error, Result};
use crate::io::{NetworkParams, TransportClass};
use crate::mr::MrRequest;

/// Connection Manager extended status words (with general status `0x01`, connection failure).
pub mod ext {
    /// Connection in use, or a duplicate Forward Open (same triad).
    pub const CONNECTION_IN_USE: u16 = 0x0100;
    /// Transport class and trigger combination not supported.
    pub const TRANSPORT_NOT_SUPPORTED: u16 = 0x0103;
    /// Ownership conflict: another originator owns the target's outputs.
    pub const OWNERSHIP_CONFLICT: u16 = 0x0106;
    /// Target connection not found (Forward Close, or a request on a closed connection).
    pub const NOT_FOUND: u16 = 0x0107;
    /// Invalid network connection parameter.
    pub const INVALID_NETWORK_PARAMETER: u16 = 0x0108;
    /// Invalid connection size; one additional word carries the size the target accepts.
    pub const INVALID_SIZE: u16 = 0x0109;
    /// Target for connection not configured.
    pub const NOT_CONFIGURED: u16 = 0x0110;
    /// RPI not supported; additional words carry the accepted range
    /// ([`crate::io::RpiRange`]).
    pub const RPI_NOT_SUPPORTED: u16 = 0x0111;
    /// Out of connections.
    pub const NO_MORE_CONNECTIONS: u16 = 0x0113;
    /// Electronic key: vendor ID or product code mismatch.
    pub const KEY_PRODUCT_MISMATCH: u16 = 0x0114;
    /// Electronic key: device type mismatch.
    pub const KEY_DEVICE_TYPE_MISMATCH: u16 = 0x0115;
    /// Electronic key: revision mismatch.
    pub const KEY_REVISION_MISMATCH: u16 = 0x0116;
    /// Invalid produced or consumed application path (no such assembly / connection point).
    pub const INVALID_APPLICATION_PATH: u16 = 0x0117;
    /// Invalid or inconsistent configuration application path.
    pub const INVALID_CONFIGURATION_PATH: u16 = 0x0118;
    /// Listen Only connection without an open non-listen-only (multicast) producer.
    pub const NO_OWNING_CONNECTION: u16 = 0x0119;
    /// Connection timed out.
    pub const CONNECTION_TIMED_OUT: u16 = 0x0203;
    /// Unconnected request timed out (a routed device failed).
    pub const UNCONNECTED_TIMED_OUT: u16 = 0x0204;
    /// The route path names no device here.
    pub const BAD_ROUTE: u16 = 0x0312;
    /// Invalid segment in the connection path.
    pub const INVALID_SEGMENT: u16 = 0x0315;
}

fn path_words(r: &mut Reader<'_>) -> Result<usize> {
    Ok(usize::from(r.u8()?) * 2)
}

fn parse_path<'a>(r: &mut Reader<'a>, len: usize) -> Result<EPath<'a>> {
    EPath::parse(r.take(len)?, Padding::Padded)
}

/// Unconnected Send request: an embedded request to deliver along a route path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnconnectedSend<'a> {
    /// Priority (bit 4) and tick time (bits 0..3).
    pub priority_tick: u8,
    /// Timeout in ticks.
    pub timeout_ticks: u8,
    /// The embedded request.
    pub message: MrRequest<'a>,
    /// The route path (port segments), if the sender included one.
    pub route_path: Option<EPath<'a>>,
    /// The reserved byte after the route path size.
    pub reserved: u8,
}

impl<'a> UnconnectedSend<'a> {
    /// Decodes the request data.
    pub fn parse(data: &'a [u8]) -> Result<UnconnectedSend<'a>> {
        let mut r = Reader::new(data);
        let priority_tick = r.u8()?;
        let timeout_ticks = r.u8()?;
        let size = usize::from(r.u16()?);
        let message = MrRequest::parse(r.take(size)?)?;
        let mut out = UnconnectedSend {
            priority_tick,
            timeout_ticks,
            message,
            route_path: None,
            reserved: 0,
        };
        if r.rest().is_empty() {
            return Ok(out);
        }
        if size % 2 == 1 {
            r.u8()?;
        }
        let len = path_words(&mut r)?;
        out.reserved = r.u8()?;
        out.route_path = Some(parse_path(&mut r, len)?);
        finish(&r)?;
        Ok(out)
    }

    /// The timeout in milliseconds: `timeout_ticks` × 2^tick time.
    pub fn timeout_ms(&self) -> u32 {
        u32::from(self.timeout_ticks) << (self.priority_tick & 0x0F)
    }

    /// Bytes of the request data.
    pub fn buffer_len(&self) -> usize {
        let msg = self.message.buffer_len();
        4 + msg + self.route_path.map_or(0, |p| msg % 2 + 2 + p.buffer_len())
    }

    /// Writes the request data.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.u8(self.priority_tick)?;
        w.u8(self.timeout_ticks)?;
        let size = self.message.buffer_len();
        w.u16(len_u16("embedded message size", size)?)?;
        w.nested(|t| self.message.emit(t))?;
        if let Some(path) = self.route_path {
            if size % 2 == 1 {
                w.u8(0)?;
            }
            w.u8(path.word_len()?)?;
            w.u8(self.reserved)?;
            w.nested(|t| path.emit(t))?;
        }
        Ok(w.pos())
    }
}

/// Unconnected Send failure reply data: how much of the route path was left unused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnconnectedSendFailure {
    /// Remaining route path size in words.
    pub remaining_path_size: u8,
}

impl UnconnectedSendFailure {
    /// Decodes reply data (one byte).
    pub fn parse(data: &[u8]) -> Result<UnconnectedSendFailure> {
        let mut r = Reader::new(data);
        let remaining_path_size = r.u8()?;
        finish(&r)?;
        Ok(UnconnectedSendFailure {
            remaining_path_size,
        })
    }

    /// Bytes of the reply data (1).
    pub fn buffer_len(&self) -> usize {
        1
    }

    /// Writes the reply data.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.u8(self.remaining_path_size)?;
        Ok(w.pos())
    }
}

/// The connection triad and originator identity shared by Forward Open/Close and replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Triad {
    /// Connection serial number.
    pub connection_serial: u16,
    /// Originator vendor ID.
    pub vendor_id: u16,
    /// Originator serial number.
    pub originator_serial: u32,
}

impl Triad {
    fn parse(r: &mut Reader<'_>) -> Result<Triad> {
        Ok(Triad {
            connection_serial: r.u16()?,
            vendor_id: r.u16()?,
            originator_serial: r.u32()?,
        })
    }

    fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        w.u16(self.connection_serial)?;
        w.u16(self.vendor_id)?;
        w.u32(self.originator_serial)
    }
}

/// Forward Open / Large Forward Open request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwardOpen<'a> {
    /// Large Forward Open (`0x5B`, 32-bit network connection parameters).
    pub large: bool,
    /// Priority and tick time.
    pub priority_tick: u8,
    /// Timeout in ticks.
    pub timeout_ticks: u8,
    /// O->T network connection ID (chosen by the target; usually 0 in the request).
    pub o_t_connection_id: u32,
    /// T->O network connection ID (chosen by the originator).
    pub t_o_connection_id: u32,
    /// Connection triad.
    pub triad: Triad,
    /// Connection timeout multiplier.
    pub timeout_multiplier: u8,
    /// O->T requested packet interval, microseconds.
    pub o_t_rpi: u32,
    /// O->T network connection parameters (16 bits unless `large`).
    pub o_t_params: u32,
    /// T->O requested packet interval, microseconds.
    pub t_o_rpi: u32,
    /// T->O network connection parameters (16 bits unless `large`).
    pub t_o_params: u32,
    /// Transport class and trigger.
    pub transport: u8,
    /// Connection path.
    pub connection_path: EPath<'a>,
}

impl<'a> ForwardOpen<'a> {
    /// Decodes the request data of a Forward Open (`large` false) or Large Forward Open.
    pub fn parse(large: bool, data: &'a [u8]) -> Result<ForwardOpen<'a>> {
        let mut r = Reader::new(data);
        let params = |r: &mut Reader<'_>| -> Result<u32> {
            if large {
                r.u32()
            } else {
                r.u16().map(u32::from)
            }
        };
        let priority_tick = r.u8()?;
        let timeout_ticks = r.u8()?;
        let o_t_connection_id = r.u32()?;
        let t_o_connection_id = r.u32()?;
        let triad = Triad::parse(&mut r)?;
        let timeout_multiplier = r.u8()?;
        r.take(3)?;
        let o_t_rpi = r.u32()?;
        let o_t_params = params(&mut r)?;
        let t_o_rpi = r.u32()?;
        let t_o_params = params(&mut r)?;
        let transport = r.u8()?;
        let len = path_words(&mut r)?;
        let connection_path = parse_path(&mut r, len)?;
        finish(&r)?;
        Ok(ForwardOpen {
            large,
            priority_tick,
            timeout_ticks,
            o_t_connection_id,
            t_o_connection_id,
            triad,
            timeout_multiplier,
            o_t_rpi,
            o_t_params,
            t_o_rpi,
            t_o_params,
            transport,
            connection_path,
        })
    }

    /// A cyclic class 1 Forward Open of the I/O connection `path` (an emitted
    /// [`crate::io::IoPath`]): `rpi_us` both ways, the O->T and T->O network connection
    /// parameters (16-bit unless `large`), priority/tick `0x0A` and 14 ticks, and the O->T id
    /// left to the target. The triad, the T->O id and the multiplier code are 0: set them (or
    /// any other field) with struct update syntax.
    pub fn cyclic(
        large: bool,
        path: EPath<'a>,
        rpi_us: u32,
        o_t_params: u32,
        t_o_params: u32,
    ) -> ForwardOpen<'a> {
        ForwardOpen {
            large,
            priority_tick: 0x0A,
            timeout_ticks: 0x0E,
            o_t_connection_id: 0,
            t_o_connection_id: 0,
            triad: Triad::default(),
            timeout_multiplier: 0,
            o_t_rpi: rpi_us,
            o_t_params,
            t_o_rpi: rpi_us,
            t_o_params,
            transport: TransportClass::CYCLIC_CLASS_1.to_byte(),
            connection_path: path,
        }
    }

    fn size(&self, params: u32) -> u32 {
        u32::from(self.network(params).size)
    }

    fn network(&self, params: u32) -> NetworkParams {
        NetworkParams::from_bits(params, self.large)
    }

    /// O->T network connection parameters, decoded.
    pub fn o_t_network(&self) -> NetworkParams {
        self.network(self.o_t_params)
    }

    /// T->O network connection parameters, decoded.
    pub fn t_o_network(&self) -> NetworkParams {
        self.network(self.t_o_params)
    }

    /// Transport class and trigger, decoded.
    pub fn transport_class(&self) -> TransportClass {
        TransportClass::from_byte(self.transport)
    }

    /// The connection timeout in microseconds: `rpi_us` × 4 × 2^multiplier (multipliers above
    /// 7 are reserved and count as 7).
    pub fn timeout_us(&self, rpi_us: u32) -> u64 {
        u64::from(rpi_us) << (2 + u32::from(self.timeout_multiplier.min(7)))
    }

    /// O->T connection size in bytes (from the network connection parameters).
    pub fn o_t_size(&self) -> u32 {
        self.size(self.o_t_params)
    }

    /// T->O connection size in bytes (the largest reply the originator accepts).
    pub fn t_o_size(&self) -> u32 {
        self.size(self.t_o_params)
    }

    /// Bytes of the request data.
    pub fn buffer_len(&self) -> usize {
        let params = if self.large { 8 } else { 4 };
        32 + params + self.connection_path.buffer_len()
    }

    /// Writes the request data.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        let params = |w: &mut Writer<'_>, p: u32| -> Result<()> {
            if self.large {
                w.u32(p)
            } else {
                let p = u16::try_from(p).map_err(|_| Error::Unsupported {
                    what: "16-bit network connection parameters",
                    value: p,
                })?;
                w.u16(p)
            }
        };
        w.u8(self.priority_tick)?;
        w.u8(self.timeout_ticks)?;
        w.u32(self.o_t_connection_id)?;
        w.u32(self.t_o_connection_id)?;
        self.triad.emit(&mut w)?;
        w.u8(self.timeout_multiplier)?;
        w.bytes(&[0, 0, 0])?;
        w.u32(self.o_t_rpi)?;
        params(&mut w, self.o_t_params)?;
        w.u32(self.t_o_rpi)?;
        params(&mut w, self.t_o_params)?;
        w.u8(self.transport)?;
        w.u8(self.connection_path.word_len()?)?;
        w.nested(|t| self.connection_path.emit(t))?;
        Ok(w.pos())
    }
}

/// Application reply data: a word count, a reserved byte, then the words.
fn parse_application<'a>(r: &mut Reader<'a>) -> Result<(u8, &'a [u8])> {
    let len = path_words(r)?;
    let reserved = r.u8()?;
    let app = r.take(len)?;
    finish(r)?;
    Ok((reserved, app))
}

fn emit_application(w: &mut Writer<'_>, reserved: u8, app: &[u8]) -> Result<()> {
    if app.len() % 2 == 1 || app.len() > 510 {
        return Err(Error::Malformed(
            "application reply not a whole number of words",
        ));
    }
    w.u8((app.len() / 2) as u8)?;
    w.u8(reserved)?;
    w.bytes(app)
}

/// Successful (Large) Forward Open reply data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwardOpenReply<'a> {
    /// O->T network connection ID (chosen by the target).
    pub o_t_connection_id: u32,
    /// T->O network connection ID.
    pub t_o_connection_id: u32,
    /// Connection triad, echoed.
    pub triad: Triad,
    /// O->T actual packet interval, microseconds.
    pub o_t_api: u32,
    /// T->O actual packet interval, microseconds.
    pub t_o_api: u32,
    /// Reserved byte after the application reply size.
    pub reserved: u8,
    /// Application reply data (whole words).
    pub application: &'a [u8],
}

impl<'a> ForwardOpenReply<'a> {
    /// Decodes reply data.
    pub fn parse(data: &'a [u8]) -> Result<ForwardOpenReply<'a>> {
        let mut r = Reader::new(data);
        let o_t_connection_id = r.u32()?;
        let t_o_connection_id = r.u32()?;
        let triad = Triad::parse(&mut r)?;
        let o_t_api = r.u32()?;
        let t_o_api = r.u32()?;
        let (reserved, application) = parse_application(&mut r)?;
        Ok(ForwardOpenReply {
            o_t_connection_id,
            t_o_connection_id,
            triad,
            o_t_api,
            t_o_api,
            reserved,
            application,
        })
    }

    /// Bytes of the reply data.
    pub fn buffer_len(&self) -> usize {
        26 + self.application.len()
    }

    /// Writes the reply data.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.u32(self.o_t_connection_id)?;
        w.u32(self.t_o_connection_id)?;
        self.triad.emit(&mut w)?;
        w.u32(self.o_t_api)?;
        w.u32(self.t_o_api)?;
        emit_application(&mut w, self.reserved, self.application)?;
        Ok(w.pos())
    }
}

/// Forward Close request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwardClose<'a> {
    /// Priority and tick time.
    pub priority_tick: u8,
    /// Timeout in ticks.
    pub timeout_ticks: u8,
    /// Connection triad of the connection to close.
    pub triad: Triad,
    /// Reserved byte after the path size.
    pub reserved: u8,
    /// Connection path.
    pub connection_path: EPath<'a>,
}

impl<'a> ForwardClose<'a> {
    /// Decodes the request data.
    pub fn parse(data: &'a [u8]) -> Result<ForwardClose<'a>> {
        let mut r = Reader::new(data);
        let priority_tick = r.u8()?;
        let timeout_ticks = r.u8()?;
        let triad = Triad::parse(&mut r)?;
        let len = path_words(&mut r)?;
        let reserved = r.u8()?;
        let connection_path = parse_path(&mut r, len)?;
        finish(&r)?;
        Ok(ForwardClose {
            priority_tick,
            timeout_ticks,
            triad,
            reserved,
            connection_path,
        })
    }

    /// Bytes of the request data.
    pub fn buffer_len(&self) -> usize {
        12 + self.connection_path.buffer_len()
    }

    /// Writes the request data.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.u8(self.priority_tick)?;
        w.u8(self.timeout_ticks)?;
        self.triad.emit(&mut w)?;
        w.u8(self.connection_path.word_len()?)?;
        w.u8(self.reserved)?;
        w.nested(|t| self.connection_path.emit(t))?;
        Ok(w.pos())
    }
}

/// Successful Forward Close reply data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwardCloseReply<'a> {
    /// Connection triad, echoed.
    pub triad: Triad,
    /// Reserved byte after the application reply size.
    pub reserved: u8,
    /// Application reply data (whole words).
    pub application: &'a [u8],
}

impl<'a> ForwardCloseReply<'a> {
    /// Decodes reply data.
    pub fn parse(data: &'a [u8]) -> Result<ForwardCloseReply<'a>> {
        let mut r = Reader::new(data);
        let triad = Triad::parse(&mut r)?;
        let (reserved, application) = parse_application(&mut r)?;
        Ok(ForwardCloseReply {
            triad,
            reserved,
            application,
        })
    }

    /// Bytes of the reply data.
    pub fn buffer_len(&self) -> usize {
        10 + self.application.len()
    }

    /// Writes the reply data.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        self.triad.emit(&mut w)?;
        emit_application(&mut w, self.reserved, self.application)?;
        Ok(w.pos())
    }
}

/// Failed Forward Open / Forward Close reply data (general status `0x01` and others).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionFailure {
    /// Connection triad, echoed.
    pub triad: Triad,
    /// Remaining path size in words (where routing stopped).
    pub remaining_path_size: u8,
    /// Reserved byte.
    pub reserved: u8,
}

impl ConnectionFailure {
    /// Decodes reply data.
    pub fn parse(data: &[u8]) -> Result<ConnectionFailure> {
        let mut r = Reader::new(data);
        let out = ConnectionFailure {
            triad: Triad::parse(&mut r)?,
            remaining_path_size: r.u8()?,
            reserved: r.u8()?,
        };
        finish(&r)?;
        Ok(out)
    }

    /// Bytes of the reply data (10).
    pub fn buffer_len(&self) -> usize {
        10
    }

    /// Writes the reply data.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        self.triad.emit(&mut w)?;
        w.u8(self.remaining_path_size)?;
        w.u8(self.reserved)?;
        Ok(w.pos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_util::hex;

    #[test]
    fn large_forward_open_from_pycomm3() {
        let data = hex("0a05000000006b5370de27040910d8e88eac0700000001402000a00f004201402000a00f0042a303010020022401");
        let fo = ForwardOpen::parse(true, &data).unwrap();
        assert_eq!(fo.t_o_connection_id, 0xDE70_536B);
        assert_eq!(fo.triad.connection_serial, 0x0427);
        assert_eq!(fo.t_o_size(), 4000);
        assert_eq!(fo.connection_path.class(), Some(2));
        let mut buf = [0u8; 64];
        assert_eq!(fo.emit(&mut buf), Ok(data.len()));
        assert_eq!(buf[..data.len()], data[..]);
        assert!(ForwardOpen::parse(false, &data).is_err());
    }

    #[test]
    fn unconnected_send_with_and_without_route() {
        let data = hex("0a05060001022001240101000100");
        let us = UnconnectedSend::parse(&data).unwrap();
        assert_eq!(us.message.service, 0x01);
        assert_eq!(us.route_path.map(|p| p.buffer_len()), Some(2));
        assert_eq!(us.timeout_ms(), 5 << 10);
        let mut buf = [0u8; 32];
        assert_eq!(us.emit(&mut buf), Ok(data.len()));
        assert_eq!(buf[..data.len()], data[..]);
        let bare = UnconnectedSend::parse(&data[..10]).unwrap();
        assert_eq!(bare.route_path, None);
        // Odd-length embedded request: a pad byte precedes the route path.
        let odd = hex("0a0505000e012001010001000100");
        let us = UnconnectedSend::parse(&odd).unwrap();
        assert_eq!(us.message.data, [0x01]);
        assert_eq!(us.emit(&mut buf), Ok(odd.len()));
        assert_eq!(buf[..odd.len()], odd[..]);
    }

    #[test]
    fn forward_close_and_failure() {
        let data = hex("0a0e10a337132a0000000300010020022401");
        let fc = ForwardClose::parse(&data).unwrap();
        assert_eq!(fc.triad.vendor_id, 0x1337);
        assert_eq!(fc.buffer_len(), data.len());
        let f = ConnectionFailure::parse(&hex("10a337132a0000000000")).unwrap();
        assert_eq!(f.triad.originator_serial, 0x2A);
        assert!(ConnectionFailure::parse(&hex("10a337132a00000000")).is_err());
    }
}
