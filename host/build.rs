//! The commit `blueprint version` reports: `git rev-parse --short=12 HEAD` at
//! build time, `unknown` outside a git checkout (a crate tarball).

fn main() {
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=BLUEPRINT_COMMIT={commit}");
    let target = std::env::var("TARGET").unwrap_or_default();
    println!("cargo:rustc-env=BLUEPRINT_TARGET={target}");
    // A new commit moves HEAD or the branch it names (not the index, which
    // `git status` rewrites: that would rebuild the host for nothing).
    let mut watched = vec!["../.git/HEAD".to_owned(), "../.git/packed-refs".to_owned()];
    if let Ok(head) = std::fs::read_to_string("../.git/HEAD")
        && let Some(branch) = head.trim().strip_prefix("ref: ")
    {
        watched.push(format!("../.git/{branch}"));
    }
    for path in watched {
        if std::path::Path::new(&path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}
