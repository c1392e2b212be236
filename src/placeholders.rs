//! Template placeholders that migration tools substitute before running a file:
//! Flyway/Liquibase `${name}`, Jinja-style `{{ name }}`, psql variables `:name`,
//! `:'name'`, `:"name"`. They are not SQL, so before parsing they are replaced,
//! byte for byte (offsets stay exact), by something the grammar accepts:
//! an identifier of underscores, a string of `$`, or a quoted identifier.

/// A string literal's value is a placeholder, not a real value (e.g. not a secret).
pub fn is_placeholder_value(v: &str) -> bool {
    let t = v.trim();
    t.is_empty()
        || t.contains("${")
        || t.contains("{{")
        || t.starts_with(':')
        || t.chars().all(|c| c == '$')
        || (t.starts_with('%') && t.ends_with('%') && t.len() > 2)
}

/// Returns the statement with placeholders outside string literals replaced,
/// or None when there are none.
pub fn neutralize(sql: &str) -> Option<String> {
    if !(sql.contains("${") || sql.contains("{{") || sql.contains(':')) {
        return None;
    }
    let b = sql.as_bytes();
    let mut out: Vec<u8> = b.to_vec();
    let mut changed = false;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\'' => {
                i += 1;
                while i < b.len() {
                    if b[i] == b'\'' {
                        if b.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += 1;
                }
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'$' if b.get(i + 1) == Some(&b'{') => {
                if let Some(end) = sql[i..].find('}') {
                    for o in &mut out[i..i + end + 1] {
                        *o = b'_';
                    }
                    changed = true;
                    i += end + 1;
                } else {
                    i += 1;
                }
            }
            b'$' => {
                // A dollar-quoted body: skip it whole.
                let tag_end = sql[i + 1..].find('$').map(|p| i + 1 + p);
                match tag_end {
                    Some(te)
                        if sql[i + 1..te].chars().all(|c| c.is_alphanumeric() || c == '_')
                            && !sql[i + 1..te].starts_with(|c: char| c.is_ascii_digit()) =>
                    {
                        let tag = &sql[i..=te];
                        match sql[te + 1..].find(tag) {
                            Some(p) => i = te + 1 + p + tag.len(),
                            None => i = b.len(),
                        }
                    }
                    _ => i += 1,
                }
            }
            b'{' if b.get(i + 1) == Some(&b'{') => {
                if let Some(end) = sql[i..].find("}}") {
                    for o in &mut out[i..i + end + 2] {
                        *o = b'_';
                    }
                    changed = true;
                    i += end + 2;
                } else {
                    i += 1;
                }
            }
            b':' if i == 0 || b[i - 1] != b':' => {
                let next = b.get(i + 1).copied();
                match next {
                    Some(b'\'') | Some(b'"') => {
                        let q = next.unwrap_or(b'\'');
                        if let Some(p) = sql[i + 2..].find(q as char) {
                            let end = i + 2 + p; // closing quote
                            let fill = if q == b'\'' { b'$' } else { b'_' };
                            out[i] = q;
                            for o in &mut out[i + 1..end] {
                                *o = fill;
                            }
                            out[end] = q;
                            changed = true;
                            i = end + 1;
                        } else {
                            i += 1;
                        }
                    }
                    Some(c) if c.is_ascii_alphabetic() || c == b'_' => {
                        // `::type` casts were excluded above; `:name` is a psql variable.
                        if b.get(i + 1) != Some(&b':') {
                            out[i] = b'_';
                            changed = true;
                        }
                        i += 1;
                    }
                    _ => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    if !changed {
        return None;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_byte_for_byte() {
        let s = "CREATE ROLE app PASSWORD :'pw'; CREATE SCHEMA ${schema}; SELECT {{ x }}, a::text, :v";
        let n = neutralize(s).unwrap();
        assert_eq!(n.len(), s.len());
        assert!(n.contains("PASSWORD '$$$'"));
        assert!(n.contains("CREATE SCHEMA _________"));
        assert!(n.contains("a::text"));
        assert!(n.ends_with("_v"));
        assert!(neutralize("SELECT 'a:b', $$ :x $$").is_none());
    }

    #[test]
    fn placeholder_values() {
        assert!(is_placeholder_value("${DB_PASSWORD}"));
        assert!(is_placeholder_value("{{ secret }}"));
        assert!(is_placeholder_value("$$$$"));
        assert!(!is_placeholder_value("hunter2"));
    }
}
