//! The pre-commit hook (`.pre-commit-hooks.yaml`), with the real `pre-commit`
//! tool from PyPI, as a new user meets it:
//!
//! 1. `pre-commit validate-manifest` accepts the hook file;
//! 2. in a temp git repo, `.pre-commit-config.yaml` points at this repository,
//!    `pre-commit install`, then `git commit`: a safe migration commits, a
//!    risky one (`ALTER TABLE users DROP COLUMN email`) is blocked with the
//!    `drop-column` finding shown;
//! 3. `pre-commit try-repo <this repo> migrade --files risky safe` fails on the
//!    risky file, with both files linted.
//!
//! pre-commit clones the hook repository at a commit, so the test clones this
//! repository's HEAD into `target/precommit/hook-repo` and commits the working
//! tree's `.pre-commit-hooks.yaml` there (fixed identity and dates: the same
//! sources give the same commit, so pre-commit's environment in
//! `target/precommit/home` (PRE_COMMIT_HOME) is reused). `language: rust` makes
//! pre-commit `cargo install` migrade: about 5 minutes the first time (pg_query
//! builds libpg_query); CARGO_TARGET_DIR=target/precommit/cargo keeps the
//! compiled dependencies for the next build (try-repo always builds in a fresh
//! store: about a minute with them).
//!
//! Needs `pre-commit` on PATH: `source scripts/python-tools.sh` (scripts/test.sh
//! does it). Without it the test fails, unless `MIGRADE_SKIP_TOOLS=1`.
//!
//! Run: `source scripts/python-tools.sh && cargo test --test precommit`

mod common;

