//! Rust errors as the Python exceptions of `cpppo_rs.errors`.

use cpppo_enip::client::{ClientError, ReplyStatus};
use pyo3::prelude::*;

/// Makes an exception of class `name` (in `cpppo_rs.errors`) from `args`.
pub fn raise<'py, A>(py: Python<'py>, name: &str, args: A) -> PyErr
where
    A: pyo3::call::PyCallArgs<'py>,
{
    let made = py
        .import("cpppo_rs.errors")
        .and_then(|m| m.getattr(name))
        .and_then(|class| class.call1(args));
    match made {
        Ok(exc) => PyErr::from_value(exc),
        Err(e) => e,
    }
}

/// A CIP status failure: `StatusError(message, status, extended_status)`.
pub fn status_error(py: Python<'_>, message: String, status: &ReplyStatus) -> PyErr {
    raise(
        py,
        "StatusError",
        (message, status.general, status.extended.clone()),
    )
}

/// A client failure as its Python exception.
pub fn client_error(py: Python<'_>, e: ClientError) -> PyErr {
    let message = e.to_string();
    match e {
        ClientError::Status { status, .. } | ClientError::ForwardOpen(status) => {
            status_error(py, message, &status)
        }
        ClientError::Operation(_) | ClientError::Request { .. } => {
            raise(py, "OperationError", (message,))
        }
        ClientError::Timeout(_) => raise(py, "TimeoutError", (message,)),
        ClientError::Io(_)
        | ClientError::Closed
        | ClientError::Encapsulation(_)
        | ClientError::Codec(_)
        | ClientError::Protocol(_) => raise(py, "CommunicationError", (message,)),
    }
}
