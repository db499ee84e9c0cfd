//! The `cpppo` command: every tool of the toolkit behind one binary.
fn main() -> std::process::ExitCode {
    cpppo::cli::main_as(&[])
}
