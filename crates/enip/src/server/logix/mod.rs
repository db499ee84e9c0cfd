//! Logix services beyond plain tags: paths into structures and multi-dimensional arrays
//! ([`tag_path`]), reading and writing what they name ([`data`]), the Template object's Read
//! Template ([`template`]) and program-scoped symbol lists ([`symbol`]).

pub mod data;
pub mod symbol;
pub mod tag_path;
pub mod template;
pub mod value;
