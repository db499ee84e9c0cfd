//! VDE switches for `cpppo net run` and `cpppo net fleet`: is one listening at a control
//! directory, and a switch of our own for the length of a program (`net run -c`).

use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// How long a new switch gets to open its control socket.
const START_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a switch gets to clean up and exit once told to.
const STOP_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether a VDE switch accepts connections at `dir` (its `ctl` socket; a socket file left
/// behind by a switch that died refuses them).
pub fn switch_listening(dir: &Path) -> bool {
    UnixStream::connect(dir.join("ctl")).is_ok()
}

/// The one-line refusal for `--vde DIR` with no switch there.
pub fn no_switch(dir: &Path, hint: &str) -> String {
    format!(
        "no VDE switch at {} (start one: vde_switch -s {} -d{hint})",
        dir.display(),
        dir.display()
    )
}

/// A `vde_switch` this process started; stopped (and its directory removed) when dropped.
pub struct OwnSwitch {
    child: Child,
    dir: PathBuf,
}

impl OwnSwitch {
    /// Start `vde_switch -s DIR` and wait until it listens. DIR must not exist yet: it is the
    /// switch's, and is removed afterwards.
    pub fn start(dir: &Path) -> anyhow::Result<OwnSwitch> {
        if switch_listening(dir) {
            bail!(
                "a VDE switch already listens at {}; drop -c/--create-switch to plug into it",
                dir.display()
            );
        }
        if dir.exists() {
            bail!(
                "{} exists; -c/--create-switch creates the switch's directory (remove it, or \
                 name another)",
                dir.display()
            );
        }
        // The console on stdin keeps the switch in the foreground: closing the pipe makes it
        // clean up (remove DIR) and exit. Its own process group keeps a terminal's Ctrl-C for
        // the program, which is told first.
        let child = Command::new("vde_switch")
            .arg("-s")
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .context("cannot start vde_switch (Debian package vde2)")?;
        let mut switch = OwnSwitch {
            child,
            dir: dir.to_path_buf(),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while !switch_listening(dir) {
            if let Some(status) = switch.child.try_wait()? {
                bail!("vde_switch -s {} exited at start ({status})", dir.display());
            }
            if Instant::now() > deadline {
                bail!(
                    "vde_switch -s {} is not listening after {START_TIMEOUT:?}",
                    dir.display()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(switch)
    }
}

impl Drop for OwnSwitch {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + STOP_TIMEOUT;
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        // The switch removes its directory as it exits; after a kill, we do.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
