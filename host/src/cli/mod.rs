//! The `blueprint` command line. Each subcommand lives in its own module; this
//! file holds the argument definitions and the shared plumbing (runtime setup,
//! evaluation, exit codes).

mod about;
mod apply;
mod check;
mod dev;
mod drill;
mod export;
mod graph;
mod iam_policy;
mod import;
mod inspect;
mod kinds;
mod new;
mod oncall;
mod output;
pub mod progress;
mod publish;
pub mod render;
pub mod style;
mod update;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::evaluate::{EvalError, Evaluated};
use crate::runtime::{Limits, Runtime, default_cache_dir};

#[derive(Debug, Parser)]
#[command(
    name = "blueprint",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("BLUEPRINT_COMMIT"), ")"),
    about = "Provision cloud alerting (AWS + PagerDuty) from sandboxed WebAssembly blueprints",
    long_about = None,
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Memory a guest may use, in MiB.
    #[arg(long, global = true, default_value_t = 256, value_name = "MIB")]
    pub guest_memory: usize,
    /// Time a guest call may run, in seconds.
    #[arg(long, global = true, default_value_t = 5.0, value_name = "SECONDS")]
    pub guest_timeout: f64,
    /// Host budget: total bytes of the props a guest may declare.
    #[arg(long, global = true, default_value_t = Limits::default().max_prop_bytes, value_name = "BYTES")]
    pub guest_max_prop_bytes: usize,
    /// Host budget: the longest string a guest may put in a prop, in bytes.
    #[arg(long, global = true, default_value_t = Limits::default().max_string_bytes, value_name = "BYTES")]
    pub guest_max_string: usize,
    /// Host budget: reference tokens in all of a guest's props together.
    #[arg(long, global = true, default_value_t = Limits::default().max_references, value_name = "N")]
    pub guest_max_references: usize,
    /// Host budget: distinct (node, referenced node) edges a guest may declare.
    #[arg(long, global = true, default_value_t = Limits::default().max_edges, value_name = "N")]
    pub guest_max_edges: usize,
    /// Compile guests every time instead of using the compiled-code cache.
    #[arg(long, global = true)]
    pub no_cache: bool,
    /// Speak plain HTTP to this OCI registry (loopback registries always are).
    #[arg(long, global = true, value_name = "HOST[:PORT]")]
    pub insecure_registry: Vec<String>,
    /// No colour, even on a terminal (as NO_COLOR=1). Pipes and files never get any.
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Fail instead of writing blueprint.lock (a tag it does not pin, `update`):
    /// CI uses exactly the digests that were reviewed.
    #[arg(long, global = true)]
    pub locked: bool,
    /// How long to wait for a state lock another run holds (`30s`, `5m`; a bare
    /// number is seconds), saying so every 5 s; then fail naming the holder.
    #[arg(long, global = true, default_value = "0s", value_name = "DURATION", value_parser = lock_timeout)]
    pub lock_timeout: Duration,
    /// Write a trace of the run to FILE (Chrome trace-event JSON: open it in
    /// ui.perfetto.dev): per node the waits for dependencies, a slot and the
    /// rate budget, its operation, each API call; see docs/timings.md.
    #[arg(long, global = true, value_name = "FILE")]
    pub timings: Option<PathBuf>,
}

