//! Protocol data units: the function code and its data, common to TCP, RTU and ASCII.
//!
//! [`Request`] and [`Response`] are high-level representations that borrow their variable-length
//! data from the buffer they were parsed from; `parse` never panics on any input and `emit`
//! appends the wire form to a `Vec<u8>` (reuse the vector to avoid allocation).

use crate::error::Error;

/// Function codes this codec understands.
pub mod function {
    /// Read Coils (0x01).
    pub const READ_COILS: u8 = 0x01;
    /// Read Discrete Inputs (0x02).
    pub const READ_DISCRETE_INPUTS: u8 = 0x02;
    /// Read Holding Registers (0x03).
    pub const READ_HOLDING_REGISTERS: u8 = 0x03;
    /// Read Input Registers (0x04).
    pub const READ_INPUT_REGISTERS: u8 = 0x04;
    /// Write Single Coil (0x05).
    pub const WRITE_SINGLE_COIL: u8 = 0x05;
    /// Write Single Register (0x06).
    pub const WRITE_SINGLE_REGISTER: u8 = 0x06;
    /// Write Multiple Coils (0x0F).
    pub const WRITE_MULTIPLE_COILS: u8 = 0x0F;
    /// Write Multiple Registers (0x10).
    pub const WRITE_MULTIPLE_REGISTERS: u8 = 0x10;
    /// Mask Write Register (0x16).
    pub const MASK_WRITE_REGISTER: u8 = 0x16;
    /// Read/Write Multiple Registers (0x17).
    pub const READ_WRITE_MULTIPLE_REGISTERS: u8 = 0x17;
    /// The bit set in the function code of an exception reply.
    pub const EXCEPTION_BIT: u8 = 0x80;
}

/// Exception codes. Any `u8` may be sent; these are the standard ones.
pub mod exception {
    /// The function code is not supported.
    pub const ILLEGAL_FUNCTION: u8 = 0x01;
    /// The address (or address + quantity) is outside the device's map.
    pub const ILLEGAL_DATA_ADDRESS: u8 = 0x02;
    /// A value in the request (quantity, byte count, coil value) is not allowed.
    pub const ILLEGAL_DATA_VALUE: u8 = 0x03;
    /// The device failed while performing the request.
    pub const SERVER_DEVICE_FAILURE: u8 = 0x04;
    /// Accepted; processing takes long.
    pub const ACKNOWLEDGE: u8 = 0x05;
    /// The device is busy; retry later.
    pub const SERVER_DEVICE_BUSY: u8 = 0x06;
    /// Memory parity error in a file record.
    pub const MEMORY_PARITY_ERROR: u8 = 0x08;
    /// A gateway found no path to the target.
    pub const GATEWAY_PATH_UNAVAILABLE: u8 = 0x0A;
    /// A gateway's target did not respond.
    pub const GATEWAY_TARGET_FAILED: u8 = 0x0B;
}

/// Most coils/inputs one read may ask for.
pub const MAX_READ_BITS: u16 = 2000;
/// Most registers one read may ask for.
pub const MAX_READ_REGISTERS: u16 = 125;
/// Most coils one Write Multiple Coils may carry.
pub const MAX_WRITE_BITS: u16 = 1968;
/// Most registers one Write Multiple Registers may carry.
pub const MAX_WRITE_REGISTERS: u16 = 123;
/// Most registers the write half of a Read/Write Multiple Registers may carry.
pub const MAX_READ_WRITE_REGISTERS: u16 = 121;
/// Longest PDU (function code + data).
pub const MAX_PDU: usize = 253;

/// A borrowed run of big-endian 16-bit words (its byte length is always even).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Words<'a>(&'a [u8]);

impl<'a> Words<'a> {
    /// View `bytes` as words; `None` if the length is odd.
    pub fn new(bytes: &'a [u8]) -> Option<Self> {
        (bytes.len() % 2 == 0).then_some(Self(bytes))
    }
    /// Number of words.
    pub fn len(&self) -> usize {
        self.0.len() / 2
    }
    /// True when there are no words.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Word `i`, if present.
    pub fn get(&self, i: usize) -> Option<u16> {
        let b = self.0.get(i * 2..i * 2 + 2)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }
    /// The words in order.
    pub fn iter(&self) -> impl Iterator<Item = u16> + 'a {
        self.0
            .chunks_exact(2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    /// The wire bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
}

impl std::fmt::Debug for Words<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A borrowed run of packed bits (least significant bit of the first byte first).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Bits<'a> {
    bytes: &'a [u8],
    count: u16,
}

