//! Assets: files or folders beside a blueprint, packed into deterministic zips.
//!
//! The same source always gives the same bytes (entries sorted, timestamps fixed
//! at the zip epoch, modes normalised to 0644/0755), so the digest changes only
//! when the content does — which is what decides whether Lambda code is updated.

use std::io::{Cursor, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// Refuse to pack more than this (Lambda's own limit for a zip in S3 is 250 MB unzipped).
pub const MAX_ASSET_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct Asset {
    /// `asset:<sha256 hex>`: what props name.
    pub id: String,
    pub sha256: String,
    pub sha256_base64: String,
    pub size: u64,
    pub file_name: String,
    /// The path the guest asked for, relative to the blueprint folder.
    pub path: String,
    pub zip: Arc<Vec<u8>>,
}

/// Pack `relative` (a file or folder under `root`) into a deterministic zip.
pub fn pack(root: &Path, relative: &str) -> Result<Asset, String> {
    pack_until(
        root,
        relative,
        Instant::now() + Duration::from_secs(24 * 3600),
    )
}

/// [`pack`], giving up once `deadline` has passed (checked before each file is
/// read). Only regular files are packed: a named pipe, socket or device is an
/// error and is never opened for reading. Messages name paths relative to
/// `root` only (they are shown to the guest).
pub fn pack_until(root: &Path, relative: &str, deadline: Instant) -> Result<Asset, String> {
    let source = confine(root, relative)?;
    let canonical_root = root.canonicalize().map_err(|e| e.to_string())?;
    let shown = |path: &Path| -> String {
        path.strip_prefix(&canonical_root)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| relative.to_owned())
    };
    let files = collect_files(&source).map_err(|e| {
        // collect_files names absolute paths; the guest sees them relative.
        e.replace(&format!("{}/", canonical_root.display()), "")
    })?;
    if files.is_empty() {
        return Err(format!("asset {relative:?} has no files"));
    }
    let total: u64 = files.iter().map(|(_, _, len)| len).sum();
    if total > MAX_ASSET_BYTES {
        return Err(format!(
            "asset {relative:?} is {total} bytes, over the {MAX_ASSET_BYTES} byte limit"
        ));
    }

    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, path, _) in &files {
        let executable = is_executable(path);
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(6))
            .last_modified_time(DateTime::default())
            .unix_permissions(if executable { 0o755 } else { 0o644 });
        if Instant::now() >= deadline {
            return Err(format!(
                "asset {relative:?}: the time limit passed while packing it"
            ));
        }
        let bytes = read_regular(path).map_err(|e| format!("cannot read {}: {e}", shown(path)))?;
        writer
            .start_file(name.as_str(), options)
            .and_then(|()| writer.write_all(&bytes).map_err(Into::into))
            .map_err(|e| format!("cannot zip {name}: {e}"))?;
    }
    let zip = writer
        .finish()
        .map_err(|e| format!("cannot finish the zip of {relative:?}: {e}"))?
        .into_inner();

    let digest = Sha256::digest(&zip);
    let sha256 = hex(&digest);
    let stem = source
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("asset")
        .to_owned();
    Ok(Asset {
        id: format!("asset:{sha256}"),
        sha256_base64: base64::engine::general_purpose::STANDARD.encode(digest),
        file_name: format!("{stem}-{}.zip", &sha256[..12]),
        sha256,
        size: zip.len() as u64,
        path: relative.to_owned(),
        zip: Arc::new(zip),
    })
}

/// Resolve `relative` under `root`, refusing anything that leaves it — absolute
/// paths, `..`, or symlinks pointing outside — so a guest can read only what sits
/// beside its blueprint.
fn confine(root: &Path, relative: &str) -> Result<PathBuf, String> {
    let rel = Path::new(relative);
    if relative.is_empty()
        || rel.is_absolute()
        || rel
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(format!(
            "asset path {relative:?} must be relative to the blueprint's folder and stay inside it"
        ));
    }
    let root = root
        .canonicalize()
        .map_err(|e| format!("cannot open the blueprint folder: {e}"))?;
    let path = root
        .join(rel)
        .canonicalize()
        .map_err(|e| format!("asset {relative:?}: {e}"))?;
    if !path.starts_with(&root) {
        return Err(format!(
            "asset {relative:?} resolves outside the blueprint's folder"
        ));
    }
    Ok(path)
}

