//! Security findings: a committed secret is reported but never printed, in any
//! output format; placeholders are not secrets.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_migrade");
const SECRETS: [&str; 3] = ["hunter2", "correct-horse", "Tr0ub4dor"];

#[test]
fn secrets_never_appear_in_any_format() {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/rules/security.sql");
    let text = std::fs::read_to_string(file).unwrap();
    for s in SECRETS {
        assert!(text.contains(s), "the fixture must contain {s}");
    }
    for format in ["human", "json", "sarif", "github", "markdown", "gcc"] {
        let out = Command::new(BIN)
            .args(["lint", "--no-config", "--format", format, file])
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(all.contains("hardcoded-secret"), "{format}: the finding is reported\n{all}");
        for s in SECRETS {
            assert!(!all.contains(s), "{format} output prints the secret {s}");
        }
    }
}

#[test]
fn security_group_can_be_switched_off() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("migrade.toml"), "[tags]\nsecurity = \"off\"\n").unwrap();
    let sql = dir.path().join("0001_role.sql");
    std::fs::write(&sql, "CREATE ROLE app LOGIN PASSWORD 'hunter2';\nGRANT ALL ON t TO PUBLIC;\n").unwrap();
    let out =
        Command::new(BIN).current_dir(dir.path()).args(["lint", "--format", "json", "0001_role.sql"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules: Vec<&str> =
        v["files"][0]["findings"].as_array().unwrap().iter().map(|x| x["rule"].as_str().unwrap()).collect();
    assert!(!rules.contains(&"hardcoded-secret") && !rules.contains(&"grant-to-public"), "{rules:?}");
    let out = Command::new(BIN)
        .current_dir(dir.path())
        .args(["lint", "--no-config", "--format", "json", "0001_role.sql"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules: Vec<&str> =
        v["files"][0]["findings"].as_array().unwrap().iter().map(|x| x["rule"].as_str().unwrap()).collect();
    assert!(rules.contains(&"hardcoded-secret") && rules.contains(&"grant-to-public"), "{rules:?}");
    let listing = Command::new(BIN).args(["rules"]).output().unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    let tagged = listing.lines().filter(|l| l.ends_with("[security]")).count();
    assert_eq!(tagged, 7, "{listing}");
}
