//! Gymnasium's classic-control tasks with continuous actions, in pure Rust.

pub mod mountain_car_continuous;
pub mod pendulum;

pub use mountain_car_continuous::MountainCarContinuous;
pub use pendulum::Pendulum;
