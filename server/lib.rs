//! # Jindouyun
//!
//! A server for the jdcloud (筋斗云) call protocol: `GET|POST /api/Obj.ac?params` answers
//! `[0, data]` or `[code, msg, internal]`. Tables are declared in `design/DESIGN.md`; the server
//! creates and upgrades its database from that file and serves every table through one generic layer.
//! On it runs a ticketing platform: stores, a catalogue of shows and movies, halls with seat maps,
//! showings, trains sold per segment, holds that cannot oversell, payment, refunds and tickets.
//!
//! A tour, from the wire inwards:
//! - [`http`]: hyper accept loop, routing of `/api/...` forms, body intake, headers, static pages.
//! - [`api`]: the protocol core without HTTP types: parameters, caller, per-call context,
//!   dispatch (one call = one transaction), batch, envelope.
//! - [`crud`]: the generic object layer: add/set/get/query/del, the query language, formats.
//! - [`query`]: the grammar of `cond`, `res`, `orderby`, `gres`: parsed, checked, bound.
//! - [`meta`]: the design-file parser, column type rules and schema upgrade.
//! - [`db`]: pooled read connections, the group-committing writer thread, the checkpointer, and the
//!   SQL dialect.
//! - [`auth`]: passwords, tokens, login functions, QR login.
//! - [`log`]: ApiLog/ApiLog1 through a batched background writer, ObjLog rows, the minute summary.
//! - [`objects`]: the reference product's objects, registered per role; [`ticketing`]: the ticketing
//!   platform (stores, catalogue, showings, orders and holds, payment, tickets, trains).
//!   [`app`] is the composition root that hands both to the framework.
//! - [`export`]: csv/txt/xlsx/html exports, QR code images.
//! - [`state`]: what a running server shares between calls; [`config`]: the `P_*` settings;
//!   [`demo`]: demo data for a new database.
//!
//! Dependencies point inwards: `objects` and `ticketing` use `crud`; no framework module uses them, `demo`
//! or `app` (checked by `tests/layering.rs`).

/// A hash map for the lookups every call makes in the server's own tables (objects, functions,
/// sessions, kept reads): foldhash, seeded per process, rather than std's SipHash, which cost 170 to
/// 320 instructions a lookup, five or more a call. No key an attacker chooses is inserted into these
/// (a session token is the server's own random string, cached once the Session table has it).
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

pub mod api;
pub mod app;
pub mod auth;
pub mod config;
pub mod crud;
pub mod db;
pub mod demo;
pub mod error;
pub mod export;
pub mod http;
pub mod log;
pub mod meta;
pub mod money;
pub mod objects;
pub mod query;
pub mod state;
pub mod ticketing;
