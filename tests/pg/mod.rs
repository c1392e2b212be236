//! Support code for `tests/real_pg.rs` (the real-server lock verification suite).
#![allow(dead_code)]

pub mod cases;
pub mod measure;
pub mod migrade;
pub mod server;
