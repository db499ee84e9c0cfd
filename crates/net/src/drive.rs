//! Many client connections driven from one thread, without an async runtime: a [`Driver`]
//! waits on epoll (level-triggered) for the sockets of any number of sans-IO connections
//! ([`Driven`]: bytes in, bytes out, a deadline), reads once from each socket that has input,
//! lets the caller act on what arrived, and writes what each connection then has to send:
//! one `read` and one `write` per reply, as a blocking lock-step client does, for 1 or 10,000
//! connections. Deadlines are checked every few milliseconds, not per event.
//!
//! ```no_run
//! use std::time::{Duration, Instant};
//! use cpppo_net::drive::{Driven, Driver, Ready};
//!
//! /// Sends "ping", expects "pong".
//! struct Ping { out: Vec<u8>, inp: Vec<u8>, got: usize }
//! impl Driven for Ping {
//!     fn recv_buffer(&mut self) -> &mut [u8] { &mut self.inp[self.got..] }
//!     fn received(&mut self, n: usize, _now: Instant) { self.got += n }
//!     fn transmit(&self) -> &[u8] { &self.out }
//!     fn transmitted(&mut self, _now: Instant) { self.out.clear() }
//!     fn poll_timeout(&self) -> Option<Instant> { None }
//!     fn handle_timeout(&mut self, _now: Instant) {}
//! }
//! let mut driver = Driver::new()?;
//! let stream = std::net::TcpStream::connect("127.0.0.1:7")?;
//! driver.add(stream, Ping { out: b"ping".to_vec(), inp: vec![0; 64], got: 0 })?;
//! driver.turn(Duration::from_secs(1), |_id, ping, ready| {
//!     if matches!(ready, Ready::Input) && ping.got >= 4 {
//!         ping.got = 0;
//!         ping.out.extend_from_slice(b"ping"); // the next request
//!     }
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use crate::sys::{self, Epoll, EpollEvent};

/// How often the connections' deadlines are checked.
const DEADLINE_CHECK: Duration = Duration::from_millis(5);
/// Events taken from the kernel per wait, at most.
const EVENTS: usize = 1024;

/// A sans-IO connection: what a [`Driver`] moves bytes and time for.
pub trait Driven {
    /// Free space to read into.
    fn recv_buffer(&mut self) -> &mut [u8];
    /// `n` bytes were read into [`Driven::recv_buffer`] at `now`.
    fn received(&mut self, n: usize, now: Instant);
    /// Bytes to send now (empty: nothing).
    fn transmit(&self) -> &[u8];
    /// [`Driven::transmit`]'s bytes were taken for sending at `now`.
    fn transmitted(&mut self, now: Instant);
    /// When it times out, if it is waiting for something.
    fn poll_timeout(&self) -> Option<Instant>;
    /// The time is `now` (at or past [`Driven::poll_timeout`]).
    fn handle_timeout(&mut self, now: Instant);
}

/// Why [`Driver::turn`] hands a connection to its caller.
#[derive(Debug)]
pub enum Ready {
    /// Bytes were read into it.
    Input,
    /// Its deadline passed ([`Driven::handle_timeout`] was called).
    Timeout,
    /// The peer closed the connection, or it failed: it was removed from the driver.
    Closed(Option<io::Error>),
}

struct Slot<D> {
    stream: TcpStream,
    driven: D,
    /// Bytes taken from `driven` that the socket did not take yet (written on EPOLLOUT).
    pending: Vec<u8>,
}

/// Drives many [`Driven`] connections over TCP sockets from one thread (see the module).
pub struct Driver<D> {
    epoll: Epoll,
    slots: Vec<Option<Slot<D>>>,
    free: Vec<usize>,
    /// Connections added (or borrowed by [`Driver::get_mut`]) since the last turn: what they
    /// have to send is sent at its start.
    added: Vec<usize>,
    events: Vec<EpollEvent>,
    next_check: Instant,
}

impl<D: Driven> Driver<D> {
    /// An empty driver (one epoll instance).
    pub fn new() -> io::Result<Driver<D>> {
        Ok(Driver {
            epoll: Epoll::new()?,
            slots: Vec::new(),
            free: Vec::new(),
            added: Vec::new(),
            events: vec![sys::no_event(); EVENTS],
            next_check: Instant::now(),
        })
    }

