//! Pictures of an env's state for episode videos: a tiny pure-Rust rasteriser (filled polygons,
//! circles, rectangles, thick lines) drawing into an indexed frame over a fixed palette, and the
//! scenes of the envs that have one ([`scenes`]).
//!
//! `Env::render` returns the current state's [`Frame`] (None for an env without a picture, the
//! MuJoCo envs among them). A frame holds palette indices, one byte a pixel, so that a GIF
//! encoder takes it as it is; [`Frame::rgb`] expands it.
//!
//! Scene coordinates are Gymnasium's: pixels with y pointing up (pygame draws so and flips the
//! surface before returning it); the frame's rows run top to bottom.

pub mod scenes;

/// The colours a frame may hold. The index of a colour in [`PALETTE`] is its discriminant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Color {
    White,
    Black,
    /// Gymnasium's pendulum rod, (204, 77, 77).
    Rod,
    /// Gymnasium's mountain-car wheels, (128, 128, 128).
    Grey,
    /// Gymnasium's mountain-car flag, (204, 204, 0).
    Flag,
    LightGrey,
    /// A penalty band or a speed over the limit, drawn faintly.
    LightRed,
    /// The penalty flash.
    Red,
    LightGreen,
    Green,
    Blue,
    LightBlue,
    Orange,
}

/// `[r, g, b]` of every [`Color`], in discriminant order.
const NAMED: [[u8; 3]; 13] = [
    [255, 255, 255],
    [0, 0, 0],
    [204, 77, 77],
    [128, 128, 128],
    [204, 204, 0],
    [215, 215, 215],
    [255, 205, 205],
    [230, 0, 0],
    [200, 240, 200],
    [40, 160, 60],
    [40, 80, 200],
    [150, 185, 240],
    [240, 150, 30],
];

/// Levels per channel of the colour cube that photographs (MuJoCo's renderer) are reduced to.
const CUBE_LEVELS: usize = 6;
const CUBE_START: usize = NAMED.len();
/// Greys between black and white: MuJoCo's scenes are mostly grey floors and skies, which the
/// cube's six levels would band.
const GREY_LEVELS: usize = 256 - CUBE_START - CUBE_LEVELS * CUBE_LEVELS * CUBE_LEVELS;
const GREY_START: usize = CUBE_START + CUBE_LEVELS * CUBE_LEVELS * CUBE_LEVELS;

/// Every colour a frame may hold, one GIF palette for all frames: the named [`Color`]s (the
/// index of a colour is its discriminant), then a 6 x 6 x 6 colour cube and a grey ramp that
/// [`Frame::from_rgb`] maps photographs to.
pub const PALETTE: [[u8; 3]; 256] = palette();

const fn palette() -> [[u8; 3]; 256] {
    let mut palette = [[0u8; 3]; 256];
    let mut i = 0;
    while i < NAMED.len() {
        palette[i] = NAMED[i];
        i += 1;
    }
    let step = 255 / (CUBE_LEVELS - 1);
    let mut cube = 0;
    while cube < CUBE_LEVELS * CUBE_LEVELS * CUBE_LEVELS {
        let (r, g, b) = (
            cube / (CUBE_LEVELS * CUBE_LEVELS),
            cube / CUBE_LEVELS % CUBE_LEVELS,
            cube % CUBE_LEVELS,
        );
        palette[CUBE_START + cube] = [(r * step) as u8, (g * step) as u8, (b * step) as u8];
        cube += 1;
    }
    let mut grey = 0;
    while grey < GREY_LEVELS {
        let value = (grey * 255 / (GREY_LEVELS - 1)) as u8;
        palette[GREY_START + grey] = [value, value, value];
        grey += 1;
    }
    palette
}

/// The palette index nearest enough to `[r, g, b]`: a grey of the ramp for a near-grey colour,
/// else the colour cube's nearest corner (no dithering: the frame stays as compressible as the
/// scene itself).
fn quantize([r, g, b]: [u8; 3]) -> u8 {
    let (max, min) = (r.max(g).max(b), r.min(g).min(b));
    let index = if max - min <= 12 {
        let mean = (u32::from(r) + u32::from(g) + u32::from(b)) / 3;
        GREY_START + ((mean * (GREY_LEVELS as u32 - 1) + 127) / 255) as usize
    } else {
        let level = |c: u8| ((u32::from(c) * (CUBE_LEVELS as u32 - 1) + 127) / 255) as usize;
        CUBE_START + (level(r) * CUBE_LEVELS + level(g)) * CUBE_LEVELS + level(b)
    };
    index as u8
}

impl Color {
    pub fn rgb(self) -> [u8; 3] {
        PALETTE[self as usize]
    }
}

