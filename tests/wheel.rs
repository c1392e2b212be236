//! The Python wheel (pyproject.toml, maturin `bindings = "bin"`): built with the real
//! maturin (PyPI), installed into a fresh virtualenv with no cargo on PATH, it lints
//! a fixture. The test builds the dev profile to reuse the test build; the release
//! workflow builds the same package with --release.

mod common;

use common::require_tool;
use std::path::Path;
use std::process::Command;

#[test]
fn wheel_installs_into_a_fresh_virtualenv_and_lints_without_cargo() {
    let Some(maturin) = require_tool("maturin", "wheel_installs_into_a_fresh_virtualenv_and_lints_without_cargo")
    else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let dist = tmp.path().join("dist");
    let o = Command::new(&maturin)
        .args(["build", "--profile", "dev", "--quiet", "-o"])
        .arg(&dist)
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "maturin build: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let wheels: Vec<_> = std::fs::read_dir(&dist).unwrap().filter_map(|e| e.ok()).map(|e| e.path()).collect();
    assert_eq!(wheels.len(), 1, "{wheels:?}");
    let wheel = &wheels[0];
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
