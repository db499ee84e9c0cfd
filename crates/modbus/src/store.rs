//! A device's four data tables and the logic that answers requests from them (no I/O).
//!
//! Only registers that were defined exist: a request touching any other gets exception 02.

use std::collections::HashMap;

use crate::pdu::{exception, function, Request};
use crate::register::{RangeSpec, Register, Table};

/// One table: the defined registers as runs of consecutive offsets, sorted, never touching
/// (adjacent runs are merged), so a device pays only for the registers it has (a fleet holds
/// thousands of stores) and any contiguous range of defined registers lies in one run.
#[derive(Debug, Clone, Default)]
struct Data {
    runs: Vec<Run>,
    defined: usize,
}

/// Consecutive registers from `start`.
#[derive(Debug, Clone)]
struct Run {
    start: u16,
    values: Vec<u16>,
}

impl Run {
    /// One past the last offset (up to 65,536).
    fn end(&self) -> usize {
        usize::from(self.start) + self.values.len()
    }
}

impl Data {
    fn new() -> Self {
        Self::default()
    }

    /// The run holding `offset`, if any, and `offset`'s index in it.
    fn find(&self, offset: u16) -> Option<(usize, usize)> {
        let i = self
            .runs
            .partition_point(|r| r.start <= offset)
            .checked_sub(1)?;
        let run = self.runs.get(i)?;
        let at = usize::from(offset - run.start);
        (at < run.values.len()).then_some((i, at))
    }

    fn has(&self, offset: u16) -> bool {
        self.find(offset).is_some()
    }

    /// The values of `offset..offset+quantity`, if all exist.
    fn slice(&self, offset: u16, quantity: u16) -> Option<&[u16]> {
        let (i, at) = self.find(offset)?;
        self.runs.get(i)?.values.get(at..at + usize::from(quantity))
    }

    /// True if all of `offset..offset+quantity` exist.
    fn has_all(&self, offset: u16, quantity: u16) -> bool {
        quantity == 0 || self.slice(offset, quantity).is_some()
    }

    fn define(&mut self, offset: u16, value: u16) {
        if let Some((i, at)) = self.find(offset) {
            if let Some(v) = self.runs.get_mut(i).and_then(|r| r.values.get_mut(at)) {
                *v = value;
            }
            return;
        }
        self.defined += 1;
        // The first run starting after `offset`; the one before it may end right at `offset`.
        let next = self.runs.partition_point(|r| r.start < offset);
        let joins_prev = next
            .checked_sub(1)
            .and_then(|p| self.runs.get(p))
            .is_some_and(|r| r.end() == usize::from(offset));
        let joins_next = self
            .runs
            .get(next)
            .is_some_and(|r| usize::from(r.start) == usize::from(offset) + 1);
        match (joins_prev, joins_next) {
            (true, true) => {
                let after = self.runs.remove(next);
                if let Some(r) = self.runs.get_mut(next - 1) {
                    r.values.push(value);
                    r.values.extend(after.values);
                }
            }
            (true, false) => {
                if let Some(r) = self.runs.get_mut(next - 1) {
                    r.values.push(value);
                }
            }
            (false, true) => {
                if let Some(r) = self.runs.get_mut(next) {
                    r.start = offset;
                    r.values.insert(0, value);
                }
            }
            (false, false) => self.runs.insert(
                next,
                Run {
                    start: offset,
                    values: vec![value],
                },
            ),
        }
    }

    /// Give back the spare capacity left by growing runs one register at a time.
    fn shrink(&mut self) {
        self.runs.shrink_to_fit();
        for r in &mut self.runs {
            r.values.shrink_to_fit();
        }
    }

    fn get(&self, offset: u16) -> u16 {
        self.find(offset)
            .and_then(|(i, at)| self.runs.get(i)?.values.get(at).copied())
            .unwrap_or(0)
    }

    fn set(&mut self, offset: u16, value: u16) {
        if let Some((i, at)) = self.find(offset) {
            if let Some(v) = self.runs.get_mut(i).and_then(|r| r.values.get_mut(at)) {
                *v = value;
            }
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
        for d in &mut store.tables {
            d.shrink();
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
        let values = d.slice(offset, quantity).unwrap_or_default();
        crate::pdu::pack_bits(values.iter().map(|&v| v != 0), out);
    }

    fn read_words(&self, table: Table, offset: u16, quantity: u16, out: &mut Vec<u8>) {
        let d = self.data(table);
        out.push(u8::try_from(usize::from(quantity) * 2).unwrap_or(u8::MAX));
        if let Some(values) = d.slice(offset, quantity) {
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

    proptest::proptest! {
        /// Registers defined in any order, across the whole offset range: the runs agree with
        /// a plain map, stay sorted and never touch, and contiguous ranges read in one piece.
        #[test]
        fn runs_agree_with_a_map(
            defs in proptest::collection::vec((proptest::prop_oneof![0u16..64, 65472u16..=65535], proptest::num::u16::ANY), 0..160),
        ) {
            let mut d = Data::new();
            let mut map = std::collections::BTreeMap::new();
            for &(o, v) in &defs {
                d.define(o, v);
                map.insert(o, v);
            }
            d.shrink();
            proptest::prop_assert_eq!(d.defined, map.len());
            for w in d.runs.windows(2) {
                proptest::prop_assert!(w[0].end() < usize::from(w[1].start));
            }
            for o in (0u16..70).chain(65460..=65535) {
                proptest::prop_assert_eq!(d.has(o), map.contains_key(&o));
                proptest::prop_assert_eq!(d.get(o), map.get(&o).copied().unwrap_or(0));
                for q in [1u16, 2, 5] {
                    let all = (0..q).all(|i| o.checked_add(i).is_some_and(|x| map.contains_key(&x)));
                    proptest::prop_assert_eq!(d.has_all(o, q), all, "{} x {}", o, q);
                    if all {
                        let want: Vec<u16> = (0..q).map(|i| map[&(o + i)]).collect();
                        proptest::prop_assert_eq!(d.slice(o, q), Some(&want[..]));
                    }
                }
            }
        }
    }

    #[test]
    fn a_store_costs_only_its_registers() {
        let s = Store::from_specs(&[
            RangeSpec::parse("40001-40100=0").unwrap(),
            RangeSpec::parse("1-100=0").unwrap(),
        ]);
        let held: usize = s
            .tables
            .iter()
            .map(|d| d.runs.iter().map(|r| r.values.capacity()).sum::<usize>())
            .sum();
        assert_eq!(held, 200);
        assert_eq!(s.tables[index(Table::HoldingRegisters)].runs.len(), 1);
        assert_eq!(s.len(Table::Coils), 100);
    }

    #[test]
    fn failed_multi_write_changes_nothing() {
        let mut s = store();
        // 40010-40011: the second does not exist.
        assert_eq!(ask(&mut s, &[16, 0, 9, 0, 2, 4, 0, 1, 0, 2]), [0x90, 2]);
        assert_eq!(s.get(Register::from_number(40010).unwrap()), Some(7));
    }
}
