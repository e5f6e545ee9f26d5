//! `kafka-topics`: see `potok_client::cli::topics`.

fn main() -> std::process::ExitCode {
    potok_client::cli::topics::main()
}
