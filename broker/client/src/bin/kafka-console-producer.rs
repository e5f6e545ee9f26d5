//! `kafka-console-producer`: see `potok_client::cli::console_producer`.

fn main() -> std::process::ExitCode {
    potok_client::cli::console_producer::main()
}
