//! `enip_client`: compatibility entry point, the same as `cpppo enip client` but printing List
//! replies in cpppo's dotted-key form (`--format cpppo`), as cpppo's `enip_client` does.
fn main() -> std::process::ExitCode {
    cpppo::cli::main_as(&["enip", "client", "--format", "cpppo"])
}
