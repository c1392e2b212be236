//! The GitHub Action (`action.yml`, composite):
//!
//! - validated against the action metadata schema by the real
//!   `check-jsonschema --builtin-schema vendor.github-actions` (PyPI);
//! - parsed (PyYAML, from the same virtualenv as pre-commit) to check that no
//!   `run:` script contains a `${{ }}` expression and every input is wired;
//! - run locally as the runner would: each `run:` step in order with
//!   `bash --noprofile --norc -eo pipefail`, the step's `env:` expressions
//!   evaluated, fresh `GITHUB_OUTPUT`/`GITHUB_PATH` files per step, one
//!   `GITHUB_STEP_SUMMARY`, `GITHUB_WORKSPACE` a PR-like git checkout
//!   (a base branch and a branch adding a risky migration) and
//!   `GITHUB_ACTION_PATH` this repository. `uses:` steps (actions/cache) are
//!   skipped; the install step finds the already-built `migrade` on PATH, or
//!   downloads it from a local release site (tests/common/fake_servers.py, the
//!   archive made by scripts/package.sh); the PR comment goes to a local stand-in
//!   for GitHub's REST API.
//!
//! pre-commit's and check-jsonschema's virtualenv comes from
//! `source scripts/python-tools.sh` (scripts/test.sh does it). Without the tools
//! these tests fail, unless `MIGRADE_SKIP_TOOLS=1` (then they say so and skip).
//!
//! Run: `source scripts/python-tools.sh && cargo test --test action`

mod common;

use common::{git, repo_root, require_tool, write_files};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_migrade");

fn action_file() -> PathBuf {
    repo_root().join("action.yml")
}

/// action.yml as JSON, parsed by PyYAML from the pre-commit virtualenv.
fn action_json(test: &str) -> Option<Value> {
    let pre_commit = require_tool("pre-commit", test)?;
    // pre-commit depends on PyYAML: its interpreter has it.
    let venv_python = pre_commit.parent().unwrap().join("python3");
    let python = if venv_python.exists() { venv_python } else { PathBuf::from("python3") };
    let out = Command::new(&python)
        .args([
            "-c",
            "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1], encoding='utf-8')), sys.stdout)",
        ])
        .arg(action_file())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", python.display()));
    assert!(out.status.success(), "PyYAML could not read action.yml: {}", String::from_utf8_lossy(&out.stderr));
    Some(serde_json::from_slice(&out.stdout).expect("JSON from PyYAML"))
}

