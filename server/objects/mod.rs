//! The reference product: the objects and functions of design/DESIGN.md (orders, accounts, attachments,
//! logs), each declared once in its own file and registered for the roles that may use it by that file's
//! `register` function. Adding an object is one file plus one line in its module's `register`.
//!
//! Everything here sits on the generic layer (`crud`); the layer never depends on this module.

pub mod account;
pub mod attachment;
pub mod logs;
pub mod ordr;

use crate::api::functions::Functions;
use crate::crud::Registry;

/// Registers the objects and functions of the reference product, module by module.
pub fn register(objects: &mut Registry, functions: &mut Functions) {
    ordr::register(objects);
    attachment::register(objects, functions);
    account::register(objects);
    logs::register(objects);
}
