//! `pagerduty-emulator --listen 127.0.0.1:PORT --token TOKEN --users users.json`

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use pagerduty_emulator::{Config, Emulator};

#[derive(Parser)]
#[command(about = "A stateful PagerDuty (REST v2 + events) for tests and benchmarks")]
struct Args {
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The API token to accept.
    #[arg(long, env = "PAGERDUTY_EMULATOR_TOKEN")]
    token: String,
    /// JSON array of {"name", "email"} with optional "contact_methods" and
    /// "notification_rules" (README): the account's users.
    #[arg(long)]
    users: Option<PathBuf>,
    /// e.g. 960/min: answer 429 with ratelimit-* headers past it.
    #[arg(long, value_name = "N/min")]
    rate_limit: Option<String>,
    /// Added to every request.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Fraction of REST requests answered 500.
    #[arg(long, default_value_t = 0.0)]
    fail_rate: f64,
    /// Fraction of events (the enqueue paths) answered 429 or 503 and dropped:
    /// PagerDuty's events endpoint having a bad minute.
    #[arg(long, default_value_t = 0.0)]
    events_fail_rate: f64,
    /// Append every exchange here (JSON lines) for the contract check.
    #[arg(long)]
    record: Option<PathBuf>,
    /// Start the clock at this RFC 3339 time.
    #[arg(long)]
    now: Option<String>,
    /// PagerDuty's stricter rules (README, "Strict mode").
    #[arg(long)]
    strict: bool,
    /// For this long after a create, reads of the new object answer 404; for this
    /// long after an object stops using another, the other still counts as in use.
    #[arg(long, default_value_t = 0)]
    consistency_delay_ms: u64,
    /// Fraction of mutating REST requests carried out but answered 500 or cut off.
    #[arg(long, default_value_t = 0.0)]
    ambiguous_rate: f64,
    /// Seed of the ambiguous-failure sequence.
    #[arg(long)]
    ambiguous_seed: Option<u64>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut config = Config {
        token: args.token,
        latency: Duration::from_millis(args.latency_ms),
        fail_rate: args.fail_rate,
        events_fail_rate: args.events_fail_rate,
        record: args.record,
        strict: args.strict,
        consistency_delay: Duration::from_millis(args.consistency_delay_ms),
        ambiguous_rate: args.ambiguous_rate,
        ..Config::default()
    };
    if let Some(seed) = args.ambiguous_seed {
        config.ambiguous_seed = seed;
    }
    if let Some(path) = args.users {
        let users: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
        config.users = users
            .iter()
            .map(|u| {
                (
                    u["name"].as_str().unwrap_or_default().to_owned(),
                    u["email"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        for u in &users {
            let email = u["email"].as_str().unwrap_or_default();
            let setup = pagerduty_emulator::notify::UserSetup::from_json(u)
                .map_err(|e| anyhow::anyhow!("--users: {email}: {e}"))?;
            if let Some(setup) = setup {
                config.user_setup.insert(email.to_owned(), setup);
            }
        }
    }
    if let Some(limit) = args.rate_limit {
        let n = limit.trim_end_matches("/min").parse()?;
        config.rate_limit_per_minute = Some(n);
    }
    if let Some(now) = args.now {
        config.now = Some(chrono::DateTime::parse_from_rfc3339(&now)?.with_timezone(&chrono::Utc));
    }
    let emulator = Emulator::start(config, args.listen).await?;
    // The first line is the address, for scripts that start it on port 0.
    println!("listening on {}", emulator.base_url());
    tokio::signal::ctrl_c().await?;
    emulator.shutdown().await;
    Ok(())
}
