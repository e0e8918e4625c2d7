//! The composition root: the one place where the framework and the product meet.
//!
//! `main` (and the integration tests) build the server with [`Jindouyun`], which hands the framework
//! the account functions of `auth`, the objects of the reference product (`objects`) and of the ticketing
//! platform (`ticketing`), and what a new database gets (a first manager, demo data). No framework folder
//! (`http api crud query meta db log auth`) imports `objects`, `ticketing`, `demo` or this module; a test
//! (`tests/layering.rs`) checks it.

use std::sync::Arc;

use crate::db::conn::Conn;

use crate::api::functions::Functions;
use crate::config::Config;
use crate::crud::Registry;
use crate::error::ApiResult;
use crate::state::Product;

/// The Jindouyun product: the reference application plus the ticketing platform.
pub struct Jindouyun;

impl Jindouyun {
    /// The product as the framework takes it.
    pub fn product() -> Arc<dyn Product> {
        Arc::new(Jindouyun)
    }
}

impl Product for Jindouyun {
    fn register(&self, objects: &mut Registry, functions: &mut Functions) {
        crate::auth::register(functions);
        crate::objects::register(objects, functions);
        crate::ticketing::register(objects, functions);
    }

    fn tasks(&self, config: &Config) -> Vec<crate::state::Task> {
        crate::ticketing::tasks(config)
    }

    fn busiest_tables(&self) -> &'static [&'static str] {
        // Every order action has its OrderLog row; every sale an order and a ticket a seat.
        &["OrderLog", "Ordr", "Ticket", "Payment", "Refund"]
    }

    fn init_db(&self, conn: Conn, config: &Config) -> ApiResult<()> {
        crate::objects::account::bootstrap(conn)?;
        crate::ticketing::init_db(conn)?;
        if config.demo {
            // The ticketing world first: its stores come first, so the bootstrap manager and the demo
            // staff work for the demo theatre.
            let fresh = crate::ticketing::demo::load_if_empty(conn, &config.upload_dir)?;
            crate::demo::load_if_empty(conn)?;
            if fresh {
                crate::ticketing::demo::load_orders(conn)?;
                crate::ticketing::demo_world::past_sales(conn)?;
            }
        }
        crate::objects::account::assign_default_store(conn)
    }
}
