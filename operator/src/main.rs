//! `potok-operator`: runs Potok clusters described by `KafkaCluster` manifests.
//! `up` runs one on this machine as local processes and keeps the manifests' Topics and
//! KsqlStreams live; `get` shows them with their status; `crds` prints the resource
//! definitions for a Kubernetes cluster; `run` is the operator inside a Kubernetes cluster.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use potok_operator::kubernetes::run::RunOptions;
use potok_operator::{kubernetes, local, resources};

#[derive(Parser)]
#[command(name = "potok-operator", version, about = "Runs Potok clusters")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the cluster of a KafkaCluster manifest as local processes until Ctrl-C,
    /// restarting nodes that exit, and keeps the Topics and KsqlStreams of the manifests
    /// live: saving an edited manifest applies it.
    Up {
        /// A manifest file, or a directory of `.yaml` files: one KafkaCluster, and any
        /// Topics and KsqlStreams (several documents per file, separated by `---`).
        /// `-f examples` also declares the seed's `test` topic and `payments` stream.
        #[arg(short = 'f', long = "file", default_value = "examples/cluster.yaml")]
        file: PathBuf,
        /// Where every node keeps its data, properties and log; reused by the next `up`.
        #[arg(long, default_value = "potok-data")]
        data_dir: PathBuf,
        /// The potok-broker binary to run (default: next to this one, else on PATH).
        #[arg(long)]
        broker_bin: Option<PathBuf>,
        /// The potok-ksql binary to run (default: next to this one, else on PATH).
        #[arg(long)]
        ksql_bin: Option<PathBuf>,
        /// The potok-ui binary to run (default: next to this one, else on PATH).
        #[arg(long)]
        ui_bin: Option<PathBuf>,
        /// The longest pause, in seconds, before restarting a node that keeps failing; the
        /// pause starts at 1 s and doubles with each failure in a row.
        #[arg(long, value_name = "SECONDS", default_value_t = local::MAX_RESTART_DELAY.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
        max_restart_delay: u64,
        /// How often, in seconds, every Topic and KsqlStream is reconciled even when its
        /// manifest did not change, so changes made by hand are undone.
        #[arg(long, value_name = "SECONDS", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..))]
        resync_interval: u64,
    },
    /// Prints the Topics, KsqlStreams or KafkaClusters of `up` with their status, as
    /// `kubectl get` does.
    Get {
        /// topics (kt), ksqlstreams (ks) or kafkaclusters (kc).
        kind: String,
        /// The data directory `up` runs with.
        #[arg(long, default_value = "potok-data")]
        data_dir: PathBuf,
        /// `-o wide` shows every column.
        #[arg(short = 'o', long = "output", value_parser = ["wide"])]
        output: Option<String>,
    },
    /// Runs the operator against a Kubernetes cluster (in a pod, or wherever KUBECONFIG
    /// points): KafkaClusters become StatefulSets, Services and ConfigMaps, Topics and
    /// KsqlStreams are kept live, until SIGTERM or Ctrl-C.
    Run {
        #[command(flatten)]
        options: RunOptions,
        /// error, warn, info, debug or trace; RUST_LOG, when set, wins.
        #[arg(long, default_value = "info", value_parser = ["error", "warn", "info", "debug", "trace"])]
        log_level: String,
    },
    /// Prints the CustomResourceDefinitions of KafkaCluster, Topic and KsqlStream as YAML,
    /// for `kubectl apply -f -`.
    Crds,
}

/// After 500 Topics were reconciled at once, glibc's allocator held on to 136 MiB.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let Args { command } = Args::parse();
    let outcome = match command {
        Command::Up {
            file,
            data_dir,
            broker_bin,
            ksql_bin,
            ui_bin,
            max_restart_delay,
            resync_interval,
        } => {
            local::up(local::UpOptions {
                manifests: file,
                data_dir,
                binaries: local::Binaries {
                    broker: broker_bin.unwrap_or_else(|| local::default_binary("potok-broker")),
                    ksql: ksql_bin.unwrap_or_else(|| local::default_binary("potok-ksql")),
                    ui: ui_bin.unwrap_or_else(|| local::default_binary("potok-ui")),
                },
                max_restart_delay: std::time::Duration::from_secs(max_restart_delay),
                resync: std::time::Duration::from_secs(resync_interval),
            })
            .await
        }
        Command::Get {
            kind,
            data_dir,
            output,
        } => local::get::get(&kind, &data_dir, output.is_some()).map(|table| print!("{table}")),
        Command::Run { options, log_level } => {
            let filter = tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| format!("{log_level},kube_runtime=warn").into());
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(std::io::stderr)
                .init();
            kubernetes::run::run(options).await
        }
        Command::Crds => {
            print!("{}", resources::crds_yaml());
            Ok(())
        }
    };
    if let Err(error) = outcome {
        eprintln!("potok-operator: {error:#}");
        std::process::exit(1);
    }
}
