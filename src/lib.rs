//! migrade: grades PostgreSQL migration files by the risk they carry.
#![forbid(unsafe_code)]
pub mod config;
pub mod discover;
pub mod facts;
pub mod git;
pub mod ir;
pub mod lint;
pub mod model;
pub mod parse;
pub mod placeholders;
pub mod plan;
pub mod plan_cmd;
mod plpgsql;
pub mod report;
pub mod rules;
pub mod run;
pub mod schema;
pub mod source;
pub mod split;
pub mod unit;
pub mod verify;