use common::{git, git_output, isolate_git, repo_root, require_tool, write_files};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn work_dir() -> PathBuf {
    repo_root().join("target/precommit")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A command with pre-commit's store and cargo's build dir under target/precommit.
fn with_env(mut c: Command) -> Command {
    isolate_git(&mut c);
    c.env("PRE_COMMIT_HOME", work_dir().join("home"))
        .env("CARGO_TARGET_DIR", work_dir().join("cargo"))
        .env("PRE_COMMIT_COLOR", "never")
        .env("NO_COLOR", "1");
    c
}

/// `target/precommit/hook-repo`: this repository's HEAD plus the working tree's
/// `.pre-commit-hooks.yaml`, committed. Returns (path, commit).
fn hook_repo() -> (PathBuf, String) {
    let dir = work_dir().join("hook-repo");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    std::fs::create_dir_all(work_dir()).unwrap();
    git(&work_dir(), &["clone", "-q", "--no-hardlinks", &repo_root().display().to_string(), "hook-repo"]);
    std::fs::copy(repo_root().join(".pre-commit-hooks.yaml"), dir.join(".pre-commit-hooks.yaml")).unwrap();
    git(&dir, &["add", ".pre-commit-hooks.yaml"]);
    if !git(&dir, &["status", "--porcelain"]).trim().is_empty() {
        git(&dir, &["commit", "-q", "-m", "pre-commit hook from the working tree"]);
    }
    let rev = git(&dir, &["rev-parse", "HEAD"]).trim().to_string();
    (dir, rev)
}

const SAFE: (&str, &str) = (
    "migrations/0001_create_users.sql",
    "CREATE TABLE users (\n    id bigint PRIMARY KEY,\n    email text NOT NULL,\n    name varchar(50)\n);\n",
);
const RISKY: (&str, &str) = ("migrations/0002_drop.sql", "ALTER TABLE users DROP COLUMN email;\n");

fn commit(project: &Path, pre_commit: &Path, message: &str) -> Output {
    // The installed hook script runs pre-commit from its virtualenv; keep that on PATH.
    let mut c = Command::new("git");
    c.current_dir(project).args(["commit", "-m", message]);
    let mut c = with_env(c);
    let venv_bin = pre_commit.parent().unwrap().to_path_buf();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![venv_bin];
    dirs.extend(std::env::split_paths(&path));
    c.env("PATH", std::env::join_paths(dirs).unwrap());
    c.output().expect("run git commit")
}

fn commits(project: &Path) -> usize {
    let o = git_output(project, &["rev-list", "--count", "HEAD"]);
    String::from_utf8_lossy(&o.stdout).trim().parse().unwrap_or(0)
}

#[test]
fn hook_manifest_is_valid() {
    let Some(pre_commit) = require_tool("pre-commit", "hook_manifest_is_valid") else {
        return;
    };
    let o = Command::new(&pre_commit)
        .current_dir(repo_root())
        .args(["validate-manifest", ".pre-commit-hooks.yaml"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let manifest = std::fs::read_to_string(repo_root().join(".pre-commit-hooks.yaml")).unwrap();
    for line in [
        "- id: migrade",
        "entry: migrade lint",
        "language: rust",
        "files: (^|/)(migrations?|migrate|deploy|revert)/.*\\.sql$",
        "require_serial: true",
        "- id: migrade-system",
        "language: system",
    ] {
        assert!(manifest.contains(line), "{line}");
    }
}

#[test]
fn hook_blocks_a_risky_commit_and_passes_a_safe_one() {
    let Some(pre_commit) = require_tool("pre-commit", "hook_blocks_a_risky_commit_and_passes_a_safe_one") else {
        return;
    };
    let (hook, rev) = hook_repo();
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path();
    git(project, &["init", "-q", "-b", "main"]);
    write_files(
        project,
        &[
            SAFE,
            (
                ".pre-commit-config.yaml",
                &format!("repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: migrade\n", hook.display()),
            ),
        ],
    );
    let o = with_env(Command::new(&pre_commit)).current_dir(project).arg("install").output().unwrap();
    assert!(o.status.success(), "pre-commit install: {}", text(&o));

    // A safe migration commits (the first commit builds the hook: minutes).
    git(project, &["add", "-A"]);
    let o = commit(project, &pre_commit, "create users");
    let out = text(&o);
    assert!(o.status.success(), "the safe commit should pass:\n{out}");
    assert!(out.contains("migrade") && out.contains("Passed"), "the hook ran:\n{out}");
    assert_eq!(commits(project), 1);

    // A risky one is blocked, with the finding shown.
    write_files(project, &[RISKY]);
    git(project, &["add", "-A"]);
    let o = commit(project, &pre_commit, "drop users.email");
    let out = text(&o);
    assert!(!o.status.success(), "the risky commit should be blocked:\n{out}");
    assert!(out.contains("Failed"), "{out}");
    assert!(out.contains("drop-column"), "the finding is shown:\n{out}");
    assert!(out.contains("migrations/0002_drop.sql"), "{out}");
    assert!(out.contains("VERY-HIGH"), "{out}");
    assert_eq!(commits(project), 1, "no commit was made");

    // A file that is not .sql does not run the hook.
    git(project, &["reset", "-q"]);
    write_files(project, &[("README.md", "DROP TABLE users;\n")]);
    git(project, &["add", "README.md"]);
    let o = commit(project, &pre_commit, "readme");
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("(no files to check)"), "{}", text(&o));

    // Reviewed and accepted with an inline ignore (and a lock_timeout): the commit goes through.
    std::fs::write(
        project.join(RISKY.0),
        "SET lock_timeout = '5s';\n-- migrade-ignore: drop-column -- email moved to accounts, code deployed\nALTER TABLE users DROP COLUMN email;\n",
    )
    .unwrap();
    git(project, &["add", "-A"]);
    let o = commit(project, &pre_commit, "drop users.email, reviewed");
    assert!(o.status.success(), "an ignored finding does not block:\n{}", text(&o));
    assert_eq!(commits(project), 3);

    // Only the staged file is passed, but its folder's history is read: widening
    // varchar(50) (from the committed 0001) needs no rewrite, medium, not blocked.
    // Without that history the type change would be graded high and blocked.
    write_files(
        project,
        &[(
            "migrations/0003_widen_name.sql",
            "SET lock_timeout = '5s';\nALTER TABLE users ALTER COLUMN name TYPE varchar(100);\n",
        )],
    );
    git(project, &["add", "-A"]);
    let o = commit(project, &pre_commit, "widen users.name");
    assert!(o.status.success(), "the widening knows users.name from 0001:\n{}", text(&o));
    assert!(text(&o).contains("Passed"), "{}", text(&o));
    assert_eq!(commits(project), 4);

    // migrade.toml's exclude holds for the files pre-commit names: a seed that
    // empties a table does not block the commit (before, named files bypassed it).
    write_files(project, &[("migrations/seeds/reset.sql", "DELETE FROM sessions;\n")]);
    git(project, &["add", "-A"]);
    let o = commit(project, &pre_commit, "seed without config");
    assert!(!o.status.success(), "without the exclude the seed is linted and blocks:\n{}", text(&o));
    write_files(project, &[("migrade.toml", "exclude = [\"**/seeds/**\"]\n")]);
    git(project, &["add", "-A"]);
    let o = commit(project, &pre_commit, "seed, excluded");
    assert!(o.status.success(), "the excluded seed does not block:\n{}", text(&o));
    assert_eq!(commits(project), 5);
}

#[test]
fn try_repo_runs_the_hook_on_the_given_files() {
    let Some(pre_commit) = require_tool("pre-commit", "try_repo_runs_the_hook_on_the_given_files") else {
        return;
    };
    // A hook repo of its own: the other test recreates target/precommit/hook-repo.
    let tmp = tempfile::tempdir().unwrap();
    let hook = tmp.path().join("hook");
    git(tmp.path(), &["clone", "-q", "--no-hardlinks", &repo_root().display().to_string(), "hook"]);
    std::fs::copy(repo_root().join(".pre-commit-hooks.yaml"), hook.join(".pre-commit-hooks.yaml")).unwrap();
    git(&hook, &["add", ".pre-commit-hooks.yaml"]);
    if !git(&hook, &["status", "--porcelain"]).trim().is_empty() {
        git(&hook, &["commit", "-q", "-m", "pre-commit hook from the working tree"]);
    }
    let project = tmp.path().join("project");
    std::fs::create_dir(&project).unwrap();
    git(&project, &["init", "-q", "-b", "main"]);
    write_files(&project, &[SAFE, RISKY]);
    git(&project, &["add", "-A"]);

    let try_repo = |files: &[&str]| {
        let mut c = Command::new(&pre_commit);
        c.current_dir(&project).args(["try-repo", &hook.display().to_string(), "migrade", "--files"]).args(files);
        with_env(c).output().expect("run pre-commit try-repo")
    };
    // try-repo builds the hook in a fresh store on every call (about a minute
    // with target/precommit/cargo warm), so one call: the risky file fails, the
    // safe one is linted beside it (pass_filenames), the commit flow above
    // shows a safe file passing on its own.
    let o = try_repo(&[RISKY.0, SAFE.0]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "the risky file fails the hook:\n{out}");
    assert!(out.contains("drop-column") && out.contains("Failed"), "{out}");
    assert!(out.contains("2 files linted: 1 very-high, 0 high, 0 medium, 1 low"), "both files were passed: {out}");
}