/// `(name in zip, path on disk, length)` for every file, sorted by name.
fn collect_files(source: &Path) -> Result<Vec<(String, PathBuf, u64)>, String> {
    // `source` is canonical (no symlink left): its own type decides.
    let source_type = std::fs::symlink_metadata(source)
        .map_err(|e| format!("{}: {e}", source.display()))?
        .file_type();
    if !source_type.is_dir() && !source_type.is_file() {
        return Err(not_regular(source, source_type));
    }
    if source_type.is_file() {
        let name = source
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or("asset file name is not UTF-8")?
            .to_owned();
        let len = source.metadata().map_err(|e| e.to_string())?.len();
        return Ok(vec![(name, source.to_owned(), len)]);
    }
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(source).follow_links(false) {
        let entry = entry.map_err(|e| format!("cannot walk the asset folder: {e}"))?;
        let path = entry.path();
        let file_type = entry.file_type();
        if file_type.is_dir() {
            continue;
        }
        let resolved = if file_type.is_symlink() {
            let target = path
                .canonicalize()
                .map_err(|e| format!("{}: {e}", path.display()))?;
            if !target.starts_with(source) {
                return Err(format!(
                    "{} is a link to something outside the asset folder",
                    path.display()
                ));
            }
            let target_type = std::fs::metadata(&target)
                .map_err(|e| format!("{}: {e}", path.display()))?
                .file_type();
            if !target_type.is_file() {
                return Err(not_regular(path, target_type));
            }
            target
        } else if !file_type.is_file() {
            return Err(not_regular(path, file_type));
        } else {
            path.to_owned()
        };
        let name = path
            .strip_prefix(source)
            .map_err(|e| e.to_string())?
            .components()
            .map(|c| c.as_os_str().to_str().ok_or("asset file name is not UTF-8"))
            .collect::<Result<Vec<_>, _>>()?
            .join("/");
        let len = resolved.metadata().map_err(|e| e.to_string())?.len();
        files.push((name, resolved, len));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}

/// The error for a path that is neither a regular file nor a folder.
fn not_regular(path: &Path, file_type: std::fs::FileType) -> String {
    #[cfg(unix)]
    let what = {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            "a named pipe"
        } else if file_type.is_socket() {
            "a socket"
        } else if file_type.is_block_device() || file_type.is_char_device() {
            "a device"
        } else {
            "not a regular file"
        }
    };
    #[cfg(not(unix))]
    let what = {
        let _ = file_type;
        "not a regular file"
    };
    format!(
        "{} is {what}: assets pack regular files and folders only",
        path.display()
    )
}

/// Read a file that was a regular file when listed. It is opened without
/// blocking (a FIFO swapped in after the listing must not hang the open) and
/// its type checked again on the open handle before any read; at most
/// [`MAX_ASSET_BYTES`] + 1 bytes are read.
fn read_regular(path: &Path) -> Result<Vec<u8>, String> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = options.open(path).map_err(|e| e.to_string())?;
    let file_type = file.metadata().map_err(|e| e.to_string())?.file_type();
    if !file_type.is_file() {
        return Err(not_regular(path, file_type));
    }
    let mut bytes = Vec::new();
    file.take(MAX_ASSET_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    Ok(bytes)
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(_: &Path) -> bool {
    false
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("code/lib")).unwrap();
        std::fs::write(dir.path().join("code/index.js"), "exports.handler = 1;\n").unwrap();
        std::fs::write(dir.path().join("code/lib/util.js"), "module.exports = 2;\n").unwrap();
        dir
    }

    #[test]
    fn same_source_same_bytes_even_after_touching() {
        let dir = folder();
        let a = pack(dir.path(), "code").unwrap();
        // New mtimes must not change the zip.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        std::fs::write(dir.path().join("code/index.js"), "exports.handler = 1;\n").unwrap();
        let b = pack(dir.path(), "code").unwrap();
        assert_eq!(a.sha256, b.sha256);
        assert_eq!(a.zip, b.zip);
        assert!(a.file_name.starts_with("code-") && a.file_name.ends_with(".zip"));
    }

    #[test]
    fn content_change_changes_digest() {
        let dir = folder();
        let a = pack(dir.path(), "code").unwrap();
        std::fs::write(dir.path().join("code/index.js"), "exports.handler = 3;\n").unwrap();
        assert_ne!(a.sha256, pack(dir.path(), "code").unwrap().sha256);
    }

    #[test]
    fn entries_are_sorted_with_forward_slashes() {
        let dir = folder();
        let asset = pack(dir.path(), "code").unwrap();
        let mut archive = zip::ZipArchive::new(Cursor::new(asset.zip.to_vec())).unwrap();
        let names: Vec<String> = (0..archive.len())
            .map(|i| archive.by_index(i).unwrap().name().unwrap().to_string())
            .collect();
        assert_eq!(names, ["index.js", "lib/util.js"]);
    }

    #[test]
    fn paths_outside_the_folder_are_refused() {
        let dir = folder();
        for bad in ["../etc", "/etc/passwd", "code/../../x", ""] {
            assert!(pack(dir.path(), bad).is_err(), "{bad} was accepted");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc", dir.path().join("code/escape")).unwrap();
            let err = pack(dir.path(), "code").unwrap_err();
            assert!(err.contains("outside"), "{err}");
        }
    }

    /// A FIFO is refused by type, never opened (opening one for reading would
    /// block until a writer comes), alone or inside a folder.
    #[cfg(unix)]
    #[test]
    fn special_files_are_refused_without_a_read() {
        let dir = folder();
        let fifo = dir.path().join("code/pipe");
        let path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o644) }, 0);
        let started = Instant::now();
        let err = pack(dir.path(), "code/pipe").unwrap_err();
        assert!(err.contains("is a named pipe"), "{err}");
        let err = pack(dir.path(), "code").unwrap_err();
        assert!(err.contains("pipe is a named pipe"), "{err}");
        // The guest sees paths relative to the blueprint folder only.
        let root = dir.path().canonicalize().unwrap();
        assert!(!err.contains(root.to_str().unwrap()), "{err}");
        // Through a link too.
        std::os::unix::fs::symlink("pipe", dir.path().join("code/link")).unwrap();
        std::fs::remove_file(&fifo).unwrap();
        std::fs::write(&fifo, "now a file").unwrap();
        assert!(pack(dir.path(), "code").is_ok());
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_passed_deadline_stops_packing() {
        let dir = folder();
        let err = pack_until(dir.path(), "code", Instant::now()).unwrap_err();
        assert!(err.contains("time limit"), "{err}");
    }
}
