//! A server's listener shared with one single-threaded runtime per further core.

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use cpppo_net::cores;
use tokio::io::AsyncWriteExt;

/// Each connection is told the name of the thread that accepted it.
async fn name_the_thread(listener: tokio::net::TcpListener) {
    loop {
        let Ok((mut s, _)) = listener.accept().await else {
            return;
        };
        let name = std::thread::current().name().unwrap_or("").to_string();
        let _ = s.write_all(name.as_bytes()).await;
    }
}

fn served_by(addr: SocketAddr) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut name = String::new();
    s.read_to_string(&mut name)?;
    Ok(name)
}

#[test]
fn workers_accept_from_the_shared_listener_until_it_is_dropped() {
    // The only test in this binary: the worker count is read once per process.
    std::env::set_var("CPPPO_CORES", "3");
    let rt = cores::server_runtime().unwrap();
    assert_eq!(cores::workers().len(), 2);
    let listener = rt
        .block_on(async { cpppo_net::os::bind_tcp("127.0.0.1:0".parse().unwrap()) })
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let spread = cores::spread(&listener, name_the_thread).unwrap();
    // The main runtime is not running: every connection is accepted and answered on a worker.
    for _ in 0..10 {
        let name = served_by(addr).unwrap();
        assert!(name.starts_with("cpppo-core-"), "served by {name:?}");
    }
    drop(spread);
    // The listening socket is shut: no one accepts, and the port may be bound again at once.
    assert!(served_by(addr).is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused));
    drop(listener);
    rt.block_on(async { cpppo_net::os::bind_tcp(addr) })
        .unwrap();
}
