//! A device's four data tables and the logic that answers requests from them (no I/O).
//!
//! Only registers that were defined exist: a request touching any other gets exception 02.

use std::collections::HashMap;

use crate::pdu::{exception, function, Request};
use crate::register::{RangeSpec, Register, Table};

/// One table: 65,536 values and which of them exist.
#[derive(Debug, Clone)]
struct Data {
    values: Vec<u16>,
    present: Vec<u64>,
    defined: usize,
}

impl Data {
    fn new() -> Self {
        Self {
            values: vec![0; 0x1_0000],
            present: vec![0; 0x1_0000 / 64],
            defined: 0,
        }
    }

    fn has(&self, offset: u16) -> bool {
        let i = usize::from(offset);
        self.present
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    /// True if all of `offset..offset+quantity` exist.
    fn has_all(&self, offset: u16, quantity: u16) -> bool {
        let start = usize::from(offset);
        let end = start + usize::from(quantity);
        end <= 0x1_0000 && (start..end).all(|i| self.has(i as u16))
    }

    fn define(&mut self, offset: u16, value: u16) {
        let i = usize::from(offset);
        if !self.has(offset) {
            self.defined += 1;
        }
        if let Some(w) = self.present.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
        if let Some(v) = self.values.get_mut(i) {
            *v = value;
        }
    }

    fn get(&self, offset: u16) -> u16 {
        self.values.get(usize::from(offset)).copied().unwrap_or(0)
    }

    fn set(&mut self, offset: u16, value: u16) {
        if let Some(v) = self.values.get_mut(usize::from(offset)) {
            *v = value;
        }
    }
}

/// The data of one Modbus device.
#[derive(Debug, Clone)]
pub struct Store {
    tables: [Data; 4],
    faults: HashMap<Register, u8>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

fn index(table: Table) -> usize {
    match table {
        Table::Coils => 0,
        Table::DiscreteInputs => 1,
        Table::InputRegisters => 2,
        Table::HoldingRegisters => 3,
    }
}

/// Result of checking a request's range: `Err(code)` is the exception to answer.
type Check = Result<(), u8>;

impl Store {
    /// A device with no registers at all.
    pub fn new() -> Self {
        Self {
            tables: [Data::new(), Data::new(), Data::new(), Data::new()],
            faults: HashMap::new(),
        }
    }

    /// A device with the registers of `specs` (value 0 where none is given).
    pub fn from_specs<'a>(specs: impl IntoIterator<Item = &'a RangeSpec>) -> Self {
        let mut store = Self::new();
        for spec in specs {
            for (reg, value) in spec.registers() {
                store.define(reg, value.unwrap_or(0));
            }
        }
        store
    }

    fn data(&self, table: Table) -> &Data {
        &self.tables[index(table)]
    }

    fn data_mut(&mut self, table: Table) -> &mut Data {
        &mut self.tables[index(table)]
    }

    /// Create (or overwrite) a register.
    pub fn define(&mut self, reg: Register, value: u16) {
        self.data_mut(reg.table).define(reg.offset, value);
    }

    /// Make every request touching `reg` fail with exception `code` (any value).
    pub fn fault(&mut self, reg: Register, code: u8) {
        self.faults.insert(reg, code);
    }

    /// A register's value, if it exists.
    pub fn get(&self, reg: Register) -> Option<u16> {
        let d = self.data(reg.table);
        d.has(reg.offset).then(|| d.get(reg.offset))
    }

    /// Change an existing register; false if it does not exist.
    pub fn set(&mut self, reg: Register, value: u16) -> bool {
        let d = self.data_mut(reg.table);
        let ok = d.has(reg.offset);
        if ok {
            d.set(reg.offset, value);
        }
        ok
    }

    /// How many registers of `table` exist.
    pub fn len(&self, table: Table) -> usize {
        self.data(table).defined
    }

    /// True if no register exists.
    pub fn is_empty(&self) -> bool {
        Table::ALL.iter().all(|&t| self.len(t) == 0)
    }

