//! migrade: grades PostgreSQL migration files by the risk they carry.
pub mod ir;
pub mod parse;
mod plpgsql;
pub mod source;
pub mod split;
