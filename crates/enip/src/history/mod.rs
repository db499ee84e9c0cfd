//! History glue: recording every tag read and write to a history file (`historize`) and
//! replaying history files into a simulator's tags (`replay`).

pub mod historize;
pub mod replay;
