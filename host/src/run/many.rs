//! `run FILE|DIR...`: several blueprints in one process. Each is prepared with
//! its own state and lock, all at once, sharing the provider clients and,
//! through them, one PagerDuty rate budget; the caller confirms once; then all
//! are applied at once and summed up. One that fails does not stop the others.

use std::path::PathBuf;

use futures::future::join_all;
use serde::Serialize;

use super::{Context, Prepared, Target, Verb};
use crate::blueprint_file::Blueprint;
use crate::engine::Report;
use crate::engine::progress::Progress;

/// Each file with its plan, or why it could not be planned.
pub struct Many {
    pub files: Vec<PathBuf>,
    pub prepared: Vec<Result<Prepared, String>>,
}

impl Many {
    /// Whether any plan changes anything.
    pub fn has_changes(&self) -> bool {
        self.prepared
            .iter()
            .any(|p| p.as_ref().is_ok_and(|p| p.plan.has_changes()))
    }
}

/// How one blueprint of the run ended.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub file: String,
    pub blueprint: Option<String>,
    pub ok: bool,
    pub created: usize,
    pub updated: usize,
    pub deleted: usize,
    /// Failed or skipped operations.
    pub failed: usize,
    pub seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The apply's report, when it was not clean (for the caller to render).
    #[serde(skip)]
    pub report: Option<Report>,
}

impl Summary {
    fn record(&mut self, report: Report) {
        let count = |op: &str| report.done.iter().filter(|o| o.operation == op).count();
        self.created = count("create");
        self.updated = count("update");
        self.deleted = count("delete");
        self.failed = report.failed.len() + report.skipped.len();
        self.seconds = report.seconds;
        self.ok = report.ok();
        if !report.ok() {
            self.report = Some(report);
        }
    }
}

impl Context {
    /// Plan every file at once (no mutating call).
    pub async fn prepare_many(&self, files: Vec<PathBuf>, sets: &[String]) -> Many {
        let prepared = join_all(files.iter().map(|file| {
            let target = Target {
                file: file.clone(),
                sets: sets.to_vec(),
                state: None,
                ..Target::default()
            };
            async move {
                self.prepare(&target, Verb::Run)
                    .await
                    .map_err(|e| format!("{e:#}"))
            }
        }))
        .await;
        Many { files, prepared }
    }

    /// Apply every plan that changes something, at once; `progress` gives each
    /// blueprint (by name) its progress sink.
    pub async fn apply_many(
        &self,
        many: Many,
        progress: &(dyn Fn(&str) -> Box<dyn Progress> + Sync),
    ) -> Vec<Summary> {
        let Many { files, prepared } = many;
        join_all(files.iter().zip(prepared).map(|(file, p)| async move {
            let mut summary = Summary {
                file: file.display().to_string(),
                ..Summary::default()
            };
            let p = match p {
                Ok(p) => p,
                Err(error) => {
                    // Named as the file names it, when the file can be read at all.
                    summary.blueprint = Blueprint::load(file).ok().map(|b| b.name);
                    summary.error = Some(error);
                    return summary;
                }
            };
            let name = p.opened.blueprint.name.clone();
            summary.blueprint = Some(name.clone());
            summary.ok = true;
            if !p.plan.has_changes() {
                return summary;
            }
            let sink = progress(&name);
            match self.apply(p, sink.as_ref()).await {
                Ok(report) => summary.record(report),
                Err(e) => {
                    summary.ok = false;
                    summary.error = Some(e.to_string());
                }
            }
            summary
        }))
        .await
    }
}
