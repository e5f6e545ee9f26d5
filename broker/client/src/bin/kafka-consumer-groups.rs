//! `kafka-consumer-groups`: see `potok_client::cli::consumer_groups`.

fn main() -> std::process::ExitCode {
    potok_client::cli::consumer_groups::main()
}
