//! The sans-IO server: a session per client (encapsulation, connections, time as an input) and
//! the services it answers through the `cpppo-cip` codec, the routing rules for requests bound
//! elsewhere, and the discovery (List Identity) reply rules. No sockets, no clocks.

pub mod discovery;
pub mod io;
pub mod io_eds;
pub mod io_open;
pub mod io_plan;
pub mod logix;
mod repeat;
pub mod route;
pub mod services;
pub mod session;