/// Why the last picture this thread asked a MuJoCo env for could not be drawn (for a message
/// better than `Env::render`'s None); always None in a build without MuJoCo.
pub fn last_failure() -> Option<String> {
    #[cfg(feature = "mujoco")]
    {
        crate::mujoco::rendering::last_failure()
    }
    #[cfg(not(feature = "mujoco"))]
    {
        None
    }
}

/// Thickness in pixels of the red border [`Frame::mark_penalty`] draws.
pub const PENALTY_BORDER: usize = 12;

/// One picture: `width * height` palette indices, row by row from the top.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Frame {
    /// A frame filled with `background`.
    pub fn new(width: usize, height: usize, background: Color) -> Self {
        Self {
            width,
            height,
            pixels: vec![background as u8; width * height],
        }
    }

    /// A photograph (`[r, g, b]` per pixel, row by row from the top), reduced to [`PALETTE`].
    pub fn from_rgb(width: usize, height: usize, rgb: &[u8]) -> Self {
        assert_eq!(rgb.len(), width * height * 3, "{width}x{height} RGB pixels");
        Self {
            width,
            height,
            pixels: rgb
                .chunks_exact(3)
                .map(|pixel| quantize([pixel[0], pixel[1], pixel[2]]))
                .collect(),
        }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    /// Palette indices ([`PALETTE`]), row by row from the top.
    pub fn indices(&self) -> &[u8] {
        &self.pixels
    }

    /// The colour at column `x` of row `row` (counted from the top).
    pub fn pixel(&self, x: usize, row: usize) -> [u8; 3] {
        PALETTE[usize::from(self.pixels[row * self.width + x])]
    }

    /// `[r, g, b]` per pixel, row by row from the top.
    pub fn rgb(&self) -> Vec<u8> {
        self.pixels
            .iter()
            .flat_map(|&index| PALETTE[usize::from(index)])
            .collect()
    }

    /// How many distinct colours the frame holds (1 for a blank frame).
    pub fn colour_count(&self) -> usize {
        let mut seen = [false; 256];
        for &index in &self.pixels {
            seen[usize::from(index)] = true;
        }
        seen.iter().filter(|&&s| s).count()
    }

    /// Marks the frame of a step on which a penalty struck: a red border.
    pub fn mark_penalty(&mut self) {
        let (w, h) = (self.width as f64, self.height as f64);
        let b = PENALTY_BORDER.min(self.width / 2).min(self.height / 2) as f64;
        self.fill_rect(0.0, 0.0, w, b, Color::Red);
        self.fill_rect(0.0, h - b, w, h, Color::Red);
        self.fill_rect(0.0, 0.0, b, h, Color::Red);
        self.fill_rect(w - b, 0.0, w, h, Color::Red);
    }

    /// Fills the pixels whose centres lie in `[x0, x1) x [y0, y1)` (y up).
    pub fn fill_rect(&mut self, x0: f64, y0: f64, x1: f64, y1: f64, color: Color) {
        let columns = self.span(x0.min(x1), x0.max(x1), self.width);
        let rows = self.span(y0.min(y1), y0.max(y1), self.height);
        for y in rows {
            let row = self.height - 1 - y;
            self.pixels[row * self.width + columns.start..row * self.width + columns.end]
                .fill(color as u8);
        }
    }

    /// Fills the disc of radius `r` around `(cx, cy)` (y up).
    pub fn fill_circle(&mut self, cx: f64, cy: f64, r: f64, color: Color) {
        for y in self.span(cy - r, cy + r, self.height) {
            let dy = y as f64 + 0.5 - cy;
            let half = (r * r - dy * dy).max(0.0).sqrt();
            let columns = self.span(cx - half, cx + half, self.width);
            let row = self.height - 1 - y;
            self.pixels[row * self.width + columns.start..row * self.width + columns.end]
                .fill(color as u8);
        }
    }

    /// Fills a polygon (even-odd rule, y up); `points` need not repeat the first point.
    pub fn fill_polygon(&mut self, points: &[(f64, f64)], color: Color) {
        if points.len() < 3 {
            return;
        }
        let (low, high) = points
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                (lo.min(p.1), hi.max(p.1))
            });
        let mut crossings = Vec::new();
        for y in self.span(low, high, self.height) {
            let yc = y as f64 + 0.5;
            crossings.clear();
            for (i, &(xa, ya)) in points.iter().enumerate() {
                let (xb, yb) = points[(i + 1) % points.len()];
                if (ya <= yc) != (yb <= yc) {
                    crossings.push(xa + (yc - ya) / (yb - ya) * (xb - xa));
                }
            }
            crossings.sort_by(f64::total_cmp);
            let row = self.height - 1 - y;
            for pair in crossings.chunks_exact(2) {
                let columns = self.span(pair[0], pair[1], self.width);
                self.pixels[row * self.width + columns.start..row * self.width + columns.end]
                    .fill(color as u8);
            }
        }
    }

    /// A segment `width` pixels thick with round ends.
    pub fn line(&mut self, from: (f64, f64), to: (f64, f64), width: f64, color: Color) {
        let (dx, dy) = (to.0 - from.0, to.1 - from.1);
        let length = dx.hypot(dy);
        let half = width / 2.0;
        if length > 0.0 {
            let (nx, ny) = (-dy / length * half, dx / length * half);
            self.fill_polygon(
                &[
                    (from.0 + nx, from.1 + ny),
                    (to.0 + nx, to.1 + ny),
                    (to.0 - nx, to.1 - ny),
                    (from.0 - nx, from.1 - ny),
                ],
                color,
            );
        }
        self.fill_circle(from.0, from.1, half, color);
        self.fill_circle(to.0, to.1, half, color);
    }

    /// Segments through `points`, `width` pixels thick.
    pub fn polyline(&mut self, points: &[(f64, f64)], width: f64, color: Color) {
        for pair in points.windows(2) {
            self.line(pair[0], pair[1], width, color);
        }
    }

    /// The pixel indices (along an axis of `size` pixels) whose centres lie in `[low, high)`.
    fn span(&self, low: f64, high: f64, size: usize) -> std::ops::Range<usize> {
        let clamp = |v: f64| {
            if v.is_nan() {
                0
            } else {
                v.clamp(0.0, size as f64) as usize
            }
        };
        let start = clamp((low - 0.5).ceil());
        let end = clamp((high - 0.5).ceil()).max(start);
        start..end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_land_where_drawn_with_y_up() {
        let mut frame = Frame::new(20, 10, Color::White);
        frame.fill_rect(0.0, 0.0, 4.0, 2.0, Color::Black);
        // y up: the bottom two rows, columns 0..4.
        assert_eq!(frame.pixel(0, 9), Color::Black.rgb());
        assert_eq!(frame.pixel(3, 8), Color::Black.rgb());
        assert_eq!(frame.pixel(4, 9), Color::White.rgb());
        assert_eq!(frame.pixel(0, 7), Color::White.rgb());
        frame.fill_circle(15.0, 5.0, 3.0, Color::Red);
        assert_eq!(frame.pixel(15, 4), Color::Red.rgb());
        assert_eq!(frame.pixel(19, 4), Color::White.rgb());
        frame.fill_polygon(&[(8.0, 0.0), (12.0, 0.0), (10.0, 10.0)], Color::Blue);
        // Row 8 from the top is y = 1: the triangle spans [8.3, 11.7] there.
        assert_eq!(frame.pixel(10, 8), Color::Blue.rgb());
        assert_eq!(frame.pixel(7, 8), Color::White.rgb());
        assert_eq!(frame.pixel(9, 1), Color::White.rgb());
        assert_eq!(frame.colour_count(), 4);
    }

    #[test]
    fn shapes_off_the_frame_are_clipped() {
        let mut frame = Frame::new(8, 8, Color::White);
        frame.fill_circle(-100.0, 4.0, 3.0, Color::Black);
        frame.fill_rect(-5.0, -5.0, 50.0, 1.0, Color::Black);
        frame.line((-10.0, -10.0), (100.0, 100.0), 2.0, Color::Red);
        frame.fill_polygon(&[(f64::NAN, 0.0), (1.0, 1.0), (2.0, 5.0)], Color::Blue);
        assert_eq!(frame.pixel(7, 7), Color::Black.rgb());
        assert_eq!(frame.pixel(4, 3), Color::Red.rgb());
    }

    #[test]
    fn photographs_keep_their_colours_within_a_cube_step() {
        let rgb: Vec<u8> = (0..=255u8)
            .flat_map(|v| [[v, v, v], [v, 255 - v, v / 2], [200, v, 30]])
            .flatten()
            .collect();
        let frame = Frame::from_rgb(3, 256, &rgb);
        for (pixel, original) in frame.rgb().chunks_exact(3).zip(rgb.chunks_exact(3)) {
            for (got, want) in pixel.iter().zip(original) {
                assert!(got.abs_diff(*want) <= 26, "{original:?} became {pixel:?}");
            }
        }
        assert_eq!(
            Color::Red.rgb(),
            [230, 0, 0],
            "named colours keep their indices"
        );
    }

    #[test]
    fn the_penalty_border_is_red_all_round() {
        let mut frame = Frame::new(100, 60, Color::White);
        frame.mark_penalty();
        for (x, row) in [(0, 0), (99, 59), (50, 0), (0, 30), (99, 30), (50, 59)] {
            assert_eq!(frame.pixel(x, row), Color::Red.rgb());
        }
        assert_eq!(frame.pixel(50, 30), Color::White.rgb());
        assert_eq!(frame.rgb().len(), 100 * 60 * 3);
    }
}
