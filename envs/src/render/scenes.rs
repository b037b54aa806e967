//! The pictures of the envs that have one. Pendulum and MountainCarContinuous follow Gymnasium
//! 1.4.0's `render()` (sizes, proportions and colours; no anti-aliasing, and Pendulum's torque
//! arrow image is left out); the risky tasks have pictures of their own.

use super::{Color, Frame};

/// The frame rate a player should show an env's frames at: Gymnasium's `render_fps`, 30 for
/// the classic-control envs and `round(1 / dt)` for the MuJoCo envs; 10 for the short episodes
/// of the risky tasks written for risk.
pub fn frames_per_second(env_id: &str) -> u32 {
    match env_id {
        crate::risky::crossing::ID | crate::risky::car::ID => 10,
        "HalfCheetah-v5" | "Ant-v5" | "InvertedDoublePendulum-v5" => 20,
        crate::risky::RISKY_HALF_CHEETAH_ID => 20,
        "Hopper-v5" | "Walker2d-v5" => 125,
        "Humanoid-v5" => 67,
        "InvertedPendulum-v5" | "Swimmer-v5" => 25,
        "Reacher-v5" => 50,
        _ => 30,
    }
}

/// Pendulum-v1 at angle `theta` (0 upright, counter-clockwise): 500 x 500, a (204, 77, 77) rod
/// with a round tip hanging from a black axle, as Gymnasium draws it.
pub fn pendulum(theta: f64) -> Frame {
    const SCREEN: usize = 500;
    let bound = 2.2;
    let scale = SCREEN as f64 / (bound * 2.0);
    let offset = (SCREEN / 2) as f64;
    let rod_length = scale;
    let rod_width = 0.2 * scale;
    let mut frame = Frame::new(SCREEN, SCREEN, Color::White);
    let angle = theta + std::f64::consts::FRAC_PI_2;
    let (sin, cos) = angle.sin_cos();
    let rotate = |(x, y): (f64, f64)| (x * cos - y * sin + offset, x * sin + y * cos + offset);
    let (t, b) = (rod_width / 2.0, -rod_width / 2.0);
    let corners = [(0.0, b), (0.0, t), (rod_length, t), (rod_length, b)].map(rotate);
    frame.fill_polygon(&corners, Color::Rod);
    let tip = rotate((rod_length, 0.0));
    frame.fill_circle(tip.0, tip.1, (rod_width / 2.0).floor(), Color::Rod);
    frame.fill_circle(offset, offset, (0.05 * scale).floor(), Color::Black);
    frame
}

/// MountainCarContinuous-v0 with the car at `position`: 600 x 400, the hill
/// `0.45 sin(3x) + 0.55` in black, the black car with grey wheels tilted to the slope, the
/// yellow flag at the goal (0.45), as Gymnasium draws them.
pub fn mountain_car(position: f64) -> Frame {
    const WIDTH: usize = 600;
    const HEIGHT: usize = 400;
    let (min_position, max_position, goal_position) = (-1.2, 0.6, 0.45);
    let scale = WIDTH as f64 / (max_position - min_position);
    let (car_width, car_height, clearance) = (40.0, 20.0, 10.0);
    let height = |x: f64| (3.0 * x).sin() * 0.45 + 0.55;
    let mut frame = Frame::new(WIDTH, HEIGHT, Color::White);

    let hill: Vec<(f64, f64)> = (0..100)
        .map(|i| {
            let x = min_position + (max_position - min_position) * f64::from(i) / 99.0;
            ((x - min_position) * scale, height(x) * scale)
        })
        .collect();
    frame.polyline(&hill, 1.5, Color::Black);

    let (sin, cos) = (3.0 * position).cos().sin_cos();
    let base = (
        (position - min_position) * scale,
        clearance + height(position) * scale,
    );
    let place = |(x, y): (f64, f64)| (x * cos - y * sin + base.0, x * sin + y * cos + base.1);
    let (l, r, t, b) = (-car_width / 2.0, car_width / 2.0, car_height, 0.0);
    frame.fill_polygon(&[(l, b), (l, t), (r, t), (r, b)].map(place), Color::Black);
    for wheel in [(car_width / 4.0, 0.0), (-car_width / 4.0, 0.0)] {
        let (x, y) = place(wheel);
        frame.fill_circle(x, y, (car_height / 2.5).floor(), Color::Grey);
    }

    let flag_x = ((goal_position - min_position) * scale).floor();
    let flag_y1 = (height(goal_position) * scale).floor();
    let flag_y2 = flag_y1 + 50.0;
    frame.fill_rect(flag_x, flag_y1, flag_x + 1.0, flag_y2, Color::Black);
    frame.fill_polygon(
        &[
            (flag_x, flag_y2),
            (flag_x, flag_y2 - 10.0),
            (flag_x + 25.0, flag_y2 - 5.0),
        ],
        Color::Flag,
    );
    frame
}

/// What [`crossing`] draws, in the task's unit square.
pub struct CrossingScene<'a> {
    /// The band `y_low <= y <= y_high, x <= x_high`.
    pub band_x_high: f64,
    pub band_y: (f64, f64),
    pub goal: [f64; 2],
    pub goal_radius: f64,
    /// Every position of the episode so far, the current one last.
    pub trail: &'a [[f64; 2]],
}

