//! Integration tests through the real HTTP server: one binary, one module per area.

mod account;
mod apps;
mod attachment;
mod authz;
mod batch;
mod crud;
mod edges;
mod guards;
mod helpers;
mod hidden;
mod logs;
mod protocol;
mod qrlogin;
mod query;
mod schema;
mod snapshot;
mod ticketing;
