//! The design as data: `design/DESIGN.md` parsed into tables (`design`), the rules giving each column its type
//! (`types`), and the schema upgrade that makes a database match the design (`upgrade`).
//!
//! The server reads the design at start-up; it is the single source of truth for which tables and columns exist,
//! so the generic table layer can whitelist identifiers against it. SQL spelling lives in `db::dialect`.

pub mod design;
pub mod types;
pub mod upgrade;

pub use design::{Column, Design, Index, MetaError, Table};
pub use types::{derive_type, is_word, ColType};