    fn check(&self, table: Table, offset: u16, quantity: u16) -> Check {
        if !self.data(table).has_all(offset, quantity) {
            return Err(exception::ILLEGAL_DATA_ADDRESS);
        }
        if !self.faults.is_empty() {
            let end = u32::from(offset) + u32::from(quantity);
            for o in u32::from(offset)..end {
                let reg = Register {
                    table,
                    offset: o as u16,
                };
                if let Some(&code) = self.faults.get(&reg) {
                    return Err(code);
                }
            }
        }
        Ok(())
    }

    fn read_bits(&self, table: Table, offset: u16, quantity: u16, out: &mut Vec<u8>) {
        let d = self.data(table);
        out.push(u8::try_from(usize::from(quantity).div_ceil(8)).unwrap_or(u8::MAX));
        let bits = (0..quantity).map(|i| d.get(offset.wrapping_add(i)) != 0);
        crate::pdu::pack_bits(bits, out);
    }

    fn read_words(&self, table: Table, offset: u16, quantity: u16, out: &mut Vec<u8>) {
        let d = self.data(table);
        out.push(u8::try_from(usize::from(quantity) * 2).unwrap_or(u8::MAX));
        let start = usize::from(offset);
        if let Some(values) = d.values.get(start..start + usize::from(quantity)) {
            for v in values {
                out.extend_from_slice(&v.to_be_bytes());
            }
        }
    }

    /// Answer one request PDU: append the response PDU (or an exception) to `out`.
    pub fn respond(&mut self, pdu: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        let fc = pdu.first().copied().unwrap_or(0);
        let result = match Request::parse(pdu) {
            Ok(req) => self.execute(&req, pdu, out),
            Err(e) => Err(e.exception_code()),
        };
        if let Err(code) = result {
            out.truncate(start);
            out.push(fc | function::EXCEPTION_BIT);
            out.push(code);
        }
    }

