//! migrade: grades PostgreSQL migration files by the risk they carry.
pub mod facts;
pub mod ir;
pub mod model;
pub mod schema;
pub mod parse;
mod plpgsql;
pub mod source;
pub mod split;
pub mod discover;
pub mod lint;
pub mod plan;
pub mod rules;
pub mod config;
pub mod git;
pub mod plan_cmd;
pub mod report;
pub mod run;
