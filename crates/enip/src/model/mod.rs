//! The CIP object model: a device's classes, instances and attributes, the tags bound to them,
//! attribute hooks (custom behaviour), and the device configuration (`cpppo.cfg`).

pub mod attribute;
pub mod config;
pub mod device;
pub mod hooks;
pub mod l5x;
pub mod l5x_value;
pub mod logix;
pub mod logix_json;
pub mod logix_type;
pub mod tagspec;
