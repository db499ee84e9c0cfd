//! `enip_get_attribute`: compatibility entry point, the same as `cpppo enip get-attribute`.
fn main() -> std::process::ExitCode {
    cpppo::cli::main_as(&["enip", "get-attribute"])
}
