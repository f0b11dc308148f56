//! The engine: plan a validated graph against recorded state and the live APIs,
//! then apply the plan. It drives every provider through the one trait and knows
//! nothing provider-specific.
//!
//! ```text
//! state (locked) -> refresh (provider reads) + lookups -> diff -> Plan
//! Plan -> DAG scheduler (bounded parallelism, outputs resolved as they arrive,
//!         state saved after every operation) -> Report
//! ```

pub mod apply;
mod chains;
pub mod plan;
pub mod progress;
pub mod resolve;

#[cfg(test)]
mod tests;

pub use apply::{Applier, ApplyError, Report};
pub use plan::{Action, Plan, PlanError, Planner};
