//! The compiled-code cache: each component compiled once per machine and engine
//! configuration, kept uncompressed on disk and mapped into memory on every later
//! load (`Component::deserialize_file`), so a cached load costs a hash of the
//! component's bytes and an `mmap` — not a decompression and a copy of tens of
//! megabytes, as wasmtime's own `Config::cache` (zstd) does. For an 18 MB Python
//! guest that is the difference between ~100 ms and ~10 ms per `graph`.
//!
//! Entries are named `<engine>-<sha256 of the component>.cwasm`: the engine part
//! hashes wasmtime's version and every setting that changes compiled code
//! (`Engine::precompile_compatibility_hash`), so a host with other settings never
//! maps another's code. A file lock makes concurrent processes compile a component
//! once; writes go through a temporary file and a rename, so no process ever maps
//! half a file. The folder is trimmed to [`MAX_BYTES`], least recently used first.

use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The cache keeps at most this much compiled code (a TypeScript or Python guest
/// compiles to ~40-60 MB; a Rust guest to ~1 MB).
pub const MAX_BYTES: u64 = 2 * 1024 * 1024 * 1024;

pub struct CodeCache {
    dir: PathBuf,
    engine_key: String,
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl CodeCache {
    pub fn new(engine: &Engine, dir: &Path) -> CodeCache {
        // SipHash with fixed keys: stable for a given build of the host, which is all
        // the key needs (a rebuilt host with other settings gets other entries).
        #[allow(deprecated)]
        let mut hasher = std::hash::SipHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        CodeCache {
            dir: dir.to_owned(),
            engine_key: format!("{:016x}", hasher.finish()),
        }
    }

    /// The compiled component for these bytes: mapped from the cache when it was
    /// compiled before, else compiled now and stored.
    pub fn component(&self, engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Component> {
        let key = sha256_hex(bytes);
        self.component_keyed(engine, &key, || Ok(bytes.to_vec()))
    }

    /// Like [`CodeCache::component`] for a component whose identity the caller
    /// already knows (`key`, e.g. a digest computed when it was built), so a cached
    /// load need not even read it.
    pub fn component_keyed(
        &self,
        engine: &Engine,
        key: &str,
        bytes: impl FnOnce() -> io::Result<Vec<u8>>,
    ) -> wasmtime::Result<Component> {
        let path = self.dir.join(format!("{}-{key}.cwasm", self.engine_key));
        if let Some(component) = self.mapped(engine, &path) {
            return Ok(component);
        }
        std::fs::create_dir_all(&self.dir)?;
        // One process compiles; the others wait here and then map its result.
        let lock = File::create(path.with_extension("lock"))?;
        lock.lock()?;
        if let Some(component) = self.mapped(engine, &path) {
            return Ok(component);
        }
        let compiled = engine.precompile_component(&bytes()?)?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, &compiled)?;
        std::fs::rename(&tmp, &path)?;
        drop(compiled);
        self.trim(&path);
        // SAFETY: the file was just written by `precompile_component` of this
        // engine, in the user's own cache folder (the same trust wasmtime's cache
        // places in its folder); wasmtime still checks its header on load.
        unsafe { Component::deserialize_file(engine, &path) }
    }

    /// The cached entry, if there is a usable one (a stale or damaged one is
    /// removed and compiled again).
    fn mapped(&self, engine: &Engine, path: &Path) -> Option<Component> {
        if !path.exists() {
            return None;
        }
        // SAFETY: entries are only ever written whole (temp file + rename) by
        // `precompile_component` of an engine with this configuration hash, in the
        // user's own cache folder; wasmtime checks the header (version, settings)
        // and refuses a file compiled for anything else.
        match unsafe { Component::deserialize_file(engine, path) } {
            Ok(component) => {
                // Mark it used, for the least-recently-used trim.
                if let Ok(file) = File::options().append(true).open(path) {
                    let _ = file.set_modified(SystemTime::now());
                }
                Some(component)
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), "compiled-code cache entry unusable, compiling again: {e}");
                let _ = std::fs::remove_file(path);
                None
            }
        }
    }

    /// Remove the least recently used entries past [`MAX_BYTES`], never `keep`.
    fn trim(&self, keep: &Path) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut files: Vec<(SystemTime, u64, PathBuf)> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
            .filter_map(|e| {
                let meta = e.metadata().ok()?;
                Some((meta.modified().ok()?, meta.len(), e.path()))
            })
            .collect();
        let mut total: u64 = files.iter().map(|(_, len, _)| len).sum();
        files.sort();
        for (_, len, path) in files {
            if total <= MAX_BYTES {
                break;
            }
            if path != keep && std::fs::remove_file(&path).is_ok() {
                let _ = std::fs::remove_file(path.with_extension("lock"));
                total -= len;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::CodeCache;

    /// Code compiled by one compiler is never loaded by an engine of the other:
    /// the cache key differs (the strategy is part of the compatibility hash).
    #[test]
    fn each_compiler_has_its_own_cache_entries() {
        let dir = tempfile::tempdir().unwrap();
        let key = |strategy| {
            let mut config = wasmtime::Config::new();
            config.epoch_interruption(true).strategy(strategy);
            let engine = wasmtime::Engine::new(&config).unwrap();
            CodeCache::new(&engine, dir.path()).engine_key
        };
        assert_ne!(
            key(wasmtime::Strategy::Winch),
            key(wasmtime::Strategy::Cranelift)
        );
    }
}
