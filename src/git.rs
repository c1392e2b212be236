//! `--changed-since REF`: the files added or modified since the merge-base with REF.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn git(args: &[&str]) -> Result<String, String> {
    let out = Command::new("git").args(args).output().map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    Ok(String::from_utf8_lossy(&out.stdout).to_string())
}

/// Canonical paths of files added or modified since the merge-base of `reference` and HEAD,
/// including uncommitted and untracked files. The repository is the one holding
/// `start` (the first linted path), else the working directory's.
pub fn changed_since(reference: &str, start: Option<&Path>) -> Result<HashSet<PathBuf>, String> {
    let here = start.filter(|s| s.is_dir()).map(|s| s.to_string_lossy().to_string()).unwrap_or_else(|| ".".into());
    let git = |args: &[&str]| {
        let mut all = vec!["-C", here.as_str()];
        all.extend_from_slice(args);
        git(&all)
    };
    let root = git(&["rev-parse", "--show-toplevel"]).map_err(|e| format!("not inside a git repository ({e})"))?;
    let root = PathBuf::from(root.trim());
    if git(&["rev-parse", "--verify", "--quiet", &format!("{reference}^{{commit}}")]).is_err() {
        return Err(format!(
            "unknown git ref `{reference}`; in a shallow CI clone fetch it first (git fetch --depth=50 origin {}), or check out with full history (actions/checkout: fetch-depth: 0)",
            reference.trim_start_matches("origin/")
        ));
    }
    let base = git(&["merge-base", reference, "HEAD"]).map_err(|e| {
        // `git merge-base` says nothing when there is no common ancestor.
        let detail = if e.is_empty() { String::new() } else { format!(" ({e})") };
        format!(
            "no merge-base between `{reference}` and HEAD{detail}; in a shallow clone fetch more history (git fetch --deepen=100), or check out with full history (actions/checkout: fetch-depth: 0)"
        )
    })?;
    let base = base.trim();
    let mut set = HashSet::new();
    // From the top directory: both list paths relative to it (ls-files would
    // otherwise list only the current directory's files, relative to it).
    let top = root.to_string_lossy();
    let diff = git(&["-C", &top, "diff", "--name-only", "--diff-filter=AMR", "-z", base])?;
    let untracked = git(&["-C", &top, "ls-files", "--others", "--exclude-standard", "-z"])?;
    for name in diff.split('\0').chain(untracked.split('\0')).filter(|s| !s.is_empty()) {
        let p = root.join(name);
        set.insert(std::fs::canonicalize(&p).unwrap_or(p));
    }
    Ok(set)
}