/// `90`, `90s`, `5m`, `1h`.
fn lock_timeout(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 30s, 5m)"))?;
    let seconds = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("{text:?}: use s, m or h (e.g. 30s, 5m)")),
    };
    Ok(Duration::from_secs(seconds))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate a blueprint and print its resource graph (no API calls).
    Graph(GraphArgs),
    /// Show what a guest is and which params it takes.
    Inspect(InspectArgs),
    /// Every resource kind this host serves: outputs, required props, what
    /// forces replacement, its Terraform type.
    Kinds(KindsArgs),
    /// Show what `run` would change (refreshes state; no mutating API call).
    Plan(PlanArgs),
    /// Plan, confirm, and apply; or apply a plan saved by `plan --out`.
    Run(RunArgs),
    /// Render a plan saved by `plan --out` (no API call).
    Show(ShowArgs),
    /// Delete everything the blueprint's state records, dependents first.
    Destroy(DestroyArgs),
    /// What the state records (secrets redacted).
    State(StateArgs),
    /// The outputs the blueprint publishes (`blueprint.output` nodes), as its
    /// state records them: all as `NAME = "value"`, or one value as is (for
    /// scripts). Sensitive ones print as (sensitive) unless --show-sensitive.
    Output(OutputArgs),
    /// Fire the alert chains of an applied blueprint and prove a page reaches the
    /// person on call, link by link; then resolve the incident and reset the alarm.
    /// Exit 0 only when every link passed.
    Drill(DrillArgs),
    /// Who is on call at each escalation level, and where nobody is, computed
    /// from the declared schedules before anything is applied (no API calls).
    Oncall(OncallArgs),
    /// Alert-hygiene rules over the graph (no API calls): what would never page,
    /// or page forever. Exit 1 on errors; --strict: on warnings too.
    Check(CheckArgs),
    /// The least-privilege IAM policy the blueprint's commands need, from its
    /// AWS kinds and the ARNs its graph names (no mutating call; STS for the
    /// account unless --account).
    IamPolicy(IamPolicyArgs),
    /// Write the planned graph as a Terraform JSON configuration of the official
    /// AWS and PagerDuty providers (no API calls).
    Export(ExportArgs),
    /// Create a guest project (Rust, TypeScript or Python) that builds and passes
    /// `blueprint graph` as created.
    New(NewArgs),
    /// The authoring loop: re-evaluate on every change of the guest's sources and
    /// print what changed in the graph (TypeScript/Python run from source).
    Dev(dev::DevArgs),
    /// Push a guest or policy component to an OCI registry (Wasm OCI artifact
    /// layout), with its info, WIT version and params schema as annotations.
    Publish(PublishArgs),
    /// Re-resolve the OCI tags a blueprint file names (its guest and policies) and
    /// move their digests in blueprint.lock.
    Update(UpdateArgs),
    /// Adopt what already exists — from Terraform/cdktf state files or by id —
    /// into the blueprint's state, reading only (docs/import.md).
    Import(import::ImportArgs),
    /// What this build is: version, commit, the WIT contracts it serves, the guest
    /// compiler, the target.
    Version(about::VersionArgs),
    /// A shell completion script (bash, zsh, fish, powershell, elvish) on stdout.
    Completions(about::CompletionsArgs),
    /// The man page (roff) on stdout: `blueprint man > blueprint.1`.
    Man,
    /// Every command, flag, environment variable and exit code as Markdown
    /// (docs/reference.md).
    #[command(hide = true)]
    Reference,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The component (.wasm): a blueprint guest or a policy.
    pub component: PathBuf,
    /// Where to push it: REGISTRY/NAMESPACE/NAME:TAG.
    pub reference: String,
    /// Machine-readable output: the reference, digest and what was published.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The blueprint file (TOML); its folder's blueprint.lock is updated.
    pub file: PathBuf,
    /// Machine-readable output: each artifact's reference, status and digests.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub eval: EvalArgs,
    /// State file; default `.blueprint/<name>.json` beside the blueprint file.
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,
    /// How many API operations work at once: a number (waits for a rate
    /// budget or a pause do not count), or `auto`: each API within its
    /// documented rate, PagerDuty within its token's limit.
    #[arg(long, default_value = "auto", value_name = "N|auto")]
    pub parallelism: crate::slots::Parallelism,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
    /// Exit 0 with no changes, 2 with changes, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Where PagerDuty allows two objects with one name (schedules), plan a new
    /// one beside an existing one the state does not record, instead of stopping.
    #[arg(long)]
    pub allow_duplicates: bool,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Save the plan to PLAN (mode 0600, no secret in clear): `blueprint run
    /// PLAN` applies exactly it, or refuses if anything it was made from moved.
    #[arg(long, value_name = "PLAN")]
    pub out: Option<PathBuf>,
}

