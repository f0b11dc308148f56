//! `blueprint-model`: the bottom layer of the `blueprint` host. What a guest
//! declares and what a run records, as data, with the rules that need no API:
//!
//! - [`graph`]: nodes, reference tokens, validation, the alerting chains;
//! - [`kind`]: what the host knows of each kind ([`kind::KindInfo`], roles, the
//!   value checker) and the [`kind::Catalog`] of the kinds one process serves;
//! - [`terraform`] and [`import_id`]: how a kind is written for Terraform and
//!   adopted from it (each kind declares both in its descriptor);
//! - [`resource`]: what a provider observed of one object; [`record`]: the
//!   state file's records;
//! - [`oncall`]: who is on call and where nobody is, from the declared schedules;
//! - [`text`] (escaping for terminals), [`params`] (blueprint params against a
//!   guest's JSON Schema), [`assets`] (files a guest packs for a resource).
//!
//! Nothing here imports the host: the list of kinds reaches this crate as a
//! `Catalog` value built by the providers, never by a lookup that reaches up.

pub mod assets;
pub mod graph;
pub mod import_id;
pub mod kind;
pub mod oncall;
pub mod params;
pub mod record;
pub mod resource;
pub mod terraform;
pub mod text;
pub mod webhook_events;
