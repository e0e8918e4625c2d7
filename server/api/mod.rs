//! The protocol core, free of HTTP types: parameters, the caller, the per-call context, dispatch of
//! functions and `Obj.ac`, batch, and the response envelope.

pub mod auth;
pub mod batch;
pub mod ctx;
pub mod dispatch;
pub mod envelope;
pub mod functions;
pub mod params;

pub use ctx::{Ctx, Raw, Reply};