    /// Perform `req`, appending its response. `pdu` is the request's wire form (echoed by
    /// writes).
    fn execute(&mut self, req: &Request, pdu: &[u8], out: &mut Vec<u8>) -> Check {
        use Request as R;
        match *req {
            R::ReadCoils { address, quantity } | R::ReadDiscreteInputs { address, quantity } => {
                let table = if matches!(req, R::ReadCoils { .. }) {
                    Table::Coils
                } else {
                    Table::DiscreteInputs
                };
                self.check(table, address, quantity)?;
                out.push(req.function());
                self.read_bits(table, address, quantity, out);
            }
            R::ReadHoldingRegisters { address, quantity }
            | R::ReadInputRegisters { address, quantity } => {
                let table = if matches!(req, R::ReadHoldingRegisters { .. }) {
                    Table::HoldingRegisters
                } else {
                    Table::InputRegisters
                };
                self.check(table, address, quantity)?;
                out.push(req.function());
                self.read_words(table, address, quantity, out);
            }
            R::WriteSingleCoil { address, value } => {
                self.check(Table::Coils, address, 1)?;
                self.data_mut(Table::Coils).set(address, u16::from(value));
                out.extend_from_slice(pdu);
            }
            R::WriteSingleRegister { address, value } => {
                self.check(Table::HoldingRegisters, address, 1)?;
                self.data_mut(Table::HoldingRegisters).set(address, value);
                out.extend_from_slice(pdu);
            }
            R::WriteMultipleCoils { address, bits } => {
                let quantity = u16::try_from(bits.len()).unwrap_or(u16::MAX);
                self.check(Table::Coils, address, quantity)?;
                let d = self.data_mut(Table::Coils);
                for (i, bit) in bits.iter().enumerate() {
                    d.set(address.wrapping_add(i as u16), u16::from(bit));
                }
                out.extend_from_slice(pdu.get(..5).unwrap_or(pdu));
            }
            R::WriteMultipleRegisters { address, values } => {
                let quantity = u16::try_from(values.len()).unwrap_or(u16::MAX);
                self.check(Table::HoldingRegisters, address, quantity)?;
                let d = self.data_mut(Table::HoldingRegisters);
                for (i, v) in values.iter().enumerate() {
                    d.set(address.wrapping_add(i as u16), v);
                }
                out.extend_from_slice(pdu.get(..5).unwrap_or(pdu));
            }
            R::MaskWriteRegister {
                address,
                and_mask,
                or_mask,
            } => {
                self.check(Table::HoldingRegisters, address, 1)?;
                let d = self.data_mut(Table::HoldingRegisters);
                let cur = d.get(address);
                d.set(address, (cur & and_mask) | (or_mask & !and_mask));
                out.extend_from_slice(pdu);
            }
            R::ReadWriteMultipleRegisters {
                read_address,
                read_quantity,
                write_address,
                values,
            } => {
                let wq = u16::try_from(values.len()).unwrap_or(u16::MAX);
                self.check(Table::HoldingRegisters, write_address, wq)?;
                self.check(Table::HoldingRegisters, read_address, read_quantity)?;
                let d = self.data_mut(Table::HoldingRegisters);
                for (i, v) in values.iter().enumerate() {
                    d.set(write_address.wrapping_add(i as u16), v);
                }
                out.push(req.function());
                self.read_words(Table::HoldingRegisters, read_address, read_quantity, out);
            }
            R::Other { .. } => return Err(exception::ILLEGAL_FUNCTION),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Store {
        let specs = [
            RangeSpec::parse("40001-40010=7").unwrap(),
            RangeSpec::parse("1-16=1").unwrap(),
            RangeSpec::parse("30001=5").unwrap(),
        ];
        Store::from_specs(&specs)
    }

    fn ask(s: &mut Store, pdu: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        s.respond(pdu, &mut out);
        out
    }

    #[test]
    fn reads_writes_and_exceptions() {
        let mut s = store();
        assert_eq!(ask(&mut s, &[3, 0, 0, 0, 2]), [3, 4, 0, 7, 0, 7]);
        assert_eq!(ask(&mut s, &[3, 0, 9, 0, 2]), [0x83, 2]); // 40011 undefined
        assert_eq!(ask(&mut s, &[3, 0, 0, 0, 0]), [0x83, 3]);
        assert_eq!(ask(&mut s, &[0x2B, 0x0E]), [0xAB, 1]);
        assert_eq!(ask(&mut s, &[6, 0, 1, 0x12, 0x34]), [6, 0, 1, 0x12, 0x34]);
        assert_eq!(ask(&mut s, &[1, 0, 0, 0, 10]), [1, 2, 0xFF, 0x03]);
        assert_eq!(ask(&mut s, &[5, 0, 1, 0, 0]), [5, 0, 1, 0, 0]);
        assert_eq!(ask(&mut s, &[1, 0, 0, 0, 3]), [1, 1, 0b101]);
        assert_eq!(ask(&mut s, &[4, 0, 0, 0, 1]), [4, 2, 0, 5]);
        assert_eq!(ask(&mut s, &[2, 0, 0, 0, 1]), [0x82, 2]);
        // Mask write: (0x1234 & 0x00F2) | (0x0025 & !0x00F2) = 0x0030 | 0x0005
        assert_eq!(
            ask(&mut s, &[0x16, 0, 1, 0, 0xF2, 0, 0x25]),
            [0x16, 0, 1, 0, 0xF2, 0, 0x25]
        );
        assert_eq!(s.get(Register::from_number(40002).unwrap()), Some(0x35));
        // Read/write: write 40010 then read 40009-40010.
        let rw = [0x17, 0, 8, 0, 2, 0, 9, 0, 1, 2, 0, 42];
        assert_eq!(ask(&mut s, &rw), [0x17, 4, 0, 7, 0, 42]);
        let reg = Register::from_number(40003).unwrap();
        s.fault(reg, 0x42);
        assert_eq!(ask(&mut s, &[3, 0, 0, 0, 5]), [0x83, 0x42]);
        assert_eq!(
            ask(&mut s, &[3, 0, 3, 0, 5]),
            [3, 10, 0, 7, 0, 7, 0, 7, 0, 7, 0, 7]
        );
    }

    #[test]
    fn failed_multi_write_changes_nothing() {
        let mut s = store();
        // 40010-40011: the second does not exist.
        assert_eq!(ask(&mut s, &[16, 0, 9, 0, 2, 4, 0, 1, 0, 2]), [0x90, 2]);
        assert_eq!(s.get(Register::from_number(40010).unwrap()), Some(7));
    }
}
