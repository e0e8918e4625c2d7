//! The application: the objects and functions of the reference product (design/DESIGN.md), each
//! declared once and registered for the roles that may use it.
//!
//! Everything here sits on the generic layer (`crud`); the layer never depends on this module.

pub mod account;
pub mod attachment;
pub mod logs;
pub mod ordr;

use std::sync::Arc;

use crate::api::functions::Functions;
use crate::crud::{Decl, Op, Plain, Registry, Role};

/// Registers the application's objects and functions.
pub fn register(objects: &mut Registry, functions: &mut Functions) {
    use Role::*;
    objects.register("Ordr", &[User], Arc::new(ordr::Ordr::user()));
    objects.register("Ordr", &[Emp], Arc::new(ordr::Ordr::emp()));
    objects.register("Ordr", &[Admin], Arc::new(ordr::Ordr::admin()));
    objects.register("OrderLog", &[User], Arc::new(ordr::OrderLog::user()));
    objects.register("OrderLog", &[Emp], Arc::new(ordr::OrderLog::emp()));
    objects.register("OrderLog", &[Admin], Arc::new(ordr::OrderLog::admin()));
    // Users write OrderAtt only through Ordr (their own uploads), and read their own orders' links.
    objects.register("OrderAtt", &[User], Arc::new(attachment::OrderAtt::user()));
    objects.register("OrderAtt", &[Emp], Arc::new(Plain(Decl::new("OrderAtt").allow(&[Op::Query, Op::Get]))));
    functions.add_prepared("upload", attachment::upload::prepare, attachment::upload::upload);
    functions.add_blocking("att", false, attachment::att::att);

    objects.register("User", &[User], Arc::new(account::User::buyer()));
    objects.register("User", &[Emp, Admin], Arc::new(account::User::staff()));
    objects.register("Employee", &[Emp], Arc::new(account::Employee::emp()));
    objects.register("Employee", &[Admin], Arc::new(account::Employee::admin()));
    objects.register("Cinf", &[Emp, Admin], Arc::new(account::Cinf::new()));

    objects.register("ApiLog", &[Emp, Admin], Arc::new(logs::ApiLog::new()));
    objects.register("ApiLog1", &[Emp, Admin], Arc::new(logs::ApiLog::batch_rows()));
    objects.register("ObjLog", &[Emp, Admin], Arc::new(logs::ObjLog::new()));

    // Framework tables: the admin may look, never write (the server keeps them consistent with its
    // caches), and never sees a secret (token digests, codes). Pwd digests are useless without the key.
    let read_only = |table: &str, hidden: &[&str]| {
        let mut d = Decl::new(table).allow(&[Op::Query, Op::Get]);
        d.hidden = hidden.iter().map(|s| s.to_string()).collect();
        d.no_objlog = true;
        Arc::new(Plain(d))
    };
    objects.register("Session", &[Admin], read_only("Session", &["tokenHash"]));
    objects.register("VCode", &[Admin], read_only("VCode", &["code"]));
    objects.register("Pwd", &[Admin], read_only("Pwd", &[]));
}
