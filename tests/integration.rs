//! The host's integration tests, one test binary for all of them: each file
//! beside this one is a module (`cargo test --release --test integration
//! lost_state::` runs one). As 21 binaries, each compiled `support/` again and
//! linked the whole host: 470 unit-seconds of the build against 45 s for this one
//! (docs/authoring-speed.md, section 5).

mod support;

mod aws_provider;
mod build_profiles;
mod cli;
mod contract;
mod deadlines;
mod drill;
mod end_to_end;
mod export;
mod fault_proxy;
mod graph;
mod iam_policy;
mod import;
mod languages;
mod lifecycle;
mod lost_state;
mod many;
mod new;
mod oci;
mod oncall;
mod outputs;
mod pagerduty_provider;
mod policy;
mod s3_state;
mod sandbox;
mod sandbox_dev;
mod saved_plans;
mod strict_world;
mod templates;
mod timings;
mod versions;
