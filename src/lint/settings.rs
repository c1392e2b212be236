//! Stage: settings. What a run was asked for (migrade.toml + flags, resolved by
//! [`crate::config`]), and how it sets the level of each finding.

use crate::model::Level;
use crate::rules::Rule;
use crate::unit::TxWrap;
use std::collections::HashMap;

/// A rule's configured level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleSetting {
    Off,
    Level(Level),
}

/// Settings for a run (config file + flags).
#[derive(Debug, Clone)]
pub struct Settings {
    pub pg_version: u32,
    pub utc: bool,
    pub assume_in_transaction: bool,
    pub rules: HashMap<String, RuleSetting>,
    /// Settings for rule groups (`security`): apply to every rule with the tag.
    pub tags: HashMap<String, RuleSetting>,
    /// Level of the session-safety findings (missing-lock-timeout ...).
    pub session_level: Option<Level>,
    pub require_ignore_reason: bool,
    /// How the project's runner wraps files, overriding the layout's default
    /// (`transaction` in migrade.toml).
    pub transaction: Option<TxWrap>,
    /// `transaction = "all-pending"`: the runner applies every pending file (the
    /// files this run lints, in migration order) in one transaction, so the locks
    /// an earlier file takes are held while the later ones run.
    pub all_pending: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            pg_version: DEFAULT_PG_VERSION,
            utc: false,
            assume_in_transaction: false,
            rules: HashMap::new(),
            tags: HashMap::new(),
            session_level: None,
            require_ignore_reason: false,
            transaction: None,
            all_pending: false,
        }
    }
}

/// The oldest PostgreSQL major version the project still supports (Nov 2026).
pub const DEFAULT_PG_VERSION: u32 = 15;

impl Settings {
    /// The level a hit of `rule` is reported at (`def` its catalogue entry), or None when
    /// the rule or one of its tags is off: `session_level` for session-safety rules, then
    /// the rule's tags, then the rule's own setting.
    pub fn level_for(&self, rule: &str, def: Option<&Rule>, hit_level: Level) -> Option<Level> {
        let mut level = hit_level;
        if def.is_some_and(|r| r.session)
            && let Some(l) = self.session_level
        {
            level = l;
        }
        for tag in def.map(|r| r.tags).unwrap_or(&[]) {
            match self.tags.get(*tag) {
                Some(RuleSetting::Off) => return None,
                Some(RuleSetting::Level(l)) => level = *l,
                None => {}
            }
        }
        match self.rules.get(rule) {
            Some(RuleSetting::Off) => None,
            Some(RuleSetting::Level(l)) => Some(*l),
            None => Some(level),
        }
    }

    /// The rule is switched off by name (its statement check is not even run).
    pub fn is_off(&self, rule: &str) -> bool {
        matches!(self.rules.get(rule), Some(RuleSetting::Off))
    }
}
