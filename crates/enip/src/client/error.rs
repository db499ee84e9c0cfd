//! Client errors and CIP reply status.

use std::fmt;
use std::time::Duration;

use crate::client::operation::OperationError;

/// What went wrong talking to a device.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A socket error (connect refused, reset, ...).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// No reply within the timeout.
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// The peer closed the connection.
    #[error("connection closed by the peer")]
    Closed,
    /// The peer answered with a non-zero encapsulation status.
    #[error("EtherNet/IP status 0x{0:02X}")]
    Encapsulation(u32),
    /// A reply that does not decode.
    #[error("malformed reply: {0}")]
    Codec(#[from] cpppo_cip::Error),
    /// A request that cannot be built (a value that does not fit, a path too long, ...).
    #[error("cannot build request for {what}: {why}")]
    Request {
        /// The operation or parameter.
        what: String,
        /// Why not.
        why: String,
    },
    /// A bad operation.
    #[error(transparent)]
    Operation(#[from] OperationError),
    /// A (Large) Forward Open was refused.
    #[error("Forward Open refused: {0}")]
    ForwardOpen(ReplyStatus),
    /// A request failed with a CIP status (direct calls).
    #[error("{what}: {status}")]
    Status {
        /// The request.
        what: String,
        /// Its reply status.
        status: ReplyStatus,
    },
    /// Anything else the peer did that a client cannot work with.
    #[error("{0}")]
    Protocol(String),
}

impl ClientError {
    /// Whether the connection is unusable after this error (the proxy reconnects).
    pub fn is_connection_failure(&self) -> bool {
        matches!(
            self,
            ClientError::Io(_)
                | ClientError::Timeout(_)
                | ClientError::Closed
                | ClientError::Encapsulation(_)
                | ClientError::Codec(_)
                | ClientError::Protocol(_)
        )
    }
}

/// A reply's status as the client reports it: the general status, every extended status word,
/// and whether the data of a "successful" reply failed to decode (a server answers with
/// [`cpppo_cip::Status`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplyStatus {
    /// General status (0 is success).
    pub general: u8,
    /// Extended status words.
    pub extended: Vec<u16>,
    /// A reply the device called a success that this client could not decode (what was
    /// wrong with it): a failure, whatever `general` says.
    pub problem: Option<String>,
}

impl ReplyStatus {
    /// Success.
    pub const OK: ReplyStatus = ReplyStatus {
        general: 0,
        extended: Vec::new(),
        problem: None,
    };

    /// A general status with no extended words.
    pub fn general(general: u8) -> ReplyStatus {
        ReplyStatus {
            general,
            ..ReplyStatus::OK
        }
    }

    /// The status of a Message Router reply.
    pub fn of(reply: &cpppo_cip::mr::MrReply<'_>) -> ReplyStatus {
        ReplyStatus {
            general: reply.general_status,
            extended: reply.extended().collect(),
            problem: None,
        }
    }

    /// A successful reply whose data did not decode.
    pub fn undecodable(what: impl Into<String>) -> ReplyStatus {
        ReplyStatus {
            problem: Some(what.into()),
            ..ReplyStatus::OK
        }
    }

    /// Whether this is success.
    pub fn is_ok(&self) -> bool {
        self.general == 0 && self.problem.is_none()
    }
}

impl fmt::Display for ReplyStatus {
    /// `OK`, or cpppo's `Status 255 [8453]` (`Status 6 ` with no extended status).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(problem) = &self.problem {
            return f.write_str(problem);
        }
        if self.is_ok() {
            return f.write_str("OK");
        }
        write!(f, "Status {} ", self.general)?;
        if !self.extended.is_empty() {
            let words: Vec<String> = self.extended.iter().map(u16::to_string).collect();
            write!(f, "[{}]", words.join(", "))?;
        }
        Ok(())
    }
}
