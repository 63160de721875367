//! Product dialects: each speaks one product's API over the same core, with its own wire
//! types and error shape.

pub mod commvault;
pub mod netsession;
pub mod pam;
pub mod qumulo;
pub mod symphony;
