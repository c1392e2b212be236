//! `--format sarif`: SARIF 2.1.0 (placeholder until the serde-sarif writer lands).
pub fn render(_run: &super::RunReport) -> String {
    String::new()
}
