//! One single-threaded runtime per core for servers on the host's sockets.
//!
//! A server process runs its main runtime on one thread ([`server_runtime`]) and one more
//! current-thread runtime on a thread of its own for each further core ([`workers`]). A
//! listener is shared, not handed over: each worker accepts from a duplicate of the listening
//! socket ([`spread`]), registered with its own reactor, so a connection is read, answered and
//! woken on one thread with no work-stealing scheduler in the way. Without workers (library
//! use, tests, userspace stacks) servers accept on their own runtime as before.

use std::future::Future;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::OnceLock;

use tokio::runtime::Handle;
use tokio::sync::watch;

static WORKERS: OnceLock<Vec<Handle>> = OnceLock::new();
static TIMERS: OnceLock<Handle> = OnceLock::new();

/// The cores this process serves on: `CPPPO_CORES` when set (at least 1), else the CPUs it
/// may use. Read once per process.
pub fn count() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| {
        std::env::var("CPPPO_CORES")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
            .unwrap_or(1)
            .max(1)
    })
}

/// The worker runtimes started by [`server_runtime`] (none unless it was called).
pub fn workers() -> &'static [Handle] {
    WORKERS.get().map(Vec::as_slice).unwrap_or_default()
}

/// The runtime holding the connection policy's long timers (idle and frame timeouts), when
/// [`server_runtime`] started one: a thread of its own with only a timer wheel. The serving
/// runtimes' wheels then stay empty while requests flow, so parking between requests does
/// not walk a wheel or read the clock for them; a timeout that fires wakes its session's task
/// across threads (rare). `None` (library use, tests): the policy's timers run on the
/// runtime of the connection's task.
pub fn timers() -> Option<&'static Handle> {
    TIMERS.get()
}

/// A current-thread runtime for this thread, plus one worker thread with its own
/// current-thread runtime for each further core the process may use (`CPPPO_CORES` caps the
/// count; 1 means no workers). Idle workers wait in `epoll_wait` and cost no CPU.
pub fn server_runtime() -> io::Result<tokio::runtime::Runtime> {
    let cores = count();
    let mut handles = Vec::with_capacity(cores - 1);
    for i in 1..cores {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        handles.push(rt.handle().clone());
        std::thread::Builder::new()
            .name(format!("cpppo-core-{i}"))
            .spawn(move || rt.block_on(std::future::pending::<()>()))?;
    }
    // A second call keeps the first call's workers (and the new threads idle).
    let _ = WORKERS.set(handles);
    if TIMERS.get().is_none() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()?;
        let handle = rt.handle().clone();
        std::thread::Builder::new()
            .name("cpppo-timers".into())
            .spawn(move || rt.block_on(std::future::pending::<()>()))?;
        let _ = TIMERS.set(handle);
    }
    crate::sys::runtime(false)
}

/// While held, the duplicates of one listener are served by the workers; dropping it stops
/// their accept loops and the listening socket (so it may be bound again at once).
#[derive(Debug)]
pub struct Spread {
    _alive: watch::Sender<()>,
    listening: Option<OwnedFd>,
}

impl Drop for Spread {
    fn drop(&mut self) {
        if let Some(fd) = &self.listening {
            // The duplicates share one socket: shut it down so no worker accepts any more,
            // even before its task has seen the drop.
            // SAFETY: shutdown(2) on a descriptor this value owns.
            unsafe { libc::shutdown(fd.as_raw_fd(), libc::SHUT_RDWR) };
        }
    }
}

/// Serve the listening socket `listening` on every worker too: each runs `serve` with a
/// listener over its own duplicate of the socket, until the returned [`Spread`] is dropped.
/// Without workers, nothing runs and the socket is left alone.
pub fn spread<F, Fut>(listening: &impl AsFd, serve: F) -> io::Result<Spread>
where
    F: Fn(tokio::net::TcpListener) -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (alive, _) = watch::channel(());
    if workers().is_empty() {
        return Ok(Spread {
            _alive: alive,
            listening: None,
        });
    }
    let own = listening.as_fd().try_clone_to_owned()?;
    for handle in workers() {
        let dup = std::net::TcpListener::from(listening.as_fd().try_clone_to_owned()?);
        dup.set_nonblocking(true)?;
        let mut stop = alive.subscribe();
        let serve = serve.clone();
        handle.spawn(async move {
            // Registered with this worker's reactor: its connections are woken here.
            // (Registering fails only outside a runtime; then this core serves nothing and
            // the others accept every connection.)
            let Ok(listener) = tokio::net::TcpListener::from_std(dup) else {
                return;
            };
            tokio::select! {
                _ = serve(listener) => {}
                _ = stop.changed() => {}
            }
        });
    }
    Ok(Spread {
        _alive: alive,
        listening: Some(own),
    })
}
