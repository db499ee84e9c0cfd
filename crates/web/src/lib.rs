//! REST API (cpppo-compatible) and live web page for the simulators.
#![deny(missing_docs)]