impl<'a> Bits<'a> {
    /// View `count` bits packed in `bytes`; `None` unless `bytes` is exactly long enough.
    pub fn new(bytes: &'a [u8], count: u16) -> Option<Self> {
        (bytes.len() == packed_len(count)).then_some(Self { bytes, count })
    }
    /// Number of bits.
    pub fn len(&self) -> usize {
        usize::from(self.count)
    }
    /// True when there are no bits.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
    /// Bit `i`, if present.
    pub fn get(&self, i: usize) -> Option<bool> {
        if i >= self.len() {
            return None;
        }
        self.bytes.get(i / 8).map(|b| b & (1 << (i % 8)) != 0)
    }
    /// The bits in order.
    pub fn iter(&self) -> impl Iterator<Item = bool> + 'a {
        let bytes = self.bytes;
        (0..self.len()).map(move |i| bytes.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0))
    }
    /// The packed wire bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

impl std::fmt::Debug for Bits<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter().map(u8::from)).finish()
    }
}

/// Bytes needed to pack `count` bits.
pub fn packed_len(count: u16) -> usize {
    usize::from(count).div_ceil(8)
}

/// Append `bits` packed LSB-first.
pub fn pack_bits(bits: impl IntoIterator<Item = bool>, out: &mut Vec<u8>) {
    let mut byte = 0u8;
    let mut n = 0;
    for bit in bits {
        if bit {
            byte |= 1 << n;
        }
        n += 1;
        if n == 8 {
            out.push(byte);
            byte = 0;
            n = 0;
        }
    }
    if n > 0 {
        out.push(byte);
    }
}

/// A request PDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    /// 0x01: read `quantity` coils from `address`.
    ReadCoils {
        /// First coil (zero-based).
        address: u16,
        /// How many.
        quantity: u16,
    },
    /// 0x02: read `quantity` discrete inputs from `address`.
    ReadDiscreteInputs {
        /// First input (zero-based).
        address: u16,
        /// How many.
        quantity: u16,
    },
    /// 0x03: read `quantity` holding registers from `address`.
    ReadHoldingRegisters {
        /// First register (zero-based).
        address: u16,
        /// How many.
        quantity: u16,
    },
    /// 0x04: read `quantity` input registers from `address`.
    ReadInputRegisters {
        /// First register (zero-based).
        address: u16,
        /// How many.
        quantity: u16,
    },
    /// 0x05: set or clear one coil.
    WriteSingleCoil {
        /// The coil (zero-based).
        address: u16,
        /// On or off.
        value: bool,
    },
    /// 0x06: write one holding register.
    WriteSingleRegister {
        /// The register (zero-based).
        address: u16,
        /// Its new value.
        value: u16,
    },
    /// 0x0F: write consecutive coils.
    WriteMultipleCoils {
        /// First coil (zero-based).
        address: u16,
        /// The new values.
        bits: Bits<'a>,
    },
    /// 0x10: write consecutive holding registers.
    WriteMultipleRegisters {
        /// First register (zero-based).
        address: u16,
        /// The new values.
        values: Words<'a>,
    },
    /// 0x16: `reg = (reg & and_mask) | (or_mask & !and_mask)`.
    MaskWriteRegister {
        /// The register (zero-based).
        address: u16,
        /// Bits to keep.
        and_mask: u16,
        /// Bits to set (where not kept).
        or_mask: u16,
    },
    /// 0x17: write registers, then read registers, in one transaction.
    ReadWriteMultipleRegisters {
        /// First register to read.
        read_address: u16,
        /// How many to read.
        read_quantity: u16,
        /// First register to write.
        write_address: u16,
        /// The values written.
        values: Words<'a>,
    },
    /// Any other function code (a server answers exception 01).
    Other {
        /// The function code.
        function: u8,
        /// Its data, uninterpreted.
        data: &'a [u8],
    },
}