/// RiskyCrossing-v0: 500 x 500, the unit square framed in black, the penalty band in light
/// red, the goal disc in green, the trail in light blue and the agent as a blue dot.
pub fn crossing(scene: &CrossingScene) -> Frame {
    const SCREEN: usize = 500;
    const MARGIN: f64 = 25.0;
    let side = SCREEN as f64 - 2.0 * MARGIN;
    let at = |[x, y]: [f64; 2]| (MARGIN + x * side, MARGIN + y * side);
    let mut frame = Frame::new(SCREEN, SCREEN, Color::White);
    let (band_low, band_high) = (
        at([0.0, scene.band_y.0]),
        at([scene.band_x_high, scene.band_y.1]),
    );
    frame.fill_rect(
        band_low.0,
        band_low.1,
        band_high.0,
        band_high.1,
        Color::LightRed,
    );
    let goal = at(scene.goal);
    frame.fill_circle(goal.0, goal.1, scene.goal_radius * side, Color::LightGreen);
    frame.fill_circle(goal.0, goal.1, 4.0, Color::Green);
    let corners = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]].map(at);
    frame.polyline(&corners, 2.0, Color::Black);
    let trail: Vec<(f64, f64)> = scene.trail.iter().copied().map(at).collect();
    if let Some(&start) = trail.first() {
        frame.fill_circle(start.0, start.1, 5.0, Color::Grey);
    }
    frame.polyline(&trail, 3.0, Color::LightBlue);
    if let Some(&now) = trail.last() {
        frame.fill_circle(now.0, now.1, 9.0, Color::Blue);
    }
    frame
}

/// What [`car`] draws.
pub struct CarScene {
    pub position: f64,
    pub velocity: f64,
    pub goal_position: f64,
    pub speed_limit: f64,
}

/// RiskyCar-v0: 600 x 240. Above, the road from -0.3 to 2.8 with the start tick at 0, the goal
/// flag and the car (its position clamped to the road). Below, a speed gauge over [-1, 3]: the
/// speed as a bar from 0, green within the limit and orange above it, and the limit as a red
/// mark.
pub fn car(scene: &CarScene) -> Frame {
    const WIDTH: usize = 600;
    const HEIGHT: usize = 240;
    const MARGIN: f64 = 30.0;
    let span = |low: f64, high: f64| {
        let scale = (WIDTH as f64 - 2.0 * MARGIN) / (high - low);
        move |v: f64| MARGIN + (v.clamp(low, high) - low) * scale
    };
    let mut frame = Frame::new(WIDTH, HEIGHT, Color::White);

    let road = span(-0.3, 2.8);
    let road_y = 130.0;
    frame.fill_rect(road(-0.3), road_y - 3.0, road(2.8), road_y, Color::Black);
    frame.fill_rect(
        road(0.0) - 1.0,
        road_y - 12.0,
        road(0.0) + 1.0,
        road_y,
        Color::Grey,
    );
    let flag_x = road(scene.goal_position);
    frame.fill_rect(flag_x, road_y, flag_x + 2.0, road_y + 60.0, Color::Black);
    frame.fill_polygon(
        &[
            (flag_x + 2.0, road_y + 60.0),
            (flag_x + 2.0, road_y + 44.0),
            (flag_x + 30.0, road_y + 52.0),
        ],
        Color::Green,
    );
    let car_x = road(scene.position);
    frame.fill_rect(
        car_x - 20.0,
        road_y + 6.0,
        car_x + 20.0,
        road_y + 22.0,
        Color::Blue,
    );
    frame.fill_rect(
        car_x - 10.0,
        road_y + 22.0,
        car_x + 12.0,
        road_y + 32.0,
        Color::Blue,
    );
    for wheel in [car_x - 11.0, car_x + 11.0] {
        frame.fill_circle(wheel, road_y + 6.0, 6.0, Color::Black);
    }

    let gauge = span(-1.0, 3.0);
    let (gauge_low, gauge_high) = (30.0, 60.0);
    frame.fill_rect(
        gauge(-1.0),
        gauge_low,
        gauge(3.0),
        gauge_high,
        Color::LightGrey,
    );
    frame.fill_rect(
        gauge(scene.speed_limit),
        gauge_low,
        gauge(3.0),
        gauge_high,
        Color::LightRed,
    );
    let speeding = scene.velocity > scene.speed_limit;
    frame.fill_rect(
        gauge(0.0),
        gauge_low + 6.0,
        gauge(scene.velocity),
        gauge_high - 6.0,
        if speeding {
            Color::Orange
        } else {
            Color::Green
        },
    );
    frame.fill_rect(
        gauge(0.0) - 1.0,
        gauge_low - 6.0,
        gauge(0.0) + 1.0,
        gauge_high + 6.0,
        Color::Black,
    );
    let limit = gauge(scene.speed_limit);
    frame.fill_rect(
        limit - 2.0,
        gauge_low - 10.0,
        limit + 2.0,
        gauge_high + 10.0,
        Color::Red,
    );
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upright_pendulum_points_up_and_a_hanging_one_down() {
        let up = pendulum(0.0);
        let down = pendulum(std::f64::consts::PI);
        assert_eq!((up.width(), up.height()), (500, 500));
        // 0.8 rod lengths above / below the axle (rows count from the top).
        let (above, below) = (250 - 91, 250 + 91);
        assert_eq!(up.pixel(250, above), Color::Rod.rgb());
        assert_eq!(up.pixel(250, below), Color::White.rgb());
        assert_eq!(down.pixel(250, below), Color::Rod.rgb());
        assert_eq!(up.pixel(250, 250), Color::Black.rgb());
    }

    #[test]
    fn the_car_moves_along_the_hill() {
        let left = mountain_car(-0.5);
        let right = mountain_car(0.3);
        assert_eq!((left.width(), left.height()), (600, 400));
        assert_ne!(left, right);
        assert!(left.colour_count() >= 4, "white, black, grey, flag");
    }
}
