//! Operation values between Rust and Python (`int`, `float`, `bool`, `str`).

use cpppo_cip::DataType;
use cpppo_enip::client::operation::{int_range, Literal};
use cpppo_enip::client::plan::encode_values;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyList, PyString};

/// One value as a Python object.
pub fn to_py<'py>(py: Python<'py>, v: &Literal) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        // Through i64 when it fits: an i128 takes pyo3's slow path under the stable ABI.
        Literal::Int(n) => match i64::try_from(*n) {
            Ok(small) => small.into_pyobject(py)?.into_any(),
            Err(_) => n.into_pyobject(py)?.into_any(),
        },
        Literal::Real(x) => PyFloat::new(py, *x).into_any(),
        Literal::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Literal::Text(s) => PyString::new(py, s).into_any(),
    })
}

/// Values as a Python list.
pub fn list_to_py<'py>(py: Python<'py>, vs: &[Literal]) -> PyResult<Bound<'py, PyList>> {
    let items = vs
        .iter()
        .map(|v| to_py(py, v))
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
}

/// One Python object as a value (`bool` before `int`: a bool is an int in Python).
pub fn from_py(o: &Bound<'_, PyAny>) -> PyResult<Literal> {
    if o.is_instance_of::<PyBool>() {
        return Ok(Literal::Bool(o.extract()?));
    }
    if o.is_instance_of::<PyInt>() {
        if let Ok(small) = o.extract::<i64>() {
            return Ok(Literal::Int(small.into()));
        }
        return Ok(Literal::Int(o.extract()?));
    }
    if o.is_instance_of::<PyFloat>() {
        return Ok(Literal::Real(o.extract()?));
    }
    if o.is_instance_of::<PyString>() {
        return Ok(Literal::Text(o.extract()?));
    }
    Err(PyTypeError::new_err(format!(
        "cannot use a {} as a tag value (int, float, bool or str)",
        o.get_type().name()?
    )))
}

/// A value or a sequence of values (a `str` is one value, not a sequence of characters).
pub fn many_from_py(o: &Bound<'_, PyAny>) -> PyResult<Vec<Literal>> {
    if o.is_instance_of::<PyString>() || from_py(o).is_ok() {
        return Ok(vec![from_py(o)?]);
    }
    o.try_iter()?.map(|item| from_py(&item?)).collect()
}

/// `values` encoded as elements of `ty`, or why not (an integer out of the type's range, a
/// value of the wrong kind).
pub fn encode_checked(ty: DataType, values: &[Literal]) -> Result<Vec<u8>, String> {
    if let Some((lo, hi)) = int_range(ty) {
        let outside = values
            .iter()
            .find(|v| matches!(v, Literal::Int(n) if !(lo..=hi).contains(n)));
        if let Some(v) = outside {
            return Err(format!("{v} is out of range for {ty}"));
        }
    }
    encode_values(ty, values)
}
