//! Blocking wrappers: the connector's calls for code without an async runtime.
//!
//! Each [`Client`] owns a small current-thread runtime; do not use it from inside one. Its TCP
//! session does blocking I/O ([`Connector::connect_blocking`]): a lock-step request is one
//! `write` and one `read`, with no reactor wait in between; `read`/`write`/[`Client::perform`]
//! run on the calling thread without entering the runtime at all.

use std::net::SocketAddr;

use super::connector::{Connector, ListReply, Options};
use super::error::ClientError;
use super::pipeline::Transaction;
use super::single::Single;
use crate::client::operation::{Literal, Operation};

/// A blocking EtherNet/IP client.
pub struct Client {
    rt: tokio::runtime::Runtime,
    conn: Option<Connector>,
    /// The operation `read`/`write` ran last, by its text (a loop repeats it).
    last: Option<(String, Single)>,
}

fn runtime() -> Result<tokio::runtime::Runtime, ClientError> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

impl Client {
    /// Connects over TCP and registers a session (and opens a connection if asked).
    pub fn connect(address: &str, options: Options) -> Result<Client, ClientError> {
        let rt = runtime()?;
        let conn = rt.block_on(Connector::connect_blocking(address, options))?;
        Ok(Client {
            rt,
            conn: Some(conn),
            last: None,
        })
    }

    /// Opens a UDP socket (List commands only).
    pub fn udp(address: &str, broadcast: bool, options: Options) -> Result<Client, ClientError> {
        let rt = runtime()?;
        let conn = rt.block_on(Connector::udp(address, broadcast, options))?;
        Ok(Client {
            rt,
            conn: Some(conn),
            last: None,
        })
    }

    /// See [`Connector::process`].
    pub fn process(
        &mut self,
        ops: Vec<Operation>,
        depth: usize,
        multiple: usize,
    ) -> Result<(usize, Vec<Transaction>), ClientError> {
        let conn = self.conn.as_mut().ok_or(ClientError::Closed)?;
        self.rt.block_on(conn.process(ops, depth, multiple))
    }

    /// See [`Connector::read`]; the last operation's plan is kept for the next call.
    pub fn read(&mut self, tag: &str) -> Result<Vec<Literal>, ClientError> {
        self.one(tag)
    }

    /// See [`Connector::write`].
    pub fn write(&mut self, operation: &str) -> Result<(), ClientError> {
        self.one(operation).map(|_| ())
    }

    fn one(&mut self, text: &str) -> Result<Vec<Literal>, ClientError> {
        let conn = self.conn.as_mut().ok_or(ClientError::Closed)?;
        let (_, single) = match &mut self.last {
            Some(last) if last.0 == text => last,
            last => last.insert((text.to_owned(), conn.prepare(&Operation::parse(text)?)?)),
        };
        conn.perform_blocking(single)
    }

    /// See [`Connector::prepare`].
    pub fn prepare(&self, op: &Operation) -> Result<Single, ClientError> {
        self.conn.as_ref().ok_or(ClientError::Closed)?.prepare(op)
    }

    /// Runs a prepared operation lock-step on the calling thread (see
    /// [`Connector::perform_blocking`]).
    pub fn perform(&mut self, single: &mut Single) -> Result<Vec<Literal>, ClientError> {
        let conn = self.conn.as_mut().ok_or(ClientError::Closed)?;
        conn.perform_blocking(single)
    }

    /// See [`Connector::get_attribute_single`].
    pub fn get_attribute_single(
        &mut self,
        class: u32,
        instance: u32,
        attribute: u32,
    ) -> Result<Vec<u8>, ClientError> {
        let conn = self.conn.as_mut().ok_or(ClientError::Closed)?;
        self.rt
            .block_on(conn.get_attribute_single(class, instance, attribute))
    }

    /// See [`Connector::get_attributes_all`].
    pub fn get_attributes_all(
        &mut self,
        class: u32,
        instance: u32,
    ) -> Result<Vec<u8>, ClientError> {
        let conn = self.conn.as_mut().ok_or(ClientError::Closed)?;
        self.rt.block_on(conn.get_attributes_all(class, instance))
    }

    /// See [`Connector::set_attribute_single`].
    pub fn set_attribute_single(
        &mut self,
        class: u32,
        instance: u32,
        attribute: u32,
        data: &[u8],
    ) -> Result<(), ClientError> {
        let conn = self.conn.as_mut().ok_or(ClientError::Closed)?;
        self.rt
            .block_on(conn.set_attribute_single(class, instance, attribute, data))
    }

    /// See [`Connector::list_services`].
    pub fn list_services(&mut self) -> Result<Vec<(SocketAddr, Vec<ListReply>)>, ClientError> {
        let conn = self.conn.as_mut().ok_or(ClientError::Closed)?;
        self.rt.block_on(conn.list_services())
    }

    /// See [`Connector::list_interfaces`].
    pub fn list_interfaces(&mut self) -> Result<Vec<(SocketAddr, Vec<ListReply>)>, ClientError> {
        let conn = self.conn.as_mut().ok_or(ClientError::Closed)?;
        self.rt.block_on(conn.list_interfaces())
    }

    /// See [`Connector::list_identity`].
    pub fn list_identity(&mut self) -> Result<Vec<(SocketAddr, Vec<ListReply>)>, ClientError> {
        let conn = self.conn.as_mut().ok_or(ClientError::Closed)?;
        self.rt.block_on(conn.list_identity())
    }

    /// Closes the connection and session.
    pub fn close(mut self) -> Result<(), ClientError> {
        match self.conn.take() {
            Some(c) => self.rt.block_on(c.close()),
            None => Ok(()),
        }
    }
}
