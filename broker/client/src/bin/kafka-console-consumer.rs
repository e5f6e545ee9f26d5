//! `kafka-console-consumer`: see `potok_client::cli::console_consumer`.

fn main() -> std::process::ExitCode {
    potok_client::cli::console_consumer::main()
}
