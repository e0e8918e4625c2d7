//! Integration tests through the real HTTP server: one binary, one module per area.

mod attachment;
mod batch;
mod crud;
mod helpers;
mod protocol;
mod query;
mod schema;
