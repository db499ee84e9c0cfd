//! Register numbers as Modbus users write them (`40001` is the first holding register) and
//! cpppo's range syntax `<begin>[-<end>][=<value>[,<value>...]]`.
//!
//! | numbers            | table              | offsets     |
//! |--------------------|--------------------|-------------|
//! | 1-9999             | coils              | 0-9998      |
//! | 10001-19999        | discrete inputs    | 0-9998      |
//! | 100001-165536      | discrete inputs    | 0-65535     |
//! | 30001-39999        | input registers    | 0-9998      |
//! | 300001-365536      | input registers    | 0-65535     |
//! | 40001-99999        | holding registers  | 0-59998     |
//! | 400001-465536      | holding registers  | 0-65535     |

use std::fmt;

/// One of the four Modbus data tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// Read/write bits (function codes 1, 5, 15).
    Coils,
    /// Read-only bits (function code 2).
    DiscreteInputs,
    /// Read-only words (function code 4).
    InputRegisters,
    /// Read/write words (function codes 3, 6, 16, 22, 23).
    HoldingRegisters,
}

impl Table {
    /// All four tables.
    pub const ALL: [Table; 4] = [
        Table::Coils,
        Table::DiscreteInputs,
        Table::InputRegisters,
        Table::HoldingRegisters,
    ];

    /// True for the bit tables (coils, discrete inputs).
    pub fn is_bits(self) -> bool {
        matches!(self, Table::Coils | Table::DiscreteInputs)
    }

    /// True if clients may write it.
    pub fn is_writable(self) -> bool {
        matches!(self, Table::Coils | Table::HoldingRegisters)
    }

    /// The largest quantity one read request may ask for.
    pub fn max_read(self) -> u16 {
        if self.is_bits() {
            crate::pdu::MAX_READ_BITS
        } else {
            crate::pdu::MAX_READ_REGISTERS
        }
    }

    /// The register number of offset 0 in the five-digit form.
    fn base5(self) -> u32 {
        match self {
            Table::Coils => 1,
            Table::DiscreteInputs => 10_001,
            Table::InputRegisters => 30_001,
            Table::HoldingRegisters => 40_001,
        }
    }
}

/// One register (or coil/input): its table and zero-based offset (the address on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Register {
    /// The table.
    pub table: Table,
    /// Zero-based address.
    pub offset: u16,
}

impl Register {
    /// The register a user's number names, per the table above; `None` outside it.
    pub fn from_number(n: u32) -> Option<Self> {
        let (table, base) = match n {
            1..=9_999 => (Table::Coils, 1),
            10_001..=19_999 => (Table::DiscreteInputs, 10_001),
            30_001..=39_999 => (Table::InputRegisters, 30_001),
            40_001..=99_999 => (Table::HoldingRegisters, 40_001),
            100_001..=165_536 => (Table::DiscreteInputs, 100_001),
            300_001..=365_536 => (Table::InputRegisters, 300_001),
            400_001..=465_536 => (Table::HoldingRegisters, 400_001),
            _ => return None,
        };
        let offset = u16::try_from(n - base).ok()?;
        Some(Self { table, offset })
    }

    /// The conventional number: five digits where they reach, six otherwise.
    pub fn number(&self) -> u32 {
        let five = self.table.base5() + u32::from(self.offset);
        let limit = if self.table == Table::HoldingRegisters {
            99_999
        } else {
            self.table.base5() + 9_998
        };
        if five <= limit {
            five
        } else {
            self.table.base5() * 10 - 9 + u32::from(self.offset)
        }
    }
}

impl fmt::Display for Register {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number())
    }
}

/// A bad register range: the offending text and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad register range {text:?}: {reason}")]
pub struct SpecError {
    /// The text as given.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

/// A parsed `<begin>[-<end>][=<value>[,<value>...]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeSpec {
    /// First register number.
    pub begin: u32,
    /// Last register number (inclusive).
    pub end: u32,
    /// One value per register (repeated to fill the range), or empty if none were given.
    pub values: Vec<u16>,
}

fn number(text: &str) -> Option<u32> {
    let t = text.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    }
}

impl RangeSpec {
    /// Parse cpppo's syntax. With values, a single register extends to as many registers as
    /// values (`40001=1,2,3` is 40001-40003) and a range repeats its values to its length.
    pub fn parse(text: &str) -> Result<Self, SpecError> {
        let fail = |reason: &str| SpecError {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let (range, values) = match text.split_once('=') {
            Some((r, v)) => (r, Some(v)),
            None => (text, None),
        };
        let (b, e) = match range.split_once('-') {
            Some((b, e)) => (b, Some(e)),
            None => (range, None),
        };
        let begin = number(b).ok_or_else(|| fail("the first register is not a number"))?;
        let end = match e {
            Some(e) => number(e).ok_or_else(|| fail("the last register is not a number"))?,
            None => begin,
        };
        let mut values = match values {
            Some(v) => v
                .split(',')
                .map(|x| number(x).and_then(|n| u16::try_from(n).ok()))
                .collect::<Option<Vec<u16>>>()
                .ok_or_else(|| fail("values must be numbers 0-65535, separated by commas"))?,
            None => Vec::new(),
        };
        let end = if e.is_none() && values.len() > 1 {
            begin.saturating_add(values.len() as u32 - 1)
        } else {
            end
        };
        if end < begin {
            return Err(fail("the range ends before it begins"));
        }
        let count = (end - begin + 1) as usize;
        if !values.is_empty() {
            values = values.iter().copied().cycle().take(count).collect();
        }
        let spec = Self { begin, end, values };
        for n in [begin, end] {
            if Register::from_number(n).is_none() {
                return Err(fail(&format!("{n} is not a Modbus register number")));
            }
        }
        let first = Register::from_number(begin).map(|r| r.table);
        let last = Register::from_number(end).map(|r| r.table);
        if first != last || (begin > 99_999) != (end > 99_999) || count > 65_536 {
            return Err(fail("the range spans more than one table"));
        }
        if first.is_some_and(Table::is_bits) && spec.values.iter().any(|&v| v > 1) {
            return Err(fail("coil and input values are 0 or 1"));
        }
        Ok(spec)
    }

    /// The registers in the range, each with its value (if values were given).
    pub fn registers(&self) -> impl Iterator<Item = (Register, Option<u16>)> + '_ {
        (self.begin..=self.end)
            .enumerate()
            .filter_map(|(i, n)| Register::from_number(n).map(|r| (r, self.values.get(i).copied())))
    }

    /// The table of the range.
    pub fn table(&self) -> Option<Table> {
        Register::from_number(self.begin).map(|r| r.table)
    }
}
