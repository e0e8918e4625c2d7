//! HTTP: the only place hyper types appear. Request parsing, routing, response headers, static pages.

pub mod form;
pub mod route;
pub mod server;
pub mod static_files;

pub use server::Application;
