//! Typed attribute values for `cpppo_rs.enip.get_attribute`: raw Get Attribute bytes decoded
//! as CIP types by the Rust proxy's decoder ([`cpppo_enip::client::proxy::decode`]).

use cpppo_cip::DataType;
use cpppo_enip::client::proxy::{decode, Field};
use pyo3::prelude::*;

use crate::errors::raise;
use crate::values::list_to_py;

/// One cpppo type name (`"REAL"`, `"sstring"`, `"IPADDR"`, `"EPATH"`) as a field.
fn field(py: Python<'_>, name: &str) -> PyResult<Field> {
    let name = name.trim();
    if name.eq_ignore_ascii_case("ipaddr") {
        return Ok(Field::IpAddr);
    }
    if name.eq_ignore_ascii_case("epath") {
        return Ok(Field::EPath);
    }
    DataType::from_name(name).map(Field::Cip).ok_or_else(|| {
        raise(
            py,
            "OperationError",
            (format!("invalid EtherNet/IP CIP type name {name:?}"),),
        )
    })
}

/// Whether `name` is a CIP type name `decode_attribute` knows.
#[pyfunction]
pub fn is_cip_type(py: Python<'_>, name: &str) -> bool {
    field(py, name).is_ok()
}

/// Decodes raw attribute `data` as `types`: one type name decodes every element of the data,
/// a list of names one value each, in order (cpppo's proxy). Raises `OperationError` for an
/// unknown type name, and `InvalidValueError` if the data does not hold those types.
#[pyfunction]
pub fn decode_attribute<'py>(
    py: Python<'py>,
    types: &Bound<'py, PyAny>,
    data: &[u8],
) -> PyResult<Bound<'py, pyo3::types::PyList>> {
    let (names, repeat): (Vec<String>, bool) = match types.extract::<String>() {
        Ok(one) => (vec![one], true),
        Err(_) => (types.extract()?, false),
    };
    let fields = names
        .iter()
        .map(|n| field(py, n))
        .collect::<PyResult<Vec<_>>>()?;
    let values = decode(&fields, data, repeat).map_err(|e| {
        raise(
            py,
            "InvalidValueError",
            (format!(
                "cannot decode {} bytes as {names:?}: {e}",
                data.len()
            ),),
        )
    })?;
    list_to_py(py, &values)
}
