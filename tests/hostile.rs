//! Hostile and broken input, end to end through the binary with `--format json`:
//! every case names the file (and the line where there is one), the rest of the run
//! is unaffected (a good file beside it is still reported), operational errors exit 2,
//! and nothing panics. Fixed inputs live in `fixtures/hostile/`; large ones are made
//! in a temporary folder at test time.

use serde_json::Value;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

const BIN: &str = env!("CARGO_BIN_EXE_migrade");
const GOOD: &str = "CREATE TABLE good (id bigint PRIMARY KEY);\n";

struct Run {
    json: Value,
    code: i32,
    stderr: String,
}

fn lint_args<S: AsRef<OsStr>>(extra: &[&str], paths: &[S]) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.args(["lint", "--format", "json", "--no-config"]).args(extra).env("NO_COLOR", "1");
    for p in paths {
        cmd.arg(p);
    }
    let out = cmd.output().expect("run migrade");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let code = out.status.code().unwrap_or(-1);
    assert!(!stderr.contains("panicked"), "migrade panicked:\n{stderr}");
    assert_ne!(code, 101, "migrade panicked:\n{stderr}");
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {stderr}", String::from_utf8_lossy(&out.stdout)));
    Run { json, code, stderr }
}

fn lint<S: AsRef<OsStr>>(paths: &[S]) -> Run {
    lint_args(&[], paths)
}

/// A temporary folder with `0001_good.sql` and the given files.
fn folder(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("0001_good.sql"), GOOD).unwrap();
    for (name, bytes) in files {
        fs::write(dir.path().join(name), bytes).unwrap();
    }
    dir
}

fn hostile_fixture(name: &str) -> Vec<u8> {
    fs::read(format!("{}/fixtures/hostile/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn find_file<'a>(v: &'a Value, suffix: &str) -> Option<&'a Value> {
    v["files"].as_array().unwrap().iter().find(|f| f["path"].as_str().unwrap().ends_with(suffix))
}

fn file<'a>(v: &'a Value, suffix: &str) -> &'a Value {
    find_file(v, suffix).unwrap_or_else(|| panic!("no file {suffix} in {v:#}"))
}

/// The good file beside the hostile one is still linted and reported.
fn assert_good_reported(r: &Run) {
    let g = file(&r.json, "0001_good.sql");
    assert_eq!(g["grade"], "low", "{g:#}");
    assert_eq!(g["statements"].as_array().unwrap().len(), 1, "{g:#}");
}

/// The operational error reported for a path, in the JSON and on stderr.
fn error_for<'a>(r: &'a Run, suffix: &str) -> &'a str {
    let e = r.json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"].as_str().unwrap().ends_with(suffix))
        .unwrap_or_else(|| panic!("no error for {suffix}: {:#}\nstderr: {}", r.json, r.stderr));
    assert!(
        r.stderr.lines().any(|l| l.starts_with("error: ") && l.contains(suffix)),
        "stderr does not name {suffix}: {}",
        r.stderr
    );
    e["message"].as_str().unwrap()
}

fn findings<'a>(f: &'a Value, rule: &str) -> Vec<&'a Value> {
    f["findings"].as_array().unwrap().iter().filter(|x| x["rule"] == rule).collect()
}

fn one_finding<'a>(f: &'a Value, rule: &str) -> &'a Value {
    let found = findings(f, rule);
    assert_eq!(found.len(), 1, "expected one {rule} finding in {f:#}");
    found[0]
}

