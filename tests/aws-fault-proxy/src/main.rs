//! `aws-fault-proxy --upstream http://127.0.0.1:5000 --listen 127.0.0.1:0 [faults]`:
//! prints `listening on http://ADDR`, then serves until interrupted.

use std::net::SocketAddr;
use std::time::Duration;

use aws_fault_proxy::{FaultProxy, Faults};
use clap::Parser;

#[derive(Parser)]
#[command(about = "A proxy before moto that answers some AWS calls as real AWS does")]
struct Args {
    /// moto's URL.
    #[arg(long)]
    upstream: String,
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Added to every AWS call.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Answer the first N calls as throttled.
    #[arg(long, default_value_t = 0)]
    throttle: u32,
    /// Refuse the first N CreateFunction calls (the role has not propagated).
    #[arg(long, default_value_t = 0)]
    create_function_refusals: u32,
    /// A Lambda update stays in progress this long (next update: ResourceConflictException).
    #[arg(long, default_value_t = 0)]
    lambda_update_ms: u64,
    /// DeleteRole conflicts this long after a DetachRolePolicy of the role.
    #[arg(long, default_value_t = 0)]
    delete_role_conflict_ms: u64,
    /// An http/https endpoint (URL prefix) that never confirms SNS subscriptions; repeatable.
    #[arg(long = "non-confirming-endpoint")]
    non_confirming_endpoints: Vec<String>,
    /// Answer the first N CloudWatch Logs changes OperationAbortedException.
    #[arg(long, default_value_t = 0)]
    log_change_aborts: u32,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let faults = Faults {
        latency: Duration::from_millis(args.latency_ms),
        throttle: args.throttle,
        create_function_refusals: args.create_function_refusals,
        lambda_update_window: Duration::from_millis(args.lambda_update_ms),
        delete_role_window: Duration::from_millis(args.delete_role_conflict_ms),
        non_confirming_endpoints: args.non_confirming_endpoints,
        log_change_aborts: args.log_change_aborts,
    };
    let proxy = FaultProxy::start(&args.upstream, args.listen, faults).await?;
    // The first line is the address, for scripts that start it on port 0.
    println!("listening on {}", proxy.url());
    tokio::signal::ctrl_c().await?;
    proxy.shutdown().await;
    Ok(())
}
