//! `run FILE|DIR...`: several blueprints in one process. Each is prepared with
//! its own state and lock, all at once, sharing the provider clients and,
//! through them, one PagerDuty rate budget; the caller confirms once; then all
//! are applied at once and summed up. One that fails does not stop the others.
//!
//! A blueprint that reads another's outputs (`blueprint.outputs`) runs after
//! it: the files go in waves ([`Context::waves`]), each planned only once the
//! waves before it are applied, so it reads what they published; one whose
//! publisher failed is skipped.

use std::path::PathBuf;

use futures::future::join_all;
use serde::Serialize;

use super::{Context, Prepared, RunError, Target, Verb};
use crate::blueprint_file::Blueprint;
use crate::engine::Report;
use crate::engine::progress::Progress;

/// Each file with its plan, or why it could not be planned.
pub struct Many {
    pub files: Vec<PathBuf>,
    pub prepared: Vec<Result<Prepared, RunError>>,
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

/// The files in the order their outputs need: each wave reads outputs only
/// of the waves before it.
#[derive(Debug, Clone, PartialEq)]
pub struct Waves {
    pub waves: Vec<Vec<PathBuf>>,
    /// Each file with the files of this run whose outputs it reads.
    pub reads: Vec<(PathBuf, Vec<PathBuf>)>,
}

impl Waves {
    /// The files `file` reads outputs from.
    pub fn publishers_of(&self, file: &PathBuf) -> &[PathBuf] {
        self.reads
            .iter()
            .find(|(f, _)| f == file)
            .map_or(&[], |(_, p)| p.as_slice())
    }
}

/// Why the files of one run cannot be put in an order.
#[derive(Debug, thiserror::Error)]
pub enum WavesError {
    #[error(
        "these blueprints read each other's outputs in a cycle, so none can be applied first: {}",
        shown(.0)
    )]
    Cycle(Vec<PathBuf>),
    #[error(
        "{} reads its own outputs (blueprint '{blueprint}'): a blueprint cannot depend on itself",
        file.display()
    )]
    ReadsItself { file: PathBuf, blueprint: String },
    #[error(
        "{} reads blueprint '{blueprint}', which {} files of this run are named: {}",
        file.display(),
        named.len(),
        shown(named)
    )]
    Ambiguous {
        file: PathBuf,
        blueprint: String,
        named: Vec<PathBuf>,
    },
}

fn shown(files: &[PathBuf]) -> String {
    let shown: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    shown.join(", ")
}

/// Order files by `reads[i]` (the indices file `i` reads from) into waves;
/// an error names a cycle.
pub fn order(files: &[PathBuf], reads: &[Vec<usize>]) -> Result<Vec<Vec<PathBuf>>, WavesError> {
    let mut placed: Vec<Option<usize>> = vec![None; files.len()];
    let mut waves: Vec<Vec<PathBuf>> = Vec::new();
    while placed.iter().any(Option::is_none) {
        let ready: Vec<usize> = (0..files.len())
            .filter(|&i| placed[i].is_none())
            .filter(|&i| reads[i].iter().all(|&j| placed[j].is_some()))
            .collect();
        if ready.is_empty() {
            let stuck = (0..files.len())
                .filter(|&i| placed[i].is_none())
                .map(|i| files[i].clone())
                .collect();
            return Err(WavesError::Cycle(stuck));
        }
        for &i in &ready {
            placed[i] = Some(waves.len());
        }
        waves.push(ready.into_iter().map(|i| files[i].clone()).collect());
    }
    Ok(waves)
}

impl Context {
    /// Which files read which others' outputs (a `blueprint.outputs` lookup
    /// naming another file's blueprint), from each guest's graph (no API
    /// call), in waves. A file that cannot be evaluated goes first, where its
    /// plan says why.
    pub async fn waves(&self, files: &[PathBuf], sets: &[String]) -> Result<Waves, WavesError> {
        // Each file's blueprint name and the blueprints it reads, evaluated at once.
        let read = join_all(files.iter().map(|file| async move {
            let Ok(blueprint) = Blueprint::load(file) else {
                return (None, Vec::new());
            };
            let name = Some(blueprint.name.clone());
            let wanted = match crate::evaluate::evaluate(&self.runtime, blueprint, sets).await {
                Ok(evaluated) => {
                    crate::providers::blueprints::kinds::outputs::sources(&evaluated.graph)
                        .map(|source| source.blueprint.to_owned())
                        .collect()
                }
                Err(_) => Vec::new(),
            };
            (name, wanted)
        }))
        .await;
        let (names, wanted): (Vec<Option<String>>, Vec<Vec<String>>) = read.into_iter().unzip();
        let mut reads: Vec<Vec<usize>> = Vec::new();
        for (i, want) in wanted.iter().enumerate() {
            let mut from = Vec::new();
            for name in want {
                let matching: Vec<usize> = (0..files.len())
                    .filter(|&j| names[j].as_deref() == Some(name.as_str()))
                    .collect();
                match matching.as_slice() {
                    [] => {} // Published elsewhere: read as it is.
                    [j] if *j == i => {
                        return Err(WavesError::ReadsItself {
                            file: files[i].clone(),
                            blueprint: name.clone(),
                        });
                    }
                    [j] => {
                        if !from.contains(j) {
                            from.push(*j);
                        }
                    }
                    several => {
                        return Err(WavesError::Ambiguous {
                            file: files[i].clone(),
                            blueprint: name.clone(),
                            named: several.iter().map(|&j| files[j].clone()).collect(),
                        });
                    }
                }
            }
            reads.push(from);
        }
        let waves = order(files, &reads)?;
        Ok(Waves {
            waves,
            reads: files
                .iter()
                .zip(&reads)
                .map(|(f, r)| (f.clone(), r.iter().map(|&j| files[j].clone()).collect()))
                .collect(),
        })
    }

    /// Plan every file at once (no mutating call).
    pub async fn prepare_many(&self, files: Vec<PathBuf>, sets: &[String]) -> Many {
        let prepared = join_all(files.iter().map(|file| {
            let target = Target {
                file: file.clone(),
                sets: sets.to_vec(),
                state: None,
                ..Target::default()
            };
            async move { self.prepare(&target, Verb::Run).await }
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
                    summary.error = Some(blueprint_model::text::with_causes(&error));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn files(names: &[&str]) -> Vec<PathBuf> {
        names.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn publishers_go_first_and_independent_files_share_a_wave() {
        let f = files(&[
            "checkout.toml",
            "platform.toml",
            "search.toml",
            "other.toml",
        ]);
        // checkout and search read platform; other reads nothing.
        let waves = order(&f, &[vec![1], vec![], vec![1], vec![]]).unwrap();
        assert_eq!(
            waves,
            vec![
                files(&["platform.toml", "other.toml"]),
                files(&["checkout.toml", "search.toml"])
            ]
        );
        // A chain makes one wave per link.
        let waves = order(&f[..3], &[vec![2], vec![], vec![1]]).unwrap();
        assert_eq!(waves.len(), 3);
        assert_eq!(waves[0], files(&["platform.toml"]));
    }

    #[test]
    fn a_cycle_is_refused_naming_its_files() {
        let f = files(&["a.toml", "b.toml", "c.toml"]);
        let err = order(&f, &[vec![1], vec![0], vec![]])
            .unwrap_err()
            .to_string();
        assert!(err.contains("a.toml, b.toml"), "{err}");
        assert!(!err.contains("c.toml"), "{err}");
    }
}