#[test]
fn action_yml_matches_the_github_actions_schema() {
    let Some(checker) = require_tool("check-jsonschema", "action_yml_matches_the_github_actions_schema") else {
        return;
    };
    let check = |file: &Path| {
        Command::new(&checker)
            .args(["--builtin-schema", "vendor.github-actions"])
            .arg(file)
            .output()
            .expect("run check-jsonschema")
    };
    let out = check(&action_file());
    assert!(
        out.status.success(),
        "action.yml does not match the schema:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The control: the validator does reject a broken action (a composite
    // `run:` step without its required `shell:`).
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(action_file()).unwrap();
    let broken = text.replacen("      shell: bash\n", "", 1);
    assert_ne!(broken, text);
    let bad = tmp.path().join("action.yml");
    std::fs::write(&bad, broken).unwrap();
    let out = check(&bad);
    assert!(!out.status.success(), "check-jsonschema accepted a step without shell:");
}

#[test]
fn no_expression_inside_run_scripts_and_inputs_are_wired() {
    let Some(action) = action_json("no_expression_inside_run_scripts_and_inputs_are_wired") else {
        return;
    };
    assert_eq!(action["runs"]["using"], "composite");
    let steps = action["runs"]["steps"].as_array().expect("steps");
    let mut run_steps = 0;
    for s in steps {
        if let Some(run) = s["run"].as_str() {
            run_steps += 1;
            assert!(!run.contains("${{"), "an expression inside the run: script of {:?}:\n{run}", s["name"]);
            assert_eq!(s["shell"], "bash", "{:?}", s["name"]);
        }
    }
    assert!(run_steps >= 3);
    // Every declared input is passed to a step, and every `inputs.x` used is declared.
    let text = std::fs::read_to_string(action_file()).unwrap();
    let inputs: Vec<&String> = action["inputs"].as_object().unwrap().keys().collect();
    for required in ["paths", "fail-on", "pg-version", "config", "changed-since", "sarif-file"] {
        assert!(inputs.iter().any(|i| *i == required), "input {required} missing");
    }
    assert_eq!(action["inputs"]["paths"]["default"], "migrations");
    assert_eq!(action["inputs"]["fail-on"]["default"], "high");
    for i in &inputs {
        assert!(text.contains(&format!("inputs.{i} ")), "input {i} is never used");
    }
    for used in text.split("inputs.").skip(1) {
        let name: String = used.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
        assert!(inputs.iter().any(|i| **i == name), "inputs.{name} is not declared");
    }
    for out in ["grade", "findings"] {
        assert!(action["outputs"][out]["value"].as_str().is_some_and(|v| v.contains("steps.")), "output {out}");
    }
}

// ---------- running the steps ----------

/// What one local run of the action produced.
struct ActionRun {
    /// Exit code of the step that ended the run (0 when every step passed).
    code: i32,
    /// Which step ended it.
    failed_step: Option<String>,
    stdout: String,
    stderr: String,
    summary: String,
    /// The action's outputs (`outputs.*.value` evaluated).
    outputs: BTreeMap<String, String>,
    /// Steps skipped because they `uses:` another action.
    skipped: Vec<String>,
}

/// Evaluates the `${{ }}` expressions this action uses; panics on anything else,
/// so a new kind of expression cannot slip by untested.
fn eval(s: &str, ctx: &HashMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${{") {
        out.push_str(&rest[..i]);
        let end = rest[i..].find("}}").expect("closed expression") + i;
        let expr = rest[i + 3..end].trim();
        match ctx.get(expr) {
            Some(v) => out.push_str(v),
            // As on GitHub: an output a step did not set is empty.
            None if expr.starts_with("steps.") => {}
            None => panic!("expression `{expr}` is not supported by this test's runner"),
        }
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// Reads a GITHUB_OUTPUT file: `name=value` lines and `name<<DELIM` blocks.
fn read_outputs(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if let Some((k, delim)) = l.split_once("<<") {
            let mut v = Vec::new();
            for l in lines.by_ref() {
                if l == delim {
                    break;
                }
                v.push(l);
            }
            out.insert(k.to_string(), v.join("\n"));
        } else if let Some((k, v)) = l.split_once('=') {
            out.insert(k.to_string(), v.to_string());
        }
    }
    out
}

/// Runs the action's steps in `workspace` with `inputs` (others at their defaults).
/// `bin_dir` holds the `migrade` to put on PATH (None: not on PATH).
fn run_action(
    action: &Value,
    workspace: &Path,
    home: &Path,
    inputs: &[(&str, &str)],
    base_ref: Option<&str>,
    bin_dir: Option<&Path>,
) -> ActionRun {
    run_action_without(action, workspace, home, inputs, base_ref, bin_dir, &["migrade"])
}

/// [`run_action`] with the PATH directories that hold any of `hidden` left out.
fn run_action_without(
    action: &Value,
    workspace: &Path,
    home: &Path,
    inputs: &[(&str, &str)],
    base_ref: Option<&str>,
    bin_dir: Option<&Path>,
    hidden: &[&str],
) -> ActionRun {
    run_action_env(action, workspace, home, inputs, base_ref, bin_dir, hidden, &[])
}

/// [`run_action_without`] with extra environment variables for every step (as the
/// runner's GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_EVENT_PATH).
#[allow(clippy::too_many_arguments)]
fn run_action_env(
    action: &Value,
    workspace: &Path,
    home: &Path,
    inputs: &[(&str, &str)],
    base_ref: Option<&str>,
    bin_dir: Option<&Path>,
    hidden: &[&str],
    env: &[(&str, &str)],
) -> ActionRun {
    let tmp = tempfile::tempdir().unwrap();
    let summary = tmp.path().join("step_summary.md");
    std::fs::write(&summary, "").unwrap();
    let mut ctx: HashMap<String, String> = HashMap::new();
    // The job's token, as `${{ github.token }}` gives it (the fake GitHub API's).
    ctx.insert("github.token".into(), "fake-token".into());
    for (name, spec) in action["inputs"].as_object().unwrap() {
        let v = inputs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.to_string())
            .unwrap_or_else(|| eval(spec["default"].as_str().unwrap_or(""), &ctx));
        ctx.insert(format!("inputs.{name}"), v);
    }
    for (k, _) in inputs {
        assert!(ctx.contains_key(&format!("inputs.{k}")), "no input {k}");
    }
    let root = repo_root();
    ctx.insert("github.action_path".into(), root.display().to_string());
    ctx.insert("runner.os".into(), "Linux".into());
    ctx.insert("runner.arch".into(), "X64".into());

    // PATH: the given migrade first, then the test's PATH without any other migrade.
    let mut path: Vec<PathBuf> = bin_dir.map(Path::to_path_buf).into_iter().collect();
    path.extend(
        std::env::split_paths(&std::env::var_os("PATH").unwrap())
            .filter(|d| hidden.iter().all(|h| !d.join(h).exists())),
    );

    let mut run = ActionRun {
        code: 0,
        failed_step: None,
        stdout: String::new(),
        stderr: String::new(),
        summary: String::new(),
        outputs: BTreeMap::new(),
        skipped: vec![],
    };
    for (n, step) in action["runs"]["steps"].as_array().unwrap().iter().enumerate() {
        let name = step["name"].as_str().unwrap_or("step").to_string();
        let Some(script) = step["run"].as_str() else {
            run.skipped.push(name);
            continue;
        };
        assert!(step.get("if").is_none(), "this test's runner does not evaluate `if:` on run steps ({name})");
        let script_file = tmp.path().join(format!("step{n}.sh"));
        std::fs::write(&script_file, script).unwrap();
        let output_file = tmp.path().join(format!("output{n}"));
        let path_file = tmp.path().join(format!("path{n}"));
        std::fs::write(&output_file, "").unwrap();
        std::fs::write(&path_file, "").unwrap();
        let mut c = Command::new("bash");
        c.args(["--noprofile", "--norc", "-eo", "pipefail"]).arg(&script_file).current_dir(workspace);
        common::isolate_git(&mut c);
        c.env("PATH", std::env::join_paths(&path).unwrap())
            .env("HOME", home)
            .env("CI", "true")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_WORKSPACE", workspace)
            .env("GITHUB_ACTION_PATH", &root)
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_PATH", &path_file)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("GITHUB_EVENT_NAME", if base_ref.is_some() { "pull_request" } else { "push" })
            .env("GITHUB_BASE_REF", base_ref.unwrap_or(""))
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_TEMP", tmp.path())
            .env("NO_COLOR", "1");
        if let (Some(real_home), None) = (std::env::var_os("HOME"), std::env::var_os("PYENV_ROOT")) {
            // A pyenv shim for python3 finds its root from HOME, which is faked here.
            c.env("PYENV_ROOT", Path::new(&real_home).join(".pyenv"));
        }
        for (k, v) in env {
            c.env(k, v);
        }
        if let Some(env) = step["env"].as_object() {
            for (k, v) in env {
                c.env(k, eval(v.as_str().expect("string env"), &ctx));
            }
        }
        let out = c.output().expect("run bash");
        run.stdout.push_str(&String::from_utf8_lossy(&out.stdout));
        run.stderr.push_str(&String::from_utf8_lossy(&out.stderr));
        if let Some(id) = step["id"].as_str() {
            for (k, v) in read_outputs(&output_file) {
                ctx.insert(format!("steps.{id}.outputs.{k}"), v);
            }
        }
        // GITHUB_PATH applies to the steps after this one.
        for line in std::fs::read_to_string(&path_file).unwrap().lines().rev() {
            path.insert(0, PathBuf::from(line));
        }
        let code = out.status.code().unwrap_or(-1);
        if code != 0 {
            run.code = code;
            run.failed_step = Some(name);
            break;
        }
    }
    for (name, spec) in action["outputs"].as_object().unwrap() {
        run.outputs.insert(name.clone(), eval(spec["value"].as_str().unwrap(), &ctx));
    }
    run.summary = std::fs::read_to_string(&summary).unwrap();
    run
}

/// An "upstream" repo: `main` has two migrations (one of them a risky, already
/// deployed DROP COLUMN); branch `feature` adds `feature_file`.
fn upstream(feature_file: (&str, &str)) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    git(d, &["init", "-q", "-b", "main"]);
    write_files(
        d,
        &[
            (
                "migrations/0001_create_users.sql",
                "CREATE TABLE users (\n    id bigint PRIMARY KEY,\n    email text,\n    legacy_id bigint,\n    name varchar(50)\n);\n",
            ),
            ("migrations/0002_drop_legacy_id.sql", "ALTER TABLE users DROP COLUMN legacy_id;\n"),
            ("README.md", "app\n"),
        ],
    );
    git(d, &["add", "-A"]);
    git(d, &["commit", "-q", "-m", "base"]);
    git(d, &["checkout", "-q", "-b", "feature"]);
    write_files(d, &[feature_file]);
    git(d, &["add", "-A"]);
    git(d, &["commit", "-q", "-m", "feature"]);
    tmp
}

const RISKY: (&str, &str) = (
    "migrations/0003_drop_email.sql",
    "-- migrade-ignore: missing-lock-timeout -- the deploy job sets lock_timeout\nALTER TABLE users DROP COLUMN email;\n",
);

/// A dir with a `migrade` link to the built binary.
fn bin_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(BIN, d.path().join("migrade")).unwrap();
    d
}