/// Escape valves of `plan` and `run`.
#[derive(Debug, Clone, Default, Args)]
pub struct SelectArgs {
    /// Plan only NODE and what it depends on (repeatable); a warning names the
    /// changes left out.
    #[arg(long = "target", value_name = "NODE")]
    pub targets: Vec<String>,
    /// Replace NODE (delete and create, or create then delete where the kind
    /// allows) though nothing forces it (repeatable).
    #[arg(long = "replace", value_name = "NODE")]
    pub replace: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan file written by `blueprint plan FILE --out PLAN`.
    pub plan: PathBuf,
    /// The plan as `plan --json` prints it, with what it was made from.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Blueprint files, or folders whose `*.toml` files are all run. Several run
    /// concurrently, each with its own state and lock, sharing provider clients
    /// and one PagerDuty rate budget; one summary at the end. Or one plan saved
    /// by `plan --out`: applied as it is, without a prompt, if nothing moved.
    #[arg(required = true, value_name = "FILE|DIR|PLAN")]
    pub files: Vec<PathBuf>,
    /// Override a param (of every blueprint): KEY is a dotted path, VALUE JSON or a string.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// State file or `s3://` URL (one blueprint only); default from the file.
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,
    #[command(flatten)]
    pub options: ApplyOptions,
    #[command(flatten)]
    pub select: SelectArgs,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// The blueprint file (TOML).
    pub file: PathBuf,
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,
    /// Resolve the open incidents that keep a schedule from being deleted
    /// (PagerDuty refuses while incidents opened through it are open); without
    /// it, `destroy` stops and names them.
    #[arg(long)]
    pub resolve_incidents: bool,
    #[command(flatten)]
    pub options: ApplyOptions,
}

/// What `run` and `destroy` share.
#[derive(Debug, Clone, Args)]
pub struct ApplyOptions {
    /// How many API operations work at once: a number (waits for a rate
    /// budget or a pause do not count), or `auto`: each API within its
    /// documented rate, PagerDuty within its token's limit.
    #[arg(long, default_value = "auto", value_name = "N|auto")]
    pub parallelism: crate::slots::Parallelism,
    /// Apply without asking (required when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Machine-readable output (the plan on stderr, the report on stdout).
    #[arg(long)]
    pub json: bool,
    /// Where PagerDuty allows two objects with one name (schedules), create a
    /// new one beside an existing one the state does not record, instead of
    /// stopping (`run` only).
    #[arg(long)]
    pub allow_duplicates: bool,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// The blueprint file (TOML).
    pub file: PathBuf,
    /// One output: its value alone on stdout (exit 1 when it does not exist,
    /// or is sensitive without --show-sensitive).
    pub name: Option<String>,
    /// A state file or `s3://` URL instead of the blueprint's own.
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,
    /// `{"NAME": {"value", "sensitive", "description"}}`, or one value as JSON.
    #[arg(long)]
    pub json: bool,
    /// Print sensitive values in clear.
    #[arg(long)]
    pub show_sensitive: bool,
}

