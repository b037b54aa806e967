//! `Env::render` through `make` (so through the time limit and, for RiskyPendulum-v1, the
//! StochasticPenalty wrapper): which envs have a picture, its size, and that it follows the state.

use envs::render::{Color, Frame};
use envs::{Env, make};

/// The picture sizes of the envs drawn in Rust (the MuJoCo envs: 480 x 480).
const SIZES: [(&str, (usize, usize)); 5] = [
    ("Pendulum-v1", (500, 500)),
    ("MountainCarContinuous-v0", (600, 400)),
    ("RiskyCrossing-v0", (500, 500)),
    ("RiskyCar-v0", (600, 240)),
    ("RiskyPendulum-v1", (500, 500)),
];

fn differing_pixels(a: &Frame, b: &Frame) -> usize {
    a.indices()
        .iter()
        .zip(b.indices())
        .filter(|(x, y)| x != y)
        .count()
}

#[test]
fn every_env_draws_frames_that_follow_the_state() {
    for id in envs::registered_ids() {
        // The MuJoCo envs (feature `mujoco`): MuJoCo's renderer, through EGL
        // (scripts/setup_egl.sh), 480 x 480 as Gymnasium's `rgb_array`.
        let mujoco = envs::registry::spec(id).unwrap().needs_mujoco;
        let (width, height) = match SIZES.iter().find(|(known, _)| *known == id) {
            Some(&(_, size)) => size,
            None if mujoco => (480, 480),
            None => panic!("{id} is registered but has no expected picture size here"),
        };
        let mut env = make(id).unwrap();
        assert!(env.render().is_none(), "{id}: a frame before any reset");
        env.reset(Some(3));
        let first = env
            .render()
            .unwrap_or_else(|| panic!("{id} has no picture: {:?}", envs::render::last_failure()));
        assert_eq!((first.width(), first.height()), (width, height), "{id}");
        assert!(first.colour_count() >= 3, "{id}: a blank frame");
        let mut last = first.clone();
        // Full push along every action axis: every one of these envs moves.
        let action = vec![1.0_f32; env.action_space().dim()];
        let mut changes = 0;
        for _ in 0..5 {
            let step = env.step(&action).unwrap();
            let frame = env.render().unwrap();
            assert_eq!((frame.width(), frame.height()), (width, height), "{id}");
            changes += usize::from(differing_pixels(&frame, &last) > 0);
            last = frame;
            if step.is_done() {
                break;
            }
        }
        assert!(
            changes >= 3,
            "{id}: only {changes} of 5 steps changed the picture"
        );
        assert!(differing_pixels(&first, &last) > 50, "{id}");
    }
}

#[test]
fn the_crossing_draws_its_band_goal_and_trail() {
    let mut env = make("RiskyCrossing-v0").unwrap();
    env.reset(Some(0));
    for _ in 0..4 {
        env.step(&[0.0, 1.0]).unwrap();
    }
    let frame = env.render().unwrap();
    // The unit square maps to [25, 475] in pixels, y up (rows count from the top).
    let at = |x: f64, y: f64| ((25.0 + x * 450.0) as usize, (475.0 - y * 450.0) as usize);
    let pixel = |(x, row): (usize, usize)| frame.pixel(x, row);
    assert_eq!(pixel(at(0.6, 0.5)), Color::LightRed.rgb(), "the band");
    assert_eq!(
        pixel(at(0.9, 0.5)),
        Color::White.rgb(),
        "past the band's open end"
    );
    assert_eq!(pixel(at(0.15, 0.9)), Color::LightGreen.rgb(), "the goal");
    assert_eq!(pixel(at(0.1, 0.3)), Color::LightBlue.rgb(), "the trail");
    assert_eq!(
        pixel(at(0.1, 0.5)),
        Color::Blue.rgb(),
        "the agent, in the band"
    );
    // A new episode starts a new trail.
    env.reset(Some(1));
    assert_eq!(pixel(at(0.1, 0.3)), Color::LightBlue.rgb());
    let fresh = env.render().unwrap();
    let (x, row) = at(0.1, 0.3);
    assert_eq!(fresh.pixel(x, row), Color::White.rgb());
}

#[test]
fn the_car_marks_the_speed_limit_and_colours_speeding() {
    let mut env = make("RiskyCar-v0").unwrap();
    env.reset(Some(0));
    let gauge_at = |v: f64| (30.0 + (v + 1.0) * 135.0) as usize;
    let gauge_row = 240 - 45;
    let slow = env.render().unwrap();
    assert_eq!(slow.pixel(gauge_at(1.0), gauge_row), Color::Red.rgb());
    for _ in 0..15 {
        env.step(&[1.0]).unwrap();
    }
    let fast = env.render().unwrap();
    assert_eq!(fast.pixel(gauge_at(1.2), gauge_row), Color::Orange.rgb());
    assert_eq!(slow.pixel(gauge_at(1.2), gauge_row), Color::LightRed.rgb());
}

#[test]
fn wrappers_forward_the_picture() {
    use envs::wrappers::{
        ClipAction, NormalizeObservation, NormalizeReward, RecordEpisodeStatistics, RescaleAction,
    };
    // PPO's evaluation stack and its training stack around the registered env.
    let mut env = NormalizeReward::new(
        NormalizeObservation::new(ClipAction::new(RecordEpisodeStatistics::new(
            RescaleAction::new(make("Pendulum-v1").unwrap(), -1.0, 1.0).unwrap(),
        ))),
        0.99,
    )
    .unwrap();
    env.reset(Some(0));
    let frame = env.render().expect("a picture through every wrapper");
    assert_eq!((frame.width(), frame.height()), (500, 500));
}
