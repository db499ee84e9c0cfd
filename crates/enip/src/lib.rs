//! EtherNet/IP runtime: CIP object model, tag store, simulator, client, proxies and poller.
#![deny(missing_docs)]