#[derive(Debug, Args)]
pub struct StateArgs {
    #[command(subcommand)]
    pub command: StateCommand,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// One line per recorded resource.
    List {
        file: PathBuf,
        #[arg(long, value_name = "PATH")]
        state: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// The whole state, secrets redacted.
    Show {
        file: PathBuf,
        #[arg(long, value_name = "PATH")]
        state: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Break the lock of a shared (S3) state whose holder is gone; prints who held
    /// it and since when. Only when you are sure that process is not running.
    Unlock {
        file: PathBuf,
        #[arg(long, value_name = "PATH")]
        state: Option<PathBuf>,
    },
    /// Re-key node FROM's record as TO (a node renamed in the guest): the next
    /// plan updates the resource in place instead of replacing it. Written
    /// under the lock as a new serial; the previous state is kept.
    Mv {
        file: PathBuf,
        from: String,
        to: String,
        #[arg(long, value_name = "PATH")]
        state: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Forget NODE's record without deleting the resource; the next plan looks
    /// for it before creating (adopting it only where its tags prove it ours).
    Rm {
        file: PathBuf,
        node: String,
        #[arg(long, value_name = "PATH")]
        state: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

/// Arguments of every command that evaluates a blueprint file.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The guest's name: lowercase letters, digits and '-'.
    pub name: String,
    #[arg(long, value_enum)]
    pub lang: crate::scaffold::Lang,
    /// What the guest starts as: the starter (a rotation and one service), or
    /// a template of this repository's (each in the language it is written in).
    #[arg(long, value_enum, default_value_t = crate::scaffold::Template::Starter)]
    pub template: crate::scaffold::Template,
    /// Create it in this folder (default: the current one).
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct IamPolicyArgs {
    #[command(flatten)]
    pub eval: EvalArgs,
    /// The commands the policy is for (repeat or comma-separate; default: all,
    /// the policy of a CI role that plans, runs, drills and destroys).
    #[arg(
        long = "for",
        value_enum,
        value_delimiter = ',',
        value_name = "COMMAND"
    )]
    pub commands: Vec<crate::providers::aws::access::Command>,
    /// The AWS account id in the ARNs (default: the credentials' account, from
    /// STS GetCallerIdentity; `*` when there are none).
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
    /// State file or `s3://` URL, as `run --state` (S3 state adds its bucket's
    /// actions).
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,
    /// The policy with what it rests on (account, region, commands, notes).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub eval: EvalArgs,
    #[arg(long, value_enum, default_value_t = ExportFormat::TerraformJson)]
    pub format: ExportFormat,
    /// Write DIR/main.tf.json and the asset zips under DIR/assets/ (default: the
    /// JSON on stdout).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// Terraform JSON syntax (`*.tf.json`), also read by OpenTofu.
    TerraformJson,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub eval: EvalArgs,
    /// Fail on warnings too.
    #[arg(long)]
    pub strict: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DrillArgs {
    #[command(flatten)]
    pub eval: EvalArgs,
    /// Where to inject the signal: `log` writes a matching log event (the whole
    /// chain; minutes on AWS), `alarm` sets the alarm to ALARM, `topic` publishes
    /// a CloudWatch-alarm notification to the topic.
    #[arg(long, value_enum, default_value_t = crate::drill::Inject::Alarm)]
    pub from: crate::drill::Inject,
    /// Seconds to wait for PagerDuty's incident.
    #[arg(long, default_value_t = 120.0, value_name = "SECONDS")]
    pub timeout: f64,
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The blueprint file (TOML).
    pub file: PathBuf,
    /// Override a param: KEY is a dotted path, VALUE is JSON or else a string.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
}

#[derive(Debug, Args)]
pub struct OncallArgs {
    #[command(flatten)]
    pub eval: EvalArgs,
    /// Start of the window: RFC 3339, or `now` (the default).
    #[arg(long, default_value = "now", value_name = "TIME")]
    pub from: String,
    /// End of the window: RFC 3339, or a length after --from such as `24h`,
    /// `7d` (the default), `4w`.
    #[arg(long, default_value = "7d", value_name = "TIME|LENGTH")]
    pub to: String,
    /// Text (times in the schedule's zone), JSON, or an SVG calendar.
    #[arg(long, value_enum, default_value_t = OncallFormat::Text)]
    pub format: OncallFormat,
    /// The same as `--format json`.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OncallFormat {
    Text,
    Json,
    Svg,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    #[command(flatten)]
    pub eval: EvalArgs,
    #[arg(long, value_enum, default_value_t = GraphFormat::Json)]
    pub format: GraphFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GraphFormat {
    Json,
    Dot,
    Mermaid,
}

#[derive(Debug, Args)]
pub struct KindsArgs {
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A guest component (.wasm), a blueprint file (.toml), or
    /// oci://REGISTRY/NAMESPACE/NAME:TAG (read from the manifest, nothing runs).
    pub target: PathBuf,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// A failure the user must act on; printed as `error: ...`, exit code 1.
pub type CliResult = Result<ExitCode, anyhow::Error>;

/// The error and its causes, each said once ([`blueprint_model::text::with_causes`]).
pub fn error_message(e: &anyhow::Error) -> String {
    blueprint_model::text::with_causes(e.as_ref())
}

/// What kind of error ended a command, for `--json` callers
/// (`{"error": {"kind", "message", "node"?}}`): the first cause the host knows.
pub fn error_kind(e: &anyhow::Error) -> &'static str {
    use crate::providers::{ErrorClass, ProviderError};
    for cause in e.chain() {
        if let Some(eval) = cause.downcast_ref::<EvalError>() {
            return match eval {
                EvalError::File(_) | EvalError::Source(_) => "blueprint_file",
                EvalError::Guest(_) => "guest",
                EvalError::Params { .. } => "params",
                EvalError::Graph(_) => "invalid_graph",
            };
        }
        if let Some(p) = cause.downcast_ref::<ProviderError>() {
            return match p.class {
                ErrorClass::NotFound => "not_found",
                ErrorClass::Conflict => "conflict",
                ErrorClass::Invalid => "invalid_request",
                ErrorClass::Auth => "auth",
                ErrorClass::Transient => "unavailable",
                ErrorClass::Ambiguous => "ambiguous",
                #[allow(unreachable_patterns)]
                _ => "provider",
            };
        }
    }
    "error"
}

/// What to do next, where the error's kind says it: `{"error": {.., "hint"}}`
/// with `--json`, a `hint:` line otherwise.
pub fn error_hint(e: &anyhow::Error) -> Option<&'static str> {
    use crate::providers::{ErrorClass, ProviderError};
    for cause in e.chain() {
        if let Some(eval) = cause.downcast_ref::<EvalError>() {
            return match eval {
                EvalError::File(_) | EvalError::Source(_) => {
                    Some("docs/blueprint-file.md describes the file")
                }
                EvalError::Guest(_) => None,
                EvalError::Params { .. } => Some(
                    "`blueprint inspect FILE` lists the params the guest takes, with their types",
                ),
                EvalError::Graph(_) => {
                    Some("`blueprint graph FILE` shows the graph the guest declared")
                }
            };
        }
        if let Some(crate::state::StateError::Locked { .. }) = cause.downcast_ref() {
            return Some(
                "wait for it with --lock-timeout DURATION; if its holder is gone, `blueprint state unlock FILE`",
            );
        }
        if let Some(p) = cause.downcast_ref::<ProviderError>() {
            return match p.class {
                ErrorClass::Auth if p.message.contains("not authorized to perform") => Some(
                    "`blueprint iam-policy FILE --for COMMAND` prints the IAM policy the command needs",
                ),
                ErrorClass::Auth => Some(
                    "check the credentials: the AWS chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, SSO, a role) and PAGERDUTY_TOKEN",
                ),
                ErrorClass::Transient => Some(
                    "the service did not answer in time: run again; the state records what was done",
                ),
                _ => None,
            };
        }
    }
    None
}

/// The node an error is about, when one is known (an invalid graph's first).
pub fn error_node(e: &anyhow::Error) -> Option<String> {
    e.chain()
        .find_map(|cause| match cause.downcast_ref::<EvalError>() {
            Some(EvalError::Graph(invalid)) => invalid.problems.iter().find_map(|p| p.node.clone()),
            _ => None,
        })
}

pub async fn run(cli: Cli) -> CliResult {
    crate::oci::set_insecure_registries(&cli.global.insecure_registry);
    crate::oci::lock::set_locked(cli.global.locked);
    let Some(trace) = cli.global.timings.clone() else {
        return dispatch(cli).await;
    };
    crate::timings::enable();
    let outcome = dispatch(cli).await;
    // Written whatever the outcome: a failed apply is the one worth reading.
    crate::timings::write(&trace)
        .map_err(|e| anyhow::anyhow!("writing the trace to {}: {e}", trace.display()))?;
    eprintln!("{}", timings_line(&trace));
    outcome
}

/// What `--timings` prints beside the trace: time by category, summed over
/// nodes (waits overlap, so the sums exceed the wall-clock time).
fn timings_line(trace: &std::path::Path) -> String {
    let totals = crate::timings::totals();
    let of = |category: &str| totals.get(category).copied().unwrap_or_default();
    let (calls, in_calls) = of("api");
    let (_, waits) = of("wait");
    format!(
        "Timings: {calls} API call(s) taking {:.2} s in all, {:.2} s of waits (dependencies, slots, rate budget), summed over nodes; trace written to {} (open it in ui.perfetto.dev)",
        in_calls.as_secs_f64(),
        waits.as_secs_f64(),
        trace.display()
    )
}

async fn dispatch(cli: Cli) -> CliResult {
    match &cli.command {
        Command::Graph(args) => graph::run(&cli.global, args).await,
        Command::Inspect(args) => inspect::run(&cli.global, args).await,
        Command::Kinds(args) => kinds::run(args),
        Command::Plan(args) => apply::plan_command(&cli.global, args).await,
        Command::Run(args) => apply::run_command(&cli.global, args).await,
        Command::Show(args) => apply::show_command(args),
        Command::Destroy(args) => apply::destroy_command(&cli.global, args).await,
        Command::State(args) => apply::state_command(args).await,
        Command::Output(args) => output::run(args).await,
        Command::Drill(args) => drill::run(&cli.global, args).await,
        Command::Check(args) => check::run(&cli.global, args).await,
        Command::Oncall(args) => oncall::run(&cli.global, args).await,
        Command::Export(args) => export::run(&cli.global, args).await,
        Command::IamPolicy(args) => iam_policy::run(&cli.global, args).await,
        Command::New(args) => new::run(args),
        Command::Dev(args) => dev::run(&cli.global, args).await,
        Command::Publish(args) => publish::run(&cli.global, args).await,
        Command::Update(args) => update::run(args).await,
        Command::Import(args) => import::run(&cli.global, args).await,
        Command::Version(args) => about::version(args),
        Command::Completions(args) => about::completions(args),
        Command::Man => about::man(),
        Command::Reference => {
            print!("{}", about::reference());
            Ok(ExitCode::SUCCESS)
        }
    }
}

impl GlobalArgs {
    pub fn runtime(&self) -> anyhow::Result<Runtime> {
        if !(self.guest_timeout.is_finite() && self.guest_timeout > 0.0) {
            anyhow::bail!("--guest-timeout must be a positive number of seconds");
        }
        let limits = Limits {
            memory_bytes: self.guest_memory.saturating_mul(1024 * 1024),
            timeout: Duration::from_secs_f64(self.guest_timeout),
            max_prop_bytes: self.guest_max_prop_bytes,
            max_string_bytes: self.guest_max_string,
            max_references: self.guest_max_references,
            max_edges: self.guest_max_edges,
        };
        let cache = if self.no_cache {
            None
        } else {
            default_cache_dir()
        };
        Ok(crate::run::runtime(limits, cache.as_deref())?)
    }
}

impl GlobalArgs {
    /// What a run shares: the guest runtime and the provider clients.
    pub fn context(
        &self,
        parallelism: crate::slots::Parallelism,
    ) -> anyhow::Result<crate::run::Context> {
        Ok(crate::run::Context {
            runtime: self.runtime()?,
            providers: Default::default(),
            parallelism,
            allow_duplicates: false,
            resolve_incidents: false,
            lock_timeout: self.lock_timeout,
        })
    }
}

impl EvalArgs {
    pub async fn evaluate(&self, runtime: &Runtime) -> Result<Evaluated, EvalError> {
        crate::run::evaluate_file(runtime, &self.file, &self.sets).await
    }
}

#[cfg(test)]
mod tests {
    use super::error_message;

    #[test]
    fn a_cause_the_error_already_says_is_not_repeated() {
        let read = crate::blueprint_file::FileError::Read {
            path: "x.toml".into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        };
        assert_eq!(
            error_message(&anyhow::Error::new(read)),
            "cannot read blueprint file x.toml: no such file"
        );
        let wrapped = anyhow::anyhow!("inner").context("outer");
        assert_eq!(error_message(&wrapped), "outer: inner");
    }
}
