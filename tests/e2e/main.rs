//! The one test binary: end-to-end tests of the real bot against a fake Discord, plus store and
//! contract tests. One binary keeps link time down on a 2-core machine.

// A toolkit: not every test uses every helper.
#[allow(dead_code)]
mod support;

mod alerts;
mod changes;
mod contract;
mod deliveries;
mod dm_buttons;
mod faults;
mod incidents;
mod knowledge;
mod major;
mod operators;
mod outbox;
mod problems;
mod process;
mod report;
mod requests;
mod sla;
mod store;
mod storm;
