//! `kafka-configs`: see `potok_client::cli::configs`.

fn main() -> std::process::ExitCode {
    potok_client::cli::configs::main()
}
