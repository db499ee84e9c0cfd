//! Benchmarks for cpppo-rs live in `benches/` and in the scripts beside this crate.