/// What `migrade lint --format json --changed-since origin/main migrations` says, directly.
fn direct_json(workspace: &Path) -> Value {
    let mut c = Command::new(BIN);
    c.current_dir(workspace).args(["lint", "--format", "json", "--changed-since", "origin/main", "migrations"]);
    common::isolate_git(&mut c);
    serde_json::from_slice(&c.output().unwrap().stdout).unwrap()
}

fn non_ignored(v: &Value) -> usize {
    v["files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["findings"].as_array().unwrap())
        .filter(|x| x["ignored"] == false)
        .count()
}

/// The assertions shared by the full and the shallow checkout of the risky PR.
fn assert_risky_pr(run: &ActionRun, workspace: &Path) {
    let log = format!("stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    // The lint step fails the job with migrade's exit code 1 ...
    assert_eq!(run.code, 1, "{log}");
    assert_eq!(run.failed_step.as_deref(), Some("Lint migrations"), "{log}");
    // ... after annotating the changed file, and only it.
    let annotations: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert!(
        annotations
            .iter()
            .any(|l| l.starts_with("::error file=migrations/0003_drop_email.sql,line=2,") && l.contains("drop-column")),
        "{log}"
    );
    assert!(
        annotations
            .iter()
            .all(|l| l.contains("file=migrations/0003_drop_email.sql")
                || l.starts_with("::notice title=migrade::fetching")),
        "only the PR's file is annotated: {annotations:#?}"
    );
    assert!(!run.stdout.contains("0002_drop_legacy_id"), "the already merged migration is not reported: {log}");
    // The job summary has the markdown table.
    assert!(run.summary.contains("| file | grade |"), "summary:\n{}", run.summary);
    assert!(run.summary.contains("`migrations/0003_drop_email.sql` | **very-high**"), "summary:\n{}", run.summary);
    assert!(!run.summary.contains("0002_drop_legacy_id"));
    // Outputs: the worst grade and the findings not ignored inline.
    let direct = direct_json(workspace);
    let ignored = direct["files"][0]["findings"].as_array().unwrap().iter().filter(|x| x["ignored"] == true).count();
    assert_eq!(ignored, 1, "the fixture has one ignored finding: {direct:#}");
    let expected = non_ignored(&direct);
    assert!(expected >= 1);
    assert_eq!(run.outputs["grade"], "very-high", "{log}");
    assert_eq!(run.outputs["findings"], expected.to_string(), "{log}");
    assert_eq!(run.outputs["exit-code"], "1");
    assert_eq!(run.skipped, ["Cache migrade"], "only the uses: step is skipped");
}

#[test]
fn action_on_a_pull_request_annotates_summarises_and_fails() {
    let Some(action) = action_json("action_on_a_pull_request_annotates_summarises_and_fails") else {
        return;
    };
    let up = upstream(RISKY);
    let clones = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let bin = bin_dir();
    // actions/checkout with fetch-depth: 0: every branch as origin/*.
    let url = format!("file://{}", up.path().display());
    git(clones.path(), &["clone", "-q", "--branch", "feature", &url, "ws"]);
    let ws = clones.path().join("ws");
    let run = run_action(
        &action,
        &ws,
        home.path(),
        &[("sarif-file", "reports/migrade.sarif")],
        Some("main"),
        Some(bin.path()),
    );
    assert_risky_pr(&run, &ws);
    assert!(run.stdout.contains("migrade is already on PATH"), "install skipped: {}", run.stdout);
    // The SARIF file is there for upload-sarif, with results for the changed file only.
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(ws.join("reports/migrade.sarif")).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap();
        assert_eq!(uri, "migrations/0003_drop_email.sql");
    }
    assert!(results.iter().any(|r| r["ruleId"] == "drop-column"));

    // fail-on very-high still fails; changed-since "all" reports the merged file too.
    let run = run_action(&action, &ws, home.path(), &[("changed-since", "all")], Some("main"), Some(bin.path()));
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("file=migrations/0002_drop_legacy_id.sql"), "{}", run.stdout);
    assert!(run.summary.contains("0002_drop_legacy_id"));
    // On a push (no base ref) every file is linted.
    let run = run_action(&action, &ws, home.path(), &[], None, Some(bin.path()));
    assert!(run.stdout.contains("file=migrations/0002_drop_legacy_id.sql"), "{}", run.stdout);
}

