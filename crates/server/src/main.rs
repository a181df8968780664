//! `shale`: the command line.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use shale::Server;
use shale_common::{AuthMethod, FileConfig, RequireSsl, Settings, SettingsOverrides};

#[derive(Parser)]
#[command(
    name = "shale",
    version,
    about = "Redshift's data stack on one machine."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the warehouse and its endpoints.
    Serve(ServeArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Data directory [default: ./shale-data]
    #[arg(long, env = "SHALE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1]
    #[arg(long, env = "SHALE_BIND")]
    bind: Option<IpAddr>,
    /// Warehouse (PostgreSQL wire protocol) port [default: 5439]
    #[arg(long, env = "SHALE_PG_PORT")]
    pg_port: Option<u16>,
    /// AWS-compatible API port [default: 4566]
    #[arg(long, env = "SHALE_AWS_PORT")]
    aws_port: Option<u16>,
    /// HTTP port for people and front-ends [default: 8080]
    #[arg(long, env = "SHALE_HTTP_PORT")]
    http_port: Option<u16>,
    /// Password method: md5, scram-sha-256 or password [default: md5]
    #[arg(long, env = "SHALE_PG_AUTH", value_parser = parse_auth)]
    pg_auth: Option<AuthMethod>,
    /// Which clients must use TLS: never, remote or always [default: remote]
    #[arg(long, env = "SHALE_PG_REQUIRE_SSL", value_parser = parse_require_ssl)]
    pg_require_ssl: Option<RequireSsl>,
    /// TOML configuration file
    #[arg(long, env = "SHALE_CONFIG")]
    config: Option<PathBuf>,
}

fn parse_auth(s: &str) -> Result<AuthMethod, String> {
    AuthMethod::parse(s).map_err(|e| e.to_string())
}

fn parse_require_ssl(s: &str) -> Result<RequireSsl, String> {
    RequireSsl::parse(s).map_err(|e| e.to_string())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SHALE_LOG")
                // s3s logs every error it answers (a 404, an AccessDenied)
                // at ERROR; Shale logs the internal ones itself.
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,s3s::ops=off")),
        )
        .init();
    match cli.command {
        Command::Serve(args) => serve(args),
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let file = match &args.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let overrides = SettingsOverrides {
        data_dir: args.data_dir,
        bind: args.bind,
        pg_port: args.pg_port,
        aws_port: args.aws_port,
        http_port: args.http_port,
        pg_auth: args.pg_auth,
        pg_require_ssl: args.pg_require_ssl,
        admin_password: std::env::var("SHALE_ADMIN_PASSWORD").ok(),
    };
    let settings = Settings::resolve(file, overrides)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let server = Server::start(settings.clone()).await?;
        if server.first_start() {
            tracing::info!(
                path = %server.credentials_path().display(),
                "Created the data directory; the superuser's password and an AWS key pair are in the credentials file."
            );
        } else {
            tracing::info!(path = %server.credentials_path().display(), "Credentials are in the credentials file.");
        }
        tracing::info!(
            address = %server.pg_addr(),
            database = shale_engine::DEFAULT_DATABASE,
            user = shale::datadir::SUPERUSER,
            "Shale is ready for Redshift clients."
        );
        wait_for_signal().await?;
        tracing::info!("Shutting down.");
        server.shutdown().await;
        anyhow::Ok(())
    })
}

async fn wait_for_signal() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("cannot listen for SIGINT")?,
        _ = term.recv() => {}
    }
    Ok(())
}
