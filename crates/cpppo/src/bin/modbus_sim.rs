//! `modbus_sim`: compatibility entry point, the same as `cpppo modbus sim`.
fn main() -> std::process::ExitCode {
    cpppo::cli::main_as(&["modbus", "sim"])
}
