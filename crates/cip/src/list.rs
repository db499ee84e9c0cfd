//! Bodies of the items in ListIdentity, ListServices, ListInterfaces and legacy 0x0001 replies.
//!
//! These ride in Common Packet Format items (see [`crate::cpf::Item`]):
//!
//! | item type | body                         | reply to                   |
//! |-----------|------------------------------|----------------------------|
//! | `0x000C`  | [`Identity`]                 | ListIdentity `0x0063`      |
//! | `0x0100`  | [`Service`]                  | ListServices `0x0004`      |
//! | `0x0001`  | [`LegacyAddress`]            | legacy command `0x0001`    |
//! | `0x8000`/`0x8001` | [`Sockaddr`]         | Forward Open over SendRRData |
//!
//! A ListInterfaces (`0x0064`) reply is a CPF list of its own; cpppo and most devices answer it
//! with an item count of 0, and any item it carries is kept as a raw [`crate::cpf::Item::Unknown`].
//!
//! Everything is little-endian except the socket address, which is in network (big-endian) order.

use core::net::Ipv4Addr;

use crate::cursor::{Reader, Writer};
use crate::error::{Error, Result};

/// `AF_INET`, the only address family EtherNet/IP uses.
pub const AF_INET: i16 = 2;

/// A `struct sockaddr_in` in network byte order (16 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sockaddr {
    /// `sin_family`, [`AF_INET`].
    pub family: i16,
    /// `sin_port`.
    pub port: u16,
    /// `sin_addr`.
    pub addr: Ipv4Addr,
    /// `sin_zero`: zero on the wire; kept so odd frames re-emit identically.
    pub zero: [u8; 8],
}

impl Sockaddr {
    /// Bytes on the wire.
    pub const LEN: usize = 16;

    /// An `AF_INET` address with `sin_zero` cleared.
    pub fn new(addr: Ipv4Addr, port: u16) -> Self {
        Sockaddr {
            family: AF_INET,
            port,
            addr,
            zero: [0; 8],
        }
    }

    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Sockaddr {
            family: r.i16_be()?,
            port: r.u16_be()?,
            addr: Ipv4Addr::from(r.array::<4>()?),
            zero: r.array()?,
        })
    }

    fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        w.i16_be(self.family)?;
        w.u16_be(self.port)?;
        w.bytes(&self.addr.octets())?;
        w.bytes(&self.zero)
    }

    /// Parses exactly 16 bytes.
    pub fn parse(buf: &[u8]) -> Result<Self> {
        let mut r = Reader::new(buf);
        let out = Self::read(&mut r)?;
        r.finish("sockaddr item length")?;
        Ok(out)
    }

    /// Writes the 16 bytes into `buf`, returning 16.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::checked(buf, Self::LEN)?;
        self.write(&mut w)?;
        Ok(w.pos())
    }
}

/// The CIP Identity item (type `0x000C`) of a ListIdentity reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Identity<'a> {
    /// Encapsulation protocol version (1).
    pub protocol_version: u16,
    /// Where the device listens (port 44818).
    pub socket: Sockaddr,
    /// Vendor ID (1 = Rockwell Automation).
    pub vendor_id: u16,
    /// Device type (14 = programmable logic controller).
    pub device_type: u16,
    /// Product code.
    pub product_code: u16,
    /// Major revision.
    pub revision_major: u8,
    /// Minor revision.
    pub revision_minor: u8,
    /// Identity object status word.
    pub status: u16,
    /// Serial number.
    pub serial_number: u32,
    /// Product name, the characters of a SHORT_STRING (at most 255 bytes).
    pub product_name: &'a [u8],
    /// Device state (0xFF when not implemented).
    pub state: u8,
}

impl<'a> Identity<'a> {
    /// Parses an identity item body; the whole of `buf` must be used.
    pub fn parse(buf: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(buf);
        let protocol_version = r.u16()?;
        let socket = Sockaddr::read(&mut r)?;
        let vendor_id = r.u16()?;
        let device_type = r.u16()?;
        let product_code = r.u16()?;
        let revision_major = r.u8()?;
        let revision_minor = r.u8()?;
        let status = r.u16()?;
        let serial_number = r.u32()?;
        let name_len = r.u8()?;
        let product_name = r.take(name_len.into())?;
        let state = r.u8()?;
        r.finish("identity item length")?;
        Ok(Identity {
            protocol_version,
            socket,
            vendor_id,
            device_type,
            product_code,
            revision_major,
            revision_minor,
            status,
            serial_number,
            product_name,
            state,
        })
    }

    /// Bytes [`Identity::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        34 + self.product_name.len()
    }

    /// Writes the item body into `buf`, returning its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let name_len = u8::try_from(self.product_name.len()).map_err(|_| Error::TooLong {
            what: "product name",
            len: self.product_name.len(),
            limit: u8::MAX.into(),
        })?;
        let mut w = Writer::checked(buf, self.buffer_len())?;
        w.u16(self.protocol_version)?;
        self.socket.write(&mut w)?;
        w.u16(self.vendor_id)?;
        w.u16(self.device_type)?;
        w.u16(self.product_code)?;
        w.u8(self.revision_major)?;
        w.u8(self.revision_minor)?;
        w.u16(self.status)?;
        w.u32(self.serial_number)?;
        w.u8(name_len)?;
        w.bytes(self.product_name)?;
        w.u8(self.state)?;
        Ok(w.pos())
    }
}

/// The Communications service item (type `0x0100`) of a ListServices reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Service<'a> {
    /// Protocol version (1).
    pub version: u16,
    /// Capability flags ([`Service::CAPABILITY_TCP`], [`Service::CAPABILITY_UDP`]).
    pub capability: u16,
    /// Service name, NUL-terminated ASCII. The spec says 16 bytes; cpppo sends the 15 bytes of
    /// `"Communications\0"`, so the length is whatever the item carries.
    pub name: &'a [u8],
}

