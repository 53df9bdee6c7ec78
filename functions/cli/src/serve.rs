//! `keyplane serve`: the Router on the embedded store, with SigV4 checked
//! against the data directory's credentials file.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use keyplane_core::clock::{Clock, SystemClock};
use keyplane_core::service::{LastUseSettings, VerifyCacheSettings};
use keyplane_core::store::KeyStore;
use keyplane_core::Keyplane;
use keyplane_http::{parse_rate, AppState, BadRate, Limits, Rate};
use keyplane_store::{DynamoStore, EmbeddedStore};

use crate::data_dir::DataDir;
use crate::reload::ReloadingIdentity;
use crate::DataDirArg;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    data_dir: DataDirArg,
    /// Address to listen on.
    #[arg(long, default_value_t = crate::default_listen(), env = "KEYPLANE_LISTEN")]
    listen: SocketAddr,
    /// Where keys are kept: the embedded file in the data directory, or a
    /// DynamoDB table (endpoint, region and credentials from the standard
    /// AWS environment, e.g. AWS_ENDPOINT_URL for an emulator).
    #[arg(long, value_enum, default_value_t = StoreKind::Embedded, env = "KEYPLANE_STORE")]
    store: StoreKind,
    /// DynamoDB table, with `--store dynamodb`.
    #[arg(long, env = "KEYPLANE_TABLE", required_if_eq("store", "dynamodb"))]
    table: Option<String>,
    /// How long a verify answer may be served from memory, in milliseconds;
    /// a revoke made through another server takes effect here within it.
    /// 0 turns the cache off.
    #[arg(long, env = "KEYPLANE_VERIFY_CACHE_TTL_MS", default_value_t = 5_000,
        value_parser = clap::value_parser!(u64).range(0..=300_000))]
    verify_cache_ttl_ms: u64,
    /// How many verify answers the cache keeps.
    #[arg(long, env = "KEYPLANE_VERIFY_CACHE_ENTRIES", default_value_t = 10_000,
        value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    verify_cache_entries: u64,
    /// Seconds between writes of keys' last use by plain verifies (one
    /// write per key per interval, off the request path). 0 turns the
    /// recording off.
    #[arg(long, env = "KEYPLANE_LAST_USED_FLUSH_SECS", default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(0..=86_400))]
    last_used_flush_secs: u64,
    /// Verify and whoami requests allowed per client address (IPv6: per
    /// /64): COUNT/s, COUNT/min or COUNT/h, optionally :BURST, or off.
    #[arg(long, env = "KEYPLANE_RATE_DATA_PLANE", default_value_t = RateArg(Some(Limits::DATA_PLANE)), value_parser = rate_arg)]
    rate_data_plane: RateArg,
    /// Leak reports allowed per client address, in the same form.
    #[arg(long, env = "KEYPLANE_RATE_LEAK_REPORTS", default_value_t = RateArg(Some(Limits::LEAK_REPORTS)), value_parser = rate_arg)]
    rate_leak_reports: RateArg,
    /// Management requests allowed per signed caller, in the same form.
    #[arg(long, env = "KEYPLANE_RATE_MANAGEMENT", default_value_t = RateArg(Some(Limits::MANAGEMENT)), value_parser = rate_arg)]
    rate_management: RateArg,
    /// The most bytes of request line and headers accepted (431 beyond).
    #[arg(long, env = "KEYPLANE_MAX_HEADER_BYTES", default_value_t = Limits::MAX_HEADER_BYTES as u64,
        value_parser = clap::value_parser!(u64).range(1024..=1_048_576))]
    max_header_bytes: u64,
    /// How long a request may take, body upload included (503 TIMED_OUT
    /// beyond), in milliseconds.
    #[arg(long, env = "KEYPLANE_REQUEST_TIMEOUT_MS", default_value_t = 10_000,
        value_parser = clap::value_parser!(u64).range(100..=300_000))]
    request_timeout_ms: u64,
}

/// A rate flag: a rate, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RateArg(Option<Rate>);

impl std::fmt::Display for RateArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(rate) => rate.fmt(f),
            None => f.write_str("off"),
        }
    }
}

