//! `enip_server`: compatibility entry point, the same as `cpppo enip server`.
fn main() -> std::process::ExitCode {
    cpppo::cli::main_as(&["enip", "server"])
}