impl<'a> Service<'a> {
    /// Capability bit: CIP encapsulation over TCP.
    pub const CAPABILITY_TCP: u16 = 0x0020;
    /// Capability bit: CIP class 0/1 transport over UDP.
    pub const CAPABILITY_UDP: u16 = 0x0100;

    /// Parses a service item body; the name is the rest of `buf`.
    pub fn parse(buf: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(buf);
        Ok(Service {
            version: r.u16()?,
            capability: r.u16()?,
            name: r.take_rest(),
        })
    }

    /// The name up to its first NUL.
    pub fn name_trimmed(&self) -> &'a [u8] {
        let end = self
            .name
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.name.len());
        self.name.get(..end).unwrap_or_default()
    }

    /// Bytes [`Service::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        4 + self.name.len()
    }

    /// Writes the item body into `buf`, returning its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::checked(buf, self.buffer_len())?;
        w.u16(self.version)?;
        w.u16(self.capability)?;
        w.bytes(self.name)?;
        Ok(w.pos())
    }
}

/// The item (type `0x0001`) of a reply to the undocumented legacy command `0x0001`, as the
/// Python cpppo answers it: a version, a reserved word, the device's socket address and the
/// same address as NUL-padded dotted-quad text (36 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LegacyAddress {
    /// Version (1).
    pub version: u16,
    /// Unknown word, 0.
    pub reserved: u16,
    /// The device's address and port.
    pub socket: Sockaddr,
    /// `socket.addr` as ASCII dotted-quad, NUL-padded to 16 bytes.
    pub text: [u8; 16],
}

impl LegacyAddress {
    /// Bytes on the wire.
    pub const LEN: usize = 36;

    /// The reply cpppo sends for an address and port (version 1, text filled in).
    pub fn new(addr: Ipv4Addr, port: u16) -> Self {
        let mut text = [0u8; 16];
        let mut w = TextWriter {
            inner: &mut text,
            pos: 0,
        };
        let _ = core::fmt::write(&mut w, format_args!("{addr}"));
        LegacyAddress {
            version: 1,
            reserved: 0,
            socket: Sockaddr::new(addr, port),
            text,
        }
    }

    /// Parses exactly 36 bytes.
    pub fn parse(buf: &[u8]) -> Result<Self> {
        let mut r = Reader::new(buf);
        let out = LegacyAddress {
            version: r.u16()?,
            reserved: r.u16()?,
            socket: Sockaddr::read(&mut r)?,
            text: r.array()?,
        };
        r.finish("legacy item length")?;
        Ok(out)
    }

    /// Writes the 36 bytes into `buf`, returning 36.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::checked(buf, Self::LEN)?;
        w.u16(self.version)?;
        w.u16(self.reserved)?;
        self.socket.write(&mut w)?;
        w.bytes(&self.text)?;
        Ok(w.pos())
    }
}

/// A `fmt::Write` into a fixed array that stops silently when full.
struct TextWriter<'b> {
    inner: &'b mut [u8],
    pos: usize,
}

impl core::fmt::Write for TextWriter<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            if let Some(slot) = self.inner.get_mut(self.pos) {
                *slot = b;
                self.pos += 1;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_util::hex;

    #[test]
    fn identity_from_cpppo() {
        let body = hex("01000002af1200000000000000000000000001000e003600140b60311a066c0014313735362d4c36312f42204c4f47495835353631ff");
        let id = Identity::parse(&body).unwrap();
        assert_eq!(id.socket, Sockaddr::new(Ipv4Addr::UNSPECIFIED, 44818));
        assert_eq!(id.vendor_id, 1);
        assert_eq!(id.device_type, 14);
        assert_eq!(id.product_code, 54);
        assert_eq!((id.revision_major, id.revision_minor), (20, 11));
        assert_eq!(id.serial_number, 0x006c_061a);
        assert_eq!(id.product_name, b"1756-L61/B LOGIX5561");
        assert_eq!(id.state, 0xff);
        let mut out = vec![0; id.buffer_len()];
        assert_eq!(id.emit(&mut out), Ok(body.len()));
        assert_eq!(out, body);
        assert!(Identity::parse(&body[..body.len() - 1]).is_err());
    }

    #[test]
    fn service_from_cpppo() {
        let body = hex("01002000436f6d6d756e69636174696f6e7300");
        let s = Service::parse(&body).unwrap();
        assert_eq!(s.capability, Service::CAPABILITY_TCP);
        assert_eq!(s.name_trimmed(), b"Communications");
        let mut out = vec![0; s.buffer_len()];
        s.emit(&mut out).unwrap();
        assert_eq!(out, body);
    }

    #[test]
    fn legacy_matches_cpppo_layout() {
        // From the capture in cpppo's parser documentation: 192.168.5.253:44818.
        let body = hex(concat!(
            "010000000002af12c0a805fd0000000000000000",
            "3139322e3136382e352e323533000000"
        ));
        let want = LegacyAddress::new(Ipv4Addr::new(192, 168, 5, 253), 44818);
        let mut out = [0u8; LegacyAddress::LEN];
        want.emit(&mut out).unwrap();
        assert_eq!(LegacyAddress::parse(&out), Ok(want));
        assert_eq!(out.to_vec(), body);
    }

    #[test]
    fn short_input_is_an_error_not_a_panic() {
        for n in 0..16 {
            assert!(Sockaddr::parse(&[0; 16][..n]).is_err());
        }
        assert!(Service::parse(&[1, 0, 32]).is_err());
        assert!(LegacyAddress::parse(&[0; 35]).is_err());
    }
}