/// A response PDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response<'a> {
    /// 0x01: packed coil values (the request's quantity says how many are meaningful).
    ReadCoils(&'a [u8]),
    /// 0x02: packed input values.
    ReadDiscreteInputs(&'a [u8]),
    /// 0x03: register values.
    ReadHoldingRegisters(Words<'a>),
    /// 0x04: register values.
    ReadInputRegisters(Words<'a>),
    /// 0x05: echo of the request.
    WriteSingleCoil {
        /// The coil.
        address: u16,
        /// Its value.
        value: bool,
    },
    /// 0x06: echo of the request.
    WriteSingleRegister {
        /// The register.
        address: u16,
        /// Its value.
        value: u16,
    },
    /// 0x0F: where and how many coils were written.
    WriteMultipleCoils {
        /// First coil.
        address: u16,
        /// How many.
        quantity: u16,
    },
    /// 0x10: where and how many registers were written.
    WriteMultipleRegisters {
        /// First register.
        address: u16,
        /// How many.
        quantity: u16,
    },
    /// 0x16: echo of the request.
    MaskWriteRegister {
        /// The register.
        address: u16,
        /// Bits kept.
        and_mask: u16,
        /// Bits set.
        or_mask: u16,
    },
    /// 0x17: the registers read.
    ReadWriteMultipleRegisters(Words<'a>),
    /// An exception reply to `function` (sent as `function | 0x80`).
    Exception {
        /// The request's function code (without the 0x80 bit).
        function: u8,
        /// The exception code (any value).
        code: u8,
    },
}

fn be16(data: &[u8], at: usize) -> Result<u16, Error> {
    data.get(at..at + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or(Error::Truncated)
}

fn exact(data: &[u8], len: usize) -> Result<(), Error> {
    match data.len().cmp(&len) {
        std::cmp::Ordering::Less => Err(Error::Truncated),
        std::cmp::Ordering::Greater => Err(Error::TrailingBytes),
        std::cmp::Ordering::Equal => Ok(()),
    }
}

fn quantity(q: u16, max: u16) -> Result<u16, Error> {
    if q == 0 || q > max {
        Err(Error::BadQuantity(q))
    } else {
        Ok(q)
    }
}

/// Check that `address + quantity` does not run past the 65,536-entry table.
fn span(address: u16, q: u16) -> Result<(), Error> {
    if u32::from(address) + u32::from(q) > 0x1_0000 {
        Err(Error::AddressOverflow)
    } else {
        Ok(())
    }
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn bad_count(count: usize) -> Error {
    Error::BadByteCount(u8::try_from(count).unwrap_or(u8::MAX))
}

impl<'a> Request<'a> {
    /// The function code.
    pub fn function(&self) -> u8 {
        use function::*;
        match self {
            Self::ReadCoils { .. } => READ_COILS,
            Self::ReadDiscreteInputs { .. } => READ_DISCRETE_INPUTS,
            Self::ReadHoldingRegisters { .. } => READ_HOLDING_REGISTERS,
            Self::ReadInputRegisters { .. } => READ_INPUT_REGISTERS,
            Self::WriteSingleCoil { .. } => WRITE_SINGLE_COIL,
            Self::WriteSingleRegister { .. } => WRITE_SINGLE_REGISTER,
            Self::WriteMultipleCoils { .. } => WRITE_MULTIPLE_COILS,
            Self::WriteMultipleRegisters { .. } => WRITE_MULTIPLE_REGISTERS,
            Self::MaskWriteRegister { .. } => MASK_WRITE_REGISTER,
            Self::ReadWriteMultipleRegisters { .. } => READ_WRITE_MULTIPLE_REGISTERS,
            Self::Other { function, .. } => *function,
        }
    }

    /// Parse a request PDU. Errors say which exception code a server should answer with
    /// ([`Error::exception_code`]); an empty PDU is [`Error::Truncated`].
    pub fn parse(pdu: &'a [u8]) -> Result<Self, Error> {
        use function::*;
        let (&fc, data) = pdu.split_first().ok_or(Error::Truncated)?;
        let fixed = |data: &[u8]| -> Result<(u16, u16), Error> {
            exact(data, 4)?;
            Ok((be16(data, 0)?, be16(data, 2)?))
        };
        Ok(match fc {
            READ_COILS | READ_DISCRETE_INPUTS => {
                let (address, q) = fixed(data)?;
                let quantity = quantity(q, MAX_READ_BITS)?;
                span(address, quantity)?;
                if fc == READ_COILS {
                    Self::ReadCoils { address, quantity }
                } else {
                    Self::ReadDiscreteInputs { address, quantity }
                }
            }
            READ_HOLDING_REGISTERS | READ_INPUT_REGISTERS => {
                let (address, q) = fixed(data)?;
                let quantity = quantity(q, MAX_READ_REGISTERS)?;
                span(address, quantity)?;
                if fc == READ_HOLDING_REGISTERS {
                    Self::ReadHoldingRegisters { address, quantity }
                } else {
                    Self::ReadInputRegisters { address, quantity }
                }
            }
            WRITE_SINGLE_COIL => {
                let (address, v) = fixed(data)?;
                let value = match v {
                    0xFF00 => true,
                    0x0000 => false,
                    other => return Err(Error::BadCoilValue(other)),
                };
                Self::WriteSingleCoil { address, value }
            }
            WRITE_SINGLE_REGISTER => {
                let (address, value) = fixed(data)?;
                Self::WriteSingleRegister { address, value }
            }
            WRITE_MULTIPLE_COILS => {
                let address = be16(data, 0)?;
                let q = quantity(be16(data, 2)?, MAX_WRITE_BITS)?;
                let count = *data.get(4).ok_or(Error::Truncated)?;
                let bytes = data.get(5..).ok_or(Error::Truncated)?;
                if usize::from(count) != packed_len(q) {
                    return Err(Error::BadByteCount(count));
                }
                exact(bytes, usize::from(count))?;
                span(address, q)?;
                let bits = Bits::new(bytes, q).ok_or(Error::BadByteCount(count))?;
                Self::WriteMultipleCoils { address, bits }
            }
            WRITE_MULTIPLE_REGISTERS => {
                let address = be16(data, 0)?;
                let q = quantity(be16(data, 2)?, MAX_WRITE_REGISTERS)?;
                let count = *data.get(4).ok_or(Error::Truncated)?;
                let bytes = data.get(5..).ok_or(Error::Truncated)?;
                if usize::from(count) != usize::from(q) * 2 {
                    return Err(Error::BadByteCount(count));
                }
                exact(bytes, usize::from(count))?;
                span(address, q)?;
                let values = Words::new(bytes).ok_or(Error::BadByteCount(count))?;
                Self::WriteMultipleRegisters { address, values }
            }
            MASK_WRITE_REGISTER => {
                exact(data, 6)?;
                Self::MaskWriteRegister {
                    address: be16(data, 0)?,
                    and_mask: be16(data, 2)?,
                    or_mask: be16(data, 4)?,
                }
            }
            READ_WRITE_MULTIPLE_REGISTERS => {
                let read_address = be16(data, 0)?;
                let read_quantity = quantity(be16(data, 2)?, MAX_READ_REGISTERS)?;
                let write_address = be16(data, 4)?;
                let wq = quantity(be16(data, 6)?, MAX_READ_WRITE_REGISTERS)?;
                let count = *data.get(8).ok_or(Error::Truncated)?;
                let bytes = data.get(9..).ok_or(Error::Truncated)?;
                if usize::from(count) != usize::from(wq) * 2 {
                    return Err(Error::BadByteCount(count));
                }
                exact(bytes, usize::from(count))?;
                span(read_address, read_quantity)?;
                span(write_address, wq)?;
                let values = Words::new(bytes).ok_or(Error::BadByteCount(count))?;
                Self::ReadWriteMultipleRegisters {
                    read_address,
                    read_quantity,
                    write_address,
                    values,
                }
            }
            function => Self::Other { function, data },
        })
    }

    /// Append the PDU to `out`. Lengths come from the borrowed data, so a `Request` built by
    /// hand with too many values emits a PDU a server will refuse (it never panics).
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.function());
        match *self {
            Self::ReadCoils { address, quantity }
            | Self::ReadDiscreteInputs { address, quantity }
            | Self::ReadHoldingRegisters { address, quantity }
            | Self::ReadInputRegisters { address, quantity } => {
                put16(out, address);
                put16(out, quantity);
            }
            Self::WriteSingleCoil { address, value } => {
                put16(out, address);
                put16(out, if value { 0xFF00 } else { 0 });
            }
            Self::WriteSingleRegister { address, value } => {
                put16(out, address);
                put16(out, value);
            }
            Self::WriteMultipleCoils { address, bits } => {
                put16(out, address);
                put16(out, bits.count);
                out.push(u8::try_from(bits.bytes.len()).unwrap_or(u8::MAX));
                out.extend_from_slice(bits.bytes);
            }
            Self::WriteMultipleRegisters { address, values } => {
                put16(out, address);
                put16(out, u16::try_from(values.len()).unwrap_or(u16::MAX));
                out.push(u8::try_from(values.0.len()).unwrap_or(u8::MAX));
                out.extend_from_slice(values.0);
            }
            Self::MaskWriteRegister {
                address,
                and_mask,
                or_mask,
            } => {
                put16(out, address);
                put16(out, and_mask);
                put16(out, or_mask);
            }
            Self::ReadWriteMultipleRegisters {
                read_address,
                read_quantity,
                write_address,
                values,
            } => {
                put16(out, read_address);
                put16(out, read_quantity);
                put16(out, write_address);
                put16(out, u16::try_from(values.len()).unwrap_or(u16::MAX));
                out.push(u8::try_from(values.0.len()).unwrap_or(u8::MAX));
                out.extend_from_slice(values.0);
            }
            Self::Other { data, .. } => out.extend_from_slice(data),
        }
    }
}

impl<'a> Response<'a> {
    /// The function code on the wire (with 0x80 set for an exception).
    pub fn function(&self) -> u8 {
        use function::*;
        match self {
            Self::ReadCoils(_) => READ_COILS,
            Self::ReadDiscreteInputs(_) => READ_DISCRETE_INPUTS,
            Self::ReadHoldingRegisters(_) => READ_HOLDING_REGISTERS,
            Self::ReadInputRegisters(_) => READ_INPUT_REGISTERS,
            Self::WriteSingleCoil { .. } => WRITE_SINGLE_COIL,
            Self::WriteSingleRegister { .. } => WRITE_SINGLE_REGISTER,
            Self::WriteMultipleCoils { .. } => WRITE_MULTIPLE_COILS,
            Self::WriteMultipleRegisters { .. } => WRITE_MULTIPLE_REGISTERS,
            Self::MaskWriteRegister { .. } => MASK_WRITE_REGISTER,
            Self::ReadWriteMultipleRegisters(_) => READ_WRITE_MULTIPLE_REGISTERS,
            Self::Exception { function, .. } => function | EXCEPTION_BIT,
        }
    }

    /// Parse a response PDU.
    pub fn parse(pdu: &'a [u8]) -> Result<Self, Error> {
        use function::*;
        let (&fc, data) = pdu.split_first().ok_or(Error::Truncated)?;
        let counted = |data: &'a [u8]| -> Result<&'a [u8], Error> {
            let (&count, rest) = data.split_first().ok_or(Error::Truncated)?;
            exact(rest, usize::from(count))?;
            Ok(rest)
        };
        let words = |data: &'a [u8]| -> Result<Words<'a>, Error> {
            let bytes = counted(data)?;
            Words::new(bytes).ok_or_else(|| bad_count(bytes.len()))
        };
        let pair = |data: &[u8]| -> Result<(u16, u16), Error> {
            exact(data, 4)?;
            Ok((be16(data, 0)?, be16(data, 2)?))
        };
        if fc & EXCEPTION_BIT != 0 {
            exact(data, 1)?;
            let code = *data.first().ok_or(Error::Truncated)?;
            return Ok(Self::Exception {
                function: fc & !EXCEPTION_BIT,
                code,
            });
        }
        Ok(match fc {
            READ_COILS => Self::ReadCoils(counted(data)?),
            READ_DISCRETE_INPUTS => Self::ReadDiscreteInputs(counted(data)?),
            READ_HOLDING_REGISTERS => Self::ReadHoldingRegisters(words(data)?),
            READ_INPUT_REGISTERS => Self::ReadInputRegisters(words(data)?),
            READ_WRITE_MULTIPLE_REGISTERS => Self::ReadWriteMultipleRegisters(words(data)?),
            WRITE_SINGLE_COIL => {
                let (address, v) = pair(data)?;
                let value = match v {
                    0xFF00 => true,
                    0 => false,
                    other => return Err(Error::BadCoilValue(other)),
                };
                Self::WriteSingleCoil { address, value }
            }
            WRITE_SINGLE_REGISTER => {
                let (address, value) = pair(data)?;
                Self::WriteSingleRegister { address, value }
            }
            WRITE_MULTIPLE_COILS => {
                let (address, quantity) = pair(data)?;
                Self::WriteMultipleCoils { address, quantity }
            }
            WRITE_MULTIPLE_REGISTERS => {
                let (address, quantity) = pair(data)?;
                Self::WriteMultipleRegisters { address, quantity }
            }
            MASK_WRITE_REGISTER => {
                exact(data, 6)?;
                Self::MaskWriteRegister {
                    address: be16(data, 0)?,
                    and_mask: be16(data, 2)?,
                    or_mask: be16(data, 4)?,
                }
            }
            other => return Err(Error::UnknownFunction(other)),
        })
    }

    /// Append the PDU to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.function());
        let counted = |out: &mut Vec<u8>, bytes: &[u8]| {
            out.push(u8::try_from(bytes.len()).unwrap_or(u8::MAX));
            out.extend_from_slice(bytes);
        };
        match *self {
            Self::ReadCoils(bytes) | Self::ReadDiscreteInputs(bytes) => counted(out, bytes),
            Self::ReadHoldingRegisters(w)
            | Self::ReadInputRegisters(w)
            | Self::ReadWriteMultipleRegisters(w) => counted(out, w.0),
            Self::WriteSingleCoil { address, value } => {
                put16(out, address);
                put16(out, if value { 0xFF00 } else { 0 });
            }
            Self::WriteSingleRegister { address, value } => {
                put16(out, address);
                put16(out, value);
            }
            Self::WriteMultipleCoils { address, quantity }
            | Self::WriteMultipleRegisters { address, quantity } => {
                put16(out, address);
                put16(out, quantity);
            }
            Self::MaskWriteRegister {
                address,
                and_mask,
                or_mask,
            } => {
                put16(out, address);
                put16(out, and_mask);
                put16(out, or_mask);
            }
            Self::Exception { code, .. } => out.push(code),
        }
    }
}

/// Which side of the conversation a frame comes from (needed where the frame length must be
/// worked out from the PDU, as in RTU).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Client to server.
    Request,
    /// Server to client.
    Response,
}

/// How long the PDU at the start of `pdu` is, judging from its function code and any byte
/// count; `Ok(None)` if more bytes are needed to tell, `Err` if the function is unknown (its
/// length cannot be told from its bytes).
pub fn pdu_len(dir: Direction, pdu: &[u8]) -> Result<Option<usize>, Error> {
    use function::*;
    let Some(&fc) = pdu.first() else {
        return Ok(None);
    };
    let counted_at = |at: usize, base: usize| pdu.get(at).map(|&n| base + usize::from(n));
    Ok(match (dir, fc) {
        (Direction::Response, fc) if fc & EXCEPTION_BIT != 0 => Some(2),
        (Direction::Request, 1..=6) => Some(5),
        (Direction::Request, WRITE_MULTIPLE_COILS | WRITE_MULTIPLE_REGISTERS) => counted_at(5, 6),
        (Direction::Request, MASK_WRITE_REGISTER) => Some(7),
        (Direction::Request, READ_WRITE_MULTIPLE_REGISTERS) => counted_at(9, 10),
        (Direction::Response, 1..=4 | READ_WRITE_MULTIPLE_REGISTERS) => counted_at(1, 2),
        (Direction::Response, 5 | 6 | WRITE_MULTIPLE_COILS | WRITE_MULTIPLE_REGISTERS) => Some(5),
        (Direction::Response, MASK_WRITE_REGISTER) => Some(7),
        (_, other) => return Err(Error::UnknownFunction(other)),
    })
}