    /// Adds a connected stream (made non-blocking) and its connection; returns its id. What
    /// the connection has to send already goes out on the next [`Driver::turn`].
    pub fn add(&mut self, stream: TcpStream, driven: D) -> io::Result<usize> {
        stream.set_nonblocking(true)?;
        let id = self.free.pop().unwrap_or(self.slots.len());
        if let Err(e) = self.epoll.add(stream.as_raw_fd(), id as u64) {
            if id < self.slots.len() {
                self.free.push(id);
            }
            return Err(e);
        }
        let slot = Slot {
            stream,
            driven,
            pending: Vec::new(),
        };
        match self.slots.get_mut(id) {
            Some(s) => *s = Some(slot),
            None => self.slots.push(Some(slot)),
        }
        self.added.push(id);
        Ok(id)
    }

    /// Removes connection `id`, giving back its stream and connection.
    pub fn remove(&mut self, id: usize) -> Option<(TcpStream, D)> {
        let slot = self.slots.get_mut(id)?.take()?;
        let _ = self.epoll.delete(slot.stream.as_raw_fd());
        self.free.push(id);
        Some((slot.stream, slot.driven))
    }

    /// Connection `id` (what it then has to send goes out at the start of the next turn).
    pub fn get_mut(&mut self, id: usize) -> Option<&mut D> {
        let slot = self.slots.get_mut(id)?.as_mut()?;
        self.added.push(id);
        Some(&mut slot.driven)
    }

    /// How many connections it drives.
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// Whether it drives none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One round: sends what the connections added or borrowed since the last round have to
    /// send, waits at most `wait` for input, reads once from each connection that has some and
    /// hands it to `on_ready` (also each whose deadline passed, and each that closed), then
    /// sends what those have to send. Returns how many connections were handed over.
    pub fn turn(
        &mut self,
        wait: Duration,
        mut on_ready: impl FnMut(usize, &mut D, Ready),
    ) -> io::Result<usize> {
        for id in std::mem::take(&mut self.added) {
            self.send(id, &mut on_ready);
        }
        let now = Instant::now();
        let wait = wait.min(self.next_check.saturating_duration_since(now));
        // Rounded up by the wait: a wait shorter than a millisecond is no busy poll.
        let n = self.epoll.wait(&mut self.events, Some(wait))?;
        let now = Instant::now();
        let mut handed = 0;
        for i in 0..n {
            let Some(ev) = self.events.get(i) else { break };
            let (flags, id) = (
                ev.events,
                usize::try_from(sys::event_token(ev)).unwrap_or(usize::MAX),
            );
            if flags & (libc::EPOLLOUT as u32) != 0 {
                self.send(id, &mut on_ready);
            }
            if flags & ((libc::EPOLLIN | libc::EPOLLHUP | libc::EPOLLERR) as u32) != 0 {
                handed += usize::from(self.receive(id, now, &mut on_ready));
            }
        }
        if now >= self.next_check {
            self.next_check = now + DEADLINE_CHECK;
            for id in 0..self.slots.len() {
                let Some(slot) = self.slots.get_mut(id).and_then(Option::as_mut) else {
                    continue;
                };
                if slot.driven.poll_timeout().is_some_and(|t| t <= now) {
                    slot.driven.handle_timeout(now);
                    on_ready(id, &mut slot.driven, Ready::Timeout);
                    handed += 1;
                    self.send(id, &mut on_ready);
                }
            }
        }
        Ok(handed)
    }

