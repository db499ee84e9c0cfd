//! `modbus_poll`: compatibility entry point, the same as `cpppo modbus poll`.
fn main() -> std::process::ExitCode {
    cpppo::cli::main_as(&["modbus", "poll"])
}
