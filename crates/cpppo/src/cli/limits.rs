//! The connection limits both simulators take on the command line (`--max-connections`,
//! `--idle-timeout`, `--frame-timeout`, `--write-timeout`).

use std::time::Duration;

use anyhow::anyhow;
use clap::Args;
use cpppo_net::conn::Limits;

/// Connection limits of a simulator's TCP clients.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Connection limits")]
pub struct LimitArgs {
    /// Most TCP clients served at once; at the limit the longest-idle one is closed to make
    /// room for a new one.
    #[arg(long, value_name = "N", default_value_t = cpppo_net::conn::MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Close a connection with no traffic for SECS seconds (0: never).
    #[arg(long, value_name = "SECS", default_value_t = 600.0)]
    pub idle_timeout: f64,
    /// Close a connection that leaves a request frame unfinished for SECS seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub frame_timeout: f64,
    /// Close a connection that does not take a reply within SECS seconds (stopped reading).
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub write_timeout: f64,
}

/// One `--*-timeout` value: seconds > 0 (0 for the idle timeout: a century).
fn seconds(flag: &str, secs: f64, zero_is_never: bool) -> anyhow::Result<Duration> {
    if zero_is_never && secs == 0.0 {
        return Ok(Duration::from_secs(100 * 365 * 24 * 3600));
    }
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| anyhow!("--{flag} {secs}: expected a number of seconds > 0"))
}

impl LimitArgs {
    /// The limits, or one line naming the bad flag.
    pub fn limits(&self) -> anyhow::Result<Limits> {
        if self.max_connections == 0 {
            return Err(anyhow!("--max-connections 0: expected at least 1"));
        }
        Ok(Limits {
            max_connections: self.max_connections,
            idle: seconds("idle-timeout", self.idle_timeout, true)?,
            frame: seconds("frame-timeout", self.frame_timeout, false)?,
            write: seconds("write-timeout", self.write_timeout, false)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(idle: f64, frame: f64) -> LimitArgs {
        LimitArgs {
            max_connections: 10,
            idle_timeout: idle,
            frame_timeout: frame,
            write_timeout: 1.0,
        }
    }

    #[test]
    fn bad_limits_name_the_flag() {
        assert_eq!(
            args(2.5, 1.0).limits().unwrap().idle,
            Duration::from_millis(2500)
        );
        assert!(args(0.0, 1.0).limits().unwrap().idle > Duration::from_secs(1 << 30));
        let e = args(-1.0, 1.0).limits().unwrap_err().to_string();
        assert!(e.contains("--idle-timeout"), "{e}");
        let e = args(1.0, f64::NAN).limits().unwrap_err().to_string();
        assert!(e.contains("--frame-timeout"), "{e}");
    }
}