#[test]
fn action_in_a_shallow_checkout_fetches_the_base_branch() {
    let Some(action) = action_json("action_in_a_shallow_checkout_fetches_the_base_branch") else {
        return;
    };
    let up = upstream(RISKY);
    let clones = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let bin = bin_dir();
    // actions/checkout's default: one commit, one branch (file:// so --depth applies).
    let url = format!("file://{}", up.path().display());
    git(clones.path(), &["clone", "-q", "--depth", "1", "--branch", "feature", &url, "ws"]);
    let ws = clones.path().join("ws");
    assert_eq!(git(&ws, &["rev-parse", "--is-shallow-repository"]).trim(), "true");
    assert!(common::git_output(&ws, &["rev-parse", "--verify", "--quiet", "origin/main"]).stdout.is_empty());
    let run = run_action(&action, &ws, home.path(), &[], Some("main"), Some(bin.path()));
    assert!(run.stdout.contains("::notice title=migrade::fetching origin/main"), "{}", run.stdout);
    assert_risky_pr(&run, &ws);
}

#[test]
fn action_passes_a_safe_pull_request_with_a_cached_binary() {
    let Some(action) = action_json("action_passes_a_safe_pull_request_with_a_cached_binary") else {
        return;
    };
    let up = upstream((
        "migrations/0003_add_nickname.sql",
        "SET lock_timeout = '5s';\nALTER TABLE users ADD COLUMN nickname text;\n",
    ));
    let clones = tempfile::tempdir().unwrap();
    let url = format!("file://{}", up.path().display());
    git(clones.path(), &["clone", "-q", "--branch", "feature", &url, "ws"]);
    let ws = clones.path().join("ws");
    // install: source, migrade is not on PATH, but the cache step restored the binary
    // built before (as actions/cache would): the install step puts it on GITHUB_PATH
    // instead of building it again.
    let home = tempfile::tempdir().unwrap();
    let cached = home.path().join(".cache/migrade-action/bin");
    std::fs::create_dir_all(&cached).unwrap();
    std::fs::copy(BIN, cached.join("migrade")).unwrap();
    let run = run_action(&action, &ws, home.path(), &[("pg-version", "16"), ("install", "source")], Some("main"), None);
    let log = format!("stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert_eq!(run.code, 0, "{log}");
    assert!(run.stdout.contains("installed migrade"), "{log}");
    assert!(!run.stdout.contains("::error"), "{log}");
    assert_eq!(run.outputs["grade"], "low", "{log}");
    assert_eq!(run.outputs["findings"], "0", "{log}");
    assert_eq!(run.outputs["exit-code"], "0");
    assert!(run.summary.contains("0003_add_nickname.sql") || run.summary.contains("1 file linted"), "{}", run.summary);
    // A bad input is migrade's usage error (exit 2), reported after the outputs are set.
    let run =
        run_action(&action, &ws, home.path(), &[("fail-on", "extreme"), ("install", "source")], Some("main"), None);
    assert_eq!(run.code, 2, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["exit-code"], "2");
    assert_eq!(run.outputs["grade"], "none");
}

#[test]
fn action_reports_a_config_error_and_takes_paths_with_spaces() {
    let Some(action) = action_json("action_reports_a_config_error_and_takes_paths_with_spaces") else {
        return;
    };
    let ws = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let bin = bin_dir();
    write_files(
        ws.path(),
        &[
            ("db/my migrations/0001_users.sql", "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n"),
            ("db/my migrations/0002_drop.sql", "ALTER TABLE users DROP COLUMN email;\n"),
            ("other/0001_x.sql", "SELECT 1;\n"),
        ],
    );
    // One path per line: a path may hold spaces.
    let paths = "db/my migrations\nother\n";
    let run = run_action(&action, ws.path(), home.path(), &[("paths", paths)], None, Some(bin.path()));
    let log = format!("stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert_eq!(run.code, 1, "{log}");
    assert!(run.stdout.contains("file=db/my migrations/0002_drop.sql"), "{log}");
    assert_eq!(run.outputs["grade"], "very-high", "{log}");

    // A config error: an ::error annotation and a line in the job summary, not only the log.
    write_files(ws.path(), &[("migrade.toml", "fail_on = \"extreme\"\n")]);
    let run = run_action(&action, ws.path(), home.path(), &[("paths", paths)], None, Some(bin.path()));
    let log = format!("stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert_eq!(run.code, 2, "{log}");
    let annotation = run.stdout.lines().find(|l| l.starts_with("::error title=migrade could not run::"));
    let annotation = annotation.unwrap_or_else(|| panic!("no annotation: {log}"));
    assert!(annotation.contains("is not a level"), "{annotation}");
    assert!(!annotation.contains('\u{1b}'), "{annotation}");
    assert!(
        run.summary.contains("could not lint every file") && run.summary.contains("is not a level"),
        "{}",
        run.summary
    );
}

// ---------- getting migrade: release download, source build ----------

/// A local server from tests/common/fake_servers.py (127.0.0.1 only), stopped on drop.
struct FakeServer {
    child: std::process::Child,
    url: String,
}

impl FakeServer {
    fn start(kind: &str, arg: &Path) -> FakeServer {
        use std::io::BufRead;
        let script = repo_root().join("tests/common/fake_servers.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(kind)
            .arg(arg)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 for the fake server");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port: u16 = line.trim().parse().unwrap_or_else(|_| panic!("fake {kind} server printed {line:?}"));
        FakeServer { child, url: format!("http://127.0.0.1:{port}") }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The release target of the runner the tests simulate (runner.os Linux, runner.arch X64).
const TARGET: &str = "x86_64-unknown-linux-musl";

/// A release site laid out as GitHub's (`<base>/v<version>/<archive>` and its
/// `.sha256`), its archive made by the release's own scripts/package.sh from `binary`.
fn release_site(binary: &Path) -> tempfile::TempDir {
    let site = tempfile::tempdir().unwrap();
    let dir = site.path().join(format!("v{VERSION}"));
    let o = Command::new(repo_root().join("scripts/package.sh"))
        .arg(binary)
        .args([TARGET, VERSION])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "package.sh: {}", String::from_utf8_lossy(&o.stderr));
    assert!(dir.join(format!("migrade-v{VERSION}-{TARGET}.tar.gz.sha256")).is_file());
    site
}

#[test]
fn action_downloads_the_release_binary_and_checks_its_checksum() {
    let Some(action) = action_json("action_downloads_the_release_binary_and_checks_its_checksum") else {
        return;
    };
    // The test's own build stands in for the static release binary.
    let site = release_site(Path::new(BIN));
    let server = FakeServer::start("release", site.path());
    let up = upstream(RISKY);
    let clones = tempfile::tempdir().unwrap();
    let url = format!("file://{}", up.path().display());
    git(clones.path(), &["clone", "-q", "--branch", "feature", &url, "ws"]);
    let ws = clones.path().join("ws");
    let home = tempfile::tempdir().unwrap();
    let inputs = [("release-url", server.url.as_str())];
    // No migrade and no cargo on PATH: only the download can work.
    let run = run_action_without(&action, &ws, home.path(), &inputs, Some("main"), None, &["migrade", "cargo"]);
    let log = format!("stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let archive = format!("migrade-v{VERSION}-{TARGET}.tar.gz");
    assert!(
        run.stdout
            .contains(&format!("downloaded migrade v{VERSION} for {TARGET} from {}/v{VERSION}/{archive}", server.url)),
        "{log}"
    );
    assert!(run.stdout.contains("verified)"), "{log}");
    assert!(!run.stdout.contains("built from source"), "{log}");
    // The downloaded binary is the one that linted the pull request.
    assert_risky_pr(&run, &ws);

    // A checksum that does not match: a clear error, and nothing from the archive runs.
    let marker = home.path().join("the-download-ran");
    let fake = tempfile::tempdir().unwrap();
    let script = fake.path().join("migrade");
    std::fs::write(&script, format!("#!/bin/sh\ntouch '{}'\n", marker.display())).unwrap();
    let bad = release_site(&script);
    let sums = bad.path().join(format!("v{VERSION}/{archive}.sha256"));
    std::fs::write(&sums, format!("{}  {archive}\n", "0".repeat(64))).unwrap();
    let server = FakeServer::start("release", bad.path());
    let inputs = [("release-url", server.url.as_str())];
    let run = run_action_without(&action, &ws, home.path(), &inputs, Some("main"), None, &["migrade", "cargo"]);
    let log = format!("stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert_eq!(run.code, 2, "{log}");
    assert_eq!(run.failed_step.as_deref(), Some("Prepare migrade"), "{log}");
    let error = run.stdout.lines().find(|l| l.starts_with("::error title=migrade::checksum mismatch"));
    let error = error.unwrap_or_else(|| panic!("no checksum error: {log}"));
    assert!(error.contains(&archive) && error.contains(&"0".repeat(64)) && error.contains("not run"), "{error}");
    assert!(!marker.exists(), "a binary from an archive with a wrong checksum ran");
    assert!(!run.stdout.contains("downloaded migrade"), "{log}");
    assert_eq!(run.outputs["grade"], "", "the lint step did not run: {log}");
}

#[test]
fn action_builds_from_source_when_no_release_matches_or_when_asked() {
    let Some(action) = action_json("action_builds_from_source_when_no_release_matches_or_when_asked") else {
        return;
    };
    let ws = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    // A release site without this version: HTTP 404, so the action builds from source,
    // says so, and without cargo says how to get Rust.
    let empty = tempfile::tempdir().unwrap();
    let server = FakeServer::start("release", empty.path());
    let inputs = [("release-url", server.url.as_str())];
    let run = run_action_without(&action, ws.path(), home.path(), &inputs, None, None, &["migrade", "cargo"]);
    let log = format!("stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(&format!(
            "::notice title=migrade::no release v{VERSION} for {TARGET} at {}/v{VERSION}/migrade-v{VERSION}-{TARGET}.tar.gz (HTTP 404): building migrade from source",
            server.url
        )),
        "{log}"
    );
    assert_eq!(run.code, 2, "{log}");
    assert_eq!(run.failed_step.as_deref(), Some("Install migrade"), "{log}");
    assert!(run.stdout.contains("::error title=migrade::cargo is not on PATH"), "{log}");

    // install: source never downloads (the site has the release; it is not used).
    let site = release_site(Path::new(BIN));
    let server = FakeServer::start("release", site.path());
    let inputs = [("release-url", server.url.as_str()), ("install", "source")];
    let run = run_action_without(&action, ws.path(), home.path(), &inputs, None, None, &["migrade", "cargo"]);
    let log = format!("stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains(&format!("install: source: building migrade {VERSION} from source")), "{log}");
    assert!(!run.stdout.contains("downloaded migrade"), "{log}");
    assert_eq!(run.failed_step.as_deref(), Some("Install migrade"), "{log}");

    // A release site that cannot be reached is an error, not a silent 10-minute build.
    let inputs = [("release-url", "http://127.0.0.1:9")];
    let run = run_action_without(&action, ws.path(), home.path(), &inputs, None, None, &["migrade", "cargo"]);
    let log = format!("stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert_eq!(run.failed_step.as_deref(), Some("Prepare migrade"), "{log}");
    assert!(run.stdout.contains("::error title=migrade::could not download http://127.0.0.1:9/"), "{log}");
    assert!(run.stdout.contains("set install: source"), "{log}");
}

// ---------- the PR comment ----------

/// The requests the fake GitHub API logged: (method, path, body).
fn api_log(path: &Path) -> Vec<(String, String, Value)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["method"].as_str().unwrap().to_string(), v["path"].as_str().unwrap().to_string(), v["body"].clone())
        })
        .collect()
}

#[test]
fn action_posts_one_pr_comment_and_updates_it() {
    let Some(action) = action_json("action_posts_one_pr_comment_and_updates_it") else {
        return;
    };
    let up = upstream(RISKY);
    let clones = tempfile::tempdir().unwrap();
    let url = format!("file://{}", up.path().display());
    git(clones.path(), &["clone", "-q", "--branch", "feature", &url, "ws"]);
    let ws = clones.path().join("ws");
    let home = tempfile::tempdir().unwrap();
    let bin = bin_dir();
    let tmp = tempfile::tempdir().unwrap();
    let log_file = tmp.path().join("api.jsonl");
    let api = FakeServer::start("github", &log_file);
    let event = tmp.path().join("event.json");
    std::fs::write(&event, r#"{"action": "synchronize", "number": 7, "pull_request": {"number": 7}}"#).unwrap();
    let env = [
        ("GITHUB_API_URL", api.url.as_str()),
        ("GITHUB_REPOSITORY", "octo/app"),
        ("GITHUB_EVENT_PATH", event.to_str().unwrap()),
    ];
    let run_with = |inputs: &[(&str, &str)]| {
        run_action_env(&action, &ws, home.path(), inputs, Some("main"), Some(bin.path()), &["migrade"], &env)
    };

    // Off by default: no request at all.
    let run = run_with(&[]);
    assert_eq!(run.code, 1);
    assert!(api_log(&log_file).is_empty(), "{:?}", api_log(&log_file));

    // First run: one new comment with the markdown report; the job still fails on the grade.
    let run = run_with(&[("comment", "true")]);
    let log = format!("stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert_risky_pr(&run, &ws);
    assert!(
        run.stdout.contains("migrade: posted the PR comment https://github.example/octo/app/pull/7#issuecomment-5000"),
        "{log}"
    );
    let first = api_log(&log_file);
    let posts: Vec<_> = first.iter().filter(|(m, _, _)| m == "POST").collect();
    assert_eq!(posts.len(), 1, "{first:?}");
    assert_eq!(posts[0].1, "/repos/octo/app/issues/7/comments");
    let body = posts[0].2["body"].as_str().unwrap();
    assert!(body.starts_with("<!-- migrade-report -->\n"), "{body}");
    assert!(body.contains("`migrations/0003_drop_email.sql` | **very-high**"), "{body}");
    // The 120 comments of others were read over two pages.
    assert!(first.iter().any(|(m, p, _)| m == "GET" && p.ends_with("per_page=100&page=2")), "{first:?}");

    // Second run: the same comment is updated, none added.
    let run = run_with(&[("comment", "true")]);
    let log = format!("stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("migrade: updated the PR comment"), "{log}");
    let second: Vec<_> = api_log(&log_file).into_iter().skip(first.len()).collect();
    assert!(second.iter().all(|(m, _, _)| m != "POST"), "{second:?}");
    let patches: Vec<_> = second.iter().filter(|(m, _, _)| m == "PATCH").collect();
    assert_eq!(patches.len(), 1, "{second:?}");
    assert_eq!(patches[0].1, "/repos/octo/app/issues/comments/5000");
    assert!(patches[0].2["body"].as_str().unwrap().starts_with("<!-- migrade-report -->"));

    // A token without the right (a fork's): a warning, and the job's result is migrade's own.
    let run = run_with(&[("comment", "true"), ("github-token", "read-only")]);
    let log = format!("stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert_eq!(run.code, 1, "{log}");
    assert!(run.stderr.contains("HTTP 401"), "{log}");
    assert!(run.stdout.contains("::warning title=migrade::the PR comment could not be posted"), "{log}");
    assert_eq!(run.outputs["grade"], "very-high");
}
#[test]
fn readme_example_uses_the_action_inputs() {
    // README.md shows a workflow that uses this action; its `with:` keys are real inputs.
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let text = std::fs::read_to_string(action_file()).unwrap();
    assert!(readme.contains("fetch-depth: 0"));
    assert!(readme.contains("github/codeql-action/upload-sarif"));
    assert!(
        readme.contains(&format!("migrade/migrade@v{VERSION}")),
        "the README pins the release the action downloads"
    );
    let mut in_with = false;
    for line in readme.lines() {
        let t = line.trim();
        if t == "with:" {
            in_with = true;
            continue;
        }
        if in_with {
            match t.split_once(':') {
                Some((k, _)) if !k.is_empty() && !k.contains(' ') && !k.starts_with('#') && !k.starts_with('-') => {
                    if ["sarif_file", "fetch-depth", "category"].contains(&k) {
                        continue;
                    }
                    assert!(text.contains(&format!("\n  {k}:\n")), "README uses an unknown input `{k}`");
                }
                _ => in_with = false,
            }
        }
    }
}
