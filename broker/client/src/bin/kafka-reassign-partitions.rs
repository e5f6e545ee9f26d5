//! `kafka-reassign-partitions`: see `potok_client::cli::reassign_partitions`.

fn main() -> std::process::ExitCode {
    potok_client::cli::reassign_partitions::main()
}
