//! `enip_client`: compatibility entry point, the same as `cpppo enip client`.
fn main() -> std::process::ExitCode {
    cpppo::cli::main_as(&["enip", "client"])
}
