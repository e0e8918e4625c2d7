//! The ticketing platform (`../shared/spec/ticketing.md`, names fixed by `ticketing-api.md`): stores and
//! their staff, the catalogue of shows and movies, venues and halls with seat maps, showings, trains with
//! multi-stop runs sold per segment, seat holds, orders, payment, refunds, tickets and check-in, reports.
//!
//! Nothing is here yet; the issues that build it add one file per object or concern (`store.rs`,
//! `event.rs`, `hall.rs`, `showing.rs`, `hold.rs`, `payment.rs`, `train.rs`, ...), each declared on the
//! generic layer (`crud`) and registered by its own `register` function, which this module's
//! [`register`] calls. Nothing in the framework folders knows this module; `crate::app` wires it in.

use crate::api::functions::Functions;
use crate::crud::Registry;

/// Registers the ticketing objects and functions (none yet).
pub fn register(_objects: &mut Registry, _functions: &mut Functions) {}