#[test]
fn invalid_utf8_reports_byte_offset_and_line() {
    let dir = folder(&[("0002_latin1.sql", &hostile_fixture("invalid_utf8.sql"))]);
    let r = lint(&[dir.path()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let msg = error_for(&r, "0002_latin1.sql");
    // "SELECT 1;\n-- caf" is 16 bytes: the Latin-1 é is at byte offset 16, on line 2.
    assert!(msg.contains("invalid UTF-8"), "{msg}");
    assert!(msg.contains("byte offset 16"), "{msg}");
    assert!(msg.contains("line 2"), "{msg}");
    assert!(find_file(&r.json, "0002_latin1.sql").is_none(), "a file that is not UTF-8 is not guessed at");
    assert_good_reported(&r);
}

#[test]
fn binary_file_named_sql() {
    let mut elf = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00".to_vec();
    elf.extend((0..4096u32).map(|i| (i * 7 % 256) as u8));
    let dir = folder(&[("0002_binary.sql", &elf)]);
    let r = lint(&[dir.path()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let msg = error_for(&r, "0002_binary.sql");
    assert!(msg.contains("binary file"), "{msg}");
    assert!(msg.contains("byte offset 7"), "{msg}");
    assert_good_reported(&r);
}

#[test]
fn empty_file_is_linted_with_no_statements() {
    let dir = folder(&[("0002_empty.sql", b"")]);
    let r = lint(&[dir.path()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let f = file(&r.json, "0002_empty.sql");
    assert_eq!(f["grade"], "low");
    assert!(f["statements"].as_array().unwrap().is_empty(), "{f:#}");
    assert!(f["findings"].as_array().unwrap().is_empty(), "{f:#}");
    assert!(r.json["errors"].as_array().unwrap().is_empty());
    assert_good_reported(&r);
}

#[test]
fn comment_only_file_has_no_statements() {
    let text = b"-- nothing to do in this migration\n/* a block\n   comment /* nested */ */\n\n-- end\n";
    let dir = folder(&[("0002_comments.sql", text)]);
    let r = lint(&[dir.path()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let f = file(&r.json, "0002_comments.sql");
    assert_eq!(f["grade"], "low");
    assert!(f["statements"].as_array().unwrap().is_empty(), "{f:#}");
    assert!(f["findings"].as_array().unwrap().is_empty(), "{f:#}");
    assert_good_reported(&r);
}

/// Writes `size` bytes of real migration SQL (whole statements, then comment padding).
fn write_sql_of_size(path: &Path, size: usize) {
    let stmt = format!(
        "INSERT INTO good (id) VALUES {};\n",
        (0..200).map(|i| format!("({i})")).collect::<Vec<_>>().join(", ")
    );
    let mut text = String::with_capacity(size + stmt.len());
    text.push_str("CREATE TABLE good2 (id bigint);\n");
    while text.len() + stmt.len() < size {
        text.push_str(&stmt);
    }
    while text.len() < size {
        let pad = (size - text.len()).min(80);
        text.push_str("--");
        text.push_str(&"-".repeat(pad.saturating_sub(3)));
        text.push('\n');
        if pad < 3 {
            text.truncate(size);
        }
    }
    fs::write(path, text).unwrap();
}

#[test]
fn file_over_the_default_size_limit_is_skipped_with_a_clear_message() {
    let dir = folder(&[]);
    let big = dir.path().join("0002_huge.sql");
    write_sql_of_size(&big, 100 * 1024 * 1024);
    let r = lint(&[dir.path()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let msg = error_for(&r, "0002_huge.sql");
    assert!(msg.contains("104857600 bytes"), "{msg}");
    assert!(msg.contains("16777216-byte limit"), "names the limit: {msg}");
    assert!(msg.contains("--max-file-size"), "names the flag: {msg}");
    assert!(find_file(&r.json, "0002_huge.sql").is_none());
    assert_good_reported(&r);
}

#[test]
fn file_under_a_raised_size_limit_is_linted() {
    let dir = folder(&[]);
    let big = dir.path().join("0002_large.sql");
    write_sql_of_size(&big, 20_000_000);
    let r = lint_args(&["--max-file-size", "30000000"], &[dir.path()]);
    assert_ne!(r.code, 2, "{}", r.stderr);
    assert!(r.json["errors"].as_array().unwrap().is_empty(), "{:#}", r.json["errors"]);
    let f = file(&r.json, "0002_large.sql");
    let n = f["statements"].as_array().unwrap().len();
    assert!(n > 10_000, "{n} statements");
    assert_good_reported(&r);
}

fn is_root() -> bool {
    // Effective uid 0: permissions do not stop root from reading a file.
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(2) == Some("0")))
        .unwrap_or(false)
}

#[cfg(unix)]
#[test]
fn unreadable_file_is_reported_and_skipped() {
    use std::os::unix::fs::PermissionsExt;
    let dir = folder(&[("0002_secret.sql", b"DROP TABLE good;\n")]);
    let secret = dir.path().join("0002_secret.sql");
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o000)).unwrap();
    // A file that nobody can read, root included: reading /proc/self/mem at offset 0 fails (EIO).
    std::os::unix::fs::symlink("/proc/self/mem", dir.path().join("0003_eio.sql")).unwrap();
    let r = lint(&[dir.path()]);
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(r.code, 2, "{}", r.stderr);
    let msg = error_for(&r, "0003_eio.sql");
    assert!(msg.contains("cannot read"), "{msg}");
    if is_root() {
        println!("running as root: chmod 000 does not stop root from reading, so the permission case is not asserted");
    } else {
        let msg = error_for(&r, "0002_secret.sql");
        assert!(msg.contains("cannot read") && msg.contains("ermission denied"), "{msg}");
        assert!(find_file(&r.json, "0002_secret.sql").is_none());
    }
    assert_good_reported(&r);
}

#[cfg(unix)]
#[test]
fn fifo_and_directory_named_sql_do_not_hang_or_crash() {
    let dir = folder(&[]);
    let fifo = dir.path().join("0002_pipe.sql");
    let status = Command::new("mkfifo").arg(&fifo).status();
    fs::create_dir(dir.path().join("0003_folder.sql")).unwrap();
    if !status.is_ok_and(|s| s.success()) {
        println!("mkfifo unavailable: the FIFO case is not run");
        return;
    }
    // Walked: a FIFO is not a regular file and is not opened (opening it would block).
    let r = lint(&[dir.path()]);
    assert_good_reported(&r);
    // Named on the command line: reported as an operational error.
    let r = lint(&[fifo.as_path(), &dir.path().join("0001_good.sql")]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let msg = error_for(&r, "0002_pipe.sql");
    assert!(msg.contains("not a regular file"), "{msg}");
    assert_good_reported(&r);
}

#[cfg(unix)]
#[test]
fn symlink_loop_is_reported_and_skipped() {
    let dir = folder(&[]);
    let d = dir.path();
    std::os::unix::fs::symlink("0003_loop_b.sql", d.join("0002_loop_a.sql")).unwrap();
    std::os::unix::fs::symlink("0002_loop_a.sql", d.join("0003_loop_b.sql")).unwrap();
    fs::create_dir(d.join("sub")).unwrap();
    std::os::unix::fs::symlink("..", d.join("sub/back")).unwrap();
    let r = lint(&[d]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    for name in ["0002_loop_a.sql", "0003_loop_b.sql"] {
        let msg = error_for(&r, name).to_lowercase();
        assert!(msg.contains("symbolic link"), "{name}: {msg}");
    }
    let msg = error_for(&r, "sub/back");
    assert!(msg.contains("symbolic link loop"), "{msg}");
    assert_good_reported(&r);
    // Named on the command line.
    let r = lint(&[d.join("0002_loop_a.sql"), d.join("0001_good.sql")]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let msg = error_for(&r, "0002_loop_a.sql");
    assert!(msg.contains("symbolic link"), "{msg}");
    assert_good_reported(&r);
}

#[test]
fn missing_path_is_reported() {
    let dir = folder(&[]);
    let missing = dir.path().join("0009_not_there.sql");
    let r = lint(&[missing.as_path(), &dir.path().join("0001_good.sql")]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let msg = error_for(&r, "0009_not_there.sql");
    assert!(msg.contains("No such file") && msg.contains("check the path"), "{msg}");
    assert_good_reported(&r);
}

#[test]
fn directory_with_no_sql_files_is_reported() {
    let dir = folder(&[]);
    let empty = tempfile::tempdir().unwrap();
    fs::write(empty.path().join("README.md"), "no migrations here\n").unwrap();
    fs::create_dir(empty.path().join("nested")).unwrap();
    let r = lint(&[empty.path(), dir.path()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let name = empty.path().file_name().unwrap().to_string_lossy().to_string();
    let msg = error_for(&r, &name);
    assert!(msg.contains("no migration files found"), "{msg}");
    assert!(msg.contains("--include"), "names the flag: {msg}");
    assert_good_reported(&r);
}

#[test]
fn crlf_line_endings_give_correct_lines() {
    let text = "SELECT 1;\r\n\r\n-- third line\r\nSELECT 2; ALTER TABLE good ADD COLUMN x int NOT NULL;\r\n";
    let dir = folder(&[("0002_crlf.sql", text.as_bytes())]);
    let r = lint(&[dir.path()]);
    let f = file(&r.json, "0002_crlf.sql");
    let x = one_finding(f, "add-column-not-null-without-default");
    assert_eq!((x["line"].as_u64(), x["column"].as_u64()), (Some(4), Some(11)), "{x:#}");
    let s = &f["statements"][2];
    assert_eq!((s["line"].as_u64(), s["end_line"].as_u64(), s["end_column"].as_u64()), (Some(4), Some(4), Some(53)));
    assert_good_reported(&r);
}

#[test]
fn lone_cr_line_endings_give_correct_lines() {
    let text = "SELECT 1;\r\r-- third line\rSELECT 2; ALTER TABLE good ADD COLUMN x int NOT NULL;\r";
    let dir = folder(&[("0002_cr.sql", text.as_bytes())]);
    let r = lint(&[dir.path()]);
    let f = file(&r.json, "0002_cr.sql");
    let x = one_finding(f, "add-column-not-null-without-default");
    assert_eq!((x["line"].as_u64(), x["column"].as_u64()), (Some(4), Some(11)), "{x:#}");
    assert_good_reported(&r);
}

#[test]
fn utf8_bom_is_not_counted() {
    let text = "\u{feff}ALTER TABLE good ADD COLUMN x int NOT NULL;\nALTER TABLE good ADD COLUMN y int NOT NULL;\n";
    let dir = folder(&[("0002_bom.sql", text.as_bytes())]);
    let r = lint(&[dir.path()]);
    let f = file(&r.json, "0002_bom.sql");
    let xs = findings(f, "add-column-not-null-without-default");
    let pos: Vec<_> = xs.iter().map(|x| (x["line"].as_u64().unwrap(), x["column"].as_u64().unwrap())).collect();
    assert_eq!(pos, vec![(1, 1), (2, 1)], "{f:#}");
    assert_eq!(f["statements"][0]["summary"], "ALTER TABLE good ADD COLUMN");
    assert_good_reported(&r);
}

#[test]
fn no_break_space_between_tokens_is_named_with_its_position() {
    let text = "SELECT 1;\nALTER TABLE good\u{a0}ADD COLUMN q int;\n";
    let dir = folder(&[("0002_nbsp.sql", text.as_bytes())]);
    let r = lint(&[dir.path()]);
    let f = file(&r.json, "0002_nbsp.sql");
    let x = one_finding(f, "unparsable-statement");
    assert_eq!(x["line"], 2, "{x:#}");
    let msg = x["message"].as_str().unwrap();
    assert!(msg.contains("U+00A0"), "{msg}");
    assert!(msg.contains("line 2, column 17"), "{msg}");
    assert_good_reported(&r);
}

#[test]
fn ten_thousand_nested_parentheses() {
    let text = format!("SELECT 1;\nSELECT {}1{};\n", "(".repeat(10_000), ")".repeat(10_000));
    let dir = folder(&[("0002_nested.sql", text.as_bytes())]);
    let r = lint(&[dir.path()]);
    assert_ne!(r.code, 2, "{}", r.stderr);
    let f = file(&r.json, "0002_nested.sql");
    assert_eq!(f["statements"].as_array().unwrap().len(), 2, "{f:#}");
    let x = one_finding(f, "unparsable-statement");
    assert_eq!(x["line"], 2, "{x:#}");
    assert_eq!(x["statement"], 1, "{x:#}");
    assert_good_reported(&r);
}

#[test]
fn deep_expressions_do_not_crash() {
    // Deep trees that PostgreSQL's grammar accepts: left-deep sums and nested calls.
    let sum = format!("UPDATE good SET id = {};\n", vec!["1"; 20_000].join(" + "));
    let calls = format!("ALTER TABLE good ADD COLUMN c int DEFAULT {}1{};\n", "abs(".repeat(1_000), ")".repeat(1_000));
    let dir = folder(&[("0002_sum.sql", sum.as_bytes()), ("0003_calls.sql", calls.as_bytes())]);
    let r = lint(&[dir.path()]);
    assert_ne!(r.code, 2, "{}", r.stderr);
    for name in ["0002_sum.sql", "0003_calls.sql"] {
        let f = file(&r.json, name);
        assert_eq!(f["statements"].as_array().unwrap().len(), 1, "{name}: {f:#}");
    }
    assert_good_reported(&r);
}

#[test]
fn unterminated_dollar_quote_names_the_line_where_it_starts() {
    let text = "SELECT 1;\n\nCREATE FUNCTION f() RETURNS int AS $body$\n  SELECT 1;\n-- never closed\n";
    let dir = folder(&[("0002_dollar.sql", text.as_bytes())]);
    let r = lint(&[dir.path()]);
    let f = file(&r.json, "0002_dollar.sql");
    let x = one_finding(f, "unparsable-statement");
    assert_eq!(x["line"], 3, "{x:#}");
    let msg = x["message"].as_str().unwrap();
    assert!(msg.contains("unterminated dollar-quoted string starting at line 3, column 36"), "{msg}");
    assert_good_reported(&r);
}

#[test]
fn unterminated_block_comment_names_the_line_where_it_starts() {
    let text = "SELECT 1;\nSELECT 2;\n  /* opened here\nDROP TABLE good;\n";
    let dir = folder(&[("0002_comment.sql", text.as_bytes())]);
    let r = lint(&[dir.path()]);
    let f = file(&r.json, "0002_comment.sql");
    let x = one_finding(f, "unparsable-statement");
    assert_eq!((x["line"].as_u64(), x["column"].as_u64()), (Some(3), Some(3)), "{x:#}");
    let msg = x["message"].as_str().unwrap();
    assert!(msg.contains("unterminated /* comment starting at line 3, column 3"), "{msg}");
    assert_good_reported(&r);
}

#[test]
fn one_megabyte_single_line() {
    let prefix = format!("INSERT INTO good (id) SELECT length('{}'); ", "x".repeat(1_000_000));
    let text = format!("{prefix}ALTER TABLE good ADD COLUMN x int NOT NULL;");
    assert!(!text.contains('\n'));
    let dir = folder(&[("0002_long_line.sql", text.as_bytes())]);
    let r = lint(&[dir.path()]);
    let f = file(&r.json, "0002_long_line.sql");
    assert_eq!(f["statements"].as_array().unwrap().len(), 2, "{}", f["statements"]);
    let x = one_finding(f, "add-column-not-null-without-default");
    assert_eq!((x["line"].as_u64(), x["column"].as_u64()), (Some(1), Some(prefix.len() as u64 + 1)));
    assert_good_reported(&r);
}

/// Path, size, modification time and content of everything under a folder.
fn snapshot(root: &Path) -> Vec<(PathBuf, u64, SystemTime, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let meta = fs::symlink_metadata(&d).unwrap();
        out.push((d.clone(), meta.len(), meta.modified().unwrap(), vec![]));
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), m.len(), m.modified().unwrap(), fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            fs::copy(e.path(), &target).unwrap();
        }
    }
}

#[test]
fn never_writes_to_the_files_it_lints() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    for sub in ["example", "grades", "history", "rules", "hostile"] {
        copy_tree(&fixtures.join(sub), &dir.path().join(sub));
    }
    let before = snapshot(dir.path());
    for format in ["json", "human", "sarif", "github", "markdown", "gcc"] {
        let out = Command::new(BIN)
            .current_dir(dir.path())
            .args(["lint", "--no-config", "--format", format, "."])
            .output()
            .expect("run migrade");
        assert_ne!(out.status.code(), Some(101), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let after = snapshot(dir.path());
    assert_eq!(before.len(), after.len(), "files were added or removed");
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b.0, a.0, "files were added or removed");
        assert_eq!((b.1, b.2), (a.1, a.2), "{} changed (size or mtime)", b.0.display());
        assert!(b.3 == a.3, "{} changed content", b.0.display());
    }
}

/// Every file in `fixtures/hostile/` (fuzzer finds included) lints through the binary
/// without a panic, and each one is either reported or named in an error.
#[test]
fn every_hostile_fixture_lints_without_panicking() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/hostile");
    let r = lint(&[&dir]);
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    names.sort();
    assert!(!names.is_empty());
    for n in &names {
        let in_files = find_file(&r.json, n).is_some();
        let in_errors = r.json["errors"].as_array().unwrap().iter().any(|e| e["path"].as_str().unwrap().ends_with(n));
        assert!(in_files || in_errors, "{n} is neither reported nor named in an error");
    }
}

/// The fuzz targets' checks, run on every hostile fixture through the library:
/// split spans are in bounds, on char boundaries, ordered and non-overlapping, and
/// lint_unit does not panic (fuzz/fuzz_targets/{split,lint_file}.rs).
#[test]
fn hostile_fixtures_keep_the_fuzz_invariants() {
    use migrade::lint::{Settings, lint_unit};
    use migrade::model::Direction;
    use migrade::schema::Schema;
    use migrade::unit::{TxWrap, Unit};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/hostile");
    for e in fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let Ok(text) = String::from_utf8(fs::read(&p).unwrap()) else {
            continue;
        };
        let sp = migrade::split::split(&text);
        let mut prev = 0;
        for s in &sp.statements {
            assert!(s.start < s.end && s.end <= text.len(), "{}: {s:?}", p.display());
            assert!(s.start <= s.body_end && s.body_end <= s.end, "{}: {s:?}", p.display());
            for o in [s.start, s.body_end, s.end] {
                assert!(text.is_char_boundary(o), "{}: {s:?}", p.display());
            }
            assert!(s.start >= prev, "{}: statements overlap at {s:?}", p.display());
            prev = s.end;
        }
        for c in &sp.comments {
            assert!(c.start <= c.end && c.end <= text.len(), "{}: {c:?}", p.display());
            assert!(text.is_char_boundary(c.start) && text.is_char_boundary(c.end), "{}: {c:?}", p.display());
        }
        let unit = Unit::plain(p.to_string_lossy().to_string(), text.as_str(), Direction::Up, TxWrap::Never);
        let report = lint_unit(&unit, &mut Schema::default(), &Settings::default());
        for f in &report.findings {
            assert!(f.span.start <= f.span.end && f.span.end <= text.len(), "{}: {:?}", p.display(), f.span);
        }
    }
}
