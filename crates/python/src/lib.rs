//! `cpppo_rs._native`: the Rust half of the `cpppo-rs` Python package.
//!
//! The Python package (`python/cpppo_rs`) gives cpppo's names and shapes (context managers,
//! generators, the exception classes); this module supplies the work, reusing the Rust client
//! ([`cpppo_enip::client`]) and simulator ([`cpppo_enip::runtime::simulator`]) with no protocol code of
//! its own. Every network wait runs with the GIL released.
#![deny(missing_docs)]

mod attribute;
mod automata;
mod automata_sym;
mod bulk;
mod callback;
mod client;
mod errors;
mod history;
mod modbus;
mod modbus_poller;
mod route;
mod sim_sources;
mod sim_values;
mod simulator;
mod stream;
mod values;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<client::Operation>()?;
    m.add_class::<client::Connector>()?;
    m.add_class::<stream::Results>()?;
    m.add_class::<simulator::Simulator>()?;
    m.add("ModbusSimulator", m.py().get_type::<modbus::Simulator>())?;
    m.add_class::<modbus_poller::ModbusPoller>()?;
    m.add_function(wrap_pyfunction!(client::parse_operations, m)?)?;
    history::register(m)?;
    automata::register(m)?;
    m.add_function(wrap_pyfunction!(bulk::read_many, m)?)?;
    m.add_function(wrap_pyfunction!(attribute::decode_attribute, m)?)?;
    m.add_function(wrap_pyfunction!(attribute::is_cip_type, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