    /// Reads once from `id` and hands it over; true if it was handed over.
    fn receive(
        &mut self,
        id: usize,
        now: Instant,
        on_ready: &mut impl FnMut(usize, &mut D, Ready),
    ) -> bool {
        let Some(slot) = self.slots.get_mut(id).and_then(Option::as_mut) else {
            return false;
        };
        let got = slot.stream.read(slot.driven.recv_buffer());
        match got {
            Ok(0) => self.close(id, None, on_ready),
            Ok(n) => {
                slot.driven.received(n, now);
                on_ready(id, &mut slot.driven, Ready::Input);
                self.send(id, on_ready);
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {
                return false
            }
            Err(e) => self.close(id, Some(e), on_ready),
        }
        true
    }

    /// Writes what `id` has to send, what the socket takes now; the rest waits for EPOLLOUT.
    fn send(&mut self, id: usize, on_ready: &mut impl FnMut(usize, &mut D, Ready)) {
        let Some(slot) = self.slots.get_mut(id).and_then(Option::as_mut) else {
            return;
        };
        let was_pending = !slot.pending.is_empty();
        let data = slot.driven.transmit();
        if data.is_empty() && !was_pending {
            return;
        }
        let result = if was_pending {
            slot.pending.extend_from_slice(data);
            write_some(&mut slot.stream, &slot.pending)
        } else {
            write_some(&mut slot.stream, data)
        };
        let written = match result {
            Ok(n) => n,
            Err(e) => return self.close(id, Some(e), on_ready),
        };
        if was_pending {
            slot.pending.drain(..written);
        } else if let Some(rest) = data.get(written..) {
            slot.pending.extend_from_slice(rest);
        }
        slot.driven.transmitted(Instant::now());
        let waiting = !slot.pending.is_empty();
        if waiting != was_pending {
            let stream = slot.stream.as_raw_fd();
            if let Err(e) = self.epoll.set_output(stream, id as u64, waiting) {
                self.close(id, Some(e), on_ready);
            }
        }
    }

    fn close(
        &mut self,
        id: usize,
        error: Option<io::Error>,
        on_ready: &mut impl FnMut(usize, &mut D, Ready),
    ) {
        if let Some((_, mut driven)) = self.remove(id) {
            on_ready(id, &mut driven, Ready::Closed(error));
        }
    }
}

/// Writes what `stream` takes now (0 if it takes nothing).
fn write_some(stream: &mut TcpStream, data: &[u8]) -> io::Result<usize> {
    let mut done = 0;
    while let Some(rest) = data.get(done..).filter(|r| !r.is_empty()) {
        match stream.write(rest) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// Sends `out` once, then collects what comes back.
    struct Bulk {
        out: Vec<u8>,
        inp: Vec<u8>,
        got: usize,
    }

    impl Driven for Bulk {
        fn recv_buffer(&mut self) -> &mut [u8] {
            &mut self.inp[self.got..]
        }
        fn received(&mut self, n: usize, _now: Instant) {
            self.got += n;
        }
        fn transmit(&self) -> &[u8] {
            &self.out
        }
        fn transmitted(&mut self, _now: Instant) {
            self.out.clear();
        }
        fn poll_timeout(&self) -> Option<Instant> {
            None
        }
        fn handle_timeout(&mut self, _now: Instant) {}
    }

    /// 32 MiB (more than the socket buffers hold) to a peer that starts reading only after
    /// 200 ms: the socket takes part of it, the rest goes out as the peer drains it (EPOLLOUT), whole and in order; the peer's answer
    /// then arrives as input.
    #[test]
    fn a_write_the_socket_does_not_take_whole_goes_out_as_it_drains() {
        const N: usize = 32 << 20;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        // A small receive buffer (inherited by the accepted socket): at most the sender's
        // buffer (4 MiB by default) and this fit in flight, far less than N.
        let small: libc::c_int = 64 * 1024;
        // SAFETY: the option value is a c_int that outlives the call.
        let r = unsafe {
            libc::setsockopt(
                listener.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&small as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        assert_eq!(r, 0);
        let addr = listener.local_addr().unwrap();
        let peer = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            std::thread::sleep(Duration::from_millis(200));
            let mut all = vec![0u8; N];
            s.read_exact(&mut all).unwrap();
            let ok = all.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8);
            s.write_all(if ok { b"ok" } else { b"no" }).unwrap();
        });
        let mut driver = Driver::new().unwrap();
        let out: Vec<u8> = (0..N).map(|i| (i % 251) as u8).collect();
        let bulk = Bulk {
            out,
            inp: vec![0; 16],
            got: 0,
        };
        let id = driver.add(TcpStream::connect(addr).unwrap(), bulk).unwrap();
        let until = Instant::now() + Duration::from_secs(10);
        let mut answer = None;
        while answer.is_none() && Instant::now() < until {
            driver
                .turn(Duration::from_millis(50), |_, b, ready| {
                    assert!(matches!(ready, Ready::Input), "{ready:?}");
                    if b.got >= 2 {
                        answer = Some(b.inp[..2].to_vec());
                    }
                })
                .unwrap();
        }
        peer.join().unwrap();
        assert_eq!(answer.as_deref(), Some(&b"ok"[..]));
        assert!(driver.remove(id).is_some());
        assert!(driver.is_empty());
    }
}
