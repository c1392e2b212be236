//! migrade: grades PostgreSQL migration files by the risk they carry.
pub mod facts;
pub mod ir;
pub mod model;
pub mod schema;
pub mod parse;
mod plpgsql;
pub mod source;
pub mod split;
