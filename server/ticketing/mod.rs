//! The ticketing platform (`../shared/spec/ticketing.md`, names fixed by `ticketing-api.md`): stores and
//! their staff, the catalogue of shows and movies, venues and halls with seat maps, showings, ticket
//! orders with holds that cannot oversell ([`hold`]), payment through verified notifications
//! ([`payment`]), refunds, tickets with QR codes and check-in ([`ticket`]); later trains and reports.
//!
//! One file per object or concern, each declared on the generic layer (`crud`) and registered by its
//! own `register` function, which [`register`] calls. The rules that are not CRUD are plain functions
//! with their unit tests beside them ([`seatmap`], [`cities`], `event::sort_order`, `showing::parse_prices`).
//! [`scope`] holds the one rule every object applies: staff see their own store, the public sees
//! approved stores' catalogue, the admin everything. Nothing in the framework folders knows this
//! module; `crate::app` wires it in.

pub mod cities;
pub mod demo;
pub mod demo_world;
pub mod event;
pub mod hold;
pub mod movie;
pub mod order;
pub mod passenger;
pub mod payment;
pub mod scope;
pub mod seatlayout;
pub mod seatmap;
pub mod segments;
pub mod showing;
pub mod store;
pub mod sweeper;
pub mod ticket;
pub mod train;
pub mod train_order;
pub mod venue;

use crate::api::functions::Functions;
use crate::crud::Registry;

/// Registers the ticketing objects and functions (after the reference product's: the ticket `Ordr`
/// wraps and replaces its plain one).
pub fn register(objects: &mut Registry, functions: &mut Functions) {
    store::register(objects);
    venue::register(objects);
    movie::register(objects);
    event::register(objects);
    showing::register(objects);
    order::register(objects);
    ticket::register(objects);
    payment::register(objects, functions);
    train::register(objects);
    passenger::register(objects);
    // Posters are shown to guests browsing the catalogue.
    objects.declare_public_file("Event", "posterId");
    objects.declare_public_file("Movie", "posterId");
}

/// What a database needs before the platform serves: the city list on first start, and a store for
/// every employee.
pub fn init_db(conn: crate::db::conn::Conn) -> crate::error::ApiResult<()> {
    cities::load_if_empty(conn)?;
    train::load_stations_if_empty(conn)?;
    payment::init_db(conn)
}

/// The platform's background work: the hold sweeper.
pub fn tasks(config: &crate::config::Config) -> Vec<crate::state::Task> {
    sweeper::tasks(config)
}
