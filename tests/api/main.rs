//! Integration tests through the real HTTP server: one binary, one module per area.

mod account;
mod apps;
mod authz;
mod crud;
mod helpers;
mod logs;
mod protocol;
mod schema;
