//! Reads: a request parsed once into a [`ReadReq`] ([`request`]), its names resolved against the schema
//! and the role ([`resolve`]), planned into one SELECT ([`plan`]), its values turned into JSON ([`json`]).

pub mod json;
pub mod plan;
pub mod request;
pub mod resolve;

pub use json::{cents_text, map_enum, to_json, write_json, write_str, write_text, Kind};
pub use plan::{joins_of, plan, where_parts, OutCol, Plan, ReadMode, SubReq};
pub use request::{hidden_fields, paging, reads_whole, Paging, ReadReq, PAGE_SIZE_PARAMS};
pub use resolve::{not_readable, Resolver, TIME_DIMS};
