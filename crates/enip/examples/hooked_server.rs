//! A simulator whose tags have custom behaviour, built with the library:
//!
//! - `SCADA` is an ordinary `INT[100]` wrapped in a [`Recorder`]: every read and write is
//!   appended to `tag-io.log`;
//! - `NOW` is computed on each read (UTC microseconds), a [`Clock`].
//!
//! ```text
//! cargo run -p cpppo-enip --example hooked_server -- 127.0.0.1:44818
//! ```

use std::net::SocketAddr;
use std::sync::Arc;

use cpppo_cip::DataType;
use cpppo_enip::model::attribute::StoredData;
use cpppo_enip::model::device::{Device, DeviceConfig};
use cpppo_enip::model::hooks::{Clock, Recorder};
use cpppo_enip::runtime::serve::{serve_datagrams, serve_listener, Options};
use cpppo_enip::server::session::{RoutePolicy, Shared};
use cpppo_net::os::{OsDatagram, OsListener};
use cpppo_net::Listener;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:44818".into())
        .parse()?;
    let mut device = Device::new(&DeviceConfig::default());
    let log = Recorder::open(std::path::Path::new("tag-io.log"))?;
    let scada = Arc::new(StoredData::new(DataType::Int, 100, true));
    device.add_tag_attribute("SCADA", Arc::new(Recorder::new("SCADA", scada, log)), None)?;
    device.add_tag_attribute("NOW", Arc::new(Clock::utc()), None)?;
    let shared = Arc::new(Shared {
        device: Arc::new(device),
        route: RoutePolicy::Any,
        routes: Vec::new(),
        io: None,
    });
    let opts = Arc::new(Options::default());
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let listener = OsListener::bind(addr).await?;
    println!("serving on {}", listener.local_addr()?);
    let udp = OsDatagram::bind(addr).await?;
    tokio::spawn(serve_datagrams(
        udp,
        shared.clone(),
        opts.clone(),
        shutdown.clone(),
    ));
    serve_listener(listener, shared, opts, shutdown).await;
    Ok(())
}