fn rate_arg(text: &str) -> Result<RateArg, BadRate> {
    parse_rate(text).map(RateArg)
}

impl ServeArgs {
    fn verify_cache(&self) -> VerifyCacheSettings {
        VerifyCacheSettings {
            ttl: Duration::from_millis(self.verify_cache_ttl_ms),
            capacity: usize::try_from(self.verify_cache_entries).unwrap_or(usize::MAX),
        }
    }

    fn limits(&self) -> Limits {
        Limits {
            data_plane: self.rate_data_plane.0,
            leak_reports: self.rate_leak_reports.0,
            management: self.rate_management.0,
            max_header_bytes: usize::try_from(self.max_header_bytes).unwrap_or(usize::MAX),
            request_timeout: Duration::from_millis(self.request_timeout_ms),
        }
    }

    fn last_use(&self) -> LastUseSettings {
        LastUseSettings {
            interval: Duration::from_secs(self.last_used_flush_secs),
            ..LastUseSettings::default()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum StoreKind {
    /// `<data-dir>/store.redb`.
    Embedded,
    /// A DynamoDB table made by `keyplane admin create-table`.
    Dynamodb,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let dir = DataDir::new(&args.data_dir.data_dir);
    let opened = dir.open_or_init()?;
    let store: Arc<dyn KeyStore> = match (args.store, args.table.clone()) {
        (StoreKind::Dynamodb, Some(table)) => Arc::new(DynamoStore::from_env(table).await),
        (StoreKind::Dynamodb, None) => anyhow::bail!("--store dynamodb needs --table"),
        (StoreKind::Embedded, _) => {
            Arc::new(EmbeddedStore::open(dir.store_path()).with_context(|| {
                format!(
                    "cannot open {}; is another keyplane process using this data directory?",
                    dir.store_path().display()
                )
            })?)
        }
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let keyplane = Keyplane::new(store, clock.clone(), opened.config.core_config())
        .with_verify_cache(args.verify_cache())
        .with_last_use(args.last_use());
    let flusher = keyplane.last_use_interval().map(|every| {
        let keyplane = keyplane.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                keyplane.flush_last_used().await;
            }
        })
    });
    let identity = Arc::new(ReloadingIdentity::new(
        dir.credentials_path(),
        opened.credentials,
        opened.config.region.clone(),
    ));
    identity.clone().watch();
    let app = keyplane_http::app_with_limits(
        AppState {
            keyplane: keyplane.clone(),
            identity,
            clock,
        },
        args.limits(),
    );

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    // Whoever initialised the directory (this server or an admin command),
    // the first server start tells how to use the admin credential.
    if dir.take_first_start_notice() {
        print_first_start(&dir, address, &opened.config.region);
    }
    tracing::info!(%address, data_dir = %dir.root().display(), "keyplane is serving");
    // The peer address is each request's source for the rate limits.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("server failed")?;
    if let Some(flusher) = flusher {
        flusher.abort();
        keyplane.flush_last_used().await;
    }
    tracing::info!("keyplane stopped");
    Ok(())
}

/// Told once, on the first start of an empty data directory: how to use the
/// admin credential that was just created. The secret stays in the file.
fn print_first_start(dir: &DataDir, address: SocketAddr, region: &str) {
    let credentials =
        std::path::absolute(dir.credentials_path()).unwrap_or_else(|_| dir.credentials_path());
    println!(
        "\nCreated a platform-admin credential in {path} (profile keyplane-admin, mode 0600).\n\
         Use it with any SigV4 client, for example:\n\n  \
         export AWS_SHARED_CREDENTIALS_FILE={path} AWS_PROFILE=keyplane-admin AWS_REGION={region}\n  \
         keyplane orgs create --endpoint http://{address} --name Acme\n  \
         curl --aws-sigv4 aws:amz:{region}:execute-api --user \"$(keyplane admin curl-user)\" http://{address}/v1/organizations ...\n\n\
         See README.md for the full walk-through. This message is shown once.\n",
        path = credentials.display(),
    );
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
