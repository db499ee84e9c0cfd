//! The tokio drivers of the sans-IO server: the serving loop over any `cpppo_net` transport,
//! listeners that can be switched off and on, the simulator builder, live control and
//! statistics (what the web API shows and changes), and the router's upstream connections.

pub mod control;
pub mod io;
mod io_clock;
pub mod serve;
pub mod simulator;
pub mod switchable;
pub mod tag_sources;
pub mod upstream;
